"""OpenTelemetry export: GenAI span attributes and the two client histograms, in memory."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from promptops.core.errors import ConfigError
from promptops.runtime.telemetry import Telemetry, telemetry_from_env

START = 1_700_000_000_000_000_000
END = START + 1_500_000_000  # 1.5 s


@dataclass
class Otel:
    """A Telemetry wired to private in-memory providers."""

    telemetry: Telemetry
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader


@pytest.fixture
def otel() -> Iterator[Otel]:
    """Private tracer/meter providers; the global ones are never touched."""
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    yield Otel(Telemetry(tracer_provider=tp, meter_provider=mp), exporter, reader)
    tp.shutdown()
    mp.shutdown()


def _call(t: Telemetry, **kw: Any) -> None:
    """Record a successful Anthropic call, overriding any field."""
    base: dict[str, Any] = {
        "provider": "anthropic",
        "request_model": "claude-sonnet-4-5",
        "response_model": "claude-sonnet-4-5-20250929",
        "input_tokens": 14,
        "output_tokens": 20,
        "cache_read_tokens": 5,
        "cache_write_tokens": 2,
        "finish_reasons": ["end_turn"],
        "error_type": None,
        "prompt_name": "summarize",
        "prompt_version": "v3",
        "request_id": "req-1",
        "tier": "primary",
        "start_ns": START,
        "end_ns": END,
        "server_address": "api.anthropic.com",
    }
    base.update(kw)
    t.record_call(**base)


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    """Metric name -> its data points; `unit:<name>` -> its units."""
    out: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out.setdefault(m.name, []).extend(m.data.data_points)
                out.setdefault(f"unit:{m.name}", []).append(m.unit)
    return out


def test_span_name_kind_times_and_attributes(otel: Otel) -> None:
    _call(otel.telemetry)
    (span,) = otel.spans.get_finished_spans()
    assert span.name == "chat claude-sonnet-4-5"
    assert span.kind is SpanKind.CLIENT
    assert (span.start_time, span.end_time) == (START, END)
    assert span.status.status_code is StatusCode.UNSET
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "promptops"
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.response.model": "claude-sonnet-4-5-20250929",
        "gen_ai.usage.input_tokens": 14,  # inclusive of cache read + write
        "gen_ai.usage.output_tokens": 20,
        "gen_ai.usage.cache_read.input_tokens": 5,
        "gen_ai.usage.cache_write.input_tokens": 2,
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.prompt.name": "summarize",
        "gen_ai.prompt.version": "v3",
        "promptops.request_id": "req-1",
        "promptops.tier": "primary",
        "server.address": "api.anthropic.com",
    }


def test_no_content_attributes(otel: Otel) -> None:
    _call(otel.telemetry)
    (span,) = otel.spans.get_finished_spans()
    keys = set(span.attributes or {})
    banned = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
              "gen_ai.prompt.variable.", "gen_ai.completion", "gen_ai.tool.definitions")
    assert not {k for k in keys if k.startswith(banned) or k == "gen_ai.prompt"}
    assert not span.events


def test_cache_tokens_only_when_non_zero(otel: Otel) -> None:
    _call(otel.telemetry, cache_read_tokens=0, cache_write_tokens=0, operation="text_completion")
    (span,) = otel.spans.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert span.name == "text_completion claude-sonnet-4-5"
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert "gen_ai.usage.cache_read.input_tokens" not in attrs
    assert "gen_ai.usage.cache_write.input_tokens" not in attrs
    assert "error.type" not in attrs


def test_error_sets_status_and_error_type(otel: Otel) -> None:
    _call(otel.telemetry, error_type="rate_limit", response_model=None, input_tokens=None,
          output_tokens=None, cache_read_tokens=0, cache_write_tokens=0, finish_reasons=(),
          prompt_version=None, server_address=None, tier="fallback")
    (span,) = otel.spans.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.ERROR
    assert attrs["error.type"] == "rate_limit"
    assert attrs["promptops.tier"] == "fallback"
    for absent in ("gen_ai.response.model", "gen_ai.usage.input_tokens",
                   "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons",
                   "gen_ai.prompt.version", "server.address"):
        assert absent not in attrs
    points = _points(otel.metrics)
    (duration,) = points["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "rate_limit"
    assert "gen_ai.client.token.usage" not in points  # unavailable counts are not reported


def test_duration_histogram(otel: Otel) -> None:
    _call(otel.telemetry)
    points = _points(otel.metrics)
    assert points["unit:gen_ai.client.operation.duration"] == ["s"]
    (p,) = points["gen_ai.client.operation.duration"]
    assert dict(p.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.response.model": "claude-sonnet-4-5-20250929",
        "server.address": "api.anthropic.com",
    }
    assert p.count == 1
    assert p.sum == pytest.approx(1.5)
    assert list(p.explicit_bounds)[:3] == [0.01, 0.02, 0.04]


def test_token_usage_histogram_input_and_output(otel: Otel) -> None:
    _call(otel.telemetry)
    points = _points(otel.metrics)
    assert points["unit:gen_ai.client.token.usage"] == ["{token}"]
    by_type = {p.attributes["gen_ai.token.type"]: p for p in points["gen_ai.client.token.usage"]}
    assert set(by_type) == {"input", "output"}
    assert (by_type["input"].sum, by_type["input"].count) == (14, 1)
    assert (by_type["output"].sum, by_type["output"].count) == (20, 1)
    for p in by_type.values():
        assert p.attributes["gen_ai.provider.name"] == "anthropic"
        assert p.attributes["gen_ai.request.model"] == "claude-sonnet-4-5"
        assert p.attributes["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
        assert p.attributes["gen_ai.operation.name"] == "chat"
        assert "error.type" not in p.attributes


def test_importing_runtime_does_not_import_opentelemetry() -> None:
    code = ("import sys, promptops.runtime, promptops.runtime.telemetry\n"
            "print(any(m.split('.')[0] == 'opentelemetry' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_opentelemetry_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigError) as info:
        Telemetry()
    assert info.value.fix == "pip install 'promptops[otel]'"
    assert telemetry_from_env({"PROMPTOPS_OTEL": "1"}) is None


@pytest.mark.parametrize(("value", "on"), [("1", True), ("true", True), ("TRUE", True),
                                           ("0", False), ("", False), ("false", False)])
def test_telemetry_from_env(value: str, on: bool) -> None:
    got = telemetry_from_env({"PROMPTOPS_OTEL": value})
    assert isinstance(got, Telemetry) is on
    assert telemetry_from_env({}) is None
