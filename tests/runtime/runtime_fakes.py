"""Test doubles shared by the runtime tests: a fake clock, a metrics sink and a prompt store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptops.runtime.metrics import RequestMetrics
from promptops.runtime.store import ResolvedPrompt


class FakeClock:
    """A monotonic clock that only moves when the runtime sleeps (no real waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Sink:
    """Collects metrics rows."""

    def __init__(self) -> None:
        self.rows: list[RequestMetrics] = []

    def record(self, row: RequestMetrics, *, inputs: Mapping[str, Any] | None = None,
               output: str | None = None) -> None:
        self.rows.append(row)


class Store:
    """Serves fixed resolved prompts by name."""

    def __init__(self, *prompts: ResolvedPrompt) -> None:
        self.prompts = {p.name: p for p in prompts}

    def get(self, name: str, sticky_key: str | None = None) -> ResolvedPrompt:
        return self.prompts[name]
