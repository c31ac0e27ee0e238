"""Model retirement dates: a version whose model is retired can be neither released nor rolled
back to with any effect, so the release flow checks them (values only; no I/O here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

WARN_DAYS = 60  # a model retiring sooner than this is worth a warning on every release command
_ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)\b")


@dataclass(frozen=True)
class Retirement:
    """When a model stops being served, and who says so."""

    model: str  # provider:model as the project names it
    retires_on: date
    source: str  # "promptops.yaml:12" or "anthropic SDK 2.14.0"

    def days_left(self, today: date) -> int:
        """Days until retirement (0 or less: retired)."""
        return (self.retires_on - today).days

    def retired(self, today: date) -> bool:
        """True once the retirement date has come."""
        return self.days_left(today) <= 0

    def soon(self, today: date) -> bool:
        """True when it retires within WARN_DAYS (and has not yet)."""
        return 0 < self.days_left(today) <= WARN_DAYS

    def describe(self, today: date) -> str:
        """One line for a message: the model, the date, how far away, the source."""
        left = self.days_left(today)
        when = (f"was retired on {self.retires_on} ({-left} days ago)" if left < 0
                else f"is retired from today ({self.retires_on})" if left == 0
                else f"retires on {self.retires_on} (in {left} day{'s' * (left != 1)})")
        return f"{self.model} {when}; source: {self.source}"


def parse_retirement_date(value: object) -> date:
    """An ISO date (YAML may already have parsed it) or a date as SDKs print it.

    "November 30th, 2026" is the anthropic SDK's form. Raises ValueError otherwise.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.strptime(_ORDINAL.sub(r"\1", text), "%B %d, %Y").date()
    except ValueError:
        raise ValueError(f"{value!r} is not a date such as 2026-11-30") from None
