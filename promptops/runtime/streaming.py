"""`Runtime.astream`: the call path of `acall` until the first chunk, then a plain relay."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from promptops.core.errors import ProviderError
from promptops.core.models import Completion, ModelRequest
from promptops.core.ports import Provider, StreamingProvider
from promptops.runtime.errors import PromptOpsUnavailable
from promptops.runtime.result import Attempt, CallResult, Won, _Call, error_type_of

if TYPE_CHECKING:
    from promptops.runtime.client import Runtime

Opened = tuple[AsyncIterator[str | Completion], str | Completion]  # the stream and its 1st item


async def _whole(provider: Provider, request: ModelRequest,
                 timeout_s: float) -> AsyncIterator[str | Completion]:
    """A provider without `stream`: its whole answer as one chunk, then the Completion."""
    completion = await provider.complete(request, timeout_s=timeout_s)
    if completion.text:
        yield completion.text
    yield completion


async def _open(provider: Provider, request: ModelRequest, timeout_s: float) -> Opened:
    """Start one streamed attempt and wait for its first item; failures here are retried."""
    if isinstance(provider, StreamingProvider):
        stream = provider.stream(request, timeout_s=timeout_s)
    else:
        stream = _whole(provider, request, timeout_s)
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        raise ProviderError(f"{provider.name}: empty stream", kind="malformed") from None
    return stream, first


async def stream_call(
    rt: Runtime, name: str, variables: Mapping[str, Any] | None, *,
    request_id: str | None, timeout_s: float | None, raise_on_error: bool,
    sticky_key: str | None = None,
) -> AsyncIterator[str | CallResult]:
    """Yield text chunks, then the CallResult; one metrics row, whatever happens."""
    variables = dict(variables or {})
    call = rt._new_call(name, request_id, timeout_s, sticky_key)
    try:
        opened = await rt._open(call, variables, _open)
    except Exception as exc:
        failed = rt._failed(call, variables, exc)
        if raise_on_error or failed is None:
            raise
        yield failed
        return
    if isinstance(opened, CallResult):  # tier 3 or the disabled fallback: one chunk
        opened = dataclasses.replace(opened, ttft_ms=opened.latency_ms if opened.text else None)
        rt._record(call, opened, variables)
        if opened.text:
            yield opened.text
        yield opened
        return
    async for item in _relay(rt, call, variables, opened, raise_on_error):
        yield item


async def _relay(
    rt: Runtime, call: _Call, variables: Mapping[str, Any], won: Won[Opened],
    raise_on_error: bool,
) -> AsyncIterator[str | CallResult]:
    """Pass the opened stream through; after the first chunk an error ends it (no failover)."""
    stream, item = won.value
    parts: list[str] = []
    ttft_ms: float | None = None
    recorded = False
    try:
        while isinstance(item, str):
            if ttft_ms is None:
                ttft_ms = (rt.clock() - call.started) * 1000.0
            parts.append(item)
            yield item
            try:
                item = await anext(stream)
            except StopAsyncIteration:
                raise ProviderError(f"{won.target}: stream ended without a final message",
                                    kind="stream_broken", retryable=False) from None
    except ProviderError as err:
        exc = _broken(rt, call, won, err, "".join(parts))
        result = rt._finish(call, "".join(parts), tier="error", source="model",
                            model=won.target, error=exc.payload())
        rt._record(call, dataclasses.replace(result, ttft_ms=ttft_ms), variables)
        recorded = True
        if raise_on_error:
            raise exc from None
        yield dataclasses.replace(result, ttft_ms=ttft_ms)
        return
    finally:
        if not recorded and not isinstance(item, Completion):  # the caller stopped reading
            rt._record(call, dataclasses.replace(rt._finish(
                call, "".join(parts), tier="error", source="model", model=won.target),
                ttft_ms=ttft_ms), variables)
            recorded = True
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    result = dataclasses.replace(rt._won(call, won, item), ttft_ms=ttft_ms)
    rt._record(call, result, variables)
    yield result


def _broken(rt: Runtime, call: _Call, won: Won[Opened], err: ProviderError,
            partial: str) -> PromptOpsUnavailable:
    """Book a stream that failed after its first chunk and build the error it ends with."""
    call.last_error = err
    call.attempts.append(Attempt(won.target, err.kind, err.status,
                                 (rt.clock() - won.t0) * 1000.0, err.retry_after_s))
    rt.breaker.failure(won.target)
    shown = partial if len(partial) <= 200 else partial[:199] + "…"
    return PromptOpsUnavailable(
        f"the stream from {won.target} for prompt {call.resolved.name!r} broke after "
        f"{len(partial)} characters ({err.what}); partial text: {shown!r}",
        request_id=call.request_id, attempts=tuple(call.attempts),
        last_error_type=error_type_of(err.kind),
        fix="the partial text was already delivered, so it was not retried: retry the request",
    )


def drive(loop: asyncio.AbstractEventLoop,
          stream: AsyncIterator[str | CallResult]) -> Iterator[str | CallResult]:
    """Run an `astream` on a private loop, one item per step (the sync `Runtime.stream`)."""
    try:
        while True:
            try:
                yield loop.run_until_complete(anext(stream))
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            loop.run_until_complete(aclose())
