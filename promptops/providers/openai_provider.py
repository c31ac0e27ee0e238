"""OpenAI Chat Completions adapter, for kind `openai` and `openai-compatible` servers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from promptops.core.config import ProviderConfig
from promptops.core.models import Completion, ModelRequest, ToolCall, Usage
from promptops.providers.sdk_errors import call_sdk, guard_stream, malformed, response_header

# Params that `chat.completions.create()` accepts as keyword arguments (checked on openai 3.57).
_DIRECT_KEYS = (
    "temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty",
    "response_format", "tool_choice", "logit_bias", "n", "reasoning_effort", "user",
)
# Not in OpenAI's API, but vLLM / llama.cpp / Ollama's OpenAI endpoints accept them.
_COMPAT_EXTRA_KEYS = ("top_k", "min_p", "repetition_penalty")


def openai_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """Convert a neutral or Anthropic-style tool definition to the Chat Completions shape."""
    if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
        return dict(tool)
    function: dict[str, Any] = {
        "name": tool["name"],
        "parameters": tool.get("parameters")
        or tool.get("input_schema")
        or {"type": "object", "properties": {}},
    }
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def build_openai_kwargs(request: ModelRequest, kind: str, timeout_s: float) -> dict[str, Any]:
    """The keyword arguments for `chat.completions.create()` for one request."""
    params = dict(request.params)
    kwargs: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "timeout": timeout_s,
    }
    max_tokens = params.get("max_completion_tokens", params.get("max_tokens"))
    if max_tokens is not None:
        # Newer OpenAI models reject max_tokens; most compatible servers only know max_tokens.
        key = "max_completion_tokens" if kind == "openai" else "max_tokens"
        kwargs[key] = int(max_tokens)
    for key in _DIRECT_KEYS:
        if params.get(key) is not None:
            kwargs[key] = params[key]
    if request.output_format == "json" and kind == "openai" and "response_format" not in kwargs:
        kwargs["response_format"] = {"type": "json_object"}
    if request.tools:
        kwargs["tools"] = [openai_tool(t) for t in request.tools]
    if kind != "openai":
        extra = {k: params[k] for k in _COMPAT_EXTRA_KEYS if params.get(k) is not None}
        if extra:
            kwargs["extra_body"] = extra
    return kwargs


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"_raw": raw}  # models do emit broken JSON; keep it for the scorer to judge
    return dict(parsed) if isinstance(parsed, Mapping) else {"_value": parsed}


def openai_usage(u: Any) -> Usage:
    """Usage from a `CompletionUsage` (or None); prompt_tokens already include cached ones."""
    if u is None:
        return Usage()
    details = getattr(u, "prompt_tokens_details", None)
    return Usage(
        input_tokens=u.prompt_tokens,
        output_tokens=u.completion_tokens,
        cache_read_tokens=int(getattr(details, "cached_tokens", None) or 0),
        cache_write_tokens=int(getattr(details, "cache_write_tokens", None) or 0),
    )


class ChunkAccumulator:
    """Builds a stream's final Completion from its `ChatCompletionChunk`s (SDK or namespace)."""

    def __init__(self, request_id: str | None = None) -> None:
        self.request_id = request_id
        self.parts: list[str] = []
        self.model: str | None = None
        self.finish_reason: str | None = None
        self.usage = Usage()
        self.tools: dict[int, list[str]] = {}  # index -> [name, argument JSON so far]

    def add(self, chunk: Any) -> str:
        """Take one chunk; return its text delta ("" when it has none)."""
        self.model = getattr(chunk, "model", None) or self.model
        if getattr(chunk, "usage", None) is not None:
            self.usage = openai_usage(chunk.usage)
        text = ""
        for choice in getattr(chunk, "choices", None) or ():
            if (getattr(choice, "index", 0) or 0) != 0:
                continue  # n > 1: only the first choice is the answer
            self.finish_reason = getattr(choice, "finish_reason", None) or self.finish_reason
            delta = getattr(choice, "delta", None)
            text += getattr(delta, "content", None) or ""
            for tc in getattr(delta, "tool_calls", None) or ():
                slot = self.tools.setdefault(int(getattr(tc, "index", 0) or 0), ["", ""])
                function = getattr(tc, "function", None)
                slot[0] = getattr(function, "name", None) or slot[0]
                slot[1] += getattr(function, "arguments", None) or ""
        if text:
            self.parts.append(text)
        return text

    def completion(self) -> Completion:
        """The Completion of everything added so far (latency is stamped by the caller)."""
        tool_calls = tuple(ToolCall(name=name, arguments=_arguments(args))
                           for _, (name, args) in sorted(self.tools.items()) if name)
        return Completion(text="".join(self.parts), usage=self.usage, served_model=self.model,
                          finish_reason=self.finish_reason, request_id=self.request_id,
                          tool_calls=tool_calls)


def parse_chat_completion(resp: Any, latency_ms: float) -> Completion:
    """Build a Completion from a `ChatCompletion`; prompt_tokens already include cached ones."""
    choice = resp.choices[0]
    message = choice.message
    tool_calls = tuple(
        ToolCall(name=tc.function.name, arguments=_arguments(tc.function.arguments))
        for tc in (message.tool_calls or ())
        if getattr(tc, "function", None) is not None
    )
    return Completion(
        text=message.content or "",
        usage=openai_usage(resp.usage),
        served_model=resp.model,
        finish_reason=choice.finish_reason,
        latency_ms=latency_ms,
        request_id=getattr(resp, "_request_id", None),
        tool_calls=tool_calls,
    )


def server_time(completion: Completion, headers: Any) -> Completion:
    """The Completion with `server_ms` from an `openai-processing-ms` header, when present."""
    raw = headers.get("openai-processing-ms") if headers is not None else None
    try:
        return replace(completion, server_ms=float(raw)) if raw is not None else completion
    except ValueError:
        return completion


def parse_raw_chat_completion(raw: Any, latency_ms: float) -> Completion:
    """A Completion from the SDK's raw response (parsed body plus its headers)."""
    return server_time(parse_chat_completion(raw.parse(), latency_ms), raw.headers)


class OpenAIProvider:
    """Provider for OpenAI or any OpenAI-compatible Chat Completions server."""

    def __init__(self, config: ProviderConfig, api_key: str) -> None:
        self.name = config.name
        self.kind = config.kind
        self.config = config
        self._api_key = api_key
        self._client: Any = None

    def __repr__(self) -> str:
        return f"OpenAIProvider(name={self.name!r}, kind={self.kind!r})"

    def _get_client(self) -> Any:
        if self._client is None:
            import openai  # lazy: keeps `promptops --help` fast

            self._client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.config.base_url,
                max_retries=0,  # call_with_retries is the only retry loop
                timeout=self.config.timeout_s,
            )
        return self._client

    async def complete(self, request: ModelRequest, *, timeout_s: float) -> Completion:
        """Make one Chat Completions call."""
        client = self._get_client()
        kwargs = build_openai_kwargs(request, self.kind, timeout_s)
        # the raw response: its openai-processing-ms header splits model time from network
        return await call_sdk(
            self.name, lambda: client.chat.completions.with_raw_response.create(**kwargs),
            parse_raw_chat_completion, what="chat completion",
            key_env=self.config.api_key_env, secret=self._api_key)

    def stream(self, request: ModelRequest, *, timeout_s: float) -> AsyncIterator[str | Completion]:
        """Stream one Chat Completions call: text deltas, then the Completion (usage included)."""
        return guard_stream(self.name, self._chunks(request, timeout_s), timeout_s=timeout_s,
                            key_env=self.config.api_key_env, secret=self._api_key)

    async def _chunks(
        self, request: ModelRequest, timeout_s: float
    ) -> AsyncIterator[str | Completion]:
        client = self._get_client()
        kwargs = build_openai_kwargs(request, self.kind, timeout_s)
        stream = await client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True})
        acc = ChunkAccumulator(response_header(stream, "x-request-id"))
        try:
            async for chunk in stream:
                text = acc.add(chunk)
                if text:
                    yield text
        finally:
            await stream.close()
        if acc.finish_reason is None:
            raise malformed(self.name, "stream", ValueError("no finish_reason"), (self._api_key,))
        yield acc.completion()

    async def aclose(self) -> None:
        """Close the SDK client's connections."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
