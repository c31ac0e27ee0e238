"""call_with_retries with an injected clock, sleep and rng (no real waiting)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from promptops.core.config import ProviderConfig
from promptops.core.errors import ProviderError
from promptops.core.models import Completion, Message, ModelRequest
from promptops.providers.retry import RetriesExhaustedError, RetryPolicy, call_with_retries

REQ = ModelRequest(model="m", messages=(Message("user", "hi"),))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedProvider:
    name = "fake"
    kind = "anthropic"

    def __init__(self, clock: FakeClock, *outcomes: Any, cost_s: float = 0.0) -> None:
        self.clock = clock
        self.outcomes = list(outcomes)
        self.timeouts: list[float] = []
        self.cost_s = cost_s

    async def complete(self, request: ModelRequest, *, timeout_s: float) -> Completion:
        self.timeouts.append(timeout_s)
        self.clock.now += self.cost_s
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, Completion)
        return outcome

    async def aclose(self) -> None:
        return None


def err(kind: str, retry_after: float | None = None, status: int | None = None) -> ProviderError:
    return ProviderError(f"boom {kind}", kind=kind, status=status, retry_after_s=retry_after)


def run(provider: ScriptedProvider, policy: RetryPolicy, clock: FakeClock, **kw: Any) -> Completion:
    return asyncio.run(
        call_with_retries(
            provider, REQ, policy, timeout_s=kw.pop("timeout_s", 60.0), sleep=clock.sleep,
            clock=clock, rng=kw.pop("rng", lambda: 0.0), **kw,
        )
    )


def test_success_first_try_sets_attempts_1() -> None:
    clock = FakeClock()
    prov = ScriptedProvider(clock, Completion(text="ok", attempts=99))
    out = run(prov, RetryPolicy(), clock)
    assert out.text == "ok" and out.attempts == 1
    assert clock.sleeps == []


def test_storm_of_retryable_errors_then_success() -> None:
    clock = FakeClock()
    seen: list[tuple[str, float]] = []
    prov = ScriptedProvider(
        clock, err("rate_limit", status=429), err("server", status=500),
        err("overloaded", status=529), Completion(text="ok"),
    )
    out = run(prov, RetryPolicy(), clock, on_retry=lambda e, w: seen.append((e.kind, w)))
    assert out.attempts == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]  # base * 2^n, no jitter with rng=0
    assert seen == [("rate_limit", 0.5), ("server", 1.0), ("overloaded", 2.0)]


def test_jitter_is_negative_and_cap_applies() -> None:
    policy = RetryPolicy()
    assert policy.backoff(0, 1.0) == pytest.approx(0.5 * 0.75)
    assert policy.backoff(10, 0.0) == 8.0
    assert policy.backoff(10, 1.0) == pytest.approx(6.0)
    clock = FakeClock()
    prov = ScriptedProvider(clock, err("server"), Completion(text="ok"))
    run(prov, policy, clock, rng=lambda: 0.5)
    assert clock.sleeps == [pytest.approx(0.5 * (1 - 0.25 * 0.5))]


def test_retry_after_is_honoured_when_longer_than_backoff() -> None:
    clock = FakeClock()
    prov = ScriptedProvider(clock, err("rate_limit", retry_after=3.0), Completion(text="ok"))
    assert run(prov, RetryPolicy(), clock).attempts == 2
    assert clock.sleeps == [3.0]


def test_long_retry_after_gives_up_at_once() -> None:
    clock = FakeClock()
    prov = ScriptedProvider(clock, err("rate_limit", retry_after=31.0), Completion(text="ok"))
    with pytest.raises(ProviderError) as info:
        run(prov, RetryPolicy(), clock)
    assert info.value.kind == "rate_limit"
    assert "retry-after 31s" in str(info.value)
    assert clock.sleeps == [] and len(prov.outcomes) == 1


def test_non_retryable_raises_at_once() -> None:
    clock = FakeClock()
    auth = err("auth", status=401)
    prov = ScriptedProvider(clock, auth, Completion(text="ok"))
    with pytest.raises(ProviderError) as info:
        run(prov, RetryPolicy(), clock)
    assert info.value is auth
    assert clock.sleeps == [] and len(prov.outcomes) == 1


def test_non_retryable_after_retries_keeps_kind_and_counts_attempts() -> None:
    clock = FakeClock()
    prov = ScriptedProvider(clock, err("server"), err("bad_request", status=400))
    with pytest.raises(RetriesExhaustedError) as info:
        run(prov, RetryPolicy(), clock)
    assert info.value.kind == "bad_request" and info.value.status == 400
    assert info.value.attempts == 2 and not info.value.retryable


def test_max_attempts_exhausted() -> None:
    clock = FakeClock()
    prov = ScriptedProvider(clock, *[err("server", status=503) for _ in range(10)])
    with pytest.raises(RetriesExhaustedError) as info:
        run(prov, RetryPolicy(max_attempts=4), clock)
    assert info.value.kind == "server" and info.value.status == 503
    assert info.value.attempts == 4 and "4 attempts" in str(info.value)
    assert len(clock.sleeps) == 3


def test_deadline_never_slept_past_and_bounds_attempt_timeout() -> None:
    clock = FakeClock()
    prov = ScriptedProvider(clock, *[err("timeout") for _ in range(10)], cost_s=0.25)
    with pytest.raises(RetriesExhaustedError) as info:
        run(prov, RetryPolicy(deadline_s=2.0), clock, timeout_s=10.0)
    assert info.value.kind == "timeout" and "deadline" in str(info.value)
    # t=0 call (0.25) sleep 0.5 -> t=0.75 call (1.0) sleep 1.0 -> t=2.0 > deadline: stop.
    assert clock.sleeps == [0.5]
    assert prov.timeouts == [2.0, pytest.approx(1.25)]
    assert clock.now - 1000.0 <= 2.0


def test_attempt_timeout_is_timeout_s_when_deadline_is_far() -> None:
    clock = FakeClock()
    prov = ScriptedProvider(clock, err("connection"), Completion(text="ok"))
    run(prov, RetryPolicy(), clock, timeout_s=7.5)
    assert prov.timeouts == [7.5, 7.5]


def test_other_exceptions_propagate_unchanged() -> None:
    clock = FakeClock()
    prov = ScriptedProvider(clock, RuntimeError("bug"))
    with pytest.raises(RuntimeError, match="bug"):
        run(prov, RetryPolicy(), clock)


def test_policy_from_provider_config() -> None:
    policy = RetryPolicy.for_provider(ProviderConfig(name="x", kind="openai", max_attempts=3))
    assert policy.max_attempts == 3 and policy.cap_s == 8.0
