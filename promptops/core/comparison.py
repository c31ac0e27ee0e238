"""Pair two runs on case id and decide PASS / FAIL / INCONCLUSIVE (DESIGN §5).

Unit of analysis is the case: repeats are averaged before pairing so the SE stays honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptops.core.errors import ConfigError
from promptops.core.models import CaseRun
from promptops.core.scorecard import percentile
from promptops.core.stats import (
    Interval,
    PairedDiff,
    gate_verdict,
    mean_interval,
    paired_difference,
    verdict_rule,
    wilson_interval,
)

ON_INCONCLUSIVE = ("warn", "fail")


@dataclass(frozen=True)
class Flip:
    """A paired case whose pass/fail outcome changed between the runs."""

    case_id: str
    before_passed: bool
    after_passed: bool
    before_score: float | None
    after_score: float | None


@dataclass(frozen=True)
class TagDelta:
    """Mean case score per tag on the paired cases, both arms."""

    tag: str
    n: int
    baseline_mean: float
    candidate_mean: float
    diff: float


@dataclass(frozen=True)
class Comparison:
    """Baseline vs candidate on their paired cases, with the gate verdict and its rule."""

    baseline_label: str
    candidate_label: str
    baseline_model: str
    candidate_model: str
    score: PairedDiff
    pass_rate: PairedDiff
    baseline_score: Interval
    candidate_score: Interval
    baseline_pass: Interval
    candidate_pass: Interval
    paired_ids: tuple[str, ...]
    changed: tuple[str, ...]
    only_baseline: tuple[str, ...]
    only_candidate: tuple[str, ...]
    errored: tuple[str, ...]
    flips: tuple[Flip, ...]
    tag_deltas: tuple[TagDelta, ...]
    cost_per_case_delta_usd: float | None
    latency_p50_delta_ms: float | None
    latency_p95_delta_ms: float | None
    margin: float
    tolerance: float
    on_inconclusive: str
    verdict: str
    rule: str

    @property
    def exit_code(self) -> int:
        """1 on FAIL, 1 on INCONCLUSIVE when the policy is `fail`, else 0."""
        if self.verdict == "FAIL":
            return 1
        if self.verdict == "INCONCLUSIVE" and self.on_inconclusive == "fail":
            return 1
        return 0


@dataclass(frozen=True)
class _CaseAgg:
    """One side's repeats of one case, reduced to what the comparison needs."""

    runs: tuple[CaseRun, ...]
    content_hash: str
    cluster: str | None
    tags: tuple[str, ...]
    score: float | None  # mean over scored, error-free repeats
    passed: bool  # every error-free repeat passed


def _model(runs: Sequence[CaseRun], side: str) -> str:
    models = sorted({r.model for r in runs})
    if len(models) > 1:
        raise ConfigError(
            f"the {side} runs mix {len(models)} models ({', '.join(models)})",
            why="a comparison pairs one model against one model",
            fix="pick one model per side (e.g. --model), or compare each model separately",
        )
    return models[0] if models else ""


def _aggregate(runs: Sequence[CaseRun]) -> dict[str, _CaseAgg]:
    by_id: dict[str, list[CaseRun]] = {}
    for run in runs:
        by_id.setdefault(run.case_id, []).append(run)
    out: dict[str, _CaseAgg] = {}
    for case_id, rs in by_id.items():
        ok = [r for r in rs if r.error is None]
        scores = [r.score for r in ok if r.score is not None]
        tags: list[str] = []
        for r in rs:
            tags += [t for t in r.tags if t not in tags]
        out[case_id] = _CaseAgg(
            runs=tuple(rs),
            content_hash=next((r.content_hash for r in rs if r.content_hash), ""),
            cluster=next((r.cluster for r in rs if r.cluster is not None), None),
            tags=tuple(tags),
            score=sum(scores) / len(scores) if scores else None,
            passed=bool(ok) and all(r.passed for r in ok),
        )
    return out


def _validate(margin: float, tolerance: float, on_inconclusive: str) -> None:
    if on_inconclusive not in ON_INCONCLUSIVE:
        raise ConfigError(
            f"on_inconclusive must be 'warn' or 'fail', not {on_inconclusive!r}",
            fix="set gate.on_inconclusive to warn (exit 0 with a warning) or fail (exit 1)",
        )
    for name, value in (("margin", margin), ("tolerance", tolerance)):
        if not value >= 0:  # also rejects NaN
            raise ConfigError(
                f"gate {name} must be >= 0, got {value}",
                why=f"{name} is a drop size in score units (0.03 = 3 points)",
                fix=f"set gate.{name} to a non-negative number such as "
                    f"{'0.03' if name == 'margin' else '0'}",
            )


def _flips(ids: Sequence[str], base: dict[str, _CaseAgg], cand: dict[str, _CaseAgg]
           ) -> tuple[Flip, ...]:
    def flip(i: str) -> Flip:
        return Flip(i, base[i].passed, cand[i].passed, base[i].score, cand[i].score)

    broke = [flip(i) for i in sorted(ids) if base[i].passed and not cand[i].passed]
    fixed = [flip(i) for i in sorted(ids) if not base[i].passed and cand[i].passed]
    return tuple(broke + fixed)  # regressions first: they are what a reviewer looks at


def _tag_deltas(ids: Sequence[str], b: Sequence[float], c: Sequence[float],
                cand: dict[str, _CaseAgg], base: dict[str, _CaseAgg]) -> tuple[TagDelta, ...]:
    buckets: dict[str, list[int]] = {}
    for k, case_id in enumerate(ids):
        for tag in dict.fromkeys(cand[case_id].tags + base[case_id].tags):
            buckets.setdefault(tag, []).append(k)
    out = []
    for tag, ks in buckets.items():
        bm = sum(b[k] for k in ks) / len(ks)
        cm = sum(c[k] for k in ks) / len(ks)
        out.append(TagDelta(tag, len(ks), bm, cm, cm - bm))
    return tuple(sorted(out, key=lambda d: (d.diff, d.tag)))


def _cost_per_case(runs: Sequence[CaseRun]) -> float | None:
    # Same meaning as the scorecard: mean known cost per priced run (unpriced runs are not $0).
    priced = [r.cost_usd for r in runs if r.cost_usd is not None]
    return sum(priced) / len(priced) if priced else None


def _latencies(runs: Sequence[CaseRun]) -> list[float]:
    ok = [r for r in runs if r.error is None and r.latency_ms is not None]
    fresh = [r.latency_ms for r in ok if not r.cached and r.latency_ms is not None]
    # A fully cached run still reports the recorded latencies (as the scorecard does).
    return fresh or [r.latency_ms for r in ok if r.latency_ms is not None]


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def compare_runs(baseline: Sequence[CaseRun], candidate: Sequence[CaseRun], *,
                 baseline_label: str, candidate_label: str, margin: float = 0.03,
                 tolerance: float = 0.0, on_inconclusive: str = "warn") -> Comparison:
    """Pair one model's case runs from two runs on case id and gate the score difference."""
    _validate(margin, tolerance, on_inconclusive)
    baseline_model, candidate_model = _model(baseline, "baseline"), _model(candidate, "candidate")
    base, cand = _aggregate(baseline), _aggregate(candidate)
    common = sorted(base.keys() & cand.keys())
    # An empty hash (older records) cannot prove a change, so such cases still pair.
    changed = [i for i in common if base[i].content_hash and cand[i].content_hash
               and base[i].content_hash != cand[i].content_hash]
    same = [i for i in common if i not in changed]
    # A case needs a scored repeat on both sides to pair; otherwise it is listed, not guessed.
    errored = [i for i in same if base[i].score is None or cand[i].score is None]
    ids = [i for i in same if i not in errored]

    b_scores = [s for i in ids if (s := base[i].score) is not None]
    c_scores = [s for i in ids if (s := cand[i].score) is not None]
    b_pass = [1.0 if base[i].passed else 0.0 for i in ids]
    c_pass = [1.0 if cand[i].passed else 0.0 for i in ids]
    labels = [cand[i].cluster for i in ids]
    clusters = labels if any(label is not None for label in labels) else None

    score = paired_difference(b_scores, c_scores, clusters)
    b_runs = [r for i in ids for r in base[i].runs]
    c_runs = [r for i in ids for r in cand[i].runs]
    # Cost and latency on the paired cases only, so both arms answer the same questions.
    b_lat, c_lat = _latencies(b_runs), _latencies(c_runs)
    return Comparison(
        baseline_label=baseline_label,
        candidate_label=candidate_label,
        baseline_model=baseline_model,
        candidate_model=candidate_model,
        score=score,
        pass_rate=paired_difference(b_pass, c_pass, clusters),
        baseline_score=mean_interval(b_scores, clusters),
        candidate_score=mean_interval(c_scores, clusters),
        baseline_pass=wilson_interval(int(sum(b_pass)), len(ids)),
        candidate_pass=wilson_interval(int(sum(c_pass)), len(ids)),
        paired_ids=tuple(ids),
        changed=tuple(changed),
        only_baseline=tuple(sorted(base.keys() - cand.keys())),
        only_candidate=tuple(sorted(cand.keys() - base.keys())),
        errored=tuple(errored),
        flips=_flips(ids, base, cand),
        tag_deltas=_tag_deltas(ids, b_scores, c_scores, cand, base),
        cost_per_case_delta_usd=_delta(_cost_per_case(b_runs), _cost_per_case(c_runs)),
        latency_p50_delta_ms=_delta(percentile(b_lat, 50), percentile(c_lat, 50)),
        latency_p95_delta_ms=_delta(percentile(b_lat, 95), percentile(c_lat, 95)),
        margin=margin,
        tolerance=tolerance,
        on_inconclusive=on_inconclusive,
        verdict=gate_verdict(score, margin, tolerance),
        rule=verdict_rule(margin, tolerance),
    )
