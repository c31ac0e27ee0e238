"""The scorer registry: look up, validate and run the deterministic scorers."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from promptops.core.models import Criterion, Observation, ScoreResult
from promptops.core.scorers import (
    budget,
    custom,
    exact,
    json_scorer,
    llm_judge,
    numeric,
    regex,
    text,
)
from promptops.core.scorers.base import COMMON_KEYS, ScorerSpec, Verdict
from promptops.core.scorers.normalize import MISSING, config_error, cut

__all__ = ["SCORERS", "ScorerSpec", "get_scorer", "score_criterion", "validate_criterion"]

SCORERS: dict[str, ScorerSpec] = {
    spec.name: spec
    for spec in (
        exact.SPEC,
        text.CONTAINS,
        text.NOT_CONTAINS,
        regex.SPEC,
        json_scorer.SPEC,
        numeric.SPEC,
        custom.SPEC,
        budget.LATENCY,
        budget.COST,
        budget.OUTPUT_TOKENS,
        llm_judge.SPEC,
    )
}


def get_scorer(name: str, where: str) -> ScorerSpec:
    """Return the scorer called `name`, or raise a ConfigError naming the known ones."""
    spec = SCORERS.get(name)
    if spec is not None:
        return spec
    close = difflib.get_close_matches(str(name), SCORERS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise config_error(
        f"unknown scorer {name!r}",
        where,
        why=f"known scorers: {', '.join(sorted(SCORERS))}",
        fix=f"{hint}set `scorer:` to one of the known scorers",
    )


def validate_criterion(
    name: str,
    scorer: str,
    options: Mapping[str, Any],
    reference: Any,
    has_reference: bool,
    where: str,
) -> None:
    """Raise ConfigError if a criterion's scorer, options or reference cannot work."""
    spec = get_scorer(scorer, where)
    unknown = sorted(str(k) for k in options if k not in COMMON_KEYS and k not in spec.options)
    if unknown:
        allowed = sorted(spec.options | COMMON_KEYS)
        close = difflib.get_close_matches(unknown[0], allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise config_error(
            f"criterion {name!r}: unknown option(s) {', '.join(map(repr, unknown))} "
            f"for scorer {scorer!r}",
            where,
            why=f"{scorer!r} accepts: {', '.join(allowed)}",
            fix=f"{hint}remove or rename the option",
        )
    if spec.needs_reference and not has_reference:
        raise config_error(
            f"criterion {name!r}: scorer {scorer!r} needs something to compare against",
            where,
            fix="add `value:` to the criterion or `expected:` to the case",
        )
    # MISSING (not None) when there is no reference, so an explicit null stays checkable.
    spec.validate(options, reference if has_reference else MISSING, where)


def score_criterion(criterion: Criterion, reference: Any, obs: Observation) -> ScoreResult:
    """Run a criterion's scorer; never raises: a failing scorer gives an unscored result."""
    spec = SCORERS.get(criterion.scorer)
    verdict: Verdict
    if spec is None:
        verdict = None, f"unknown scorer {criterion.scorer!r}"
    else:
        try:
            verdict = spec.score(criterion, reference, obs)
        except Exception as exc:  # a scorer bug or a custom function must not crash the run
            verdict = None, cut(f"scorer error: {type(exc).__name__}: {exc}", 200)
    score, explanation = verdict
    if score is not None and not 0.0 <= score <= 1.0:  # also rejects NaN
        score, explanation = None, f"scorer returned {score!r}, outside [0, 1]"
    return ScoreResult(
        name=criterion.name,
        scorer=criterion.scorer,
        score=score,
        passed=None if score is None else score >= criterion.threshold,
        explanation=explanation,
        weight=criterion.weight,
        required=criterion.required,
    )
