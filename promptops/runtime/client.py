"""The production call path: retry → failover → cached/static answer → structured error."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import sys
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from promptops.core.config import ProjectConfig, ProviderConfig
from promptops.core.errors import ConfigError, ProviderError
from promptops.core.models import Completion, ModelRequest, Usage
from promptops.core.ports import Provider
from promptops.providers.factory import build_provider, build_python_provider, split_model_spec
from promptops.providers.pricing import price_of
from promptops.providers.retry import RetryPolicy
from promptops.runtime.breaker import CircuitBreaker
from promptops.runtime.errors import PromptDisabledError, PromptOpsUnavailable, RuntimeUsageError
from promptops.runtime.lastresort import LastResort
from promptops.runtime.result import (
    Attempt,
    Attempter,
    CallResult,
    MetricsSink,
    PromptLike,
    StoreLike,
    T,
    Won,
    _Call,
    error_type_of,
    metrics_row,
    trace_call,
)
from promptops.storage.cache import ResponseCache

__all__ = ["Attempt", "CallResult", "PromptOpsUnavailable", "Runtime"]

log = logging.getLogger("promptops.runtime")

TRANSIENT = frozenset({"rate_limit", "overloaded", "server", "timeout", "connection", "malformed"})
MISCONFIGURED = frozenset({"auth", "not_found", "config"})  # and HTTP 402: fail over, no retry


async def _complete(provider: Provider, request: ModelRequest, timeout_s: float) -> Completion:
    return await provider.complete(request, timeout_s=timeout_s)


class Runtime:
    """Calls deployed prompts with retry, failover, circuit breaking and one metrics row each."""

    def __init__(
        self, store: StoreLike, *, config: ProjectConfig | None = None,
        chains: Mapping[str, Sequence[str]] | None = None, metrics: MetricsSink | None = None,
        cache: ResponseCache | None = None, environ: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        breaker: CircuitBreaker | None = None,
        default_timeout_s: float = 30.0, max_retries_per_entry: int = 2,
        max_retry_after_s: float = 5.0, rng: Callable[[], float] = random.random,
        telemetry: Any | None = None,
    ) -> None:
        self.store, self.config = store, config or ProjectConfig()
        self.chains = dict(chains or {})
        self.metrics, self.cache, self.environ = metrics, cache, environ
        self.telemetry = telemetry  # promptops.runtime.telemetry.Telemetry (OTel), optional
        self.clock, self.sleep, self.rng = clock, sleep, rng
        self.breaker = breaker or CircuitBreaker(clock=clock)
        self.default_timeout_s = default_timeout_s
        self.max_retries_per_entry = max_retries_per_entry
        self.max_retry_after_s = max_retry_after_s
        self.policy = RetryPolicy()
        # Per event loop: aiohttp sessions are bound to the loop that made them.
        self._providers: weakref.WeakKeyDictionary[Any, dict[str, Provider]] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()  # the provider table is shared by threads
        self.last_resort = LastResort(cache, clock)
        self._local = threading.local()  # one private event loop per thread for sync `call`

    @classmethod
    def from_project(cls, root: str | Path = ".", env: str = "production", **kw: Any) -> Runtime:
        """Runtime over a project: PromptStore, promptops.yaml, response cache and metrics DB."""
        from promptops.runtime.metrics import MetricsWriter
        from promptops.runtime.store import PromptStore
        from promptops.storage.project import load_config

        base = Path(root)
        if str(base.resolve()) not in sys.path:
            sys.path.append(str(base.resolve()))  # python: fallbacks live in the project
        kw.setdefault("config", load_config(base))
        kw.setdefault("cache", ResponseCache(base / ".promptops" / "runtime-cache.db"))
        kw.setdefault("metrics", MetricsWriter(base / ".promptops" / "metrics.db"))
        if "telemetry" not in kw:  # PROMPTOPS_OTEL=1 turns spans on (needs promptops[otel])
            from promptops.runtime.telemetry import telemetry_from_env

            kw["telemetry"] = telemetry_from_env(kw.get("environ", os.environ))
        return cls(PromptStore(base, env), **kw)

    # ------------------------------------------------------------------ public API

    async def acall(
        self, name: str, variables: Mapping[str, Any] | None = None, *,
        request_id: str | None = None, timeout_s: float | None = None, raise_on_error: bool = True,
        sticky_key: str | None = None,
    ) -> CallResult:
        """Call prompt `name` with `variables` through the whole fallback chain."""
        variables = dict(variables or {})
        call = self._new_call(name, request_id, timeout_s, sticky_key)
        try:
            opened = await self._open(call, variables, _complete)
            result = opened if isinstance(opened, CallResult) else self._won(
                call, opened, opened.value)
        except Exception as exc:
            failed = self._failed(call, variables, exc)
            if raise_on_error or failed is None:
                raise
            return failed
        self._record(call, result, variables)
        return result

    def _failed(self, call: _Call, variables: Mapping[str, Any],
                exc: Exception) -> CallResult | None:
        """Record the row of a call that failed; its error result when it is unavailability."""
        # Not PromptOpsUnavailable: a bad request (every model rejects it) or bad inputs.
        error = exc.payload() if isinstance(exc, PromptOpsUnavailable) else None
        result = self._finish(call, "", tier="error", source="none", error=error)
        self._record(call, result, variables)
        return result if error is not None else None

    def _new_call(self, name: str, request_id: str | None, timeout_s: float | None,
                  sticky_key: str | None = None) -> _Call:
        # Without a key, keep working with stores whose `get` predates canaries.
        resolved = self.store.get(name) if sticky_key is None else self.store.get(name, sticky_key)
        now = self.clock()
        return _Call(resolved, request_id or uuid.uuid4().hex, now,
                     now + (timeout_s if timeout_s is not None else self.default_timeout_s),
                     self._target(resolved.model or ""))

    def _request(self, call: _Call, variables: Mapping[str, Any]) -> ModelRequest:
        resolved = call.resolved
        return ModelRequest(model="", messages=resolved.render(variables),
                            params=dict(resolved.prompt.config), inputs=variables,
                            output_format=resolved.prompt.output_format,
                            tools=resolved.prompt.tools)

    async def _open(self, call: _Call, variables: Mapping[str, Any],
                    attempt: Attempter[T]) -> CallResult | Won[T]:
        """Tiers 1-3: the chain entry whose `attempt` won, else a cached/static/disabled answer."""
        request = self._request(call, variables)
        if not call.resolved.enabled:
            return await self._disabled(call, request)
        won = await self._chain(call, request, attempt)
        return self._tier3(call, request) if won is None else won

    def call(
        self, name: str, variables: Mapping[str, Any] | None = None, *,
        request_id: str | None = None, timeout_s: float | None = None, raise_on_error: bool = True,
        sticky_key: str | None = None,
    ) -> CallResult:
        """Sync twin of `acall`; runs on a private per-thread loop (connections are reused)."""
        return self._thread_loop("call").run_until_complete(self.acall(
            name, variables, request_id=request_id, timeout_s=timeout_s,
            raise_on_error=raise_on_error, sticky_key=sticky_key))

    def _thread_loop(self, method: str) -> asyncio.AbstractEventLoop:
        """This thread's private loop; refused inside a running loop (it would block it)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeUsageError(
                f"Runtime.{method}() was called inside a running event loop",
                why="blocking the loop would stall every other task",
                fix=f"use `runtime.a{method}(...)` in async code",
            )
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is None or loop.is_closed():
            loop = self._local.loop = asyncio.new_event_loop()
        return loop

    def astream(
        self, name: str, variables: Mapping[str, Any] | None = None, *,
        request_id: str | None = None, timeout_s: float | None = None, raise_on_error: bool = True,
        sticky_key: str | None = None,
    ) -> AsyncIterator[str | CallResult]:
        """Yield text chunks as the model streams them, then the CallResult (see streaming.py)."""
        from promptops.runtime.streaming import stream_call

        return stream_call(self, name, variables, request_id=request_id, timeout_s=timeout_s,
                           raise_on_error=raise_on_error, sticky_key=sticky_key)

    def stream(
        self, name: str, variables: Mapping[str, Any] | None = None, *,
        request_id: str | None = None, timeout_s: float | None = None, raise_on_error: bool = True,
        sticky_key: str | None = None,
    ) -> Iterator[str | CallResult]:
        """Sync twin of `astream`, driven on this thread's private loop."""
        from promptops.runtime.streaming import drive

        loop = self._thread_loop("stream")
        return drive(loop, self.astream(name, variables, request_id=request_id, timeout_s=timeout_s,
                                        raise_on_error=raise_on_error, sticky_key=sticky_key))

    async def aclose(self) -> None:
        """Close this loop's provider connections and flush the cache."""
        with self._lock:
            providers = self._providers.pop(asyncio.get_running_loop(), {})
        for provider in providers.values():
            await provider.aclose()
        self.last_resort.flush()

    def close(self) -> None:
        """Sync twin of `aclose`, also closing this thread's private loop."""
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is not None and not loop.is_closed():
            loop.run_until_complete(self.aclose())
            loop.close()
        else:
            self.last_resort.flush()

    # ------------------------------------------------------------------ tiers 1 and 2

    def _target(self, spec: str) -> str:
        return self.config.models.get(spec, spec)

    def _entries(self, resolved: PromptLike) -> list[str]:
        chain = [resolved.model, *self.chains.get(resolved.name, ())]
        if not self.chains.get(resolved.name):
            chain.append(resolved.rollback_model)  # last resort when no chain is configured
        targets: list[str] = []
        for spec in chain:
            if spec and (t := self._target(spec)) not in targets:
                targets.append(t)
        if not targets:
            raise ConfigError(f"prompt {resolved.name!r} has no model to call",
                              fix="set `model:` in the prompt or the environment pointer")
        return targets

    def _provider(self, target: str) -> tuple[Provider, ProviderConfig, str]:
        pname, model_id = split_model_spec(target)
        pconf = self.config.provider(pname)
        with self._lock:
            providers = self._providers.setdefault(asyncio.get_running_loop(), {})
            provider = providers.get(pname)
            if provider is None:
                provider = providers[pname] = build_provider(pconf, self.environ)
        return provider, pconf, model_id

    async def _chain(self, call: _Call, request: ModelRequest, attempt: Attempter[T]
                     ) -> Won[T] | None:
        """Walk the chain until one entry's `attempt` succeeds (None: every entry failed)."""
        targets = self._entries(call.resolved)
        attempted = False
        for index, target in enumerate(targets):
            if self.clock() >= call.deadline:
                return None
            if not self.breaker.allow(target):
                continue  # open circuit: don't pay for an attempt at a model that is down
            attempted = True
            won = await self._entry(call, request, target, index, attempt)
            if won is not None:
                return won
        if attempted:
            return None
        # Every circuit open: one attempt (no retries) at the primary rather than none at all.
        return await self._entry(call, request, targets[0], 0, attempt)

    async def _entry(
        self, call: _Call, request: ModelRequest, target: str, index: int, attempt: Attempter[T]
    ) -> Won[T] | None:
        """Retry one chain entry; None means fail over to the next one."""
        retries = 0
        while (remaining := call.deadline - self.clock()) > 0:
            t0 = self.clock()
            try:
                provider, pconf, model_id = self._provider(target)
                req = ModelRequest(model=model_id, messages=request.messages,
                                   params=request.params, inputs=request.inputs,
                                   output_format=request.output_format, tools=request.tools)
                value = await attempt(provider, req, min(pconf.timeout_s, remaining))
            except (ProviderError, ConfigError) as raw:
                err = raw if isinstance(raw, ProviderError) else ProviderError(
                    raw.message, kind="config", retryable=False)
                call.last_error = err
                call.attempts.append(Attempt(target, err.kind, err.status,
                                             (self.clock() - t0) * 1000.0, err.retry_after_s))
                if err.kind == "bad_request" and err.status != 402:
                    self.breaker.success(target)  # the server answered: the model is fine
                    raise err from None
                if err.kind in MISCONFIGURED or err.status == 402:
                    log.error("promptops: %s is misconfigured: %s", target, err.what)
                    self.breaker.failure(target, open_for_s=self.breaker.cooldown_s)
                    return None
                if not (err.kind in TRANSIENT and err.retryable):
                    self.breaker.failure(target)  # python_error and the like: next entry
                    return None
                ra = err.retry_after_s
                if ra is not None and (ra > self.max_retry_after_s
                                       or self.clock() + ra > call.deadline):
                    self.breaker.failure(target, open_for_s=ra)  # long pause: fail over now
                    return None
                self.breaker.failure(target)
                # An open circuit (also after a forced or probe attempt) means: fail over now.
                if retries >= self.max_retries_per_entry or self.breaker.is_open(target):
                    return None
                wait = max(self.policy.backoff(retries, self.rng()), ra or 0.0)
                if self.clock() + wait >= call.deadline:
                    return None
                await self.sleep(wait)
                call.wait_s += wait
                retries += 1
                continue
            return Won(value, target, index, retries, pconf, model_id, t0, request)
        return None

    def _won(self, call: _Call, won: Won[Any], completion: Completion) -> CallResult:
        """Book the winning attempt (breaker, cache, cost) and build its CallResult."""
        target = won.target
        attempt_ms = (self.clock() - won.t0) * 1000.0
        call.attempts.append(Attempt(target, None, None, attempt_ms))
        self.breaker.success(target)
        # served_model = the chain target, so a cache hit can say which model answered.
        self.last_resort.remember(self._key(call, won.request), won.pconf.name, won.model_id,
                                  dataclasses.replace(completion, served_model=target))
        tier = "fallback" if won.index > 0 else ("retry" if won.retries else "primary")
        cost = price_of(won.pconf.kind, won.pconf.name, won.model_id, completion.usage,
                        self.config.prices).cost_usd
        result = self._finish(call, completion.text, tier=tier, source="model", model=target,
                              usage=completion.usage, cost=cost)
        if completion.server_ms is None:
            return result  # the provider reports no server time: the split stays null
        return dataclasses.replace(result, model_ms=completion.server_ms,
                                   network_ms=max(0.0, attempt_ms - completion.server_ms))

    # ------------------------------------------------------------------ tier 3 and disabled

    def _key(self, call: _Call, request: ModelRequest) -> str:
        return LastResort.key(call.resolved.name, call.resolved.version, request)

    def _tier3(self, call: _Call, request: ModelRequest) -> CallResult:
        hit = self.last_resort.cached(self._key(call, request))
        if hit is not None:
            return self._finish(call, hit.text, tier="cache", source="cache",
                                model=hit.served_model, usage=Usage())
        static = LastResort.static(call.resolved.prompt.raw)
        if static is not None:
            return self._finish(call, static, tier="static", source="static")
        last = call.last_error
        why = last.what if last is not None else "the call's deadline passed before any attempt"
        raise PromptOpsUnavailable(
            f"no model could answer prompt {call.resolved.name!r} "
            f"({len(call.attempts)} attempts): {why}",
            request_id=call.request_id, attempts=tuple(call.attempts),
            last_error_type=error_type_of(last.kind if last else "timeout"),
            fix="check provider status and keys, or add a fallback chain or static_response",
        )

    async def _disabled(self, call: _Call, request: ModelRequest) -> CallResult:
        spec = call.resolved.fallback_behavior
        target = self._target(spec) if spec else ""
        if not target.startswith("python:"):
            raise PromptDisabledError(
                f"prompt {call.resolved.name!r} is disabled and has no fallback callable",
                request_id=call.request_id, attempts=(), last_error_type=None,
                fix="set fallback_behavior to `python:pkg.mod:fn` or a python model alias",
            )
        t0 = self.clock()
        try:
            provider = build_python_provider(target.removeprefix("python:"))
            remaining = max(0.001, call.deadline - self.clock())
            completion = await provider.complete(request, timeout_s=remaining)
        except (ProviderError, ConfigError) as exc:
            kind = exc.kind if isinstance(exc, ProviderError) else "config"
            call.last_error = exc if isinstance(exc, ProviderError) else None
            call.attempts.append(Attempt(target, kind, None, (self.clock() - t0) * 1000.0))
            raise PromptDisabledError(
                f"prompt {call.resolved.name!r} is disabled and its fallback failed: {exc.what}",
                request_id=call.request_id, attempts=tuple(call.attempts), last_error_type=kind,
            ) from exc
        call.attempts.append(Attempt(target, None, None, (self.clock() - t0) * 1000.0))
        return self._finish(call, completion.text, tier="disabled", source="fallback_callable",
                            model=target, usage=completion.usage, cost=0.0)

    # ------------------------------------------------------------------ results and metrics

    def _finish(
        self, call: _Call, text: str, *, tier: str, source: str, model: str | None = None,
        usage: Usage | None = None, cost: float | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> CallResult:
        r = call.resolved
        return CallResult(
            text=text, prompt_name=r.name, prompt_version=r.version, env=r.env, model=model,
            requested_model=call.requested_model, tier=tier,
            degraded=tier not in ("primary", "retry"), source=source,
            request_id=call.request_id, usage=usage or Usage(), cost_usd=cost,
            latency_ms=(self.clock() - call.started) * 1000.0, wait_ms=call.wait_s * 1000.0,
            attempts=tuple(call.attempts), error=error,
        )

    def _record(self, call: _Call, result: CallResult, variables: Mapping[str, Any]) -> None:
        last = call.last_error.kind if call.last_error else None
        if self.telemetry is not None:
            trace_call(self.telemetry, result, last)
        if self.metrics is None:
            return
        try:  # metrics must never break the request
            self.metrics.record(metrics_row(result, last), inputs=variables, output=result.text)
        except Exception:
            log.exception("promptops: recording metrics failed")
