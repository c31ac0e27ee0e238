"""Tests for promptops.testing.FakeServer, driven through the real openai/anthropic SDKs."""
# ruff: noqa: F811  - the imported `fake_server` fixture is used as a test parameter

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from promptops.testing import FakeReply, FakeRequest, FakeServer, Fault
from promptops.testing.fixtures import fake_server  # noqa: F401 - registers the fixture

REPO = Path(__file__).resolve().parents[2]
USER: Any = [{"role": "user", "content": "hello there world"}]


def oai(srv: FakeServer, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=srv.openai_base_url, api_key="sk-test", max_retries=0, timeout=timeout
    )


def ant(srv: FakeServer, timeout: float = 5.0) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=srv.anthropic_base_url, api_key="k", max_retries=0, timeout=timeout
    )


def ant_create(srv: FakeServer, **kw: Any) -> Any:
    args: dict[str, Any] = {"model": "claude-x", "max_tokens": 50, "messages": USER, **kw}
    return ant(srv).messages.create(**args)


# ------------------------------------------------------------------ happy paths


def test_openai_chat_non_stream(fake_server: FakeServer) -> None:
    msgs: Any = [{"role": "system", "content": "be nice"}, *USER]
    raw = oai(fake_server).chat.completions.with_raw_response.create(model="gpt-x", messages=msgs)
    r = raw.parse()
    assert raw.headers["x-request-id"].startswith("req_")
    assert r.choices[0].message.content == "hello there world"
    assert r.choices[0].finish_reason == "stop"
    assert r.model == "gpt-x" and r.id and r.created > 0
    assert r.usage is not None
    # heuristic: words + 1 per message -> (2 + 1) + (3 + 1); output = 3 words
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (7, 3, 10)
    req = fake_server.requests[-1]
    assert req.api == "openai" and req.messages[0] == {"role": "system", "content": "be nice"}
    assert req.system == "be nice" and req.stream is False


def test_openai_chat_stream_usage_in_last_chunk(fake_server: FakeServer) -> None:
    fake_server.responder = lambda req: "alpha beta gamma"
    chunks = list(
        oai(fake_server).chat.completions.create(
            model="gpt-x", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "alpha beta gamma"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (4, 3)
    assert all(c.usage is None for c in chunks[:-1])
    assert fake_server.requests[-1].stream is True


def test_anthropic_create_accepts_extra_body(fake_server: FakeServer) -> None:
    raw = ant(fake_server).messages.with_raw_response.create(
        model="claude-x",
        max_tokens=50,
        system="be brief",
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi you"}]}],
        extra_body={"temperature": 0},
    )
    m = raw.parse()
    assert raw.headers["request-id"].startswith("req_")
    assert m.content[0].type == "text" and m.content[0].text == "hi you"
    assert m.stop_reason == "end_turn" and m.model == "claude-x" and m.id.startswith("msg_")
    assert (m.usage.input_tokens, m.usage.output_tokens) == (6, 2)  # (2+1) + (2+1); 2 words
    req = fake_server.requests[-1]
    assert req.system == "be brief" and req.messages == [{"role": "user", "content": "hi you"}]
    assert req.body["temperature"] == 0 and "anthropic-version" in req.headers


def test_anthropic_stream(fake_server: FakeServer) -> None:
    fake_server.responder = lambda req: FakeReply(text="one two three", served_model="claude-real")
    with ant(fake_server).messages.stream(model="claude-x", max_tokens=50, messages=USER) as st:
        types = [ev.type for ev in st]
        final = st.get_final_message()
    for name in ("message_start", "content_block_start", "content_block_delta"):
        assert name in types
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert final.content[0].type == "text" and final.content[0].text == "one two three"
    assert final.model == "claude-real" and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3


def test_length_finish_reason(fake_server: FakeServer) -> None:
    fake_server.responder = lambda req: FakeReply(text="cut", finish_reason="length")
    r = oai(fake_server).chat.completions.create(model="m", messages=USER)
    assert r.choices[0].finish_reason == "length"
    assert ant_create(fake_server).stop_reason == "max_tokens"


# ------------------------------------------------------------------ tool calls

TOOL_REPLY = FakeReply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])


def test_openai_tool_calls(fake_server: FakeServer) -> None:
    fake_server.responder = lambda req: TOOL_REPLY
    r = oai(fake_server).chat.completions.create(model="m", messages=USER)
    msg = r.choices[0].message
    assert r.choices[0].finish_reason == "tool_calls" and msg.content is None
    assert msg.tool_calls is not None and msg.tool_calls[0].type == "function"
    call = msg.tool_calls[0]
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city":"Paris"}'


def test_openai_tool_calls_stream(fake_server: FakeServer) -> None:
    fake_server.responder = lambda req: TOOL_REPLY
    name, args, finish = "", "", None
    for c in oai(fake_server).chat.completions.create(model="m", messages=USER, stream=True):
        for tc in c.choices[0].delta.tool_calls or []:
            assert tc.index == 0 and tc.function is not None
            name += tc.function.name or ""
            args += tc.function.arguments or ""
        finish = c.choices[0].finish_reason or finish
    assert (name, args, finish) == ("get_weather", '{"city":"Paris"}', "tool_calls")


def test_anthropic_tool_use(fake_server: FakeServer) -> None:
    fake_server.responder = lambda req: TOOL_REPLY
    m = ant_create(fake_server)
    block = m.content[0]
    assert m.stop_reason == "tool_use" and block.type == "tool_use"
    assert block.name == "get_weather" and block.input == {"city": "Paris"}
    with ant(fake_server).messages.stream(model="c", max_tokens=9, messages=USER) as st:
        final = st.get_final_message()
    streamed = final.content[0]
    assert streamed.type == "tool_use" and streamed.input == {"city": "Paris"}


# ------------------------------------------------------------------ caching semantics


def test_cache_usage_semantics(fake_server: FakeServer) -> None:
    fake_server.responder = lambda req: FakeReply(
        text="ok", input_tokens=100, output_tokens=7, cache_read_tokens=60, cache_write_tokens=30
    )
    u = oai(fake_server).chat.completions.create(model="m", messages=USER).usage
    assert u is not None and u.prompt_tokens == 100 and u.completion_tokens == 7
    assert u.prompt_tokens_details is not None and u.prompt_tokens_details.cached_tokens == 60
    au = ant_create(fake_server).usage
    assert au.input_tokens == 10 and au.output_tokens == 7  # excludes cache read + write
    assert au.cache_read_input_tokens == 60 and au.cache_creation_input_tokens == 30
    with ant(fake_server).messages.stream(model="c", max_tokens=9, messages=USER) as st:
        su = st.get_final_message().usage
    assert (su.input_tokens, su.cache_read_input_tokens, su.output_tokens) == (10, 60, 7)


# ------------------------------------------------------------------ faults


def test_fault_429_retry_after_headers(fake_server: FakeServer) -> None:
    fake_server.script(Fault.status(429, retry_after=7), Fault.status(429, retry_after_ms=250))
    with pytest.raises(openai.RateLimitError) as oe:
        oai(fake_server).chat.completions.create(model="m", messages=USER)
    assert oe.value.response.headers["retry-after"] == "7"
    assert oe.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]
    with pytest.raises(anthropic.RateLimitError) as ae:
        ant_create(fake_server)
    assert ae.value.response.headers["retry-after-ms"] == "250"
    assert ae.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert fake_server.responses_by_status == {429: 2}


def test_fault_500_and_529(fake_server: FakeServer) -> None:
    fake_server.script(Fault.status(500), Fault.status(529, body="busy"))
    with pytest.raises(openai.InternalServerError) as oe:
        oai(fake_server).chat.completions.create(model="m", messages=USER)
    assert oe.value.status_code == 500 and oe.value.body["type"] == "server_error"  # type: ignore[index]
    with pytest.raises(anthropic.OverloadedError) as ae:
        ant_create(fake_server)
    assert ae.value.body["error"] == {"type": "overloaded_error", "message": "busy"}  # type: ignore[index]


def test_fault_timeout(fake_server: FakeServer) -> None:
    fake_server.script(Fault.timeout(5))
    t0 = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        oai(fake_server, timeout=0.2).chat.completions.create(model="m", messages=USER)
    assert time.monotonic() - t0 < 2


def test_fault_timeout_short_then_answers(fake_server: FakeServer) -> None:
    fake_server.script(Fault.timeout(0.15))
    t0 = time.monotonic()
    assert ant_create(fake_server).content[0].text == "hello there world"
    assert time.monotonic() - t0 >= 0.15


def test_fault_garbage(fake_server: FakeServer) -> None:
    fake_server.script(Fault.garbage(), Fault.garbage())
    with pytest.raises((openai.APIError, ValueError)):
        oai(fake_server).chat.completions.create(model="m", messages=USER)
    with pytest.raises((anthropic.APIError, ValueError)):
        ant_create(fake_server)


def test_fault_disconnect(fake_server: FakeServer) -> None:
    fake_server.script(Fault.disconnect(), Fault.disconnect())
    with pytest.raises(openai.APIConnectionError):
        oai(fake_server).chat.completions.create(model="m", messages=USER)
    with pytest.raises(anthropic.APIConnectionError):
        ant_create(fake_server)
    assert fake_server.responses_by_status == {0: 2}


def test_script_is_fifo_and_fail_always(fake_server: FakeServer) -> None:
    client = oai(fake_server)
    fake_server.script(Fault.ok(), Fault.status(503))
    assert client.chat.completions.create(model="m", messages=USER).choices
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=USER)
    assert client.chat.completions.create(model="m", messages=USER).choices  # script drained
    fake_server.fail_always(lambda req: Fault.status(400) if req.model == "bad" else None)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="bad", messages=USER)
    assert client.chat.completions.create(model="good", messages=USER).choices
    fake_server.fail_always(None)
    assert client.chat.completions.create(model="bad", messages=USER).choices
    assert fake_server.responses_by_status == {200: 4, 503: 1, 400: 1}


def test_responder_error_becomes_500(fake_server: FakeServer) -> None:
    def boom(req: FakeRequest) -> str:
        raise RuntimeError("nope")

    fake_server.responder = boom
    with pytest.raises(anthropic.InternalServerError, match="nope"):
        ant_create(fake_server)


# ------------------------------------------------------------------ rate limit, latency, log


def test_rpm_limit_produces_429(fake_server: FakeServer) -> None:
    fake_server.rpm_limit = 3
    client = oai(fake_server)
    for _ in range(3):
        client.chat.completions.create(model="m", messages=USER)
    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model="m", messages=USER)
    assert 59 < float(exc.value.response.headers["retry-after"]) <= 60
    assert fake_server.responses_by_status == {200: 3, 429: 1}
    assert fake_server.count() == 4 and fake_server.count(429) == 1


def test_latency_ms(fake_server: FakeServer) -> None:
    fake_server.latency_ms = 150
    t0 = time.monotonic()
    ant_create(fake_server)
    assert time.monotonic() - t0 >= 0.15


def test_request_log_and_reset(fake_server: FakeServer) -> None:
    oai(fake_server).chat.completions.create(model="a", messages=USER)
    ant_create(fake_server, model="b")
    assert [(r.api, r.model, r.path) for r in fake_server.requests] == [
        ("openai", "a", "/v1/chat/completions"),
        ("anthropic", "b", "/v1/messages"),
    ]
    fake_server.script(Fault.status(500))
    fake_server.reset()
    assert fake_server.requests == [] and fake_server.responses_by_status == {}
    assert oai(fake_server).chat.completions.create(model="a", messages=USER).choices


def test_models_endpoint(fake_server: FakeServer) -> None:
    ids = [m.id for m in oai(fake_server).models.list()]
    assert ids == list(fake_server.models)
    assert fake_server.requests == []  # not a model request


def test_context_manager_stops_server() -> None:
    with FakeServer() as srv:
        assert srv.url.startswith("http://127.0.0.1:") and srv.openai_base_url.endswith("/v1")
        assert oai(srv).chat.completions.create(model="m", messages=USER).choices
    with pytest.raises(openai.APIConnectionError):
        oai(srv, timeout=1).chat.completions.create(model="m", messages=USER)


# ------------------------------------------------------------------ CLI


def test_cli_mode() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "promptops.testing.fake_server", "--port", "0"]
    proc = subprocess.Popen(
        [*cmd, "--reply", "fixed answer", "--rpm", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready, "server printed nothing"
        kind, url = proc.stdout.readline().split()
        assert kind == "URL" and url.startswith("http://127.0.0.1:")
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk", max_retries=0, timeout=5)
        r = client.chat.completions.create(model="m", messages=USER)
        assert r.choices[0].message.content == "fixed answer"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    assert "Warning" not in err
