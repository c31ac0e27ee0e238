"""RateLimiter with a fake clock: smooth spacing, hard rolling-window caps, pauses."""

from __future__ import annotations

import asyncio
import bisect
import itertools

import pytest

from promptops.providers.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds > 0, "the limiter must never sleep for nothing"
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def limiter(
    clock: FakeClock, rpm: int | None, tpm: int | None = None, burst: float | None = None
) -> RateLimiter:
    return RateLimiter(rpm, tpm, clock=clock, sleep=clock.sleep, burst=burst)


def acquire_times(lim: RateLimiter, clock: FakeClock, n: int, tokens: int = 0) -> list[float]:
    async def go() -> list[float]:
        times = []
        for _ in range(n):
            await lim.acquire(tokens)
            times.append(clock.now)
        return times

    return asyncio.run(go())


def max_in_window(times: list[float], window: float) -> int:
    """Most events inside any half-open window (t - window, t] (a server's sliding window)."""
    best = 0
    for i, t in enumerate(times):
        start = bisect.bisect_right(times, t - window)
        best = max(best, i + 1 - start)
    return best


def test_no_limits_never_sleeps() -> None:
    clock = FakeClock()
    lim = limiter(clock, None, None)
    acquire_times(lim, clock, 1000, tokens=10_000)
    assert clock.sleeps == [] and not lim.limited


def test_rpm_600_spreads_requests_at_10_per_second_after_a_small_burst() -> None:
    clock = FakeClock()
    times = acquire_times(limiter(clock, 600), clock, 100)
    assert times[:10] == [0.0] * 10  # burst allowance = rpm/60
    gaps = [b - a for a, b in itertools.pairwise(times[10:])]
    assert all(g == pytest.approx(0.1) for g in gaps)
    assert times[-1] == pytest.approx(9.0)
    assert max_in_window(times, 1.0) <= 20
    assert len(clock.sleeps) <= 100  # one sleep per throttled request: no busy loop


def test_sliding_window_server_would_see_no_429() -> None:
    # A server allowing `rpm` per rolling 60 s must never be exceeded, whatever the burst.
    for rpm, burst in ((120, None), (60, 60.0), (10, 10.0)):
        clock = FakeClock()
        times = acquire_times(limiter(clock, rpm, burst=burst), clock, rpm * 5)
        assert max_in_window(times, 60.0) <= rpm, (rpm, burst)
        # ...while still running close to the allowed rate.
        assert times[-1] <= 60.0 * 5 + 1.0


def test_tpm_window_holds_back_tokens_and_lets_oversize_through_alone() -> None:
    clock = FakeClock()
    lim = limiter(clock, None, 1000)
    times = acquire_times(lim, clock, 3, tokens=600)
    assert times == [0.0, 60.0, 120.0]
    clock2 = FakeClock()
    lim2 = limiter(clock2, None, 1000)
    assert acquire_times(lim2, clock2, 2, tokens=5000) == [0.0, 60.0]


def test_tpm_partial_expiry_waits_only_for_enough_tokens() -> None:
    clock = FakeClock()
    lim = limiter(clock, None, 1000)

    async def go() -> list[float]:
        out = []
        for tokens, at in ((400, 0.0), (400, 10.0), (300, 20.0)):
            clock.now = max(clock.now, at)
            await lim.acquire(tokens)
            out.append(clock.now)
        return out

    # 400+400+300 > 1000: the third waits until the first (t=0) leaves the window.
    assert asyncio.run(go()) == [0.0, 10.0, 60.0]


def test_note_retry_after_pauses_all_callers() -> None:
    clock = FakeClock()
    lim = limiter(clock, 6000)
    lim.note_retry_after(5.0)
    assert acquire_times(lim, clock, 1) == [5.0]
    unlimited = limiter(clock, None)
    unlimited.note_retry_after(2.0)
    assert acquire_times(unlimited, clock, 1) == [7.0]


def test_concurrent_waiters_are_spaced_not_stampeding() -> None:
    clock = FakeClock()
    lim = limiter(clock, 60)  # 1 per second, burst 1
    times: list[float] = []

    async def one() -> None:
        await lim.acquire()
        times.append(clock.now)

    async def go() -> None:
        await asyncio.gather(*(one() for _ in range(20)))

    asyncio.run(go())
    assert sorted(times) == [pytest.approx(float(i)) for i in range(20)]


def test_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, None)
