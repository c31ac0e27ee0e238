"""Runtime.astream against the FakeServer's SSE: real streaming, failover before the 1st chunk."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from runtime_fakes import FakeClock, Sink, Store

from promptops.core.config import ProjectConfig, ProviderConfig
from promptops.core.prompt import parse_prompt
from promptops.runtime.client import CallResult, PromptOpsUnavailable, Runtime
from promptops.runtime.store import ResolvedPrompt
from promptops.storage.cache import ResponseCache
from promptops.testing import FakeReply, FakeRequest, FakeServer, Fault

A, B = "p1:model-a", "p2:model-b"
Items = list[str | CallResult]





def resolved(**extra: Any) -> ResolvedPrompt:
    prompt = parse_prompt({
        "name": "greet", "version": "1.0.0", "input": {"who": "string"},
        "messages": [{"role": "user", "content": "hello {{ who }}"}], **extra,
    }, "greet.yaml")
    return ResolvedPrompt("greet", "1.0.0", "production", "pointer", prompt, A, True,
                          None, None, None, prompt.behaviour_hash)


class Env:
    """A Runtime over two openai-compatible entries (A, then B) on the fake server."""

    def __init__(self, srv: FakeServer, *, cache: ResponseCache | None = None,
                 **extra: Any) -> None:
        self.clock, self.sink = FakeClock(), Sink()
        providers = {n: ProviderConfig(n, "openai-compatible", base_url=srv.openai_base_url,
                                       timeout_s=2.0) for n in ("p1", "p2")}
        self.rt = Runtime(Store(resolved(**extra)), config=ProjectConfig(providers=providers),
                          chains={"greet": [B]}, metrics=self.sink, cache=cache, environ={},
                          clock=self.clock, sleep=self.clock.sleep, rng=lambda: 0.0)

    def run(self, fn: Callable[[Runtime], Awaitable[Any]]) -> Any:
        async def go() -> Any:
            try:
                return await fn(self.rt)
            finally:
                await self.rt.aclose()
        return asyncio.run(go())

    def stream(self, **kw: Any) -> Items:
        async def collect(rt: Runtime) -> Items:
            return [item async for item in rt.astream("greet", {"who": "bob"}, **kw)]
        out: Items = self.run(collect)
        return out


@pytest.fixture
def srv(fake_server_session: FakeServer) -> FakeServer:
    """The session's fake server, reset, with this module's responder and no latency."""
    server = fake_server_session
    server.reset()
    server.latency_ms = 0
    server.responder = lambda req: FakeReply(text=f"{req.model} says hello {req.last_user_text}",
                                             input_tokens=7, output_tokens=5)
    return server


def split(items: Items) -> tuple[list[str], CallResult]:
    *chunks, result = items
    assert all(isinstance(c, str) for c in chunks) and isinstance(result, CallResult)
    return [c for c in chunks if isinstance(c, str)], result


def test_chunks_are_yielded_while_the_server_still_holds_the_rest(srv: FakeServer) -> None:
    hold = threading.Event()
    srv.responder = lambda req: FakeReply(text="one two three four", hold=hold,
                                          input_tokens=7, output_tokens=4)
    env = Env(srv)

    async def go(rt: Runtime) -> tuple[str | CallResult, Items]:
        stream = rt.astream("greet", {"who": "bob"}, request_id="s-1")
        try:
            first = await asyncio.wait_for(anext(stream), 3.0)  # times out if buffered
            assert not hold.is_set() and env.sink.rows == []  # the call is still running
            hold.set()
            return first, [item async for item in stream]
        finally:
            hold.set()

    first, rest = env.run(go)
    chunks, result = split([first, *rest])
    assert chunks == ["one ", "two ", "three ", "four"]
    assert (result.text, result.tier, result.model, result.request_id) == (
        "one two three four", "primary", A, "s-1")
    assert result.usage.input_tokens == 7 and result.usage.output_tokens == 4
    assert result.ttft_ms is not None and result.ttft_ms <= result.latency_ms
    assert [(a.provider_model, a.kind) for a in result.attempts] == [(A, None)]
    [row] = env.sink.rows
    assert (row.tier, row.error_type, row.request_id, row.output_tokens) == (
        "primary", "none", "s-1", 4)
    assert row.ttft_ms == result.ttft_ms  # the metrics row carries the time to first chunk
    assert srv.requests[0].body["stream"] is True


def test_a_500_before_the_first_chunk_fails_over_to_the_next_model(srv: FakeServer) -> None:
    def fault(req: FakeRequest) -> Fault | None:
        return Fault.status(500) if req.model == "model-a" else None

    srv.fail_always(fault)
    env = Env(srv)
    chunks, result = split(env.stream())
    assert "".join(chunks) == result.text == "model-b says hello hello bob"
    assert len(chunks) > 1
    assert (result.tier, result.model, result.degraded) == ("fallback", B, True)
    assert [r.model for r in srv.requests] == ["model-a"] * 3 + ["model-b"]  # 2 retries on A
    assert env.clock.sleeps == [0.5, 1.0]
    [row] = env.sink.rows
    assert (row.tier, row.error_type, row.attempts) == ("fallback", "model_error", 4)


def test_a_short_429_is_retried_on_the_same_entry(srv: FakeServer) -> None:
    srv.script(Fault.status(429, retry_after=1.5))
    env = Env(srv)
    chunks, result = split(env.stream())
    assert (result.tier, result.model, "".join(chunks)) == ("retry", A, result.text)
    assert env.clock.sleeps == [1.5]


def test_tier3_cache_is_yielded_as_one_chunk(srv: FakeServer, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.db")
    env = Env(srv, cache=cache)
    _, first = split(env.stream())
    srv.fail_always(Fault.status(503))
    env2 = Env(srv, cache=cache)
    chunks, result = split(env2.stream())
    assert chunks == [first.text]
    assert (result.tier, result.source, result.model) == ("cache", "cache", A)
    assert result.ttft_ms is not None
    [row] = env2.sink.rows
    assert (row.tier, row.error_type) == ("cache", "model_error")


def test_static_response_when_nothing_answers(srv: FakeServer) -> None:
    srv.fail_always(Fault.disconnect())
    env = Env(srv, static_response="sorry")
    chunks, result = split(env.stream())
    assert (chunks, result.tier) == (["sorry"], "static")
    assert len(env.sink.rows) == 1


def test_all_models_down_raises_before_any_chunk(srv: FakeServer) -> None:
    srv.fail_always(Fault.status(401))
    env = Env(srv)
    seen: Items = []

    async def go(rt: Runtime) -> None:
        async for item in rt.astream("greet", {"who": "bob"}):
            seen.append(item)

    with pytest.raises(PromptOpsUnavailable):
        env.run(go)
    assert seen == []
    [row] = env.sink.rows
    assert row.tier == "error"


def test_a_break_after_the_first_chunk_ends_the_stream_without_failover(
    srv: FakeServer,
) -> None:
    srv.responder = lambda req: FakeReply(text="alpha beta gamma", cut_after_first=True)
    env = Env(srv)
    seen: Items = []

    async def go(rt: Runtime) -> None:
        async for item in rt.astream("greet", {"who": "bob"}):
            seen.append(item)

    with pytest.raises(PromptOpsUnavailable) as info:
        env.run(go)
    assert seen == ["alpha "]
    assert "'alpha '" in info.value.what and "stream" in info.value.what
    assert [(a.provider_model, a.kind) for a in info.value.attempts] == [(A, "stream_broken")]
    assert [r.model for r in srv.requests] == ["model-a"]  # no retry, no failover
    [row] = env.sink.rows
    assert (row.tier, row.error_type, row.model) == ("error", "model_error", A)


def test_a_break_as_a_value_carries_the_partial_text(srv: FakeServer) -> None:
    srv.responder = lambda req: FakeReply(text="alpha beta gamma", cut_after_first=True)
    env = Env(srv)
    chunks, result = split(env.stream(raise_on_error=False))
    assert chunks == ["alpha "] and result.text == "alpha "
    assert result.tier == "error" and result.error is not None
    assert result.error["code"] == "ALL_MODELS_UNAVAILABLE"
    assert len(env.sink.rows) == 1


def test_a_reader_that_stops_early_still_records_one_row(srv: FakeServer) -> None:
    env = Env(srv)

    async def go(rt: Runtime) -> str | CallResult:
        stream = rt.astream("greet", {"who": "bob"})
        first = await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        return first

    assert env.run(go) == "model-a "
    [row] = env.sink.rows
    assert row.model == A


def test_the_sync_stream_twin(srv: FakeServer) -> None:
    env = Env(srv)
    try:
        chunks, result = split(list(env.rt.stream("greet", {"who": "bob"})))
    finally:
        env.rt.close()
    assert len(chunks) > 1 and "".join(chunks) == result.text
    assert result.tier == "primary" and len(env.sink.rows) == 1
