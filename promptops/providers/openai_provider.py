"""OpenAI Chat Completions adapter, for kind `openai` and `openai-compatible` servers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from promptops.core.config import ProviderConfig
from promptops.core.models import Completion, ModelRequest, ToolCall, Usage
from promptops.providers.sdk_errors import call_sdk

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


def parse_chat_completion(resp: Any, latency_ms: float) -> Completion:
    """Build a Completion from a `ChatCompletion`; prompt_tokens already include cached ones."""
    choice = resp.choices[0]
    message = choice.message
    tool_calls = tuple(
        ToolCall(name=tc.function.name, arguments=_arguments(tc.function.arguments))
        for tc in (message.tool_calls or ())
        if getattr(tc, "function", None) is not None
    )
    u = resp.usage
    usage = Usage()
    if u is not None:
        details = getattr(u, "prompt_tokens_details", None)
        usage = Usage(
            input_tokens=u.prompt_tokens,
            output_tokens=u.completion_tokens,
            cache_read_tokens=int(getattr(details, "cached_tokens", None) or 0),
            cache_write_tokens=int(getattr(details, "cache_write_tokens", None) or 0),
        )
    return Completion(
        text=message.content or "",
        usage=usage,
        served_model=resp.model,
        finish_reason=choice.finish_reason,
        latency_ms=latency_ms,
        request_id=getattr(resp, "_request_id", None),
        tool_calls=tool_calls,
    )


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
        return await call_sdk(self.name, lambda: client.chat.completions.create(**kwargs),
                              parse_chat_completion, what="chat completion",
                              key_env=self.config.api_key_env, secret=self._api_key)

    async def aclose(self) -> None:
        """Close the SDK client's connections."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
