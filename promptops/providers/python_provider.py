"""`python:module.path:function` provider: call a local function as if it were a model."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from promptops.core.errors import ConfigError, ProviderError
from promptops.core.models import Completion, Message, ModelRequest, Usage

PythonTarget = Callable[["PythonRequest"], Any]


@dataclass(frozen=True)
class PythonRequest:
    """What a python: target function receives (its one argument)."""

    inputs: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[Message, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    model: str = ""


def _split_target(target: str) -> tuple[str, str]:
    module, sep, func = target.rpartition(":")
    if not sep or not module or not func or not func.isidentifier():
        raise ConfigError(
            f"python target {target!r} must be `module.path:function`",
            fix="write the model as `python:mypkg.baselines:answer`",
        )
    return module, func


def load_target(target: str) -> PythonTarget:
    """Import `module.path:function` and return the function, or raise ConfigError."""
    module_name, func_name = _split_target(target)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        why = (
            f"no module named {missing!r}"
            if missing == module_name or module_name.startswith(f"{missing}.")
            else f"{module_name} imports {missing!r}, which is not installed"
        )
        raise ConfigError(
            f"cannot import {module_name!r} for python:{target}",
            why=why,
            fix="check the dotted path; it is imported relative to the project root",
        ) from exc
    except Exception as exc:
        raise ConfigError(
            f"importing {module_name!r} for python:{target} failed",
            why=f"{type(exc).__name__}: {exc}",
            fix=f"fix the error in {module_name}",
        ) from exc
    func = getattr(module, func_name, None)
    if func is None:
        names = sorted(
            n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
        )[:8]
        raise ConfigError(
            f"module {module_name!r} has no function {func_name!r}",
            why=f"callables there: {', '.join(names) or 'none'}",
            fix=f"define `def {func_name}(request): ...` in {module_name} or fix the name",
        )
    if not callable(func):
        raise ConfigError(
            f"{module_name}.{func_name} is not callable",
            fix=f"make {func_name} a function taking one PythonRequest argument",
        )
    return func  # type: ignore[no-any-return]


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def to_completion(result: Any, served_model: str, latency_ms: float) -> Completion:
    """A target's return value (str, or dict with text and optional usage) as a Completion."""
    if isinstance(result, str):
        return Completion(text=result, served_model=served_model, latency_ms=latency_ms)
    if isinstance(result, Mapping) and isinstance(result.get("text"), str):
        raw = result.get("usage")
        usage = Usage()
        if isinstance(raw, Mapping):
            usage = Usage(
                input_tokens=_int_or_none(raw.get("input_tokens")),
                output_tokens=_int_or_none(raw.get("output_tokens")),
            )
        return Completion(
            text=result["text"], usage=usage, served_model=served_model, latency_ms=latency_ms
        )
    raise ProviderError(
        f"{served_model} returned {type(result).__name__}, expected str or "
        "a dict with a `text` string",
        kind="bad_response",
        retryable=False,
        fix='return "the answer" or {"text": "...", "usage": {...}}',
    )


class PythonProvider:
    """Calls a local function; with no fixed target, `request.model` names the target."""

    def __init__(self, target: str | None = None, *, name: str = "python") -> None:
        self.name = name
        self.kind = "python"
        self.target = target
        if target is not None:
            _split_target(target)  # a malformed spec is a config error right away
        self._funcs: dict[str, PythonTarget] = {}

    def __repr__(self) -> str:
        return f"PythonProvider(target={self.target!r})"

    def check(self, target: str | None = None) -> PythonTarget:
        """Import and validate the target now, so a typo fails before any call (exit 2)."""
        target = target or self.target
        if target is None:
            raise ConfigError("python provider needs a target", fix="use `python:module:function`")
        func = self._funcs.get(target)
        if func is None:
            func = self._funcs[target] = load_target(target)
        return func

    async def complete(self, request: ModelRequest, *, timeout_s: float) -> Completion:
        """Call the target once with a PythonRequest."""
        target = self.target or request.model
        func = self.check(target)
        served = f"python:{target}"
        preq = PythonRequest(
            inputs=request.inputs,
            messages=request.messages,
            params=request.params,
            model=request.model,
        )
        start = time.perf_counter()
        try:
            # Sync baselines run inline: a thread hop would cost more than they do.
            result = func(preq)
            if inspect.isawaitable(result):
                try:
                    result = await asyncio.wait_for(result, timeout_s)
                except TimeoutError:
                    raise ProviderError(
                        f"{served} timed out after {timeout_s:g}s", kind="timeout", retryable=False
                    ) from None
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(
                f"{served} raised {type(exc).__name__}: {exc}",
                kind="python_error",
                retryable=False,
                fix=f"fix the exception in {target}",
            ) from exc
        latency_ms = (time.perf_counter() - start) * 1000.0
        return to_completion(result, served, latency_ms)

    async def stream(
        self, request: ModelRequest, *, timeout_s: float
    ) -> AsyncIterator[str | Completion]:
        """Call the target once; yield its whole text as one chunk, then the Completion."""
        completion = await self.complete(request, timeout_s=timeout_s)
        if completion.text:
            yield completion.text
        yield dataclasses.replace(completion, ttft_ms=completion.latency_ms)

    async def aclose(self) -> None:
        """Nothing to release."""
