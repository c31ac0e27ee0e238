"""Client-side RPM/TPM limiter: smooth token bucket plus a hard rolling-window cap."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[object]]
# Waits below this count as done: float rounding must not turn into endless micro-sleeps.
_EPSILON_S = 1e-6


class RateLimiter:
    """Keep requests (and estimated tokens) per rolling minute under rpm (and tpm)."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        window_s: float = 60.0,
        burst: float | None = None,
    ) -> None:
        if rpm is not None and rpm < 1:
            raise ValueError("rpm must be >= 1")
        if tpm is not None and tpm < 1:
            raise ValueError("tpm must be >= 1")
        self.rpm = rpm
        self.tpm = tpm
        self._clock = clock
        self._sleep = sleep
        self._window = window_s
        # Requests are spread evenly at rpm/window per second; the bucket allows a small burst.
        self._rate = (rpm / window_s) if rpm else 0.0
        self._burst = max(1.0, burst if burst is not None else (rpm or 0) / 60.0)
        self._level = self._burst
        self._level_t = clock()
        self._sent: deque[float] = deque()  # request times in the window (the hard cap)
        self._tokens: deque[tuple[float, int]] = deque()
        self._token_sum = 0
        self._paused_until = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def limited(self) -> bool:
        """True when any limit is configured."""
        return self.rpm is not None or self.tpm is not None

    def note_retry_after(self, seconds: float) -> None:
        """Pause every caller for `seconds` (after a 429 with retry-after)."""
        if seconds > 0:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, tokens: int = 0) -> None:
        """Wait until one more request of about `tokens` tokens fits under the limits."""
        if not self.limited and self._paused_until == float("-inf"):
            return
        # FIFO: waiters queue on the lock; whoever holds it sleeps only as long as needed.
        async with self._lock:
            while True:
                now = self._clock()
                wait = self._wait_needed(now, tokens)
                if wait <= _EPSILON_S:
                    break
                await self._sleep(wait)
            self._commit(now, tokens)

    def _bucket_level(self, now: float) -> float:
        return min(self._burst, self._level + (now - self._level_t) * self._rate)

    def _purge(self, now: float) -> None:
        horizon = now - self._window
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()
        while self._tokens and self._tokens[0][0] <= horizon:
            self._token_sum -= self._tokens.popleft()[1]

    def _wait_needed(self, now: float, tokens: int) -> float:
        self._purge(now)
        wait = self._paused_until - now
        if self.rpm is not None:
            level = self._bucket_level(now)
            if level < 1.0:
                wait = max(wait, (1.0 - level) / self._rate)
            if len(self._sent) >= self.rpm:
                wait = max(wait, self._sent[0] + self._window - now)
        if self.tpm is not None and tokens > 0 and self._tokens:
            # An oversize request (tokens > tpm) still goes once the window is empty.
            excess = self._token_sum + tokens - self.tpm
            if excess > 0:
                freed = 0
                for t, n in self._tokens:
                    freed += n
                    if freed >= excess:
                        wait = max(wait, t + self._window - now)
                        break
                else:  # oversize: wait for the window to empty completely
                    wait = max(wait, self._tokens[-1][0] + self._window - now)
        return wait

    def _commit(self, now: float, tokens: int) -> None:
        if self.rpm is not None:
            self._level = self._bucket_level(now) - 1.0
            self._level_t = now
            self._sent.append(now)
        if self.tpm is not None and tokens > 0:
            self._tokens.append((now, tokens))
            self._token_sum += tokens
