"""Protocols the core depends on; adapters in providers/ and storage/ implement them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from promptops.core.models import Completion, ModelRequest


class Provider(Protocol):
    """One model backend. `complete` makes ONE attempt; the retry loop lives outside."""

    name: str  # provider name as configured, e.g. "anthropic" or "ollama"
    kind: str  # anthropic | openai | openai-compatible | python

    async def complete(self, request: ModelRequest, *, timeout_s: float) -> Completion:
        """Make one attempt; raise ProviderError (classified by status code) on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class StreamingProvider(Provider, Protocol):
    """A Provider that can also stream one attempt: text deltas, then the final Completion."""

    def stream(self, request: ModelRequest, *, timeout_s: float) -> AsyncIterator[str | Completion]:
        """Yield text deltas, then the Completion; a failure after a delta is `stream_broken`."""
        ...
