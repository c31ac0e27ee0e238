"""Collapse K repeats of a case into one outcome: the case is the unit of analysis."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from promptops.core.models import Case, CaseRun, ScoreResult
from promptops.core.scoring import verdict_of


@dataclass(frozen=True)
class CaseOutcome:
    """One case's result over its repeats (errored repeats excluded)."""

    case_id: str
    runs: tuple[CaseRun, ...]  # every repeat, errors included
    scores: tuple[ScoreResult, ...]  # reduced per criterion
    score: float | None
    passed: bool
    errored: bool  # every repeat ended in a provider error
    fail_reason: str

    @property
    def first(self) -> CaseRun:
        """The first repeat (ids, tags, model, content hash are the same in all)."""
        return self.runs[0]


def _reduce(results: Sequence[ScoreResult], how: str, threshold: float) -> ScoreResult:
    """One criterion over repeats: mean, all (pass^k), any (pass@k) or majority."""
    head = results[0]
    scored = [r for r in results if r.score is not None]
    if len(scored) <= 1:
        return scored[0] if scored else head
    passes = [bool(r.passed) for r in scored]
    values = [r.score for r in scored if r.score is not None]
    mean = sum(values) / len(values)
    if how == "all":
        score, passed = min(values), all(passes)
    elif how == "any":
        score, passed = max(values), any(passes)
    elif how == "majority":  # the median agrees with the majority vote for pass/fail scores
        score, passed = statistics.median(values), sum(passes) * 2 > len(passes)
    else:
        score, passed = mean, mean >= threshold - 1e-9
    failing = next((r for r in scored if not r.passed), None)
    explanation = f"{sum(passes)}/{len(scored)} repeats passed ({how})"
    if failing is not None:
        explanation += f"; e.g. {failing.explanation}"
    return replace(head, score=score, passed=passed, explanation=explanation, detail=None)


def reduce_case(runs: Sequence[CaseRun], case: Case, default: str = "mean") -> CaseOutcome:
    """Reduce a case's repeats; a `required` case must pass in every repeat."""
    ok = [r for r in runs if r.error is None]
    if not ok:
        return CaseOutcome(case.id, tuple(runs), (), None, False, True, runs[0].fail_reason)
    if len(ok) == 1:
        only = ok[0]
        return CaseOutcome(case.id, tuple(runs), only.scores, only.score, only.passed, False,
                           only.fail_reason)
    criteria = {c.name: c for c in case.criteria}
    reduced = []
    for name in [s.name for s in ok[0].scores]:
        crit = criteria.get(name)
        how = (crit.reduce if crit and crit.reduce else default)
        threshold = crit.threshold if crit else 1.0
        reduced.append(_reduce([s for r in ok for s in r.scores if s.name == name], how,
                               threshold))
    verdict = verdict_of(tuple(reduced), case.threshold)
    passed, reason = verdict.passed, verdict.fail_reason
    if case.required and not all(r.passed for r in ok):
        passed = False  # critical cases get no benefit of the doubt: pass^k
        reason = reason or f"required case failed in {sum(not r.passed for r in ok)} repeat(s)"
    return CaseOutcome(case.id, tuple(runs), tuple(reduced), verdict.score, passed, False, reason)
