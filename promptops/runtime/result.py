"""What one runtime call returns: the answer, where it came from and what it cost."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from promptops.core.models import Message, Usage
from promptops.core.prompt import PromptFile
from promptops.runtime.metrics import RequestMetrics


@dataclass(frozen=True)
class Attempt:
    """One try at one chain entry (skipped open circuits are not attempts)."""

    provider_model: str
    kind: str | None  # ProviderError kind, None on success
    status: int | None
    latency_ms: float
    retry_after_s: float | None = None


@dataclass(frozen=True)
class CallResult:
    """The outcome of `Runtime.call`: text plus provenance, cost, latency and attempts."""

    text: str
    prompt_name: str
    prompt_version: str | None
    env: str | None
    model: str | None  # provider:model that answered (None for static/error)
    requested_model: str
    tier: str  # primary | retry | fallback | cache | static | disabled | error
    degraded: bool
    source: str  # model | cache | static | fallback_callable | none
    request_id: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: float = 0.0
    wait_ms: float = 0.0
    attempts: tuple[Attempt, ...] = ()
    error: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when there is an answer (any tier but error)."""
        return self.error is None


class PromptLike(Protocol):
    """What the runtime reads from `promptops.runtime.store.ResolvedPrompt`."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str | None: ...
    @property
    def env(self) -> str: ...
    @property
    def prompt(self) -> PromptFile: ...
    @property
    def model(self) -> str | None: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def fallback_behavior(self) -> str | None: ...
    @property
    def rollback_model(self) -> str | None: ...
    def render(self, variables: Mapping[str, Any]) -> tuple[Message, ...]: ...


class StoreLike(Protocol):
    """The PromptStore surface the runtime needs."""

    def get(self, name: str) -> PromptLike: ...


class MetricsSink(Protocol):
    """Anything that takes one RequestMetrics row per call (MetricsWriter, a test list)."""

    def record(
        self, row: RequestMetrics, *, inputs: Mapping[str, Any] | None = None,
        output: str | None = None,
    ) -> None: ...


def error_type_of(kind: str | None) -> str:
    """Provider error kind → the metrics enum (none|timeout|rate_limit|model_error)."""
    if kind is None:
        return "none"
    if kind in ("timeout", "connection"):
        return "timeout"
    return "rate_limit" if kind == "rate_limit" else "model_error"


def metrics_row(result: CallResult, last_kind: str | None) -> RequestMetrics:
    """The one metrics row of a call; error_type is the last upstream error, even if degraded."""
    return RequestMetrics(
        request_id=result.request_id, prompt=result.prompt_name,
        prompt_version=result.prompt_version, env=result.env or "", model=result.model,
        requested_model=result.requested_model, input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens, latency_total_ms=result.latency_ms,
        latency_model_ms=None, latency_tool_ms=0.0, latency_network_ms=None,
        latency_wait_ms=result.wait_ms, error_type=error_type_of(last_kind),
        tier=result.tier, cost_usd=result.cost_usd,
        timestamp=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        attempts=len(result.attempts), degraded=result.degraded,
    )
