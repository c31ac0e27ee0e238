"""Custom scorer functions used by test_scorers.py (imported as `custom_scorer_helpers:...`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_CALLABLE = 42


def is_short(output: str, reference: Any, params: Mapping[str, Any]) -> bool:
    """Pass when the output has at most params['max_words'] words."""
    return len(output.split()) <= int(params.get("max_words", 3))


def overlap(output: str, reference: Any, params: Mapping[str, Any]) -> float:
    """Share of the reference's words that appear in the output."""
    want = str(reference).split()
    return sum(w in output.split() for w in want) / len(want)


def with_reason(output: str, reference: Any, params: Mapping[str, Any]) -> tuple[float, str]:
    """A (score, explanation) tuple."""
    return (0.25, f"reason for {output}")


def as_dict(output: str, reference: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """A {'score', 'explanation'} dict; score None when the output says 'skip'."""
    if output == "skip":
        return {"score": None, "explanation": "nothing to judge"}
    return {"score": 1.0 if output == reference else 0.0, "explanation": "dict verdict"}


def returns(output: str, reference: Any, params: Mapping[str, Any]) -> Any:
    """Return params['value'] as is, to test odd return values."""
    return params["value"]


def boom(output: str, reference: Any, params: Mapping[str, Any]) -> float:
    """Always raise."""
    raise RuntimeError("kaboom")


class Namespace:
    """Holds a static method, for the dotted `module:Class.method` form."""

    @staticmethod
    def echo(output: str, reference: Any, params: Mapping[str, Any]) -> bool:
        """Pass when output equals reference."""
        return bool(output == reference)
