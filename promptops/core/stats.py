"""Gate statistics: Student t, mean and Wilson intervals, clustered SE, paired differences.

Pure stdlib (no numpy/scipy): the core layer must import fast and stay dependency-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

_EPS = 1e-16
_TINY = 1e-300
_MAX_ITER = 100_000
_LARGE_DF = 1e5  # above this the t tail comes from its normal expansion (moderate x)
_NORMAL_DF = 1e20
_NOISE = 1e-12  # spreads below this (relative) are rounding, not variation


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval over `n` units."""

    estimate: float | None  # None when n == 0
    low: float | None
    high: float | None
    se: float | None
    n: int  # number of units (cases)
    method: str  # "t", "t-clustered", "wilson", "none"
    clusters: int | None = None  # number of clusters when clustered


@dataclass(frozen=True)
class PairedDiff:
    """Mean of candidate − baseline over paired units, with the numbers a gate needs."""

    n: int
    mean_diff: float | None
    se: float | None
    low: float | None
    high: float | None
    p_value: float | None
    correlation: float | None
    sd_diff: float | None
    unpaired_se: float | None
    mde: float | None
    clusters: int | None = None


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta (modified Lentz, Numerical Recipes §6.4)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER + 1):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def _lgamma_shift(z: float, s: float) -> float:
    """ln Γ(z + s) − ln Γ(z), without the cancellation of two huge lgamma values."""
    if z < 50.0:
        return math.lgamma(z + s) - math.lgamma(z)

    def corr(w: float) -> float:  # Stirling series tail; the next term is < 1e-18 here
        w2 = w * w
        return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * w2)) / w2) / w2) / w

    return (z - 0.5) * math.log1p(s / z) + s * math.log(z + s) - s + corr(z + s) - corr(z)


def _betai(a: float, b: float, x: float, y: float, log_x: float, log_y: float) -> float:
    """Regularized incomplete beta I_x(a, b); y = 1 − x and both logs come precomputed."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    big, small = max(a, b), min(a, b)
    log_front = _lgamma_shift(big, small) - math.lgamma(small) + a * log_x + b * log_y
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, y) / b


def _t_tail(x: float, df: float) -> float:
    """P(T > x) for x >= 0, computed directly so small tails keep their relative precision."""
    if df >= _NORMAL_DF:  # t and normal agree to far below double precision
        return 0.5 * math.erfc(x / math.sqrt(2.0))
    x2 = x * x
    if x2 == 0.0:
        return 0.5
    if df >= _LARGE_DF and x2 * x2 <= 1e-3 * df:
        # The continued fraction is ill-conditioned near its switch point for huge df; the
        # normal expansion in 1/df (checked to 40 digits) is exact to ~1e-16 in this range.
        phi = math.exp(-0.5 * x2) / math.sqrt(2.0 * math.pi)
        g1 = (x2 + 1.0) * x / 4.0
        g2 = (((3.0 * x2 - 7.0) * x2 - 5.0) * x2 - 3.0) * x / 96.0
        return 0.5 * math.erfc(x / math.sqrt(2.0)) + phi * (g1 / df + g2 / (df * df))
    # I_{df/(df+x²)}(df/2, 1/2), with the logs taken without rounding 1 − x first.
    return 0.5 * _betai(df / 2.0, 0.5, df / (df + x2), x2 / (df + x2),
                        -math.log1p(x2 / df), math.log(x2) - math.log(df + x2))


def t_cdf(x: float, df: float) -> float:
    """Student t CDF with `df` degrees of freedom (may be fractional; inf gives the normal)."""
    if df <= 0 or math.isnan(x) or math.isnan(df):
        raise ValueError(f"t_cdf needs df > 0 and a number x (got x={x}, df={df})")
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    tail = _t_tail(abs(x), df)
    return 1.0 - tail if x > 0 else tail


def _t_pdf(x: float, df: float) -> float:
    if math.isinf(df):
        return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    log_pdf = (_lgamma_shift(df / 2.0, 0.5)
               - 0.5 * math.log(df * math.pi) - (df + 1.0) / 2.0 * math.log1p(x * x / df))
    return math.exp(log_pdf)


def t_ppf(p: float, df: float) -> float:
    """Inverse of `t_cdf` (safeguarded Newton on the tail probability), p in (0, 1)."""
    if not 0.0 < p < 1.0 or df <= 0 or math.isnan(df):
        raise ValueError(f"t_ppf needs 0 < p < 1 and df > 0 (got p={p}, df={df})")
    if p == 0.5:
        return 0.0
    q = min(p, 1.0 - p)  # solve P(T > x) = q on x > 0, then mirror
    if math.isinf(df):
        x = -NormalDist().inv_cdf(q)
    else:
        lo, hi = 0.0, 1.0
        while _t_tail(hi, df) > q:  # bracket the root
            lo, hi = hi, hi * 2.0
        x = max(-NormalDist().inv_cdf(q), lo)  # normal quantile: a good start
        x = min(x, hi)
        for _ in range(200):
            f = _t_tail(x, df) - q
            if f > 0:
                lo = x
            else:
                hi = x
            pdf = _t_pdf(x, df)
            step = x + f / pdf if pdf > 0 else math.nan
            # Newton when it stays inside the bracket, bisection otherwise.
            x_new = step if lo < step < hi else 0.5 * (lo + hi)
            if abs(x_new - x) <= 1e-15 * max(1.0, abs(x)) or hi - lo <= 1e-15 * hi:
                x = x_new
                break
            x = x_new
    return x if p > 0.5 else -x


def _constant(values: Sequence[float]) -> bool:
    """True when the spread is float noise (e.g. 0.2 − 0.1 vs 0.9 − 0.8), not data."""
    lo, hi = min(values), max(values)
    return hi - lo <= _NOISE * max(1.0, abs(lo), abs(hi))


def _mean(values: Sequence[float]) -> float:
    if min(values) == max(values):
        return float(values[0])  # exact for constant samples (no rounding drift)
    return math.fsum(values) / len(values)


def _var(values: Sequence[float]) -> float:
    if _constant(values):
        return 0.0
    m = _mean(values)
    return math.fsum((v - m) ** 2 for v in values) / (len(values) - 1)


def _cluster_keys(n: int, clusters: Sequence[str | None] | None) -> list[str] | None:
    """Cluster keys per unit (None labels become singletons), or None when not clustered."""
    if clusters is None:
        return None
    if len(clusters) != n:
        raise ValueError(f"{len(clusters)} cluster labels for {n} values")
    if all(c is None for c in clusters):
        return None
    # The prefixes keep a labelled cluster "3" apart from the singleton of unit 3.
    return [f"c:{c}" if c is not None else f"u:{i}" for i, c in enumerate(clusters)]


def _se_df(values: Sequence[float], clusters: Sequence[str | None] | None
           ) -> tuple[float, float, float, int | None]:
    """(mean, se, df, G) for n >= 2; G is None when the SE is not clustered."""
    n = len(values)
    m = _mean(values)
    keys = _cluster_keys(n, clusters)
    if keys is not None and len(set(keys)) >= 2:
        sums: dict[str, float] = {}
        for k, v in zip(keys, values, strict=True):
            sums[k] = sums.get(k, 0.0) + (v - m)
        g = len(sums)
        # Liang–Zeger sandwich for a mean with the G/(G−1) small-sample factor.
        var = g / (g - 1) * math.fsum(s * s for s in sums.values()) / (n * n)
        if _constant(values):
            var = 0.0
        return m, math.sqrt(var), float(g - 1), g
    return m, math.sqrt(_var(values) / n), float(n - 1), None


def mean_interval(values: Sequence[float], clusters: Sequence[str | None] | None = None,
                  confidence: float = 0.95) -> Interval:
    """Mean with a Student-t interval (cluster-robust with G−1 df when clusters are given)."""
    n = len(values)
    if n == 0:
        return Interval(None, None, None, None, 0, "none")
    if n == 1:
        return Interval(float(values[0]), None, None, None, 1, "none")
    m, se, df, g = _se_df(values, clusters)
    half = t_ppf((1.0 + confidence) / 2.0, df) * se
    method = "t-clustered" if g is not None else "t"
    return Interval(m, m - half, m + half, se, n, method, g)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a proportion; `se` is the plain sqrt(p(1−p)/n)."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n (got {successes}/{n})")
    if n == 0:
        return Interval(None, None, None, None, 0, "none")
    p = successes / n
    z = NormalDist().inv_cdf((1.0 + confidence) / 2.0)
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # Mathematically inside [0, 1]; pin the ends exactly when 0 or n succeeded.
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return Interval(p, low, high, math.sqrt(p * (1 - p) / n), n, "wilson")


def _pearson(a: Sequence[float], b: Sequence[float]) -> float | None:
    if _constant(a) or _constant(b):
        return None
    ma, mb = _mean(a), _mean(b)
    sab = math.fsum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    saa = math.fsum((x - ma) ** 2 for x in a)
    sbb = math.fsum((y - mb) ** 2 for y in b)
    return max(-1.0, min(1.0, sab / math.sqrt(saa * sbb)))


def _two_sided_p(mean: float, se: float, df: float) -> float:
    if se == 0:  # no spread: a zero mean is no evidence, a non-zero one is certain
        return 1.0 if abs(mean) <= _NOISE else 0.0
    return min(1.0, 2.0 * t_cdf(-abs(mean / se), df))


def paired_difference(baseline: Sequence[float], candidate: Sequence[float],
                      clusters: Sequence[str | None] | None = None,
                      confidence: float = 0.95, power: float = 0.8) -> PairedDiff:
    """Paired t analysis of candidate − baseline (units aligned by the caller).

    `mde` is the smallest true drop detected with probability `power` by a two-sided test at
    alpha = 1 − confidence: (t_{1−α/2,df} + t_{power,df})·SE. It is 0.0 only when every
    difference is identical (sd_diff == 0): the data then show no noise at all, which says more
    about the suite (e.g. deterministic outputs) than about real sensitivity.
    """
    n = len(baseline)
    if len(candidate) != n:
        raise ValueError(f"paired arms differ in length ({n} vs {len(candidate)})")
    diffs = [c - b for b, c in zip(baseline, candidate, strict=True)]
    if n == 0:
        return PairedDiff(0, None, None, None, None, None, None, None, None, None)
    if n == 1:
        return PairedDiff(1, diffs[0], None, None, None, None, None, None, None, None)
    m, se, df, g = _se_df(diffs, clusters)
    half = t_ppf((1.0 + confidence) / 2.0, df) * se
    p_value = _two_sided_p(m, se, df)
    sd_diff = math.sqrt(_var(diffs))
    mde_se, mde_df = se, df
    if se == 0 and sd_diff > 0:  # degenerate clustered SE: fall back to the plain one
        mde_se, mde_df = sd_diff / math.sqrt(n), float(n - 1)
    alpha = 1.0 - confidence
    mde = (t_ppf(1.0 - alpha / 2.0, mde_df) + t_ppf(power, mde_df)) * mde_se
    unpaired = math.sqrt(_var(baseline) / n + _var(candidate) / n)
    return PairedDiff(n=n, mean_diff=m, se=se, low=m - half, high=m + half, p_value=p_value,
                      correlation=_pearson(baseline, candidate), sd_diff=sd_diff,
                      unpaired_se=unpaired, mde=mde, clusters=g)


def gate_verdict(diff: PairedDiff, margin: float, tolerance: float = 0.0) -> str:
    """PASS / FAIL / INCONCLUSIVE from the interval of the mean difference (DESIGN §5)."""
    if diff.low is None or diff.high is None:
        return "INCONCLUSIVE"
    if diff.high < -tolerance:
        return "FAIL"  # a significant drop beyond the tolerance
    if diff.low > -margin:
        return "PASS"  # a drop larger than the margin is ruled out
    return "INCONCLUSIVE"


def _fmt(v: float) -> str:
    return f"{v:.2f}" if abs(v * 100 - round(v * 100)) < 1e-9 else f"{v:.4g}"


def verdict_rule(margin: float, tolerance: float, confidence: float = 0.95) -> str:
    """The human sentence behind `gate_verdict`, printed under the comparison."""
    below = f"-{_fmt(tolerance)}" if tolerance else "0"
    return (f"FAIL when the {confidence * 100:g}% interval of the mean difference lies below "
            f"{below}; PASS when its lower bound is above -{_fmt(margin)}; "
            "otherwise INCONCLUSIVE.")
