"""Anthropic Messages API adapter (one attempt per call; the SDK's own retries are off)."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from promptops.core.config import ProviderConfig
from promptops.core.models import Completion, ModelRequest, ToolCall, Usage
from promptops.core.prompt import cache_control_block
from promptops.providers.sdk_errors import call_sdk, guard_stream, malformed, response_header

DEFAULT_MAX_TOKENS = 1024  # the Messages API requires max_tokens
# anthropic 2.x `messages.create()` has no temperature/top_p/top_k kwargs: they go in extra_body.
_SAMPLING_KEYS = ("temperature", "top_p", "top_k")
# Other Messages API body fields a suite may set; OpenAI-only params (seed, ...) are dropped.
_PASSTHROUGH_KEYS = ("metadata", "thinking", "tool_choice", "service_tier")


def anthropic_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """Convert a neutral or OpenAI-style tool definition to the Messages API shape."""
    function = tool.get("function")
    if tool.get("type") == "function" and isinstance(function, Mapping):
        tool = function
    elif "input_schema" in tool or "type" in tool:
        return dict(tool)  # already Anthropic-shaped (or a server tool such as web_search)
    out: dict[str, Any] = {
        "name": tool["name"],
        "input_schema": tool.get("parameters") or {"type": "object", "properties": {}},
    }
    if tool.get("description"):
        out["description"] = tool["description"]
    return out


def build_anthropic_kwargs(request: ModelRequest, timeout_s: float) -> dict[str, Any]:
    """The keyword arguments for `messages.create()` for one request."""
    params = dict(request.params)
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    messages = [
        {"role": m.role, "content": m.content} for m in request.messages if m.role != "system"
    ]
    max_tokens = params.get("max_tokens", params.get("max_completion_tokens"))
    kwargs: dict[str, Any] = {
        "model": request.model,
        "max_tokens": int(max_tokens) if max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": messages,
        "timeout": timeout_s,
    }
    # The marker goes on the system block, the prefix every case shares. The API's top-level
    # `cache_control` marks the last block, the per-case user message: a write on every call.
    cache = cache_control_block(params.get("cache_control"))
    if system and cache:
        kwargs["system"] = [{"type": "text", "text": system, "cache_control": cache}]
    elif system:
        kwargs["system"] = system
    stop = params.get("stop_sequences", params.get("stop"))
    if stop is not None:
        kwargs["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if request.tools:
        kwargs["tools"] = [anthropic_tool(t) for t in request.tools]
    keys = (*_SAMPLING_KEYS, *_PASSTHROUGH_KEYS)
    extra = {k: params[k] for k in keys if params.get(k) is not None}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def anthropic_usage(*usages: Any) -> Usage:
    """Normalised Usage from Anthropic usage objects, later ones overriding (stream deltas)."""

    def latest(key: str) -> Any:
        values = [getattr(u, key, None) for u in usages]
        return next((v for v in reversed(values) if v is not None), None)

    cache_read = int(latest("cache_read_input_tokens") or 0)
    cache_write = int(latest("cache_creation_input_tokens") or 0)
    raw_in, raw_out = latest("input_tokens"), latest("output_tokens")
    return Usage(
        input_tokens=None if raw_in is None else int(raw_in) + cache_read + cache_write,
        output_tokens=None if raw_out is None else int(raw_out),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


class EventAccumulator:
    """Builds a stream's final Completion from Messages API stream events."""

    def __init__(self, request_id: str | None = None) -> None:
        self.request_id = request_id
        self.parts: list[str] = []
        self.model: str | None = None
        self.stop_reason: str | None = None
        self.stopped = False
        self.usages: list[Any] = []
        self.tools: dict[int, list[str]] = {}  # block index -> [name, input JSON so far]

    def add(self, event: Any) -> str:
        """Take one event; return its text delta ("" when it has none)."""
        etype = getattr(event, "type", None)
        if etype == "message_start":
            self.model = event.message.model
            self.usages.append(event.message.usage)
        elif etype == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                self.tools[event.index] = [block.name, ""]
            elif block.type == "text" and block.text:
                self.parts.append(block.text)
                return str(block.text)
        elif etype == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                self.parts.append(delta.text)
                return str(delta.text)
            if delta.type == "input_json_delta" and event.index in self.tools:
                self.tools[event.index][1] += delta.partial_json
        elif etype == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self.usages.append(event.usage)
        elif etype == "message_stop":
            self.stopped = True
        return ""

    def completion(self) -> Completion:
        """The Completion of everything added so far (latency is stamped by the caller)."""
        tool_calls = tuple(ToolCall(name=name, arguments=dict(json.loads(args or "{}")))
                           for _, (name, args) in sorted(self.tools.items()))
        return Completion(text="".join(self.parts), usage=anthropic_usage(*self.usages),
                          served_model=self.model, finish_reason=self.stop_reason,
                          request_id=self.request_id, tool_calls=tool_calls)


def parse_anthropic_message(resp: Any, latency_ms: float) -> Completion:
    """Build a Completion from a `Message`; input tokens are made inclusive of cache tokens."""
    text = "".join(b.text for b in resp.content if b.type == "text")
    tool_calls = tuple(
        ToolCall(name=b.name, arguments=dict(b.input or {}))
        for b in resp.content
        if b.type == "tool_use"
    )
    return Completion(
        text=text,
        usage=anthropic_usage(resp.usage),
        served_model=resp.model,
        finish_reason=resp.stop_reason,
        latency_ms=latency_ms,
        request_id=getattr(resp, "_request_id", None),
        tool_calls=tool_calls,
    )


class AnthropicProvider:
    """Provider for the Anthropic Messages API; the SDK client is built on first use."""

    def __init__(self, config: ProviderConfig, api_key: str) -> None:
        self.name = config.name
        self.kind = "anthropic"
        self.config = config
        self._api_key = api_key
        self._client: Any = None

    def __repr__(self) -> str:
        return f"AnthropicProvider(name={self.name!r}, base_url={self.config.base_url!r})"

    def _get_client(self) -> Any:
        if self._client is None:
            import anthropic  # lazy: importing the SDK costs seconds

            kwargs: dict[str, Any] = {
                "api_key": self._api_key,
                "base_url": self.config.base_url,
                "max_retries": 0,  # call_with_retries is the only retry loop
                "timeout": self.config.timeout_s,
            }
            # anthropic >= 2 emits its own OTel spans; ours would duplicate them.
            if "open_telemetry" in inspect.signature(anthropic.AsyncAnthropic).parameters:
                kwargs["open_telemetry"] = False
            self._client = anthropic.AsyncAnthropic(**kwargs)
        return self._client

    async def complete(self, request: ModelRequest, *, timeout_s: float) -> Completion:
        """Make one Messages API call."""
        client = self._get_client()
        kwargs = build_anthropic_kwargs(request, timeout_s)
        return await call_sdk(self.name, lambda: client.messages.create(**kwargs),
                              parse_anthropic_message, what="Messages response",
                              key_env=self.config.api_key_env, secret=self._api_key)

    def stream(self, request: ModelRequest, *, timeout_s: float) -> AsyncIterator[str | Completion]:
        """Stream one Messages API call: text deltas, then the Completion (usage normalised)."""
        return guard_stream(self.name, self._events(request, timeout_s), timeout_s=timeout_s,
                            key_env=self.config.api_key_env, secret=self._api_key)

    async def _events(
        self, request: ModelRequest, timeout_s: float
    ) -> AsyncIterator[str | Completion]:
        client = self._get_client()
        kwargs = build_anthropic_kwargs(request, timeout_s)
        stream = await client.messages.create(**kwargs, stream=True)
        acc = EventAccumulator(response_header(stream, "request-id"))
        try:
            async for event in stream:
                text = acc.add(event)
                if text:
                    yield text
        finally:
            await stream.close()
        if not acc.stopped:
            raise malformed(self.name, "stream", ValueError("no message_stop"), (self._api_key,))
        try:
            completion = acc.completion()
        except ValueError as exc:  # broken tool input JSON
            raise malformed(self.name, "stream", exc, (self._api_key,)) from None
        yield completion

    async def aclose(self) -> None:
        """Close the SDK client's connections."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
