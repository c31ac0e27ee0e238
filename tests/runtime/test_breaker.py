"""CircuitBreaker with a fake clock: open, half-open probe, close, retry-after, window."""

from __future__ import annotations

import threading

from promptops.runtime.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(**kw: float) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker(clock=clock, **kw), clock  # type: ignore[arg-type]


def test_opens_after_consecutive_failures_and_refuses_calls() -> None:
    br, _ = make()
    for _ in range(2):
        br.failure("m")
        assert br.allow("m") and br.state("m") == "closed"
    br.failure("m")
    assert br.state("m") == "open"
    assert not br.allow("m")


def test_success_resets_the_consecutive_count() -> None:
    br, _ = make(min_requests=100)
    for _ in range(5):
        br.failure("m")
        br.failure("m")
        br.success("m")
    assert br.state("m") == "closed"


def test_opens_on_failure_rate_in_the_window() -> None:
    br, _ = make(failure_threshold=100, min_requests=4, rate_threshold=0.5)
    br.success("m")
    br.failure("m")
    br.success("m")
    assert br.state("m") == "closed"  # 3 requests: below min_requests
    br.failure("m")
    assert br.state("m") == "open"  # 2 of 4 failed


def test_old_events_leave_the_window() -> None:
    br, clock = make(failure_threshold=100, min_requests=4, window_s=60)
    br.failure("m")
    br.failure("m")
    clock.now += 61
    br.success("m")
    br.success("m")
    br.failure("m")
    assert br.state("m") == "closed"  # 1 of 3 in the window


def test_half_open_lets_one_probe_then_closes_on_success() -> None:
    br, clock = make(cooldown_s=30)
    for _ in range(3):
        br.failure("m")
    clock.now += 29.9
    assert not br.allow("m")
    clock.now += 0.2
    assert br.state("m") == "half_open"
    assert br.allow("m")  # the probe
    assert not br.allow("m")  # a second caller waits for the probe
    br.success("m")
    assert br.state("m") == "closed"
    assert br.allow("m") and br.allow("m")


def test_failed_probe_reopens_for_a_full_cooldown() -> None:
    br, clock = make(cooldown_s=30)
    for _ in range(3):
        br.failure("m")
    clock.now += 30
    assert br.allow("m")
    br.failure("m")
    assert br.state("m") == "open"
    clock.now += 29
    assert not br.allow("m")
    clock.now += 1
    assert br.allow("m")


def test_lost_probe_does_not_wedge_the_circuit() -> None:
    br, clock = make(cooldown_s=30)
    for _ in range(3):
        br.failure("m")
    clock.now += 30
    assert br.allow("m")  # the caller never reports back
    clock.now += 10
    assert not br.allow("m")
    clock.now += 20
    assert br.allow("m")


def test_open_for_s_opens_at_once_for_that_long() -> None:
    br, clock = make(cooldown_s=30)
    br.failure("m", open_for_s=120)
    assert not br.allow("m")
    clock.now += 100
    assert not br.allow("m")  # longer than the default cooldown
    clock.now += 20
    assert br.allow("m")


def test_failures_while_open_do_not_extend_the_cooldown() -> None:
    br, clock = make(cooldown_s=30)
    for _ in range(3):
        br.failure("m")
    clock.now += 20
    for _ in range(5):
        br.failure("m")  # forced calls while every circuit is open
    clock.now += 10
    assert br.allow("m")


def test_keys_are_independent() -> None:
    br, _ = make()
    for _ in range(3):
        br.failure("a")
    assert not br.allow("a")
    assert br.allow("b")


def test_thread_safe_counting() -> None:
    br, _ = make(failure_threshold=2001, min_requests=10**9)

    def hammer() -> None:
        for _ in range(500):
            br.failure("m")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert br.state("m") == "closed"  # 2000 failures
    br.failure("m")
    assert br.state("m") == "open"  # the 2001st: no increment was lost to a race
