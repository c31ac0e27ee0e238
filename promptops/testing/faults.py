"""Scripted misbehaviour of the fake server: error statuses, stalls, garbage, disconnects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["status", "timeout", "garbage", "disconnect", "ok"]


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour of the server; build with the classmethods."""

    kind: FaultKind
    code: int = 200
    retry_after: float | None = None
    retry_after_ms: float | None = None
    body: str | dict[str, Any] | None = None  # str = error message, dict = whole JSON body
    seconds: float = 0.0

    @classmethod
    def status(
        cls,
        code: int,
        retry_after: float | None = None,
        retry_after_ms: float | None = None,
        body: str | dict[str, Any] | None = None,
    ) -> Fault:
        """Answer with an HTTP error status in the API's error shape."""
        return cls("status", code, retry_after, retry_after_ms, body)

    @classmethod
    def timeout(cls, seconds: float) -> Fault:
        """Stall `seconds` before answering normally."""
        return cls("timeout", seconds=seconds)

    @classmethod
    def garbage(cls) -> Fault:
        """Answer 200 with a malformed, non-JSON body."""
        return cls("garbage")

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the socket without sending any response."""
        return cls("disconnect")

    @classmethod
    def ok(cls) -> Fault:
        """Answer normally (a no-op slot in a script)."""
        return cls("ok")
