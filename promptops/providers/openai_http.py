"""Chat Completions over aiohttp, the default transport for `openai-compatible` servers.

Why not the SDK here: against a local server the openai SDK's httpx2/httpcore2 stack costs about
2.4 ms of CPU per request (connection-pool bookkeeping grows with the pool); aiohttp costs about
0.25 ms, which is what lets a 1000-case suite finish in about a second. The wire format, the
request mapping and the error classification are shared with the SDK adapter.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from types import SimpleNamespace
from typing import Any

from promptops.core.config import ProviderConfig
from promptops.core.errors import ProviderError
from promptops.core.models import Completion, ModelRequest
from promptops.providers.openai_provider import (
    ChunkAccumulator,
    build_openai_kwargs,
    parse_chat_completion,
    server_time,
)
from promptops.providers.sdk_errors import guard_stream, malformed, scrub, to_provider_error

_SSE_FIELDS = ("event", "id", "retry")  # SSE fields other than `data`, ignored here


class HttpStatusError(Exception):
    """An HTTP error response, shaped like the SDKs' errors so one classifier serves both."""

    def __init__(self, status_code: int, body: object, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.body = body
        self.response = SimpleNamespace(headers=headers, status_code=status_code)


def _namespace(value: Any) -> Any:
    """JSON dicts as attribute objects, so the SDK adapter's parser reads them unchanged."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _namespace(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_namespace(v) for v in value]
    return value


def _with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Fill fields the SDK models default, so partial server replies still parse."""
    data.setdefault("usage", None)
    data.setdefault("model", None)
    for choice in data.get("choices") or []:
        choice.setdefault("finish_reason", None)
        message = choice.setdefault("message", {})
        message.setdefault("content", None)
        message.setdefault("tool_calls", None)
        for call in message.get("tool_calls") or []:
            call.setdefault("function", None)
    if isinstance(data.get("usage"), dict):
        data["usage"].setdefault("prompt_tokens_details", None)
    return data


class OpenAIHttpProvider:
    """Provider for OpenAI-compatible servers over one pooled aiohttp session."""

    def __init__(self, config: ProviderConfig, api_key: str) -> None:
        self.name = config.name
        self.kind = config.kind
        self.config = config
        self._api_key = api_key
        self._url = (config.base_url or "https://api.openai.com/v1").rstrip("/") + (
            "/chat/completions")
        self._session: Any = None

    def __repr__(self) -> str:
        return f"OpenAIHttpProvider(name={self.name!r}, url={self._url!r})"

    def _get_session(self) -> Any:
        if self._session is None:
            import aiohttp  # lazy: keeps `promptops --help` fast

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=max(1, self.config.concurrency)),
                headers={"authorization": f"Bearer {self._api_key}",
                         "content-type": "application/json"},
            )
        return self._session

    async def complete(self, request: ModelRequest, *, timeout_s: float) -> Completion:
        """Make one Chat Completions call."""
        import aiohttp

        kwargs = build_openai_kwargs(request, self.kind, timeout_s)
        kwargs.pop("timeout", None)
        body = {**kwargs, **kwargs.pop("extra_body", {})}
        session = self._get_session()
        start = time.perf_counter()
        try:
            async with session.post(self._url, data=json.dumps(body),
                                    timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
                raw = await resp.read()
                status, headers = resp.status, resp.headers
                request_id = headers.get("x-request-id")
        except TimeoutError:
            raise ProviderError(f"{self.name}: timed out after {timeout_s:g} s",
                                kind="timeout") from None
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            raise to_provider_error(exc, self.name, secrets=(self._api_key,)) from None
        latency_ms = (time.perf_counter() - start) * 1000.0
        if status >= 400:
            err = HttpStatusError(status, raw.decode("utf-8", "replace"), headers)
            raise to_provider_error(err, self.name, key_env=self.config.api_key_env,
                                    secrets=(self._api_key,))
        try:
            data = _with_defaults(json.loads(raw))
            completion = parse_chat_completion(_namespace(data), latency_ms)
        except Exception as exc:
            raise malformed(self.name, "chat completion", exc, (self._api_key,)) from None
        from dataclasses import replace

        if request_id and completion.request_id is None:
            completion = replace(completion, request_id=request_id)
        return server_time(completion, headers)  # model time; the rest is network

    def stream(self, request: ModelRequest, *, timeout_s: float) -> AsyncIterator[str | Completion]:
        """Stream one Chat Completions call over SSE: text deltas, then the Completion."""
        return guard_stream(self.name, self._events(request, timeout_s), timeout_s=timeout_s,
                            key_env=self.config.api_key_env, secret=self._api_key)

    async def _events(
        self, request: ModelRequest, timeout_s: float
    ) -> AsyncIterator[str | Completion]:
        import aiohttp

        kwargs = build_openai_kwargs(request, self.kind, timeout_s)
        kwargs.pop("timeout", None)
        body = {**kwargs, **kwargs.pop("extra_body", {}), "stream": True,
                "stream_options": {"include_usage": True}}
        secrets = (self._api_key,)
        done = False
        try:
            async with self._get_session().post(
                    self._url, data=json.dumps(body),
                    timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
                if resp.status >= 400:
                    raw = await resp.read()
                    err = HttpStatusError(resp.status, raw.decode("utf-8", "replace"), resp.headers)
                    raise to_provider_error(err, self.name, key_env=self.config.api_key_env,
                                            secrets=secrets)
                acc = ChunkAccumulator(resp.headers.get("x-request-id"))
                async for raw_line in resp.content:
                    line = raw_line.decode("utf-8", "replace").rstrip("\r\n")
                    field, _, value = line.partition(":")
                    if not line or not field or field in _SSE_FIELDS:
                        continue  # blank separator, `: comment`, or a field we don't need
                    if field != "data":
                        raise malformed(self.name, "stream", ValueError(line[:80]), secrets)
                    value = value.removeprefix(" ")
                    if value == "[DONE]":
                        done = True
                        break
                    try:
                        data = json.loads(value)
                    except ValueError as exc:
                        raise malformed(self.name, "stream chunk", exc, secrets) from None
                    if isinstance(data, dict) and data.get("error") is not None:
                        raise ProviderError(f"{self.name}: error in stream: "
                                            f"{scrub(value[:200], secrets)}",
                                            kind="server")
                    text = acc.add(_namespace(data))
                    if text:
                        yield text
        except aiohttp.ClientPayloadError as exc:  # the body was cut off
            raise ProviderError(f"{self.name}: connection lost mid-response ({exc})",
                                kind="connection") from None
        if not done and acc.finish_reason is None:
            raise malformed(self.name, "stream", ValueError("ended without [DONE]"), secrets)
        yield acc.completion()

    async def aclose(self) -> None:
        """Close the session's connections."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
