"""Real anthropic/openai SDK round trips through our providers against the stdlib FakeServer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from provider_fakes import KEY, KINDS, Provider, make

from promptops.core.errors import ProviderError
from promptops.core.models import Completion, Message, ModelRequest, ToolCall
from promptops.providers.retry import RetryPolicy, call_with_retries
from promptops.testing import FakeReply, FakeServer, Fault

T = TypeVar("T")
TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}



@pytest.fixture
def srv() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server



def with_provider(prov: Provider, fn: Callable[[Provider], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await fn(prov)
        finally:
            await prov.aclose()

    return asyncio.run(go())


def complete(prov: Provider, request: ModelRequest, timeout_s: float = 5.0) -> Completion:
    return with_provider(prov, lambda p: p.complete(request, timeout_s=timeout_s))


def fail(prov: Provider, request: ModelRequest, timeout_s: float = 5.0) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        complete(prov, request, timeout_s)
    assert KEY not in str(info.value) and "TOPSECRET" not in str(info.value)
    return info.value


def request(**params: Any) -> ModelRequest:
    return ModelRequest(
        model="claude-haiku-4-5",
        messages=(Message("system", "Be terse."), Message("user", "Say hi")),
        params=params,
    )


CACHED_REPLY = FakeReply(text="hi there", input_tokens=100, output_tokens=7,
                         cache_read_tokens=30, cache_write_tokens=10, served_model="served-2025")


def test_anthropic_round_trip_usage_and_params(srv: FakeServer) -> None:
    srv.responder = lambda req: CACHED_REPLY
    out = complete(make(srv, "anthropic"), request(
        temperature=0.3, top_p=0.9, top_k=5, max_tokens=77, stop=["END"], seed=1))
    assert out.text == "hi there" and out.served_model == "served-2025"
    # Anthropic reports input excluding cache (60); we normalise to inclusive 60+30+10.
    assert (out.usage.input_tokens, out.usage.output_tokens) == (100, 7)
    assert (out.usage.cache_read_tokens, out.usage.cache_write_tokens) == (30, 10)
    assert out.finish_reason == "end_turn" and out.attempts == 1
    assert out.request_id and out.request_id.startswith("req_")
    assert out.latency_ms > 0
    [seen] = srv.requests
    body = seen.body
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9 and body["top_k"] == 5
    assert body["max_tokens"] == 77 and body["stop_sequences"] == ["END"]
    assert "seed" not in body  # OpenAI-only params are not sent to Anthropic
    assert seen.system == "Be terse." and [m["role"] for m in seen.messages] == ["user"]
    # anthropic 2.14 sends the key as `Authorization: Bearer` (older SDKs: x-api-key).
    sent = seen.headers.get("x-api-key") or seen.headers["authorization"].removeprefix("Bearer ")
    assert sent == KEY
    assert seen.headers.get("x-stainless-retry-count", "0") == "0"


def test_anthropic_default_max_tokens_and_tools(srv: FakeServer) -> None:
    srv.responder = lambda req: FakeReply(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    req = ModelRequest(model="claude-haiku-4-5", messages=(Message("user", "weather?"),),
                       tools=(TOOL,))
    out = complete(make(srv, "anthropic"), req)
    assert out.tool_calls == (ToolCall("get_weather", {"city": "Paris"}),)
    assert out.finish_reason == "tool_use"
    body = srv.requests[0].body
    assert body["max_tokens"] == 1024 and "temperature" not in body and "system" not in body
    assert body["tools"][0]["name"] == "get_weather"
    assert body["tools"][0]["input_schema"] == TOOL["parameters"]


def test_openai_round_trip_usage_and_params(srv: FakeServer) -> None:
    srv.responder = lambda req: CACHED_REPLY
    req = ModelRequest(
        model="gpt-4o-mini",
        messages=(Message("system", "Be terse."), Message("user", "Say hi")),
        params={"temperature": 0.2, "max_tokens": 50, "seed": 7, "top_p": 0.5, "top_k": 3},
        output_format="json",
    )
    out = complete(make(srv, "openai"), req)
    assert out.text == "hi there" and out.served_model == "served-2025"
    # OpenAI prompt_tokens already include cached tokens.
    assert (out.usage.input_tokens, out.usage.output_tokens, out.usage.cache_read_tokens) == (
        100, 7, 30)
    assert out.finish_reason == "stop" and out.request_id and out.latency_ms > 0
    [seen] = srv.requests
    body = seen.body
    assert body["temperature"] == 0.2 and body["seed"] == 7 and body["top_p"] == 0.5
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body
    assert body["response_format"] == {"type": "json_object"}
    assert "top_k" not in body
    assert [m["role"] for m in seen.messages] == ["system", "user"]
    assert seen.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("kind", ["openai-compatible", "http"])
def test_openai_compatible_mapping_and_tools(srv: FakeServer, kind: str) -> None:
    srv.responder = lambda req: FakeReply(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
    req = ModelRequest(model="llama3", messages=(Message("user", "weather?"),),
                       params={"max_tokens": 40, "top_k": 3}, output_format="json",
                       tools=(TOOL,))
    out = complete(make(srv, kind), req)
    assert out.tool_calls == (ToolCall("get_weather", {"city": "Oslo"}),)
    assert out.finish_reason == "tool_calls"
    body = srv.requests[0].body
    assert body["max_tokens"] == 40 and "max_completion_tokens" not in body
    assert body["top_k"] == 3 and "response_format" not in body
    assert body["tools"][0] == {"type": "function", "function": TOOL}


@pytest.mark.parametrize("kind", KINDS)
def test_status_faults_are_classified(srv: FakeServer, kind: str) -> None:
    srv.script(Fault.status(429, retry_after=0.05), Fault.status(500), Fault.status(529),
               Fault.status(429, retry_after_ms=250), Fault.status(404))
    expected = [("rate_limit", 429, 0.05), ("server", 500, None), ("overloaded", 529, None),
                ("rate_limit", 429, 0.25), ("not_found", 404, None)]
    for kind_, status, retry_after in expected:
        err = fail(make(srv, kind), request())
        assert (err.kind, err.status, err.retry_after_s) == (kind_, status, retry_after)
        assert err.retryable == (kind_ != "not_found")
    assert len(srv.requests) == 5  # the SDK made no retries of its own


@pytest.mark.parametrize("kind", KINDS)
def test_transport_faults_are_classified(srv: FakeServer, kind: str) -> None:
    srv.script(Fault.timeout(2.0), Fault.garbage(), Fault.disconnect())
    assert fail(make(srv, kind), request(), timeout_s=0.3).kind == "timeout"
    garbage = fail(make(srv, kind), request())
    assert garbage.kind == "malformed" and garbage.retryable
    assert fail(make(srv, kind), request()).kind == "connection"
    assert len(srv.requests) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_retry_loop_rides_out_a_storm(srv: FakeServer, kind: str) -> None:
    srv.script(Fault.status(429, retry_after=0.05), Fault.status(500), Fault.status(529))
    srv.responder = lambda req: "calm"
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    out = with_provider(make(srv, kind), lambda p: call_with_retries(
        p, request(), RetryPolicy(), timeout_s=5.0, sleep=no_sleep))
    assert out.text == "calm" and out.attempts == 4
    assert len(sleeps) == 3 and sleeps[0] >= 0.05
    assert len(srv.requests) == 4


@pytest.mark.parametrize("kind", KINDS)
def test_401_raises_auth_at_once_without_the_key(srv: FakeServer, kind: str) -> None:
    srv.script(Fault.status(401, body=f"invalid x-api-key {KEY}"))
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    with pytest.raises(ProviderError) as info:
        with_provider(make(srv, kind), lambda p: call_with_retries(
            p, request(), RetryPolicy(), timeout_s=5.0, sleep=no_sleep))
    err = info.value
    assert err.kind == "auth" and err.status == 401 and not err.retryable
    assert KEY not in str(err) and "TOPSECRET" not in str(err)
    assert err.fix is not None and "_API_KEY" in err.fix
    assert sleeps == [] and len(srv.requests) == 1


def test_http_transport_usage_and_request_id(srv: FakeServer) -> None:
    srv.responder = lambda req: CACHED_REPLY
    req = ModelRequest(model="llama3", messages=(Message("user", "Say hi"),),
                       params={"temperature": 0, "max_tokens": 5})
    out = complete(make(srv, "http"), req)
    assert out.text == "hi there" and out.served_model == "served-2025"
    assert (out.usage.input_tokens, out.usage.output_tokens, out.usage.cache_read_tokens) == (
        100, 7, 30)
    assert out.request_id and out.finish_reason == "stop"
    body = srv.requests[0].body
    assert body["temperature"] == 0 and body["max_tokens"] == 5
    assert srv.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_anthropic_prompt_cache_marks_the_shared_system_block(srv: FakeServer) -> None:
    srv.responder = lambda req: CACHED_REPLY
    out = complete(make(srv, "anthropic"), request(cache_control="1h", max_tokens=5))
    body = srv.requests[0].body
    # The marker sits on the system prefix (shared by every case), not on the user message.
    assert body["system"] == [{"type": "text", "text": "Be terse.",
                                "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    assert "cache_control" not in body and "cache_control" not in str(body["messages"])
    assert (out.usage.cache_read_tokens, out.usage.cache_write_tokens) == (30, 10)


@pytest.mark.parametrize("kind", ["openai", "http"])
def test_openai_style_providers_drop_cache_control(srv: FakeServer, kind: str) -> None:
    srv.responder = lambda req: FakeReply(text="hi")
    complete(make(srv, kind), request(cache_control=True))
    assert "cache_control" not in str(srv.requests[0].body)


@pytest.mark.parametrize("kind", ["openai", "http"])
def test_openai_processing_time_splits_model_from_network(srv: FakeServer, kind: str) -> None:
    srv.latency_ms = 30  # the fake reports it as openai-processing-ms, as OpenAI does
    out = complete(make(srv, kind), request())
    assert out.server_ms == 30.0 and out.latency_ms >= 30.0
    assert out.request_id  # still read from the parsed body


def test_anthropic_reports_no_processing_time(srv: FakeServer) -> None:
    out = complete(make(srv, "anthropic"), request())
    assert out.server_ms is None  # the Messages API sends no such header: never guessed
