"""Provider streams (real SDKs and aiohttp) against the FakeServer's SSE: deltas, usage, errors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from provider_fakes import KEY, KINDS, make

from promptops.core.errors import ProviderError
from promptops.core.models import Completion, Message, ModelRequest
from promptops.core.ports import StreamingProvider
from promptops.providers.python_provider import PythonProvider
from promptops.testing import FakeReply, FakeServer, Fault

Items = list[str | Completion]


@pytest.fixture
def srv() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server



REQUEST = ModelRequest(model="m-1", messages=(Message("system", "Be terse."),
                                              Message("user", "Say hi")))


def collect(prov: StreamingProvider, timeout_s: float = 5.0) -> Items:
    async def go() -> Items:
        try:
            return [item async for item in prov.stream(REQUEST, timeout_s=timeout_s)]
        finally:
            await prov.aclose()

    return asyncio.run(go())


def stream_error(prov: StreamingProvider, timeout_s: float = 5.0) -> tuple[ProviderError, Items]:
    seen: Items = []

    async def go() -> None:
        try:
            async for item in prov.stream(REQUEST, timeout_s=timeout_s):
                seen.append(item)
        finally:
            await prov.aclose()

    with pytest.raises(ProviderError) as info:
        asyncio.run(go())
    assert KEY not in str(info.value) and "TOPSECRET" not in str(info.value)
    return info.value, seen


@pytest.mark.parametrize("kind", KINDS)
def test_deltas_arrive_in_order_then_the_completion(srv: FakeServer, kind: str) -> None:
    srv.responder = lambda req: FakeReply(text="one two three four", input_tokens=40,
                                          output_tokens=4, cache_read_tokens=30,
                                          cache_write_tokens=5 if req.api == "anthropic" else 0)
    items = collect(make(srv, kind))
    *chunks, final = items
    assert chunks == ["one ", "two ", "three ", "four"]
    assert isinstance(final, Completion) and final.text == "one two three four"
    assert final.usage.input_tokens == 40 and final.usage.output_tokens == 4  # cache included
    assert final.usage.cache_read_tokens == 30
    assert final.usage.cache_write_tokens == (5 if kind == "anthropic" else 0)
    assert final.served_model == "m-1" and final.finish_reason in ("stop", "end_turn")
    assert final.ttft_ms is not None and 0 < final.ttft_ms <= final.latency_ms
    assert final.request_id and final.request_id.startswith("req_")
    body = srv.requests[-1].body
    assert body["stream"] is True
    if kind != "anthropic":
        assert body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("kind", KINDS)
def test_tool_call_deltas_are_accumulated(srv: FakeServer, kind: str) -> None:
    srv.responder = lambda req: FakeReply(tool_calls=[{"name": "weather",
                                                       "arguments": {"city": "Paris"}}])
    *chunks, final = collect(make(srv, kind))
    assert chunks == [] and isinstance(final, Completion)
    assert [(t.name, dict(t.arguments)) for t in final.tool_calls] == [
        ("weather", {"city": "Paris"})]


@pytest.mark.parametrize("kind", KINDS)
def test_first_delta_is_delivered_while_the_server_holds_the_rest(
    srv: FakeServer, kind: str
) -> None:
    hold = threading.Event()
    srv.responder = lambda req: FakeReply(text="alpha beta gamma", hold=hold)
    prov = make(srv, kind)

    async def go() -> tuple[str | Completion, Items]:
        it = prov.stream(REQUEST, timeout_s=5.0)
        try:
            first = await asyncio.wait_for(anext(it), 3.0)  # would time out if buffered
            assert not hold.is_set()
            hold.set()
            return first, [item async for item in it]
        finally:
            hold.set()
            await prov.aclose()

    first, rest = asyncio.run(go())
    assert first == "alpha "
    assert rest[:-1] == ["beta ", "gamma"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("fault", "want_kind", "want_status"), [
    (Fault.status(429, retry_after=2), "rate_limit", 429),
    (Fault.status(500), "server", 500),
    (Fault.status(529), "overloaded", 529),
])
def test_status_errors_before_the_first_delta_are_classified(
    srv: FakeServer, kind: str, fault: Fault, want_kind: str, want_status: int
) -> None:
    srv.script(fault)
    err, seen = stream_error(make(srv, kind))
    assert (err.kind, err.status, err.retryable, seen) == (want_kind, want_status, True, [])
    if want_status == 429:
        assert err.retry_after_s == 2.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("fault", "want_kind"), [
    (Fault.garbage(), "malformed"),
    (Fault.disconnect(), "connection"),
])
def test_transport_errors_before_the_first_delta_are_classified(
    srv: FakeServer, kind: str, fault: Fault, want_kind: str
) -> None:
    srv.script(fault)
    err, seen = stream_error(make(srv, kind))
    assert (err.kind, err.retryable, seen) == (want_kind, True, [])


@pytest.mark.parametrize("kind", KINDS)
def test_a_stall_before_the_first_delta_is_a_timeout(srv: FakeServer, kind: str) -> None:
    srv.script(Fault.timeout(1.0))
    err, seen = stream_error(make(srv, kind, timeout_s=0.2), timeout_s=0.2)
    assert (err.kind, seen) == ("timeout", [])


@pytest.mark.parametrize("kind", KINDS)
def test_a_cut_after_the_first_delta_is_stream_broken(srv: FakeServer, kind: str) -> None:
    srv.responder = lambda req: FakeReply(text="alpha beta gamma", cut_after_first=True)
    err, seen = stream_error(make(srv, kind))
    assert seen == ["alpha "]
    assert (err.kind, err.retryable) == ("stream_broken", False)


def test_the_python_provider_yields_the_whole_text_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stream_target.py").write_text(
        "def answer(req):\n    return {'text': 'hi ' + req.inputs['who'],"
        " 'usage': {'input_tokens': 2, 'output_tokens': 2}}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    prov = PythonProvider("stream_target:answer")
    assert isinstance(prov, StreamingProvider)
    request = ModelRequest(model="", messages=(), inputs={"who": "bob"})

    async def go() -> Items:
        return [item async for item in prov.stream(request, timeout_s=1.0)]

    text, final = asyncio.run(go())
    assert text == "hi bob"
    assert isinstance(final, Completion) and final.text == "hi bob"
    assert final.usage.output_tokens == 2 and final.ttft_ms == final.latency_ms
    assert final.served_model == "python:stream_target:answer"
