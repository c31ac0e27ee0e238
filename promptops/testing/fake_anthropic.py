"""Anthropic Messages wire format of the fake LLM server: JSON, SSE events and errors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from promptops.testing.fake_wire import (
    _WORD_PIECE,
    FakeReply,
    FakeRequest,
    Usage,
    _args_obj,
    _finish,
    _tool_id,
    compute_usage,
    dumps,
)

_ANTHROPIC_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _anthropic_usage(u: Usage, output: int | None = None) -> dict[str, Any]:
    return {
        "input_tokens": max(u.prompt - u.cache_read - u.cache_write, 0),  # excludes cache
        "cache_creation_input_tokens": u.cache_write,
        "cache_read_input_tokens": u.cache_read,
        "output_tokens": u.output if output is None else output,
    }


def _anthropic_blocks(reply: FakeReply, rid: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text or not reply.tool_calls:
        blocks.append({"type": "text", "text": reply.text})
    for i, tc in enumerate(reply.tool_calls):
        tid = _tool_id(tc, "toolu_", i, rid)
        name = str(tc["name"])
        blocks.append({"type": "tool_use", "id": tid, "name": name, "input": _args_obj(tc)})
    return blocks


def message(req: FakeRequest, reply: FakeReply, rid: str) -> bytes:
    """Non-streaming Messages body."""
    return dumps(
        {
            "id": rid,
            "type": "message",
            "role": "assistant",
            "model": reply.served_model or req.model,
            "content": _anthropic_blocks(reply, rid),
            "stop_reason": _finish(reply, "anthropic"),
            "stop_sequence": None,
            "usage": _anthropic_usage(compute_usage(req, reply)),
        }
    )


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps({"type": name, **data}) + b"\n\n"


def stream(req: FakeRequest, reply: FakeReply, rid: str) -> list[bytes]:
    """Streaming Messages body as SSE events (message_start ... message_stop)."""
    usage = compute_usage(req, reply)
    start_msg: dict[str, Any] = {
        "id": rid,
        "type": "message",
        "role": "assistant",
        "model": reply.served_model or req.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _anthropic_usage(usage, output=min(1, usage.output)),
    }
    out = [_event("message_start", {"message": start_msg})]
    for idx, block in enumerate(_anthropic_blocks(reply, rid)):
        if block["type"] == "text":
            empty = {**block, "text": ""}
            out.append(_event("content_block_start", {"index": idx, "content_block": empty}))
            for piece in _WORD_PIECE.findall(block["text"]):
                delta = {"type": "text_delta", "text": piece}
                out.append(_event("content_block_delta", {"index": idx, "delta": delta}))
        else:
            empty = {**block, "input": {}}
            out.append(_event("content_block_start", {"index": idx, "content_block": empty}))
            args = json.dumps(block["input"], separators=(",", ":"))
            mid = len(args) // 2
            for part in (args[:mid], args[mid:]):
                delta = {"type": "input_json_delta", "partial_json": part}
                out.append(_event("content_block_delta", {"index": idx, "delta": delta}))
        out.append(_event("content_block_stop", {"index": idx}))
    delta = {"stop_reason": _finish(reply, "anthropic"), "stop_sequence": None}
    out.append(_event("message_delta", {"delta": delta, "usage": _anthropic_usage(usage)}))
    out.append(_event("message_stop", {}))
    return out


def models(models: Iterable[str]) -> bytes:
    """``GET /v1/models`` body in Anthropic list shape."""
    data = [
        {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
        for m in models
    ]
    first = data[0]["id"] if data else None
    last = data[-1]["id"] if data else None
    return dumps({"data": data, "has_more": False, "first_id": first, "last_id": last})


def error(status: int, message: str, request_id: str) -> bytes:
    """Anthropic error body ``{"type": "error", "error": {"type", "message"}}``."""
    etype = _ANTHROPIC_ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
    err = {"type": etype, "message": message}
    return dumps({"type": "error", "error": err, "request_id": request_id})
