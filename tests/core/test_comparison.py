"""Baseline vs candidate comparisons: pairing rules, verdicts, flips, tags, cost and latency."""

from __future__ import annotations

import math

import pytest

from promptops.core.comparison import Comparison, Flip, compare_runs
from promptops.core.errors import ConfigError
from promptops.core.models import CaseRun
from promptops.core.stats import verdict_rule

MODEL = "anthropic:claude-sonnet-4-5"


def run(case_id: str, score: float | None, *, passed: bool | None = None, repeat: int = 0,
        error: str | None = None, tags: tuple[str, ...] = (), content_hash: str = "h",
        cluster: str | None = None, cost: float | None = None, latency: float | None = None,
        cached: bool = False, model: str = MODEL) -> CaseRun:
    if passed is None:
        passed = score is not None and score >= 0.5
    return CaseRun(case_id=case_id, model=model, repeat=repeat, output=None if error else "x",
                   scores=(), score=score, passed=passed and error is None, error=error,
                   tags=tags, content_hash=content_hash or "", cluster=cluster, cost_usd=cost,
                   latency_ms=latency, cached=cached)


def wiggle(i: int) -> float:
    """A deterministic spread in [-0.2, 0.2] so the per-case scores vary."""
    return 0.2 * math.sin(1.7 * i + 0.3)


def compare(base: list[CaseRun], cand: list[CaseRun], **kw: object) -> Comparison:
    return compare_runs(base, cand, baseline_label="v1", candidate_label="v2", **kw)  # type: ignore[arg-type]


# --- verdicts ----------------------------------------------------------------------------------

def test_clear_regression_fails() -> None:
    base = [run(f"c{i}", 0.75 + wiggle(i)) for i in range(40)]
    cand = [run(f"c{i}", 0.75 + wiggle(i) - 0.2 - 0.03 * (i % 3)) for i in range(40)]
    got = compare(base, cand)
    assert got.verdict == "FAIL" and got.exit_code == 1
    assert got.score.high is not None and got.score.high < 0
    assert got.score.mean_diff == pytest.approx(-0.23, abs=0.01)
    assert got.score.n == 40 and len(got.paired_ids) == 40


def test_non_inferior_on_a_hundred_cases_passes() -> None:
    base = [run(f"c{i:03}", 0.7 + wiggle(i)) for i in range(100)]
    cand = [run(f"c{i:03}", 0.7 + wiggle(i) + 0.01 * math.cos(3.1 * i)) for i in range(100)]
    got = compare(base, cand, margin=0.03)
    assert got.verdict == "PASS" and got.exit_code == 0
    assert got.score.low is not None and got.score.low > -0.03
    assert got.score.correlation is not None and got.score.correlation > 0.95
    assert got.rule == verdict_rule(0.03, 0.0)


def small_drop() -> tuple[list[CaseRun], list[CaseRun]]:
    base = [run(f"c{i}", 0.7 + wiggle(i)) for i in range(6)]
    cand = [run(f"c{i}", 0.7 + wiggle(i) - 0.02 + 0.08 * math.cos(2.3 * i)) for i in range(6)]
    return base, cand


def test_small_suite_small_drop_is_inconclusive_and_warns_by_default() -> None:
    got = compare(*small_drop())
    assert got.verdict == "INCONCLUSIVE"
    assert got.exit_code == 0 and got.on_inconclusive == "warn"
    assert got.score.low is not None and got.score.low < -0.03
    assert got.score.high is not None and got.score.high > 0
    assert got.score.mde is not None and got.score.mde > 0.03  # underpowered, and it says so


def test_inconclusive_with_policy_fail_exits_1() -> None:
    got = compare(*small_drop(), on_inconclusive="fail")
    assert got.verdict == "INCONCLUSIVE" and got.exit_code == 1


def test_a_pass_is_not_turned_into_a_failure_by_policy_fail() -> None:
    base = [run(f"c{i}", 0.5 + wiggle(i)) for i in range(30)]
    got = compare(base, list(base), on_inconclusive="fail")
    assert got.verdict == "PASS" and got.exit_code == 0
    assert got.score.p_value == 1.0 and got.score.mde == 0.0


def test_no_paired_cases_is_inconclusive() -> None:
    got = compare([run("a", 1.0)], [run("b", 1.0)])
    assert got.verdict == "INCONCLUSIVE" and got.score.n == 0 and got.paired_ids == ()
    assert got.baseline_score.estimate is None and got.candidate_pass.estimate is None


# --- pairing -----------------------------------------------------------------------------------

def test_changed_cases_are_excluded_and_listed() -> None:
    base = [run("a", 1.0), run("b", 1.0, content_hash="old"), run("c", 0.0, content_hash="")]
    cand = [run("a", 1.0), run("b", 0.0, content_hash="new"), run("c", 0.0)]
    got = compare(base, cand)
    assert got.changed == ("b",)
    assert got.paired_ids == ("a", "c")  # an unknown (empty) hash cannot prove a change
    assert all(f.case_id != "b" for f in got.flips)


def test_ids_on_one_side_only() -> None:
    base = [run("a", 1.0), run("gone", 1.0), run("b", 0.5)]
    cand = [run("b", 0.5), run("new2", 0.0), run("a", 1.0), run("new1", 1.0)]
    got = compare(base, cand)
    assert got.only_baseline == ("gone",)
    assert got.only_candidate == ("new1", "new2")
    assert got.paired_ids == ("a", "b")


def test_repeats_are_averaged_before_pairing() -> None:
    base = [run("a", s, repeat=k) for k, s in enumerate((0.2, 0.4, 0.9))] + [
        run("b", 1.0, repeat=k) for k in range(3)]
    cand = [run("a", 0.5), run("b", 0.0)]
    got = compare(base, cand)
    assert got.score.n == 2  # cases, not case x repeat rows
    assert got.baseline_score.estimate == pytest.approx((0.5 + 1.0) / 2)
    assert got.score.mean_diff == pytest.approx(((0.5 - 0.5) + (0.0 - 1.0)) / 2)


def test_error_runs_are_excluded_and_fully_errored_cases_listed() -> None:
    base = [run("a", 0.6), run("b", 0.9), run("c", 0.4)]
    cand = [run("a", None, error="timeout", repeat=0), run("a", 0.8, repeat=1),
            run("b", None, error="overloaded"), run("c", 0.4)]
    got = compare(base, cand)
    assert got.errored == ("b",)
    assert got.paired_ids == ("a", "c")
    assert got.candidate_score.estimate == pytest.approx((0.8 + 0.4) / 2)
    assert got.candidate_pass.estimate == 0.5  # a passed (its error run does not count)


def test_a_case_passes_only_when_every_repeat_passed() -> None:
    base = [run("a", 1.0, repeat=0), run("a", 1.0, repeat=1)]
    cand = [run("a", 1.0, repeat=0), run("a", 0.0, repeat=1)]
    got = compare(base, cand)
    assert got.baseline_pass.estimate == 1.0 and got.candidate_pass.estimate == 0.0
    assert got.pass_rate.mean_diff == -1.0
    assert got.flips == (Flip("a", True, False, 1.0, 0.5),)


def test_pass_rate_difference_is_paired_on_indicators() -> None:
    base = [run(f"c{i}", 1.0) for i in range(10)]
    cand = [run(f"c{i}", 0.0 if i < 3 else 1.0) for i in range(10)]
    got = compare(base, cand)
    assert got.pass_rate.n == 10 and got.pass_rate.mean_diff == pytest.approx(-0.3)
    assert got.baseline_pass.method == "wilson" and got.baseline_pass.estimate == 1.0
    assert got.candidate_pass.estimate == pytest.approx(0.7)


# --- tables ------------------------------------------------------------------------------------

def test_flips_regressions_first_each_sorted_by_id() -> None:
    base = [run("z", 1.0), run("m", 0.0), run("b", 1.0), run("a", 0.0), run("k", 1.0)]
    cand = [run("z", 0.0), run("m", 1.0), run("b", 0.2), run("a", 0.9), run("k", 1.0)]
    got = compare(base, cand)
    assert [(f.case_id, f.before_passed, f.after_passed) for f in got.flips] == [
        ("b", True, False), ("z", True, False), ("a", False, True), ("m", False, True)]
    assert got.flips[0].before_score == 1.0 and got.flips[0].after_score == pytest.approx(0.2)


def test_tag_deltas_worst_first() -> None:
    base = [run("a", 1.0, tags=("billing",)), run("b", 0.5, tags=("billing", "en")),
            run("c", 0.5, tags=("en",)), run("d", 0.2, tags=("fr",))]
    cand = [run("a", 0.4, tags=("billing",)), run("b", 0.5, tags=("billing", "en")),
            run("c", 0.7, tags=("en",)), run("d", 0.2, tags=("fr",))]
    got = compare(base, cand)
    assert [(t.tag, t.n) for t in got.tag_deltas] == [("billing", 2), ("fr", 1), ("en", 2)]
    billing = got.tag_deltas[0]
    assert billing.baseline_mean == pytest.approx(0.75)
    assert billing.candidate_mean == pytest.approx(0.45)
    assert billing.diff == pytest.approx(-0.3)
    assert got.tag_deltas[2].diff == pytest.approx(0.1)


def test_cost_and_latency_deltas() -> None:
    base = [run(f"c{i}", 1.0, cost=0.010, latency=100.0 + 10 * i) for i in range(5)]
    cand = [run(f"c{i}", 1.0, cost=0.025, latency=150.0 + 10 * i) for i in range(5)]
    # A cached replay reports a tiny latency; it must not drag the percentile down.
    cand.append(run("c0", 1.0, repeat=1, cost=0.025, latency=1.0, cached=True))
    got = compare(base, cand)
    assert got.cost_per_case_delta_usd == pytest.approx(0.015)
    assert got.latency_p50_delta_ms == pytest.approx(50.0)
    assert got.latency_p95_delta_ms == pytest.approx(50.0)


def test_unpriced_side_gives_no_cost_delta_and_cached_only_still_has_latency() -> None:
    base = [run("a", 1.0, cost=None, latency=80.0, cached=True)]
    cand = [run("a", 1.0, cost=0.01, latency=100.0)]
    got = compare(base, cand)
    assert got.cost_per_case_delta_usd is None
    assert got.latency_p50_delta_ms == pytest.approx(20.0)
    no_latency = compare([run("a", 1.0)], cand)
    assert no_latency.latency_p95_delta_ms is None


def test_costs_only_count_paired_cases() -> None:
    base = [run("a", 1.0, cost=0.01), run("only_base", 1.0, cost=5.0)]
    cand = [run("a", 1.0, cost=0.01)]
    assert compare(base, cand).cost_per_case_delta_usd == pytest.approx(0.0)


def test_clusters_from_the_candidate_drive_a_clustered_analysis() -> None:
    base = [run(f"c{i}", 0.6 + wiggle(i)) for i in range(24)]
    cand = [run(f"c{i}", 0.6 + wiggle(i) - 0.1 * (i // 6 % 2), cluster=f"p{i // 6}")
            for i in range(24)]
    got = compare(base, cand)
    assert got.score.clusters == 4 and got.pass_rate.clusters == 4
    assert got.candidate_score.method == "t-clustered"
    plain = compare(base, [run(f"c{i}", r.score) for i, r in enumerate(cand)])
    assert plain.score.clusters is None and plain.candidate_score.method == "t"
    assert got.score.high is not None and plain.score.high is not None
    assert got.score.high > plain.score.high  # fewer, correlated units: wider interval


# --- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{"on_inconclusive": "block"}, {"margin": -0.01},
                                {"tolerance": -1.0}, {"margin": float("nan")}])
def test_invalid_gate_settings_raise_config_error(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as err:
        compare([run("a", 1.0)], [run("a", 1.0)], **kw)
    assert err.value.fix


def test_mixed_models_on_one_side_raise() -> None:
    cand = [run("a", 1.0), run("a", 1.0, model="openai:gpt-5")]
    with pytest.raises(ConfigError, match="candidate runs mix 2 models"):
        compare([run("a", 1.0)], cand)


def test_models_and_labels_are_reported() -> None:
    got = compare([run("a", 1.0)], [run("a", 1.0, model="openai:gpt-5")])
    assert (got.baseline_label, got.candidate_label) == ("v1", "v2")
    assert (got.baseline_model, got.candidate_model) == (MODEL, "openai:gpt-5")
    assert (got.margin, got.tolerance) == (0.03, 0.0)
