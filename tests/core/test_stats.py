"""Gate statistics checked against scipy (test-only oracle) and independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as ss

from promptops.core.stats import (
    Interval,
    PairedDiff,
    gate_verdict,
    mean_interval,
    paired_difference,
    t_cdf,
    t_ppf,
    verdict_rule,
    wilson_interval,
)

DFS = [1, 2, 3, 5, 10, 29.5, 100, 1e6]
XS = [-300.0, -40.0, -7.5, -3.0, -2.0, -1.0, -0.25, -1e-9, 0.0, 1e-9, 0.25, 1.0, 1.7, 1.8,
      2.0, 3.0, 7.5, 40.0, 300.0]
PS = [1e-6, 1e-3, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999,
      1 - 1e-6]


def sample(n: int, seed: int = 1) -> list[float]:
    return list(np.random.default_rng(seed).uniform(0, 1, n))


# --- Student t ---------------------------------------------------------------------------------

@pytest.mark.parametrize("df", DFS)
def test_t_cdf_matches_scipy(df: float) -> None:
    for x in XS:
        assert t_cdf(x, df) == pytest.approx(ss.t.cdf(x, df), abs=1e-8, rel=0), (x, df)


@pytest.mark.parametrize("df", DFS)
def test_t_ppf_matches_scipy_and_inverts_cdf(df: float) -> None:
    for p in PS:
        x = t_ppf(p, df)
        assert x == pytest.approx(ss.t.ppf(p, df), abs=1e-8, rel=0), (p, df)
        assert t_cdf(x, df) == pytest.approx(p, abs=1e-12, rel=1e-9)


def test_t_infinite_df_is_the_normal() -> None:
    for x in XS:
        assert t_cdf(x, math.inf) == pytest.approx(ss.norm.cdf(x), abs=1e-15)
    for p in PS:
        assert t_ppf(p, math.inf) == pytest.approx(ss.norm.ppf(p), abs=1e-9)


def test_t_huge_df_approaches_the_normal_smoothly() -> None:
    # Past the continued fraction's comfort zone: must match scipy, not drift.
    for df in (1e8, 1e12):
        for x in (0.5, 1.8, 3.0, 12.0):
            assert t_cdf(-x, df) == pytest.approx(ss.t.cdf(-x, df), rel=1e-7)
        assert t_ppf(0.975, df) == pytest.approx(ss.t.ppf(0.975, df), abs=1e-9)


def test_t_edges_and_bad_arguments() -> None:
    assert t_cdf(math.inf, 3) == 1.0
    assert t_cdf(-math.inf, 3) == 0.0
    assert t_ppf(0.5, 7) == 0.0
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            t_ppf(bad, 5)
    with pytest.raises(ValueError):
        t_cdf(1.0, 0)


# --- mean interval -----------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "confidence"), [(2, 0.95), (3, 0.9), (12, 0.95), (40, 0.99),
                                               (250, 0.95)])
def test_mean_interval_matches_scipy(n: int, confidence: float) -> None:
    xs = sample(n, seed=n)
    got = mean_interval(xs, confidence=confidence)
    low, high = ss.t.interval(confidence, n - 1, loc=np.mean(xs), scale=ss.sem(xs))
    assert got.method == "t" and got.n == n and got.clusters is None
    assert got.estimate == pytest.approx(np.mean(xs), abs=1e-12)
    assert got.se == pytest.approx(ss.sem(xs), abs=1e-12)
    assert got.low == pytest.approx(low, abs=1e-9)
    assert got.high == pytest.approx(high, abs=1e-9)


def test_mean_interval_small_and_constant_samples() -> None:
    assert mean_interval([]) == Interval(None, None, None, None, 0, "none")
    assert mean_interval([0.7]) == Interval(0.7, None, None, None, 1, "none")
    two = mean_interval([0.0, 1.0])
    assert two.se == pytest.approx(0.5)
    assert two.high == pytest.approx(0.5 + 12.706204736174707 * 0.5)  # t_{0.975,1}
    const = mean_interval([0.1, 0.1, 0.1])
    assert (const.estimate, const.low, const.high, const.se) == (0.1, 0.1, 0.1, 0.0)


def test_mean_interval_bounds_are_not_clipped() -> None:
    got = mean_interval([0.0, 1.0, 1.0])
    assert got.low is not None and got.low < 0
    assert got.high is not None and got.high > 1


# --- clustered SE ------------------------------------------------------------------------------

def clustered_reference(xs: list[float], labels: list[str | None]) -> tuple[float, int]:
    """Straightforward Liang–Zeger SE for a mean (numpy), None labels as singletons."""
    x = np.asarray(xs)
    keys = [lab if lab is not None else f"__single_{i}" for i, lab in enumerate(labels)]
    groups = sorted(set(keys))
    r = x - x.mean()
    sums = np.array([r[[k == g for k in keys]].sum() for g in groups])
    g, n = len(groups), len(xs)
    return float(np.sqrt(g / (g - 1) * (sums ** 2).sum() / n ** 2)), g


def test_clustered_se_matches_independent_implementation() -> None:
    xs = sample(30, seed=7)
    labels: list[str | None] = [f"p{i % 6}" for i in range(24)] + [None] * 6
    got = mean_interval(xs, labels)
    se, g = clustered_reference(xs, labels)
    assert got.method == "t-clustered" and got.clusters == g == 12
    assert got.se == pytest.approx(se, rel=1e-12)
    half = ss.t.ppf(0.975, g - 1) * se
    assert got.low == pytest.approx(np.mean(xs) - half, abs=1e-9)
    assert got.high == pytest.approx(np.mean(xs) + half, abs=1e-9)


def test_clustering_widens_the_interval_when_cases_share_a_passage() -> None:
    # 6 passages x 8 templated variants: variants of one passage score alike.
    effects = [0.1, 0.9, 0.3, 0.8, 0.2, 0.7]
    noise = sample(48, seed=3)
    xs = [effects[i // 8] + 0.05 * noise[i] for i in range(48)]
    labels: list[str | None] = [f"passage{i // 8}" for i in range(48)]
    naive, clustered = mean_interval(xs), mean_interval(xs, labels)
    assert clustered.se is not None and naive.se is not None
    assert clustered.se > 2.0 * naive.se
    assert clustered.low is not None and naive.low is not None and clustered.low < naive.low
    assert clustered.clusters == 6


def test_clustered_falls_back_and_degenerates_sensibly() -> None:
    xs = sample(10, seed=4)
    plain = mean_interval(xs)
    assert mean_interval(xs, [None] * 10) == plain  # no labels: not clustered
    assert mean_interval(xs, ["one"] * 10) == plain  # G < 2: fall back
    distinct = mean_interval(xs, [str(i) for i in range(10)])  # singletons == plain SE
    assert distinct.method == "t-clustered"
    assert distinct.se == pytest.approx(plain.se, rel=1e-12)
    with pytest.raises(ValueError):
        mean_interval(xs, ["a"] * 9)
    const = mean_interval([0.4] * 6, ["a", "a", "b", "b", "c", None])
    assert (const.se, const.low, const.high, const.clusters) == (0.0, 0.4, 0.4, 4)


# --- Wilson ------------------------------------------------------------------------------------

def wilson_reference(k: int, n: int, conf: float) -> tuple[float, float]:
    z = ss.norm.ppf((1 + conf) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n", "conf"), [(0, 10, 0.95), (10, 10, 0.95), (17, 20, 0.95),
                                               (850, 1000, 0.95), (3, 7, 0.9), (1, 2, 0.99)])
def test_wilson_matches_the_formula(k: int, n: int, conf: float) -> None:
    got = wilson_interval(k, n, conf)
    low, high = wilson_reference(k, n, conf)
    assert got.method == "wilson" and got.n == n
    assert got.estimate == k / n
    assert got.low == pytest.approx(low, abs=1e-12)
    assert got.high == pytest.approx(high, abs=1e-12)


def test_wilson_textbook_values_and_widths() -> None:
    zero, full = wilson_interval(0, 10), wilson_interval(10, 10)
    assert (zero.low, round(zero.high or 0, 4)) == (0.0, 0.2775)
    assert (round(full.low or 0, 4), full.high) == (0.7225, 1.0)
    small, big = wilson_interval(17, 20), wilson_interval(850, 1000)
    assert (round(small.low or 0, 3), round(small.high or 0, 3)) == (0.640, 0.948)
    assert (round(big.low or 0, 4), round(big.high or 0, 4)) == (0.8265, 0.8708)
    # Same 85% pass rate, very different certainty.
    assert small.estimate == big.estimate == 0.85
    width_small = (small.high or 0) - (small.low or 0)
    width_big = (big.high or 0) - (big.low or 0)
    assert width_small == pytest.approx(0.308, abs=1e-3)
    assert width_big == pytest.approx(0.044, abs=1e-3)
    assert width_small > 6 * width_big


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) == Interval(None, None, None, None, 0, "none")
    with pytest.raises(ValueError):
        wilson_interval(5, 4)
    with pytest.raises(ValueError):
        wilson_interval(-1, 4)


# --- paired differences ------------------------------------------------------------------------

def arms(n: int, seed: int = 11) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(0, 1, n)  # shared per-case difficulty -> positive correlation
    base = np.clip(difficulty + rng.normal(0, 0.1, n), 0, 1)
    cand = np.clip(difficulty - 0.03 + rng.normal(0, 0.1, n), 0, 1)
    return list(base), list(cand)


@pytest.mark.parametrize("n", [3, 25, 120])
def test_paired_difference_matches_ttest_rel(n: int) -> None:
    base, cand = arms(n, seed=n)
    got = paired_difference(base, cand)
    ref = ss.ttest_rel(cand, base)
    d = np.subtract(cand, base)
    assert got.n == n and got.clusters is None
    assert got.mean_diff == pytest.approx(d.mean(), abs=1e-12)
    assert got.se == pytest.approx(ss.sem(d), abs=1e-12)
    assert got.mean_diff / got.se == pytest.approx(ref.statistic, rel=1e-9)  # type: ignore[operator]
    assert got.p_value == pytest.approx(ref.pvalue, abs=1e-9)
    low, high = ss.t.interval(0.95, n - 1, loc=d.mean(), scale=ss.sem(d))
    assert got.low == pytest.approx(low, abs=1e-9)
    assert got.high == pytest.approx(high, abs=1e-9)
    assert got.sd_diff == pytest.approx(np.std(d, ddof=1), abs=1e-12)
    assert got.correlation == pytest.approx(np.corrcoef(base, cand)[0, 1], abs=1e-12)
    unpaired = math.sqrt(np.var(base, ddof=1) / n + np.var(cand, ddof=1) / n)
    assert got.unpaired_se == pytest.approx(unpaired, abs=1e-12)


def test_pairing_shrinks_the_se_when_arms_correlate() -> None:
    got = paired_difference(*arms(80))
    assert got.correlation is not None and got.correlation > 0.5
    assert got.se is not None and got.unpaired_se is not None
    assert got.se < 0.5 * got.unpaired_se


def test_mde_closed_form_and_power() -> None:
    n = 50
    got = paired_difference(*arms(n), confidence=0.95, power=0.8)
    assert got.se is not None and got.mde is not None
    closed = (ss.t.ppf(0.975, n - 1) + ss.t.ppf(0.8, n - 1)) * got.se
    assert got.mde == pytest.approx(closed, abs=1e-10)
    # A true drop of size MDE is caught about 80% of the time (noncentral t).
    crit = ss.t.ppf(0.975, n - 1)
    power = ss.nct.sf(crit, n - 1, got.mde / got.se)
    assert power == pytest.approx(0.8, abs=0.01)
    stricter = paired_difference(*arms(n), power=0.9)
    assert stricter.mde is not None and stricter.mde > got.mde


def test_paired_clustered_uses_g_minus_1_df() -> None:
    base, cand = arms(40, seed=5)
    labels: list[str | None] = [f"c{i % 8}" for i in range(40)]
    got = paired_difference(base, cand, labels)
    d = list(np.subtract(cand, base))
    se, g = clustered_reference(d, labels)
    assert got.clusters == g == 8
    assert got.se == pytest.approx(se, rel=1e-12)
    t = float(np.mean(d)) / se
    assert got.p_value == pytest.approx(2 * ss.t.sf(abs(t), g - 1), abs=1e-10)
    assert got.high == pytest.approx(np.mean(d) + ss.t.ppf(0.975, g - 1) * se, abs=1e-9)
    assert got.mde == pytest.approx((ss.t.ppf(0.975, 7) + ss.t.ppf(0.8, 7)) * se, abs=1e-9)


def test_paired_small_n() -> None:
    empty = paired_difference([], [])
    assert empty == PairedDiff(0, None, None, None, None, None, None, None, None, None)
    one = paired_difference([0.5], [0.25])
    assert (one.n, one.mean_diff, one.low, one.p_value, one.mde) == (1, -0.25, None, None, None)
    two = paired_difference([0.0, 1.0], [0.5, 0.5])
    ref = ss.ttest_rel([0.5, 0.5], [0.0, 1.0])
    assert two.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    assert two.correlation is None  # candidate arm is constant
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 2.0])


def test_all_equal_differences() -> None:
    same = paired_difference([0.2, 0.5, 0.9], [0.2, 0.5, 0.9])
    assert (same.mean_diff, same.se, same.low, same.high) == (0.0, 0.0, 0.0, 0.0)
    assert same.p_value == 1.0 and same.mde == 0.0 and same.sd_diff == 0.0
    assert same.correlation == pytest.approx(1.0)
    shifted = paired_difference([0.2, 0.5, 0.9], [0.1, 0.4, 0.8])
    assert shifted.mean_diff == pytest.approx(-0.1)
    assert shifted.p_value == 0.0
    assert shifted.low == pytest.approx(-0.1) and shifted.high == pytest.approx(-0.1)


# --- verdict -----------------------------------------------------------------------------------

def diff(low: float | None, high: float | None, n: int = 30) -> PairedDiff:
    mid = None if low is None or high is None else (low + high) / 2
    return PairedDiff(n, mid, 0.01, low, high, 0.5, None, 0.1, 0.1, 0.05)


def test_gate_verdict() -> None:
    assert gate_verdict(diff(-0.10, -0.02), margin=0.03) == "FAIL"
    assert gate_verdict(diff(-0.02, 0.01), margin=0.03) == "PASS"
    assert gate_verdict(diff(-0.08, 0.01), margin=0.03) == "INCONCLUSIVE"
    assert gate_verdict(diff(None, None, n=1), margin=0.03) == "INCONCLUSIVE"
    # Tolerance forgives a significant but small drop.
    assert gate_verdict(diff(-0.04, -0.01), margin=0.03) == "FAIL"
    assert gate_verdict(diff(-0.04, -0.01), margin=0.03, tolerance=0.02) == "INCONCLUSIVE"
    assert gate_verdict(diff(-0.025, -0.01), margin=0.03, tolerance=0.02) == "PASS"


def test_gate_verdict_boundaries_are_strict() -> None:
    assert gate_verdict(diff(-0.05, -0.01), margin=0.03, tolerance=0.01) == "INCONCLUSIVE"
    assert gate_verdict(diff(-0.03, 0.02), margin=0.03) == "INCONCLUSIVE"
    assert gate_verdict(diff(-0.0299, 0.02), margin=0.03) == "PASS"


def test_verdict_rule_text() -> None:
    assert verdict_rule(0.03, 0.0) == (
        "FAIL when the 95% interval of the mean difference lies below 0; "
        "PASS when its lower bound is above -0.03; otherwise INCONCLUSIVE.")
    assert "above -0.025;" in verdict_rule(0.025, 0.01)
    assert "below -0.01;" in verdict_rule(0.025, 0.01)
    assert verdict_rule(0.05, 0.0, confidence=0.9).startswith("FAIL when the 90% interval")
