"""`exact`: the normalised output equals the reference (or one of a list of references)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from promptops.core.models import Criterion, Observation
from promptops.core.scorers.base import ScorerSpec, Verdict
from promptops.core.scorers.normalize import (
    as_strings,
    check_bool,
    check_normalize,
    check_text_reference,
    clip,
    normalizer,
    steps_from,
)


def _validate(options: Mapping[str, Any], reference: Any, where: str) -> None:
    check_normalize(options, where)
    check_bool(options, "ignore_case", where)
    check_text_reference(reference, "exact", where)


@lru_cache(maxsize=4096)
def _normalized_refs(steps: tuple[str, ...], refs: tuple[str, ...]) -> frozenset[str]:
    # References repeat across cases and repeats; normalise each set once.
    norm = normalizer(steps)
    return frozenset(norm(r) for r in refs)


def _score(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    steps = steps_from(criterion.options)
    refs = as_strings(reference)
    got = normalizer(steps)(obs.output)
    if got in _normalized_refs(steps, refs):
        return 1.0, f"matched {clip(got)}"
    if len(refs) == 1:
        want = clip(refs[0])
    else:
        want = (
            "one of " + ", ".join(clip(r, 30) for r in refs[:4]) + (", …" if len(refs) > 4 else "")
        )
    return 0.0, f"expected {want}, got {clip(got)}"


SPEC = ScorerSpec(
    name="exact",
    options=frozenset({"normalize", "ignore_case"}),
    needs_reference=True,
    validate=_validate,
    score=_score,
    doc="Output equals the reference (or any of a list) after normalisation (default: strip).",
)
