"""Score one output against a case: weighted mean of scored criteria, threshold, required."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from promptops.core.models import Case, Observation, ScoreResult
from promptops.core.scorers import score_criterion


@dataclass(frozen=True)
class CaseScore:
    """Every criterion's result and the case's verdict."""

    scores: tuple[ScoreResult, ...]
    score: float | None
    passed: bool
    fail_reason: str


def score_case(
    case: Case, obs: Observation, precomputed: Mapping[str, ScoreResult] | None = None
) -> CaseScore:
    """Apply the pass rule: score >= case threshold and every required criterion passed.

    `precomputed` holds results the engine already has (LLM judge verdicts), by criterion name.
    """
    done = precomputed or {}
    results = tuple(
        done[c.name] if c.name in done
        else score_criterion(c, c.value if c.has_value else case.expected, obs)
        for c in case.criteria
    )
    return verdict_of(results, case.threshold)


def verdict_of(results: tuple[ScoreResult, ...], threshold: float) -> CaseScore:
    """Weighted mean of scored criteria; pass = score >= threshold and required ones passed."""
    weighted = [(r.score, r.weight) for r in results if r.score is not None and r.weight > 0]
    total_weight = sum(w for _, w in weighted)
    score: float | None
    if total_weight > 0:
        score = sum(s * w for s, w in weighted) / total_weight  # type: ignore[operator]
    elif any(r.score is not None for r in results):
        score = 1.0 if all(r.passed for r in results if r.score is not None) else 0.0
    else:
        score = None
    reasons = [
        f"{r.name}: {r.explanation}"
        for r in results
        if (r.required and not r.passed) or (r.score is not None and not r.passed and r.weight > 0)
    ]
    if score is None:
        reasons.append("no criterion could be scored: " + "; ".join(
            f"{r.name}: {r.explanation}" for r in results))
    required_ok = all(r.passed for r in results if r.required)
    passed = score is not None and score >= threshold - 1e-9 and required_ok
    if passed:
        reasons = []
    elif not reasons:
        reasons.append(f"score {score:.2f} < threshold {threshold:.2f}")
    return CaseScore(results, score, passed, "; ".join(reasons))
