"""Timestamps for events and records (one format, so event ids sort in time order)."""

from __future__ import annotations

from datetime import UTC, datetime


def now_stamp() -> str:
    """UTC now with milliseconds, so same-second events still sort in order."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
