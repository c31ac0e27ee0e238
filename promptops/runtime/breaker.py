"""Circuit breaker per provider/model: stop paying for attempts at a model that is down."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass
class _Circuit:
    """Mutable state of one key; guarded by the breaker's lock."""

    state: str = CLOSED
    consecutive: int = 0
    events: deque[tuple[float, bool]] = field(default_factory=deque)  # (time, ok)
    open_until: float = 0.0
    probe_started: float | None = None


class CircuitBreaker:
    """Closed → open (on consecutive failures or a failure rate) → half-open probe → closed."""

    def __init__(
        self,
        failure_threshold: int = 3,
        rate_threshold: float = 0.5,
        min_requests: int = 5,
        window_s: float = 60.0,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.rate_threshold = rate_threshold
        self.min_requests = min_requests
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._lock = threading.Lock()
        self._circuits: dict[str, _Circuit] = {}

    def _get(self, key: str) -> _Circuit:
        circuit = self._circuits.get(key)
        if circuit is None:
            circuit = self._circuits[key] = _Circuit()
        return circuit

    def state(self, key: str) -> str:
        """closed, open or half_open (an open circuit past its cooldown reads half_open)."""
        with self._lock:
            c = self._get(key)
            if c.state == OPEN and self.clock() >= c.open_until:
                return HALF_OPEN
            return c.state

    def is_open(self, key: str) -> bool:
        """True while the circuit refuses calls (open and still cooling down)."""
        return self.state(key) == OPEN

    def allow(self, key: str) -> bool:
        """May a call go to `key` now? Half-open lets exactly one probe through at a time."""
        with self._lock:
            c, now = self._get(key), self.clock()
            if c.state == CLOSED:
                return True
            if c.state == OPEN:
                if now < c.open_until:
                    return False
                c.state = HALF_OPEN
                c.probe_started = None
            # A probe whose caller vanished (cancelled, crashed) must not wedge the circuit.
            stale = c.probe_started is not None and now - c.probe_started >= self.cooldown_s
            if c.probe_started is None or stale:
                c.probe_started = now
                return True
            return False

    def success(self, key: str) -> None:
        """Record a success; a successful half-open probe closes the circuit."""
        with self._lock:
            c, now = self._get(key), self.clock()
            if c.state != CLOSED:
                self._circuits[key] = _Circuit()  # fresh window: old failures are history
                return
            c.consecutive = 0
            self._add(c, now, ok=True)

    def failure(self, key: str, *, open_for_s: float | None = None) -> None:
        """Record a failure; `open_for_s` (e.g. a long retry-after) opens it that long now."""
        with self._lock:
            c, now = self._get(key), self.clock()
            c.consecutive += 1
            self._add(c, now, ok=False)
            if open_for_s is not None:
                self._open(c, now, max(open_for_s, 0.0))
                return
            if c.state == HALF_OPEN or (c.state == OPEN and now >= c.open_until):
                self._open(c, now, self.cooldown_s)  # the probe failed: cool down again
                return
            if c.state == OPEN:
                return  # a forced call while open: the cooldown clock keeps running
            fails = sum(1 for _, ok in c.events if not ok)
            too_many = c.consecutive >= self.failure_threshold
            too_often = (
                len(c.events) >= self.min_requests
                and fails / len(c.events) >= self.rate_threshold
            )
            if too_many or too_often:
                self._open(c, now, self.cooldown_s)

    def _add(self, c: _Circuit, now: float, *, ok: bool) -> None:
        c.events.append((now, ok))
        while c.events and c.events[0][0] <= now - self.window_s:
            c.events.popleft()

    @staticmethod
    def _open(c: _Circuit, now: float, seconds: float) -> None:
        c.state = OPEN
        c.open_until = max(c.open_until, now + seconds)
        c.probe_started = None
        c.events.clear()
        c.consecutive = 0
