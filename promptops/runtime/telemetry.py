"""Optional OpenTelemetry export: one GenAI CLIENT span and two client metrics per model call.

OpenTelemetry is imported lazily inside functions, so importing `promptops.runtime` never loads
it. Attribute names are hard-coded strings: the Python semconv constants are marked "moved" and
the GenAI conventions are still in Development. We emit the stable core (operation, provider,
request/response model, usage incl. cache, finish reasons, error.type, gen_ai.prompt.*) plus the
two metrics dashboards understand today (`gen_ai.client.operation.duration` and
`gen_ai.client.token.usage`). `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental` is
honoured in the sense that these names already follow the latest experimental conventions, so it
changes nothing here. No prompt or output content is ever recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptops.core.errors import ConfigError

INSTALL_FIX = "pip install 'promptops[otel]'"
SCOPE = "promptops"

DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)

_TRUE = {"1", "true"}


def _import_otel() -> tuple[Any, Any]:
    """Return the `opentelemetry.trace` and `opentelemetry.metrics` modules or raise ConfigError."""
    try:
        from opentelemetry import metrics, trace
    except ImportError as exc:
        raise ConfigError(
            "OpenTelemetry is not installed",
            why=str(exc),
            fix=INSTALL_FIX,
        ) from exc
    return trace, metrics


def _version() -> str | None:
    """The installed promptops version, for the instrumentation scope."""
    try:
        from importlib.metadata import version

        return version("promptops")
    except Exception:
        return None


def _put(attrs: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` only when `value` is not None (OTel rejects None attribute values)."""
    if value is not None:
        attrs[key] = value


class Telemetry:
    """Emits one GenAI span and the client metrics per model call; providers default to global."""

    def __init__(
        self, tracer_provider: Any | None = None, meter_provider: Any | None = None
    ) -> None:
        trace, metrics = _import_otel()
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self._kind_client: Any = SpanKind.CLIENT
        self._status: Any = Status
        self._error_code: Any = StatusCode.ERROR
        tp = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        mp = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        version = _version()
        self._tracer: Any = tp.get_tracer(SCOPE, version)
        meter: Any = mp.get_meter(SCOPE, version)
        self._duration: Any = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self._tokens: Any = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=[float(b) for b in TOKEN_BUCKETS],
        )

    def record_call(
        self,
        *,
        operation: str = "chat",
        provider: str | None,
        request_model: str | None,
        response_model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        finish_reasons: Sequence[str] = (),
        error_type: str | None,
        prompt_name: str,
        prompt_version: str | None,
        request_id: str,
        tier: str,
        start_ns: int,
        end_ns: int,
        server_address: str | None = None,
    ) -> None:
        """Record one model call (input_tokens already INCLUDES cache reads and writes)."""
        base: dict[str, Any] = {"gen_ai.operation.name": operation}
        _put(base, "gen_ai.provider.name", provider)
        _put(base, "gen_ai.request.model", request_model)
        _put(base, "server.address", server_address)

        # sampling-relevant attributes go in at span start, the rest when the call is known
        name = f"{operation} {request_model}" if request_model else operation
        span = self._tracer.start_span(
            name, kind=self._kind_client, attributes=base, start_time=start_ns
        )
        attrs: dict[str, Any] = {}
        _put(attrs, "gen_ai.response.model", response_model)
        _put(attrs, "gen_ai.usage.input_tokens", input_tokens)
        _put(attrs, "gen_ai.usage.output_tokens", output_tokens)
        if cache_read_tokens:
            attrs["gen_ai.usage.cache_read.input_tokens"] = cache_read_tokens
        if cache_write_tokens:
            attrs["gen_ai.usage.cache_write.input_tokens"] = cache_write_tokens
        if finish_reasons:
            attrs["gen_ai.response.finish_reasons"] = tuple(finish_reasons)
        attrs["gen_ai.prompt.name"] = prompt_name
        _put(attrs, "gen_ai.prompt.version", prompt_version)
        attrs["promptops.request_id"] = request_id
        attrs["promptops.tier"] = tier
        if error_type is not None:
            attrs["error.type"] = error_type
        span.set_attributes(attrs)
        if error_type is not None:
            span.set_status(self._status(self._error_code, error_type))
        span.end(end_time=end_ns)

        metric_attrs = dict(base)
        _put(metric_attrs, "gen_ai.response.model", response_model)
        _put(metric_attrs, "error.type", error_type)
        self._duration.record(max(0, end_ns - start_ns) / 1e9, attributes=metric_attrs)
        token_attrs = {k: v for k, v in metric_attrs.items() if k != "error.type"}
        for kind, count in (("input", input_tokens), ("output", output_tokens)):
            if count is not None:  # the spec: don't report counts that are unavailable
                self._tokens.record(count, attributes={**token_attrs, "gen_ai.token.type": kind})


def telemetry_from_env(environ: Mapping[str, str]) -> Telemetry | None:
    """Telemetry on the global providers if PROMPTOPS_OTEL is 1/true and OTel imports, else None."""
    if environ.get("PROMPTOPS_OTEL", "").strip().lower() not in _TRUE:
        return None
    try:
        return Telemetry()
    except ConfigError:
        return None
