"""Protocols the core depends on; adapters in providers/ and storage/ implement them."""

from __future__ import annotations

from typing import Protocol

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
