"""The one retry loop: backoff with jitter, bounded retry-after, one deadline per call."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from promptops.core.config import ProviderConfig
from promptops.core.errors import ProviderError
from promptops.core.models import Completion, ModelRequest
from promptops.core.ports import Provider

Sleep = Callable[[float], Awaitable[object]]
OnRetry = Callable[[ProviderError, float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry one model call; SDK clients run with max_retries=0 under this."""

    max_attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 8.0
    jitter: float = 0.25  # fraction taken OFF the backoff, so waits never exceed the cap
    max_retry_after_s: float = 30.0  # a longer retry-after means: give up on this model now
    deadline_s: float = 300.0  # whole call, waits included

    @classmethod
    def for_provider(cls, config: ProviderConfig, *, deadline_s: float = 300.0) -> RetryPolicy:
        """The default policy with the provider's configured max_attempts."""
        return cls(max_attempts=max(1, config.max_attempts), deadline_s=deadline_s)

    def backoff(self, retry_index: int, rnd: float) -> float:
        """Wait before retry number `retry_index` (0-based), given a uniform [0,1) draw."""
        raw = min(self.base_s * (2.0**retry_index), self.cap_s)
        return raw * (1.0 - self.jitter * rnd)


class RetriesExhaustedError(ProviderError):
    """The last ProviderError of a call that was retried and still failed; kind is kept."""

    def __init__(self, last: ProviderError, what: str, *, attempts: int) -> None:
        self.attempts = attempts
        self.last = last
        super().__init__(
            what,
            kind=last.kind,
            status=last.status,
            retry_after_s=last.retry_after_s,
            retryable=last.retryable,
            fix=last.fix,
        )


def _give_up(last: ProviderError, attempts: int, reason: str) -> RetriesExhaustedError:
    plural = "attempt" if attempts == 1 else "attempts"
    what = f"{last.what} ({reason}; {attempts} {plural})"
    return RetriesExhaustedError(last, what, attempts=attempts)


async def call_with_retries(
    provider: Provider,
    request: ModelRequest,
    policy: RetryPolicy,
    *,
    timeout_s: float,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
    on_retry: OnRetry | None = None,
) -> Completion:
    """Call `provider.complete` until it succeeds, a non-retryable error, or the deadline."""
    deadline = clock() + policy.deadline_s
    attempts = 0
    while True:
        # Never let one attempt outlive the call's deadline (floor keeps the SDK timeout valid).
        attempt_timeout = max(0.001, min(timeout_s, deadline - clock()))
        attempts += 1
        try:
            completion = await provider.complete(request, timeout_s=attempt_timeout)
        except ProviderError as err:
            if not err.retryable:
                if attempts == 1:
                    raise
                raise _give_up(err, attempts, "not retryable") from err
            if err.retry_after_s is not None and err.retry_after_s > policy.max_retry_after_s:
                # The server asked for a long pause: better to fail over now than to block.
                raise _give_up(
                    err, attempts, f"retry-after {err.retry_after_s:g}s exceeds "
                    f"{policy.max_retry_after_s:g}s"
                ) from err
            if attempts >= policy.max_attempts:
                raise _give_up(err, attempts, "gave up") from err
            wait = max(policy.backoff(attempts - 1, rng()), err.retry_after_s or 0.0)
            if clock() + wait >= deadline:
                raise _give_up(
                    err, attempts, f"deadline of {policy.deadline_s:g}s would pass"
                ) from err
            if on_retry is not None:
                on_retry(err, wait)
            await sleep(wait)
            continue
        return dataclasses.replace(completion, attempts=attempts)
