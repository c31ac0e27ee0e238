"""Tests for the case pass rule (score_case) and the scorecard (aggregates, checks, exit codes)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from promptops.core.models import (
    Case,
    CaseRun,
    Criterion,
    Observation,
    ScoreResult,
    Suite,
    Thresholds,
    Usage,
)
from promptops.core.scorecard import build_scorecard, model_card, pass_rule, percentile
from promptops.core.scoring import score_case


def exact(name: str = "route", weight: float = 1.0, required: bool = False,
          value: Any = None, has_value: bool = False) -> Criterion:
    return Criterion(name=name, scorer="exact", weight=weight, required=required, value=value,
                     has_value=has_value)


def regex(name: str, pattern: str, weight: float = 1.0, required: bool = False) -> Criterion:
    return Criterion(name=name, scorer="regex", weight=weight, required=required,
                     options={"pattern": pattern})


def latency(name: str = "fast", max_ms: float = 100, weight: float = 1.0,
            required: bool = False) -> Criterion:
    return Criterion(name=name, scorer="latency", weight=weight, required=required,
                     options={"max_ms": max_ms})


def mk_case(*criteria: Criterion, expected: Any = "billing", threshold: float = 1.0) -> Case:
    return Case(id="c1", input={}, expected=expected, criteria=criteria, threshold=threshold)


def obs(output: str, latency_ms: float | None = None) -> Observation:
    return Observation(output=output, latency_ms=latency_ms)


# --- score_case -------------------------------------------------------------------------------


def test_all_criteria_pass() -> None:
    result = score_case(mk_case(exact(), regex("word", "^[a-z]+$")), obs("billing"))
    assert result.score == 1.0
    assert result.passed is True
    assert result.fail_reason == ""
    assert [(r.name, r.score, r.passed) for r in result.scores] == [
        ("route", 1.0, True), ("word", 1.0, True)]


def test_weighted_mean() -> None:
    case = mk_case(exact(weight=3), regex("digit", r"\d", weight=1), threshold=0.5)
    result = score_case(case, obs("billing"))
    assert result.score == pytest.approx(0.75)
    assert result.passed is True
    result = score_case(case, obs("tech 1"))
    assert result.score == pytest.approx(0.25)
    assert result.passed is False
    assert result.fail_reason == "route: expected 'billing', got 'tech 1'"


def test_weight_zero_criteria_are_not_in_the_score() -> None:
    case = mk_case(exact(weight=1), regex("digit", r"\d", weight=0))
    result = score_case(case, obs("billing"))
    assert result.score == 1.0
    assert result.passed is True
    assert result.scores[1].score == 0.0
    assert result.fail_reason == ""


def test_only_weight_zero_criteria_give_all_or_nothing() -> None:
    case = mk_case(exact(weight=0), regex("word", "^[a-z]+$", weight=0))
    assert score_case(case, obs("billing")).score == 1.0
    assert score_case(case, obs("tech")).score == 0.0


def test_required_criterion_failing_fails_the_case_despite_a_high_score() -> None:
    case = mk_case(exact(weight=1, required=True), regex("word", "^[a-z ]+$", weight=9),
                   threshold=0.8)
    result = score_case(case, obs("tech"))
    assert result.score == pytest.approx(0.9)
    assert result.passed is False
    assert result.fail_reason == "route: expected 'billing', got 'tech'"


def test_required_unscored_criterion_fails_the_case() -> None:
    case = mk_case(exact(), latency(required=True))
    result = score_case(case, obs("billing"))
    assert result.score == 1.0
    assert result.passed is False
    assert result.fail_reason == "fast: latency unknown"


def test_unscored_criteria_are_excluded_from_the_mean() -> None:
    case = mk_case(exact(weight=1), latency(weight=5), regex("digit", r"\d", weight=1),
                   threshold=0.5)
    result = score_case(case, obs("billing", latency_ms=None))
    assert result.scores[1].score is None
    assert result.scores[1].passed is None
    assert result.score == pytest.approx(0.5)
    assert result.passed is True


def test_all_unscored_gives_no_score_and_a_reason() -> None:
    case = mk_case(latency("fast"), latency("faster", max_ms=10))
    result = score_case(case, obs("billing"))
    assert result.score is None
    assert result.passed is False
    assert result.fail_reason == (
        "no criterion could be scored: fast: latency unknown; faster: latency unknown")


def test_all_unscored_with_threshold_zero_still_fails() -> None:
    result = score_case(mk_case(latency(), threshold=0.0), obs("x"))
    assert result.score is None
    assert result.passed is False


def test_fail_reason_lists_every_failing_criterion() -> None:
    case = mk_case(exact(), regex("digit", r"\d"), regex("word", "^[a-z]+$"))
    result = score_case(case, obs("Tech"))
    assert result.score == 0.0
    assert result.fail_reason == (
        "route: expected 'billing', got 'Tech'; digit: /\\d/ did not match 'Tech'; "
        "word: /^[a-z]+$/ did not match 'Tech'")


def test_below_threshold_without_a_failing_criterion_says_so() -> None:
    lenient = Criterion(name="digit", scorer="regex", threshold=0.0, options={"pattern": r"\d"})
    case = mk_case(exact(), lenient, threshold=0.9)
    result = score_case(case, obs("billing"))
    assert result.score == pytest.approx(0.5)
    assert result.passed is False
    assert result.fail_reason == "score 0.50 < threshold 0.90"


def test_criterion_value_beats_case_expected() -> None:
    case = mk_case(exact(value="refunds", has_value=True), expected="billing")
    assert score_case(case, obs("refunds")).passed is True
    assert score_case(case, obs("billing")).passed is False
    null_value = mk_case(exact(value=None, has_value=False), expected="billing")
    assert score_case(null_value, obs("billing")).passed is True


# --- percentile -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 95, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 0, 1.0),
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        ([float(i) for i in range(1, 21)], 95, 19.05),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 95, 48.0),
        ([100.0, 200.0], 90, 190.0),
    ],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 95) is None


# --- scorecard --------------------------------------------------------------------------------

M = "anthropic:claude-sonnet-4-5"


def sr(name: str, score: float | None, required: bool = False) -> ScoreResult:
    passed = None if score is None else score >= 1.0
    return ScoreResult(name=name, scorer="exact", score=score, passed=passed, explanation="",
                       required=required)


def run(cid: str, passed: bool = True, *, score: float | None = None, model: str = M,
        error: str | None = None, cost: float | None = 0.001, latency_ms: float | None = 100.0,
        cached: bool = False, tags: tuple[str, ...] = (), required: bool = False,
        scores: tuple[ScoreResult, ...] | None = None, served: str | None = None,
        usage: Usage | None = None) -> CaseRun:
    if error is not None:
        return CaseRun(case_id=cid, model=model, repeat=0, output=None, scores=(), score=None,
                       passed=False, error=error, error_kind="server", cost_usd=None,
                       latency_ms=None, tags=tags, required=required)
    s = score if score is not None else (1.0 if passed else 0.0)
    return CaseRun(case_id=cid, model=model, repeat=0, output="x",
                   scores=scores if scores is not None else (sr("route", s),), score=s,
                   passed=passed, cost_usd=cost, latency_ms=latency_ms, cached=cached,
                   tags=tags, required=required, served_model=served,
                   usage=usage or Usage(input_tokens=10, output_tokens=2))


def card(runs: list[CaseRun], **thresholds: Any):  # type: ignore[no-untyped-def]
    return model_card(M, runs, Thresholds(**thresholds))


def check(c: Any, name: str) -> Any:
    return next(ch for ch in c.checks if ch.name == name)


def test_counts_and_pass_rate_exclude_provider_errors() -> None:
    runs = [run("a"), run("b"), run("c", passed=False), run("d", error="boom")]
    c = card(runs, pass_rate=0.6, error_budget=0.5)
    assert (c.runs, c.passed, c.failed, c.errors, c.scored_runs) == (4, 2, 1, 1, 3)
    assert c.pass_rate == pytest.approx(2 / 3)
    assert c.mean_score == pytest.approx(2 / 3)
    assert [r.case_id for r in c.failures] == ["c"]
    assert [r.case_id for r in c.error_runs] == ["d"]
    assert check(c, "pass_rate").ok is True
    assert check(c, "error_rate").actual == pytest.approx(0.25)
    assert check(c, "error_rate").ok is True
    assert c.exit_code == 0


def test_all_passing_exit_zero_with_every_check() -> None:
    c = card([run("a"), run("b")], score=0.9, pass_rate=1.0, p95_latency_ms=200,
             cost_per_case_usd=0.002)
    assert [(ch.name, ch.op, ch.ok) for ch in c.checks] == [
        ("score", ">=", True), ("pass_rate", ">=", True), ("p95_latency_ms", "<=", True),
        ("cost_per_case_usd", "<=", True), ("error_rate", "<=", True)]
    assert c.exit_code == 0


def test_errors_beyond_budget_exit_3_even_when_thresholds_also_fail() -> None:
    runs = [run("a", passed=False), run("b", error="503"), run("c", error="503")]
    c = card(runs, pass_rate=0.9, error_budget=0.5)
    assert check(c, "pass_rate").ok is False
    err = check(c, "error_rate")
    assert (err.actual, err.limit, err.ok, err.exit_code) == (pytest.approx(2 / 3), 0.5, False, 3)
    assert c.exit_code == 3


def test_any_error_with_the_default_zero_budget_exits_3() -> None:
    c = card([run("a"), run("b", error="timeout")])
    assert check(c, "error_rate").ok is False
    assert c.exit_code == 3


def test_thresholds_failing_exit_1() -> None:
    c = card([run("a"), run("b", passed=False, score=0.5)], score=0.9)
    assert check(c, "score").actual == pytest.approx(0.75)
    assert check(c, "score").ok is False
    assert c.exit_code == 1


def test_failed_required_case_exits_1_even_with_thresholds_met() -> None:
    runs = [run(f"c{i}") for i in range(9)] + [run("crit", passed=False, required=True)]
    c = card(runs, pass_rate=0.8, score=0.8)
    assert all(ch.ok for ch in c.checks)
    assert c.failed_required == 1
    assert c.exit_code == 1
    optional = card([*runs[:9], run("crit", passed=False)], pass_rate=0.8)
    assert optional.exit_code == 0


def test_unknown_cost_is_not_counted_as_zero() -> None:
    c = card([run("a", cost=None), run("b", cost=None)], cost_per_case_usd=0.001)
    assert c.cost_usd is None
    assert c.cost_unknown_runs == 2
    assert c.cost_per_case_usd is None
    cost = check(c, "cost_per_case_usd")
    assert (cost.actual, cost.ok) == (None, True)
    assert c.exit_code == 0


def test_cost_per_case_is_over_priced_runs_only() -> None:
    c = card([run("a", cost=0.004), run("b", cost=None), run("c", cost=0.002)],
             cost_per_case_usd=0.0025)
    assert c.cost_usd == pytest.approx(0.006)
    assert c.cost_unknown_runs == 1
    assert c.cost_per_case_usd == pytest.approx(0.003)
    assert check(c, "cost_per_case_usd").ok is False
    assert c.exit_code == 1


def test_error_runs_without_a_price_do_not_lower_the_cost_per_case() -> None:
    runs = [run("a", cost=0.004), run("b", cost=0.004), run("c", error="503")]
    c = card(runs, cost_per_case_usd=0.003, error_budget=0.5)
    assert c.cost_usd == pytest.approx(0.008)
    assert c.cost_per_case_usd == pytest.approx(0.004)
    assert check(c, "cost_per_case_usd").ok is False


def test_p95_uses_non_cached_latencies() -> None:
    runs = [run(f"n{i}", latency_ms=float(i * 10)) for i in range(1, 11)]
    runs += [run("cached", latency_ms=5000.0, cached=True)]
    c = card(runs, p95_latency_ms=100)
    assert c.latency_p95_ms == pytest.approx(95.5)
    assert c.latency_p50_ms == pytest.approx(55.0)
    assert c.cache_hits == 1
    assert check(c, "p95_latency_ms").ok is True


def test_fully_cached_run_reports_recorded_latencies() -> None:
    c = card([run("a", latency_ms=100.0, cached=True), run("b", latency_ms=300.0, cached=True)])
    assert c.latency_p50_ms == pytest.approx(200.0)
    assert c.cache_hits == 2


def test_no_latency_fails_a_latency_threshold() -> None:
    c = card([run("a", latency_ms=None)], p95_latency_ms=1000)
    assert c.latency_p95_ms is None
    assert check(c, "p95_latency_ms").ok is False


def test_tokens_and_served_models() -> None:
    c = card([run("a", served="claude-sonnet-4-5-20250929"),
              run("b", served="claude-sonnet-4-5-20250929",
                  usage=Usage(input_tokens=None, output_tokens=5)),
              run("c", served="claude-other")])
    assert c.served_models == ("claude-other", "claude-sonnet-4-5-20250929")
    assert (c.input_tokens, c.output_tokens) == (20, 9)


def test_unscored_run_counts_as_failed_not_as_an_error() -> None:
    runs = [run("a"), replace(run("b", passed=False, scores=(sr("route", None),)), score=None)]
    c = card(runs)
    assert (c.passed, c.failed, c.errors) == (1, 1, 0)
    assert c.pass_rate == 0.5
    route = c.by_criterion[0]
    assert (route.runs, route.passed, route.unscored, route.mean_score) == (2, 1, 1, 1.0)
    assert route.pass_rate == 1.0


def test_groups_by_tag_and_criterion_skip_errors() -> None:
    runs = [
        run("a", tags=("billing", "critical"), scores=(sr("route", 1.0), sr("fmt", 1.0))),
        run("b", passed=False, score=0.5, tags=("billing",),
            scores=(sr("route", 0.0), sr("fmt", 1.0))),
        run("c", tags=("tech",), scores=(sr("route", 1.0),)),
        run("d", error="503", tags=("tech", "critical")),
    ]
    c = card(runs, error_budget=1.0)
    tags = {g.key: (g.runs, g.passed, g.mean_score) for g in c.by_tag}
    assert tags == {"billing": (2, 1, 0.75), "critical": (1, 1, 1.0), "tech": (1, 1, 1.0)}
    assert [g.key for g in c.by_tag] == ["billing", "critical", "tech"]
    crit = {g.key: (g.runs, g.passed, g.mean_score, g.pass_rate) for g in c.by_criterion}
    assert crit == {"fmt": (2, 2, 1.0, 1.0), "route": (3, 2, pytest.approx(2 / 3), 2 / 3)}


def suite(cases: tuple[Case, ...] = (), thresholds: Thresholds | None = None) -> Suite:
    return Suite(name="router", path="suites/router.yaml", prompt="router", models=(M,),
                 cases=cases, thresholds=thresholds or Thresholds())


def test_build_scorecard_groups_by_model_in_order_and_takes_the_worst_exit() -> None:
    other = "openai:gpt-4o"
    runs = [run("a", model=other), run("a"), run("b", model=other, passed=False), run("b")]
    sc = build_scorecard(suite(thresholds=Thresholds(pass_rate=1.0)), runs)
    assert sc.suite == "router"
    assert [c.model for c in sc.cards] == [other, M]
    assert [c.exit_code for c in sc.cards] == [1, 0]
    assert sc.exit_code == 1
    runs.append(run("c", error="down"))
    assert build_scorecard(suite(thresholds=Thresholds(pass_rate=1.0)), runs).exit_code == 3


def test_empty_scorecard_exits_zero() -> None:
    sc = build_scorecard(suite(), [])
    assert sc.cards == ()
    assert sc.exit_code == 0


def test_pass_rule_mentions_thresholds_and_required_criteria() -> None:
    cases = (
        Case(id="a", input={}, criteria=(exact(required=True), regex("fmt", "x")),
             threshold=0.8),
        Case(id="b", input={}, criteria=(exact(required=True), latency("speed", required=True)),
             required=True),
    )
    t = Thresholds(score=0.9, pass_rate=0.95, p95_latency_ms=4000, cost_per_case_usd=0.002,
                   error_budget=0.05)
    rule = pass_rule(suite(cases, t))
    assert rule == (
        "A case passes when its weighted score reaches its threshold (0.80/1.00) and every "
        "required criterion (route, speed) passes. The suite passes when mean score >= 0.90, "
        "pass rate >= 95%, p95 latency <= 4000 ms, cost/case <= $0.002, provider errors <= 5% "
        "of runs (else exit 3) and none of the 1 required case(s) failed.")
    assert build_scorecard(suite(cases, t), []).pass_rule == rule


def test_pass_rule_without_thresholds_or_required() -> None:
    rule = pass_rule(suite((Case(id="a", input={}, criteria=(exact(),)),)))
    assert rule == (
        "A case passes when its weighted score reaches its threshold (1.00). The suite passes "
        "when provider errors <= 0% of runs (else exit 3).")
