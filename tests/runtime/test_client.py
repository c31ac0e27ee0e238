"""Runtime against the FakeServer with an injected clock and sleep (no real backoff waiting)."""

from __future__ import annotations

import asyncio
import sys
import threading
import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_fakes import FakeClock, Sink, Store

from promptops.core.config import PriceOverride, ProjectConfig, ProviderConfig
from promptops.core.errors import ConfigError, ProviderError
from promptops.core.prompt import parse_prompt
from promptops.runtime.client import CallResult, PromptOpsUnavailable, Runtime
from promptops.runtime.errors import PromptDisabledError, RuntimeUsageError
from promptops.runtime.store import ResolvedPrompt
from promptops.storage.cache import ResponseCache
from promptops.testing import FakeReply, FakeServer, Fault

A, B = "p1:model-a", "p2:model-b"





def resolved(model: str | None = A, *, enabled: bool = True, fallback: str | None = None,
             rollback_model: str | None = None, **extra: Any) -> ResolvedPrompt:
    prompt = parse_prompt({
        "name": "greet", "version": "1.0.0", "input": {"who": "string"},
        "messages": [{"role": "user", "content": "hello {{ who }}"}], **extra,
    }, "greet.yaml")
    return ResolvedPrompt("greet", "1.0.0", "production", "pointer", prompt, model, enabled,
                          fallback, None, rollback_model, prompt.behaviour_hash)


@pytest.fixture
def srv(fake_server_session: FakeServer) -> FakeServer:
    """The session's fake server, reset, with this module's responder and no latency."""
    server = fake_server_session
    server.reset()
    server.latency_ms = 0
    server.responder = lambda req: FakeReply(text=f"{req.model}: {req.last_user_text}",
                                             input_tokens=7, output_tokens=3)
    return server


class Env:
    """A Runtime wired to the fake server, a fake clock and a list sink."""

    def __init__(self, srv: FakeServer, prompt: ResolvedPrompt, *, chain: bool = True,
                 cache: ResponseCache | None = None, **kw: Any) -> None:
        self.clock, self.sink = FakeClock(), Sink()
        providers = {n: ProviderConfig(n, "openai-compatible", base_url=srv.openai_base_url,
                                       timeout_s=0.3) for n in ("p1", "p2")}
        config = ProjectConfig(providers=providers, models={"fb": "python:rt_fallbacks:answer"},
                               prices={"p1/model-a": PriceOverride(1.0, 2.0)})
        self.rt = Runtime(Store(prompt), config=config, chains={"greet": [B]} if chain else {},
                          metrics=self.sink, cache=cache, environ={}, clock=self.clock,
                          sleep=self.clock.sleep, rng=lambda: 0.0, **kw)

    def run(self, *calls: Callable[[Runtime], Awaitable[Any]]) -> list[Any]:
        async def go() -> list[Any]:
            try:
                return [await c(self.rt) for c in calls]
            finally:
                await self.rt.aclose()
        return asyncio.run(go())

    def call(self, **kw: Any) -> CallResult:
        out: CallResult = self.run(lambda rt: rt.acall("greet", {"who": "bob"}, **kw))[0]
        return out


def models(srv: FakeServer) -> list[str]:
    return [r.model for r in srv.requests]


def test_primary_answers_and_records_one_row(srv: FakeServer) -> None:
    env = Env(srv, resolved())
    res = env.call(request_id="req-1")
    assert (res.text, res.tier, res.source, res.degraded) == (
        "model-a: hello bob", "primary", "model", False)
    assert (res.model, res.requested_model, res.request_id) == (A, A, "req-1")
    assert res.usage.input_tokens == 7 and res.usage.output_tokens == 3
    assert [(a.provider_model, a.kind) for a in res.attempts] == [(A, None)]
    [row] = env.sink.rows
    assert (row.tier, row.error_type, row.model, row.attempts, row.prompt_version) == (
        "primary", "none", A, 1, "1.0.0")
    assert row.input_tokens == 7 and row.request_id == "req-1" and row.timestamp
    assert res.cost_usd == row.cost_usd == pytest.approx(13e-6)  # 7·$1 + 3·$2 per Mtok


def test_a_success_resets_the_failure_count(srv: FakeServer) -> None:
    srv.script(Fault.status(500), Fault.status(500))
    env = Env(srv, resolved())
    assert env.call().tier == "retry"
    srv.script(Fault.status(500))
    assert env.call().tier == "retry"  # not a 3rd consecutive failure: A stays closed


def test_429_short_retry_after_is_honoured_on_the_same_entry(srv: FakeServer) -> None:
    srv.script(Fault.status(429, retry_after=1.5))
    env = Env(srv, resolved())
    res = env.call()
    assert models(srv) == ["model-a", "model-a"]
    assert env.clock.sleeps == [1.5]  # retry-after beats the 0.5 s backoff
    assert res.tier == "retry" and not res.degraded and res.wait_ms == 1500.0
    assert res.attempts[0].kind == "rate_limit" and res.attempts[0].retry_after_s == 1.5
    assert env.sink.rows[0].error_type == "rate_limit"


def test_429_long_retry_after_fails_over_now_and_opens_the_circuit(srv: FakeServer) -> None:
    srv.script(Fault.status(429, retry_after=10))  # > max_retry_after_s (5), < the deadline
    env = Env(srv, resolved())
    first, second = env.run(lambda rt: rt.acall("greet", {"who": "x"}),
                            lambda rt: rt.acall("greet", {"who": "y"}))
    assert env.clock.sleeps == []
    assert (first.tier, first.model, first.degraded) == ("fallback", B, True)
    assert models(srv) == ["model-a", "model-b", "model-b"]  # 2nd call skips the open circuit
    assert second.tier == "fallback" and len(second.attempts) == 1
    assert env.rt.breaker.state(A) == "open"
    env.clock.now += 9.9
    assert env.rt.breaker.state(A) == "open"
    env.clock.now += 0.1
    assert env.rt.breaker.state(A) == "half_open"


def test_retry_after_beyond_the_deadline_fails_over(srv: FakeServer) -> None:
    srv.script(Fault.status(429, retry_after=4))
    env = Env(srv, resolved())
    res = env.call(timeout_s=3.0)
    assert env.clock.sleeps == [] and res.tier == "fallback"


@pytest.mark.parametrize("code", [500, 503, 529])
def test_server_errors_are_retried_then_fail_over(srv: FakeServer, code: int) -> None:
    srv.script(*[Fault.status(code)] * 3)
    env = Env(srv, resolved())
    res = env.call()
    assert models(srv) == ["model-a"] * 3 + ["model-b"]
    assert env.clock.sleeps == [0.5, 1.0]  # backoff 0.5·2^n (rng=0: no jitter taken off)
    assert res.tier == "fallback" and res.text == "model-b: hello bob"
    kind = "overloaded" if code == 529 else "server"
    assert [a.kind for a in res.attempts] == [kind] * 3 + [None]
    assert [a.status for a in res.attempts] == [code] * 3 + [None]
    assert env.sink.rows[0].error_type == "model_error"
    assert env.rt.breaker.state(A) == "open"  # three consecutive failures


@pytest.mark.parametrize(("fault", "kind", "error_type"), [
    (Fault.timeout(2.0), "timeout", "timeout"),
    (Fault.disconnect(), "connection", "timeout"),
    (Fault.garbage(), "malformed", "model_error"),
])
def test_transient_transport_faults_are_retried(
    srv: FakeServer, fault: Fault, kind: str, error_type: str
) -> None:
    srv.script(fault)
    env = Env(srv, resolved())
    res = env.call()
    assert models(srv) == ["model-a", "model-a"]
    assert res.tier == "retry" and [a.kind for a in res.attempts] == [kind, None]
    assert env.clock.sleeps == [0.5]
    assert env.sink.rows[0].error_type == error_type


@pytest.mark.parametrize("code", [401, 403, 404, 402])
def test_misconfigured_entry_fails_over_without_retry(srv: FakeServer, code: int) -> None:
    srv.script(Fault.status(code))
    env = Env(srv, resolved())
    res = env.call()
    assert models(srv) == ["model-a", "model-b"]
    assert env.clock.sleeps == [] and res.tier == "fallback"
    assert env.rt.breaker.state(A) == "open"


@pytest.mark.parametrize("code", [400, 413, 422])
def test_bad_request_is_raised_at_once_without_failover(srv: FakeServer, code: int) -> None:
    srv.script(Fault.status(code))
    env = Env(srv, resolved())
    with pytest.raises(ProviderError) as info:
        env.call()
    assert info.value.kind == "bad_request" and info.value.status == code
    assert srv.count() == 1
    [row] = env.sink.rows
    assert (row.tier, row.error_type) == ("error", "model_error")
    assert env.rt.breaker.state(A) == "closed"  # the model is fine; the request is not


def test_backoff_waits_are_bounded_by_the_deadline(srv: FakeServer) -> None:
    srv.fail_always(Fault.status(500))
    env = Env(srv, resolved())
    with pytest.raises(PromptOpsUnavailable):
        env.call(timeout_s=1.2)
    assert sum(env.clock.sleeps) <= 1.2
    assert env.clock.sleeps == [0.5, 0.5]  # a's 2nd backoff (1 s) would pass it: fail over
    assert models(srv) == ["model-a", "model-a", "model-b", "model-b"]


def test_single_deployment_outage_costs_one_attempt_once_open(srv: FakeServer) -> None:
    srv.fail_always(Fault.status(503))
    env = Env(srv, resolved(), chain=False)

    def call(rt: Runtime) -> Awaitable[CallResult]:
        return rt.acall("greet", {"who": "x"}, raise_on_error=False)

    results = env.run(call, call, call)
    assert [len(r.attempts) for r in results] == [3, 1, 1]
    assert env.rt.breaker.state(A) == "open"
    env.clock.now += 30  # cooldown over: half-open, one probe
    srv.fail_always(None)
    env2 = env.run(call)[0]
    assert env2.tier == "primary" and env.rt.breaker.state(A) == "closed"
    assert len(env.sink.rows) == 4


def test_forced_call_while_a_probe_is_in_flight_makes_one_attempt(srv: FakeServer) -> None:
    srv.fail_always(Fault.status(500))
    env = Env(srv, resolved(), chain=False)
    env.rt.breaker.failure(A, open_for_s=30)
    env.clock.now += 30
    assert env.rt.breaker.allow(A)  # another request holds the half-open probe
    res = env.call(raise_on_error=False)
    assert len(res.attempts) == 1 and env.clock.sleeps == []


def test_failed_probe_reopens_and_costs_one_attempt(srv: FakeServer) -> None:
    srv.fail_always(Fault.status(500))
    env = Env(srv, resolved(), chain=False)
    env.call(raise_on_error=False)
    env.clock.now += 30
    res = env.call(raise_on_error=False)
    assert len(res.attempts) == 1 and env.rt.breaker.state(A) == "open"


def test_open_primary_is_skipped_for_the_fallback(srv: FakeServer) -> None:
    env = Env(srv, resolved())
    env.rt.breaker.failure(A, open_for_s=100)
    res = env.call()
    assert models(srv) == ["model-b"] and res.tier == "fallback"


def test_tier3_serves_the_cached_answer_when_every_model_fails(
    srv: FakeServer, tmp_path: Path
) -> None:
    cache = ResponseCache(tmp_path / "runtime-cache.db")
    Env(srv, resolved(), cache=cache).call()
    cache.close()  # a new process: the entry comes back from disk
    srv.fail_always(Fault.status(500))
    env = Env(srv, resolved(), cache=ResponseCache(tmp_path / "runtime-cache.db"))
    res = env.call()
    assert (res.text, res.tier, res.source, res.degraded) == (
        "model-a: hello bob", "cache", "cache", True)
    assert res.model == "p1:model-a"
    assert len(res.attempts) == 6  # both entries were tried first
    [row] = env.sink.rows
    assert (row.tier, row.error_type, row.degraded) == ("cache", "model_error", True)


def test_cache_hit_is_only_for_the_same_request(srv: FakeServer, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.db")
    env = Env(srv, resolved(static_response="sorry"), cache=cache)
    env.call()
    srv.fail_always(Fault.status(500))
    other = env.run(lambda rt: rt.acall("greet", {"who": "eve"}))[0]
    assert other.tier == "static"


def test_tier3_static_response(srv: FakeServer) -> None:
    srv.fail_always(Fault.status(529))
    env = Env(srv, resolved(static_response="We'll be right back."))
    res = env.call()
    assert (res.text, res.tier, res.source, res.degraded) == (
        "We'll be right back.", "static", "static", True)
    assert env.sink.rows[0].tier == "static" and env.sink.rows[0].error_type == "model_error"


def test_all_models_unavailable_payload(srv: FakeServer) -> None:
    srv.fail_always(Fault.status(500))
    env = Env(srv, resolved())
    with pytest.raises(PromptOpsUnavailable) as info:
        env.call(request_id="r-42")
    exc = info.value
    assert exc.code == "ALL_MODELS_UNAVAILABLE" and exc.request_id == "r-42"
    assert exc.last_error_type == "model_error"
    assert [(a.provider_model, a.status) for a in exc.attempts] == [(A, 500)] * 3 + [(B, 500)] * 3
    payload = exc.payload()
    assert payload["code"] == "ALL_MODELS_UNAVAILABLE" and payload["request_id"] == "r-42"
    assert len(payload["attempts"]) == 6 and "500" in payload["message"]
    [row] = env.sink.rows
    assert (row.tier, row.error_type, row.attempts) == ("error", "model_error", 6)


def test_raise_on_error_false_returns_the_error_as_a_value(srv: FakeServer) -> None:
    srv.fail_always(Fault.status(429, retry_after=30))
    env = Env(srv, resolved())
    res = env.call(raise_on_error=False, request_id="r-7")
    assert res.error is not None and not res.ok
    assert res.error["code"] == "ALL_MODELS_UNAVAILABLE" and res.error["request_id"] == "r-7"
    assert [a["kind"] for a in res.error["attempts"]] == ["rate_limit", "rate_limit"]
    assert (res.tier, res.text, res.degraded) == ("error", "", True)
    assert env.sink.rows[0].error_type == "rate_limit"


def test_rollback_model_is_the_last_resort_without_a_chain(srv: FakeServer) -> None:
    srv.script(Fault.status(401))
    env = Env(srv, resolved(rollback_model=B), chain=False)
    res = env.call()
    assert models(srv) == ["model-a", "model-b"] and res.model == B


def answer(request: Any) -> str:
    return f"rules say hi to {request.inputs['who']}"


def boom(request: Any) -> str:
    raise RuntimeError("fallback broke")


@pytest.fixture
def fallback_module() -> Iterator[None]:
    mod = types.ModuleType("rt_fallbacks")
    mod.answer = answer  # type: ignore[attr-defined]
    mod.boom = boom  # type: ignore[attr-defined]
    sys.modules["rt_fallbacks"] = mod
    yield
    del sys.modules["rt_fallbacks"]


@pytest.mark.parametrize("spec", ["python:rt_fallbacks:answer", "fb"])
def test_disabled_prompt_calls_the_fallback_callable(
    srv: FakeServer, fallback_module: None, spec: str
) -> None:
    env = Env(srv, resolved(enabled=False, fallback=spec))
    res = env.call()
    assert (res.text, res.tier, res.source) == ("rules say hi to bob", "disabled",
                                                "fallback_callable")
    assert srv.count() == 0
    assert env.sink.rows[0].tier == "disabled"


def test_disabled_prompt_with_failing_fallback(srv: FakeServer, fallback_module: None) -> None:
    env = Env(srv, resolved(enabled=False, fallback="python:rt_fallbacks:boom"))
    with pytest.raises(PromptDisabledError, match="fallback broke") as info:
        env.call()
    assert info.value.code == "PROMPT_DISABLED" and srv.count() == 0
    assert len(env.sink.rows) == 1


def test_python_error_in_chain_moves_to_next_entry(srv: FakeServer, fallback_module: None) -> None:
    env = Env(srv, resolved(model="python:rt_fallbacks:boom"))
    res, *_ = env.run(*[lambda rt: rt.acall("greet", {"who": "x"})] * 3)
    assert res.model == B and [a.kind for a in res.attempts] == ["python_error", None]
    assert env.rt.breaker.state("python:rt_fallbacks:boom") == "open"  # failures count


def test_bad_variables_raise_with_one_row(srv: FakeServer) -> None:
    env = Env(srv, resolved())
    with pytest.raises(ConfigError):
        env.run(lambda rt: rt.acall("greet", {}))
    assert srv.count() == 0 and len(env.sink.rows) == 1


def test_sync_call_matches_acall(srv: FakeServer) -> None:
    srv.script(Fault.status(500))
    env = Env(srv, resolved())
    sync = env.rt.call("greet", {"who": "bob"}, request_id="s")
    sync2 = env.rt.call("greet", {"who": "bob"}, request_id="s2")  # same loop, same session
    env.rt.close()
    srv.script(Fault.status(500))
    other = Env(srv, resolved())
    asyn = other.call(request_id="s")
    for field in ("text", "tier", "model", "source", "degraded", "wait_ms", "request_id"):
        assert getattr(sync, field) == getattr(asyn, field), field
    assert [a.kind for a in sync.attempts] == [a.kind for a in asyn.attempts] == ["server", None]
    assert sync2.tier == "primary" and len(env.sink.rows) == 2


def test_sync_call_from_threads(srv: FakeServer) -> None:
    env = Env(srv, resolved())
    out: list[CallResult] = []

    def work() -> None:
        for i in range(5):
            out.append(env.rt.call("greet", {"who": str(i)}))
        env.rt.close()  # closes this thread's loop and its connections

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 15 and {r.tier for r in out} == {"primary"}
    assert srv.count() == 15 and len(env.sink.rows) == 15


def test_sync_call_inside_a_running_loop_is_refused(srv: FakeServer) -> None:
    env = Env(srv, resolved())

    async def inside(rt: Runtime) -> None:
        with pytest.raises(RuntimeUsageError, match="acall"):
            rt.call("greet", {"who": "bob"})

    env.run(inside)
    assert srv.count() == 0


def test_astream_yields_the_text_then_the_result(srv: FakeServer) -> None:
    env = Env(srv, resolved())

    async def collect(rt: Runtime) -> list[str | CallResult]:
        return [item async for item in rt.astream("greet", {"who": "bob"})]

    chunks, = env.run(collect)
    assert "".join(c for c in chunks[:-1] if isinstance(c, str)) == "model-a: hello bob"
    assert isinstance(chunks[-1], CallResult) and chunks[-1].tier == "primary"
    assert len(env.sink.rows) == 1


def test_one_metrics_row_per_call(srv: FakeServer) -> None:
    env = Env(srv, resolved(static_response="s"))
    srv.script(Fault.status(500), Fault.ok(), Fault.status(401))

    def call(rt: Runtime) -> Awaitable[CallResult]:
        return rt.acall("greet", {"who": "x"}, raise_on_error=False)

    results = env.run(*[call] * 5)
    assert [r.tier for r in results] == ["retry", "fallback", "fallback", "fallback", "fallback"]
    assert len(env.sink.rows) == 5
    assert [r.request_id for r in results] == [row.request_id for row in env.sink.rows]
    assert len({r.request_id for r in results}) == 5


def test_from_project_wires_store_cache_and_metrics(
    tmp_path: Path, fallback_module: None
) -> None:
    (tmp_path / "promptops.yaml").write_text("providers: {}\n")
    folder = tmp_path / "prompts" / "greet"
    folder.mkdir(parents=True)
    (folder / "prompt.yaml").write_text(
        "name: greet\nmodel: python:rt_fallbacks:answer\ninput: {who: string}\n"
        "messages:\n  - {role: user, content: 'hi {{ who }}'}\n")
    rt = Runtime.from_project(tmp_path, env="production")
    try:
        res = rt.call("greet", {"who": "ann"})
    finally:
        rt.close()
    assert (res.text, res.tier, res.model) == ("rules say hi to ann", "primary",
                                               "python:rt_fallbacks:answer")
    assert (tmp_path / ".promptops" / "runtime-cache.db").is_file()
    metrics: Any = rt.metrics
    metrics.flush()
    assert metrics.written == 1
    metrics.close()


def _telemetry() -> tuple[Any, Any]:
    """A Telemetry on private in-memory OTel providers (skips without opentelemetry-sdk)."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from promptops.runtime.telemetry import Telemetry

    exporter = InMemorySpanExporter()
    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(exporter))
    meter = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return Telemetry(tracer, meter), exporter


def test_one_span_per_call_with_genai_attributes(srv: FakeServer) -> None:
    telemetry, exporter = _telemetry()
    env = Env(srv, resolved(), telemetry=telemetry)
    res = env.call(request_id="req-otel")
    [span] = exporter.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert span.name == "chat model-a"
    assert attrs["gen_ai.provider.name"] == "p1" and attrs["gen_ai.response.model"] == "model-a"
    assert attrs["gen_ai.usage.input_tokens"] == res.usage.input_tokens == 7
    assert attrs["gen_ai.prompt.name"] == "greet" and attrs["gen_ai.prompt.version"] == "1.0.0"
    assert attrs["promptops.request_id"] == "req-otel" and attrs["promptops.tier"] == "primary"
    assert "error.type" not in attrs


def test_failed_call_span_carries_the_error_type(srv: FakeServer) -> None:
    telemetry, exporter = _telemetry()
    srv.script(*[Fault.status(401)] * 4)
    env = Env(srv, resolved(), telemetry=telemetry)
    res = env.call(raise_on_error=False)
    assert res.error is not None
    [span] = exporter.get_finished_spans()
    assert dict(span.attributes or {})["error.type"] == "auth"


def test_a_thousand_concurrent_calls_lose_no_metrics_row(tmp_path: Path,
                                                         fallback_module: None) -> None:
    from promptops.runtime.metrics import MetricsWriter

    writer = MetricsWriter(tmp_path / "metrics.db")
    prompt = resolved("python:rt_fallbacks:answer")
    rt = Runtime(Store(prompt), config=ProjectConfig(), metrics=writer, environ={})

    async def many() -> list[CallResult]:
        try:
            return list(await asyncio.gather(*(
                rt.acall("greet", {"who": f"u{i}"}, request_id=f"r{i}") for i in range(1000))))
        finally:
            await rt.aclose()

    results = asyncio.run(many())
    writer.close()
    assert all(r.ok for r in results)
    assert writer.dropped == 0 and writer.written == 1000
    import sqlite3

    count = sqlite3.connect(tmp_path / "metrics.db").execute(
        "SELECT COUNT(DISTINCT request_id) FROM requests").fetchone()[0]
    assert count == 1000


def test_latency_split_uses_the_providers_reported_processing_time(srv: FakeServer) -> None:
    srv.latency_ms = 40  # the fake server reports it as openai-processing-ms, as OpenAI does
    try:
        rt = Runtime(Store(resolved()), config=ProjectConfig(providers={
            "p1": ProviderConfig("p1", "openai-compatible", base_url=srv.openai_base_url)}),
            metrics=(sink := Sink()), environ={})
        result = rt.call("greet", {"who": "bob"})
        rt.close()
    finally:
        srv.latency_ms = 0
    assert result.model_ms == 40.0
    assert result.network_ms is not None and 0 <= result.network_ms < result.latency_ms
    [row] = sink.rows
    assert (row.latency_model_ms, row.latency_network_ms) == (40.0, result.network_ms)
