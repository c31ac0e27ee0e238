"""Repeats: reducers per criterion or suite; required cases must pass every repeat."""

from __future__ import annotations

import pytest

from promptops.core.models import Case, CaseRun, Criterion, ScoreResult
from promptops.core.repeats import reduce_case


def _run(repeat: int, score: float, *, error: bool = False, required: bool = False) -> CaseRun:
    res = ScoreResult("route", "exact", score, score >= 1.0, f"score {score}")
    return CaseRun(case_id="c", model="m", repeat=repeat, output=None if error else "x",
                   scores=() if error else (res,), score=None if error else score,
                   passed=not error and score >= 1.0, error="boom" if error else None,
                   required=required)


def _case(reduce: str | None = None, required: bool = False) -> Case:
    return Case(id="c", input={}, criteria=(Criterion("route", "exact", reduce=reduce),),
                required=required)


@pytest.mark.parametrize(("reduce", "scores", "passed", "score"), [
    ("mean", [1, 1, 0], False, 2 / 3),
    ("mean", [1, 1, 1], True, 1.0),
    ("all", [1, 1, 0], False, 0.0),
    ("any", [0, 0, 1], True, 1.0),
    ("majority", [1, 1, 0], True, 1.0),
    ("majority", [1, 0, 0], False, 0.0),
])
def test_reducers(reduce: str, scores: list[float], passed: bool, score: float) -> None:
    runs = [_run(i, float(s)) for i, s in enumerate(scores)]
    out = reduce_case(runs, _case(reduce))
    assert out.passed is passed
    assert out.score == pytest.approx(score)
    assert f"repeats passed ({reduce})" in out.scores[0].explanation


def test_suite_default_reducer_applies_when_criterion_has_none() -> None:
    runs = [_run(0, 0.0), _run(1, 1.0)]
    assert reduce_case(runs, _case(), default="any").passed
    assert not reduce_case(runs, _case(), default="all").passed


def test_required_case_must_pass_every_repeat() -> None:
    runs = [_run(i, float(s), required=True) for i, s in enumerate([1, 1, 0])]
    out = reduce_case(runs, _case("majority", required=True))
    assert not out.passed and out.score == 1.0  # the majority passed, but not every repeat
    assert "required case failed in 1 repeat" in out.fail_reason


def test_errored_repeats_are_left_out_and_all_errors_mark_the_case() -> None:
    out = reduce_case([_run(0, 1.0), _run(1, 0.0, error=True)], _case("all"))
    assert out.passed and not out.errored
    out = reduce_case([_run(0, 0.0, error=True)], _case())
    assert out.errored and not out.passed and out.score is None
