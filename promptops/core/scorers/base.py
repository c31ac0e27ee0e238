"""The scorer plug point: a scorer is a pure function of (criterion, reference, observation)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from promptops.core.models import Criterion, Observation

# (score in [0,1] or None for "unscored", explanation)
Verdict = tuple[float | None, str]

# (options, reference value or None, where) -> None; raises ConfigError on bad settings.
Validator = Callable[[Mapping[str, Any], Any, str], None]
ScoreFn = Callable[[Criterion, Any, Observation], Verdict]


@dataclass(frozen=True)
class ScorerSpec:
    """A registered scorer: its option names, whether it needs a reference, and its functions."""

    name: str
    options: frozenset[str]
    needs_reference: bool
    validate: Validator
    score: ScoreFn
    doc: str = ""


# Criterion keys every scorer understands; everything else is scorer-specific.
COMMON_KEYS = frozenset({"name", "scorer", "weight", "threshold", "required", "value", "reduce"})
# How a criterion's K repeats collapse into one result per case.
REDUCERS = ("mean", "all", "any", "majority")
