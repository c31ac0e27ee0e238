"""`numeric`: the number in the output is within tolerance of the reference."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from promptops.core.models import Criterion, Observation
from promptops.core.scorers.base import ScorerSpec, Verdict
from promptops.core.scorers.normalize import (
    MISSING,
    check_choice,
    check_number,
    clip,
    config_error,
    is_number,
    type_name,
)

# A sign only counts when it does not follow a word character ("ID-42" is 42, not -42);
# thousands separators need exact groups of three so "1,2,3" reads as 1.
_NUMBER = re.compile(
    r"(?:(?<!\w)[-+\u2212])?"
    r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:[eE][-+]?\d+)?"
)


def _to_float(text: str) -> float:
    return float(text.replace(",", "").replace("\u2212", "-"))


def _reference(reference: Any) -> float | None:
    if is_number(reference):
        return float(reference)
    if isinstance(reference, str):  # YAML 1.1 reads `1e3` as a string
        m = _NUMBER.fullmatch(reference.strip())
        return _to_float(m.group(0)) if m else None
    return None


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _validate(options: Mapping[str, Any], reference: Any, where: str) -> None:
    check_number(options, "tolerance", where)
    check_number(options, "relative", where)
    check_choice(options, "extract", ("auto", "strict"), where)
    if reference is not MISSING and _reference(reference) is None:
        raise config_error(
            f"`numeric` needs a number as reference, got {type_name(reference)} {reference!r}",
            where,
            fix="set `value:` (or the case's `expected:`) to a number",
        )


def _score(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    opts = criterion.options
    want = _reference(reference)
    if want is None:
        return None, f"reference {reference!r} is not a number"
    text = obs.output.strip()
    m = _NUMBER.fullmatch(text) if opts.get("extract") == "strict" else _NUMBER.search(text)
    if m is None:
        return 0.0, f"no number in {clip(text)}"
    got = _to_float(m.group(0))
    allowed = max(float(opts.get("tolerance", 0)), float(opts.get("relative", 0)) * abs(want))
    band = f"{_fmt(want)} ± {_fmt(allowed)}" if allowed else _fmt(want)
    if math.isfinite(got) and abs(got - want) <= allowed:
        return 1.0, f"got {_fmt(got)} (expected {band})"
    return 0.0, f"expected {band}, got {_fmt(got)}"


SPEC = ScorerSpec(
    name="numeric",
    options=frozenset({"tolerance", "relative", "extract"}),
    needs_reference=True,
    validate=_validate,
    score=_score,
    doc="First number in the output (or the whole output, extract: strict) is within tolerance.",
)
