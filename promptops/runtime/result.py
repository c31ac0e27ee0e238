"""What one runtime call returns: the answer, where it came from and what it cost."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from promptops.core.config import ProviderConfig
from promptops.core.errors import ProviderError
from promptops.core.models import Message, ModelRequest, Usage
from promptops.core.ports import Provider
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
    ttft_ms: float | None = None  # streams only: from the call's start to its first chunk
    model_ms: float | None = None  # the answering provider's reported processing time
    network_ms: float | None = None  # that attempt's wall time minus model_ms

    @property
    def ok(self) -> bool:
        """True when there is an answer (any tier but error)."""
        return self.error is None


log = logging.getLogger("promptops.runtime")

T = TypeVar("T")
Attempter = Callable[[Provider, ModelRequest, float], Awaitable[T]]  # one attempt at one entry


@dataclass(frozen=True)
class Won(Generic[T]):
    """The winning attempt of a chain walk: its value, and where and how it was won."""

    value: T
    target: str
    index: int
    retries: int
    pconf: ProviderConfig
    model_id: str
    t0: float
    request: ModelRequest  # the prompt's request (model-free): what the response cache keys on


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

    def get(self, name: str, sticky_key: str | None = None) -> PromptLike: ...


@dataclass
class _Call:
    """Mutable bookkeeping of one call; frozen into a CallResult at the end."""

    resolved: PromptLike
    request_id: str
    started: float
    deadline: float
    requested_model: str
    attempts: list[Attempt] = field(default_factory=list)
    wait_s: float = 0.0
    last_error: ProviderError | None = None


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
        latency_model_ms=result.model_ms, latency_tool_ms=0.0,
        latency_network_ms=result.network_ms,
        latency_wait_ms=result.wait_ms, error_type=error_type_of(last_kind),
        tier=result.tier, cost_usd=result.cost_usd,
        timestamp=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        attempts=len(result.attempts), degraded=result.degraded, ttft_ms=result.ttft_ms,
    )


def trace_call(telemetry: Any, result: CallResult, last_kind: str | None) -> None:
    """One OTel span + the GenAI client metrics for a call (never breaks the request)."""
    try:
        end = time.time_ns()
        requested = (result.requested_model or "").partition(":")
        served = (result.model or "").partition(":")
        telemetry.record_call(
            provider=served[0] or requested[0] or None,
            request_model=requested[2] or None, response_model=served[2] or None,
            input_tokens=result.usage.input_tokens, output_tokens=result.usage.output_tokens,
            cache_read_tokens=result.usage.cache_read_tokens,
            cache_write_tokens=result.usage.cache_write_tokens,
            error_type=(last_kind or "error") if result.error is not None else None,
            prompt_name=result.prompt_name, prompt_version=result.prompt_version,
            request_id=result.request_id, tier=result.tier,
            start_ns=end - int(result.latency_ms * 1e6), end_ns=end)
    except Exception:
        log.exception("promptops: recording telemetry failed")
