"""Wire formats of the fake LLM server: request parsing and OpenAI/Anthropic JSON + SSE bodies."""

from __future__ import annotations

import functools
import http
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["openai", "anthropic"]

_ids = itertools.count(1)  # next() on itertools.count is atomic under the GIL
_WORD_PIECE = re.compile(r"\S+\s*|\s+")  # stream chunks keep their trailing whitespace

# FakeReply.finish_reason (OpenAI vocabulary) -> Anthropic stop_reason; unknown values pass through.
_TO_ANTHROPIC = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_TO_OPENAI = {v: k for k, v in _TO_ANTHROPIC.items()}
GARBAGE = b'{"id": "chatcmpl-broken", "choices": [<html>502 Bad Gateway'  # Fault.garbage() body
SSE_CTYPE = "text/event-stream; charset=utf-8"
JSON_CTYPE = "application/json"

_OPENAI_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def dumps(obj: object) -> bytes:
    """Compact JSON encoding as UTF-8 bytes."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def next_id(prefix: str) -> str:
    """Return a unique, deterministic-looking id such as ``msg_000000000007``."""
    return f"{prefix}{next(_ids):012d}"


@dataclass(frozen=True)
class FakeRequest:
    """One model request as seen by the server, with message content flattened to text."""

    api: Api
    path: str
    model: str
    messages: list[dict[str, str]]
    system: str | None
    body: dict[str, Any]
    headers: dict[str, str]
    stream: bool

    @property
    def last_user_text(self) -> str:
        """Text of the last user message, or "" when there is none."""
        for msg in reversed(self.messages):
            if msg["role"] == "user":
                return msg["content"]
        return ""


@dataclass(frozen=True)
class FakeReply:
    """What the fake model answers.

    ``input_tokens`` is the whole prompt size (cached part included); it is reported as OpenAI
    ``prompt_tokens`` and, minus the cache read/write tokens, as Anthropic ``input_tokens``.
    """

    text: str = ""
    tool_calls: Sequence[Mapping[str, Any]] = ()  # [{"name": str, "arguments": dict, "id"?: str}]
    finish_reason: str | None = None  # "stop" | "length" | "tool_calls"; None = inferred
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    served_model: str | None = None
    hold: threading.Event | None = field(default=None, compare=False)  # stream: wait after 1st
    cut_after_first: bool = False  # stream: close the connection after the first text delta

    def __post_init__(self) -> None:
        # Accept lists for convenience but store an immutable tuple.
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))


@dataclass(frozen=True)
class Usage:
    """Normalized token accounting for one reply (prompt = total prompt incl. cache)."""

    prompt: int
    output: int
    cache_read: int
    cache_write: int


def _flatten(content: object) -> str:
    """Reduce an OpenAI/Anthropic content value (str or list of blocks) to plain text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(t for t in (_flatten(block) for block in content) if t)
    if isinstance(content, dict):
        if isinstance(content.get("text"), str):
            return str(content["text"])
        if "content" in content:  # anthropic tool_result
            return _flatten(content["content"])
        if "input" in content:  # anthropic tool_use echoed back in history
            return json.dumps(content["input"])
    return ""


def parse_request(
    api: Api, path: str, body: dict[str, Any], headers: dict[str, str]
) -> FakeRequest:
    """Build a FakeRequest from a parsed JSON request body."""
    raw = body.get("messages")
    messages = [
        {"role": str(m.get("role", "")), "content": _flatten(m.get("content"))}
        for m in (raw if isinstance(raw, list) else [])
        if isinstance(m, dict)
    ]
    if api == "anthropic":
        system = _flatten(body["system"]) if "system" in body else None
    else:
        sys_texts = [m["content"] for m in messages if m["role"] in ("system", "developer")]
        system = "\n".join(sys_texts) if sys_texts else None
    return FakeRequest(
        api=api,
        path=path,
        model=str(body.get("model", "")),
        messages=messages,
        system=system,
        body=body,
        headers=headers,
        stream=bool(body.get("stream", False)),
    )


def _words(text: str) -> int:
    return len(text.split())


def compute_usage(req: FakeRequest, reply: FakeReply) -> Usage:
    """Token counts: the reply's overrides, else a whitespace word-count heuristic."""
    if reply.input_tokens is not None:
        prompt = reply.input_tokens
    else:
        prompt = sum(_words(m["content"]) + 1 for m in req.messages)
        if req.api == "anthropic" and req.system:
            prompt += _words(req.system) + 1
    if reply.output_tokens is not None:
        output = reply.output_tokens
    else:
        output = _words(reply.text) + sum(
            _words(json.dumps(tc.get("arguments", {}))) for tc in reply.tool_calls
        )
        output = max(output, 1)
    cache_read, cache_write = reply.cache_read_tokens, reply.cache_write_tokens
    # Cached tokens are part of the prompt, so the prompt can never be smaller than them.
    prompt = max(prompt, cache_read + cache_write)
    return Usage(prompt=prompt, output=output, cache_read=cache_read, cache_write=cache_write)


def _finish(reply: FakeReply, api: Api) -> str:
    reason = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    if api == "anthropic":
        return _TO_ANTHROPIC.get(reason, reason)
    return _TO_OPENAI.get(reason, reason)


def _tool_id(tc: Mapping[str, Any], prefix: str, i: int, base: str) -> str:
    given = tc.get("id")
    return str(given) if given else f"{prefix}{base[-12:]}_{i}"


def _args_json(tc: Mapping[str, Any]) -> str:
    args = tc.get("arguments", {})
    return args if isinstance(args, str) else json.dumps(args, separators=(",", ":"))


def _args_obj(tc: Mapping[str, Any]) -> Any:
    args = tc.get("arguments", {})
    return json.loads(args) if isinstance(args, str) else args


# ---------------------------------------------------------------- OpenAI


def _openai_usage(u: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": u.prompt,  # OpenAI: includes cached tokens
        "completion_tokens": u.output,
        "total_tokens": u.prompt + u.output,
        "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def openai_completion(req: FakeRequest, reply: FakeReply, rid: str, created: int) -> bytes:
    """Non-streaming Chat Completions body."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text if (reply.text or not reply.tool_calls) else None,
        "refusal": None,
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _tool_id(tc, "call_", i, rid),
                "type": "function",
                "function": {"name": str(tc["name"]), "arguments": _args_json(tc)},
            }
            for i, tc in enumerate(reply.tool_calls)
        ]
    return dumps(
        {
            "id": rid,
            "object": "chat.completion",
            "created": created,
            "model": reply.served_model or req.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": _finish(reply, "openai"),
                }
            ],
            "usage": _openai_usage(compute_usage(req, reply)),
            "system_fingerprint": "fp_fake",
        }
    )


def openai_stream(req: FakeRequest, reply: FakeReply, rid: str, created: int) -> list[bytes]:
    """Streaming Chat Completions body as SSE events (the last is ``data: [DONE]``)."""
    opts = req.body.get("stream_options")
    with_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
    head = {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": reply.served_model or req.model,
        "system_fingerprint": "fp_fake",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        c: dict[str, Any] = {
            **head,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if with_usage:
            c["usage"] = None
        return c

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": piece}) for piece in _WORD_PIECE.findall(reply.text)]
    for i, tc in enumerate(reply.tool_calls):
        args = _args_json(tc)
        mid = len(args) // 2  # split the JSON so clients must accumulate deltas
        start = {"name": str(tc["name"]), "arguments": ""}
        first = {"index": i, "id": _tool_id(tc, "call_", i, rid), "type": "function"}
        chunks.append(chunk({"tool_calls": [{**first, "function": start}]}))
        for part in (args[:mid], args[mid:]):
            chunks.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]}))
    chunks.append(chunk({}, _finish(reply, "openai")))
    if with_usage:
        chunks.append({**head, "choices": [], "usage": _openai_usage(compute_usage(req, reply))})
    return [b"data: " + dumps(c) + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]


def openai_models(models: Iterable[str]) -> bytes:
    """``GET /v1/models`` body in OpenAI list shape."""
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "promptops"} for m in models]
    return dumps({"object": "list", "data": data})


def openai_error(status: int, message: str) -> bytes:
    """OpenAI error body ``{"error": {"message", "type", "param", "code"}}``."""
    etype, code = _OPENAI_ERRORS.get(status, ("server_error", None))
    return dumps({"error": {"message": message, "type": etype, "param": None, "code": code}})


# ---------------------------------------------------------------- Anthropic


def error_body(api: Api, status: int, message: str, request_id: str) -> bytes:
    """Error body in the given API's shape."""
    from promptops.testing import fake_anthropic as anthropic  # no import cycle
    if api == "anthropic":
        return anthropic.error(status, message, request_id)
    return openai_error(status, message)


def ceil_ms(seconds: float) -> float:
    """Round seconds up to whole milliseconds."""
    return math.ceil(seconds * 1000) / 1000


def encode_reply(req: FakeRequest, reply: FakeReply) -> tuple[bytes, str]:
    """Encode a reply for the request's API and stream mode; returns (body, content type)."""
    from promptops.testing import fake_anthropic as anthropic  # no import cycle
    if req.stream:
        return b"".join(encode_stream(req, reply)[0]), SSE_CTYPE
    if req.api == "openai":
        return openai_completion(req, reply, next_id("chatcmpl-"), int(time.time())), JSON_CTYPE
    return anthropic.message(req, reply, next_id("msg_")), JSON_CTYPE


def encode_stream(req: FakeRequest, reply: FakeReply) -> tuple[list[bytes], int | None]:
    """A streaming reply as SSE events, and the index of the first text delta (None: no text)."""
    from promptops.testing import fake_anthropic as anthropic  # no import cycle
    has_text = bool(_WORD_PIECE.findall(reply.text))
    if req.api == "openai":
        events = openai_stream(req, reply, next_id("chatcmpl-"), int(time.time()))
        return events, 1 if has_text else None  # event 0 is the role chunk
    events = anthropic.stream(req, reply, next_id("msg_"))
    return events, 2 if has_text else None  # after message_start and content_block_start


@functools.lru_cache(maxsize=64)
def _phrase(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Overloaded" if code == 529 else "Error"


def http_head(
    status: int, ctype: str, length: int, headers: Iterable[tuple[str, str]], *, close: bool
) -> bytes:
    """HTTP/1.1 status line + headers (with Content-Length) + blank line."""
    lines = [f"HTTP/1.1 {status} {_phrase(status)}", f"Content-Type: {ctype}"]
    lines.append(f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
