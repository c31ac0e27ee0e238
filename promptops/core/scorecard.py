"""Aggregate case runs into a scorecard per model, criterion and tag; check the thresholds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from promptops.core.models import Case, CaseRun, Suite, Thresholds
from promptops.core.repeats import CaseOutcome, reduce_case
from promptops.core.stats import Interval, mean_interval, wilson_interval


@dataclass(frozen=True)
class GroupStats:
    """Pass rate and mean score of one slice (a criterion or a tag)."""

    key: str
    runs: int  # cases in the slice (repeats reduced first)
    passed: int
    mean_score: float | None
    unscored: int = 0
    ci: Interval | None = None  # 95% interval of the mean score (t, clustered if labelled)
    pass_ci: Interval | None = None  # Wilson interval of the pass rate

    @property
    def pass_rate(self) -> float | None:
        """Share of scored runs that passed."""
        scored = self.runs - self.unscored
        return self.passed / scored if scored else None


@dataclass(frozen=True)
class Check:
    """One suite threshold and whether the run met it."""

    name: str
    actual: float | None
    limit: float
    op: str  # ">=" or "<="
    ok: bool
    exit_code: int = 1  # 3 for the error budget


@dataclass(frozen=True)
class ModelCard:
    """The scorecard of one model on the suite."""

    model: str
    served_models: tuple[str, ...]
    runs: int  # case runs, repeats included
    passed: int  # cases (repeats reduced)
    failed: int  # cases
    errors: int  # runs that ended in a provider error (the error budget counts these)
    mean_score: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None when no run had a known price
    cost_unknown_runs: int  # runs that answered but could not be priced
    priced_runs: int
    cache_hits: int
    by_criterion: tuple[GroupStats, ...]
    by_tag: tuple[GroupStats, ...]
    checks: tuple[Check, ...]
    failures: tuple[CaseRun, ...]  # one representative run per failing case, reduced
    error_runs: tuple[CaseRun, ...]
    cases: int = 0
    repeats: int = 1
    score_ci: Interval | None = None
    pass_ci: Interval | None = None
    judge_calls: int = 0
    judge_errors: int = 0  # judge verdicts that could not be parsed or calls that failed

    @property
    def scored_runs(self) -> int:
        """Cases with at least one repeat that ended without a provider error."""
        return self.passed + self.failed

    @property
    def pass_rate(self) -> float | None:
        """Passed cases over cases that could be scored."""
        return self.passed / self.scored_runs if self.scored_runs else None

    @property
    def judge_error_rate(self) -> float | None:
        """Share of judge verdicts that were unusable (None without judge criteria)."""
        return self.judge_errors / self.judge_calls if self.judge_calls else None

    @property
    def cost_per_case_usd(self) -> float | None:
        """Mean known cost per priced run (error runs and unpriced runs are not $0)."""
        if self.cost_usd is None or not self.priced_runs:
            return None
        return self.cost_usd / self.priced_runs

    @property
    def exit_code(self) -> int:
        """0 pass, 1 gate failed, 3 infrastructure (error budget exceeded)."""
        failed = [c for c in self.checks if not c.ok]
        if any(c.exit_code == 3 for c in failed):
            return 3
        return 1 if failed or self.failed_required else 0

    @property
    def failed_required(self) -> int:
        """Failed runs of cases marked `required: true`."""
        return sum(1 for r in self.failures if r.required)


@dataclass(frozen=True)
class Scorecard:
    """All model cards of one run plus the rule that decided pass/fail."""

    suite: str
    cards: tuple[ModelCard, ...]
    pass_rule: str

    @property
    def exit_code(self) -> int:
        """The worst exit code over the models (3 beats 1 beats 0)."""
        codes = [c.exit_code for c in self.cards] or [0]
        return 3 if 3 in codes else max(codes)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in [0,100]); None for no data."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return sum(vals) / len(vals) if vals else None


def _group(key: str, items: Sequence[tuple[float | None, bool | None, str | None]]
           ) -> GroupStats:
    scores = [sc for sc, _, _ in items if sc is not None]
    scored = [(sc, p, cl) for sc, p, cl in items if sc is not None]
    passed = sum(1 for _, p, _ in scored if p)
    return GroupStats(
        key=key, runs=len(items), passed=passed, mean_score=_mean(scores),
        unscored=len(items) - len(scored),
        ci=mean_interval(scores, [cl for _, _, cl in scored]) if scores else None,
        pass_ci=wilson_interval(passed, len(scored)) if scored else None,
    )


def _groups(outcomes: Sequence[CaseOutcome], by_tag: bool) -> tuple[GroupStats, ...]:
    buckets: dict[str, list[tuple[float | None, bool | None, str | None]]] = {}
    for out in outcomes:
        if out.errored:
            continue
        cluster = out.first.cluster
        if by_tag:
            for tag in out.first.tags:
                buckets.setdefault(tag, []).append((out.score, out.passed, cluster))
        else:
            for s in out.scores:
                buckets.setdefault(s.name, []).append((s.score, s.passed, cluster))
    return tuple(_group(key, items) for key, items in sorted(buckets.items()))


def case_outcomes(runs: Sequence[CaseRun], cases: Mapping[str, Case],
                  default_reduce: str = "mean") -> list[CaseOutcome]:
    """Group runs by case (first-seen order) and reduce their repeats."""
    by_case: dict[str, list[CaseRun]] = {}
    for run in runs:
        by_case.setdefault(run.case_id, []).append(run)
    return [reduce_case(rs, cases.get(cid) or Case(id=cid, input={}, required=rs[0].required),
                        default_reduce) for cid, rs in by_case.items()]


def _representative(out: CaseOutcome) -> CaseRun:
    """The run shown for a failing case: its first failing repeat, carrying the reduced verdict."""
    ok = [r for r in out.runs if r.error is None]
    run = next((r for r in ok if not r.passed), ok[0])
    if len(ok) == 1:
        return run
    return replace(run, scores=out.scores, score=out.score, passed=False,
                   fail_reason=out.fail_reason)


def model_card(model: str, runs: Sequence[CaseRun], thresholds: Thresholds,
               cases: Mapping[str, Case] | None = None, default_reduce: str = "mean"
               ) -> ModelCard:
    """Build one model's card: repeats reduced per case, intervals on case-level numbers."""
    outcomes = case_outcomes(runs, cases or {}, default_reduce)
    scored = [o for o in outcomes if not o.errored]
    ok_runs = [r for r in runs if r.error is None]
    errors = [r for r in runs if r.error is not None]
    latencies = [r.latency_ms for r in ok_runs if r.latency_ms is not None and not r.cached]
    if not latencies:  # a fully cached run still reports the recorded latencies
        latencies = [r.latency_ms for r in ok_runs if r.latency_ms is not None]
    priced = [r.cost_usd for r in runs if r.cost_usd is not None]
    case_scores = [o.score if o.score is not None else 0.0 for o in scored]
    clusters = [o.first.cluster for o in scored]
    passed = sum(1 for o in scored if o.passed)
    judged = [s for r in ok_runs for s in r.scores if s.scorer == "llm_judge"]
    card = ModelCard(
        model=model,
        served_models=tuple(sorted({r.served_model for r in ok_runs if r.served_model})),
        runs=len(runs),
        passed=passed,
        failed=len(scored) - passed,
        errors=len(errors),
        mean_score=_mean(case_scores),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        input_tokens=sum(r.usage.input_tokens or 0 for r in runs),
        output_tokens=sum(r.usage.output_tokens or 0 for r in runs),
        cost_usd=sum(priced) if priced else None,
        cost_unknown_runs=sum(1 for r in runs if r.cost_usd is None and r.error is None),
        priced_runs=len(priced),
        cache_hits=sum(1 for r in runs if r.cached),
        by_criterion=_groups(outcomes, by_tag=False),
        by_tag=_groups(outcomes, by_tag=True),
        checks=(),
        failures=tuple(_representative(o) for o in scored if not o.passed),
        error_runs=tuple(errors),
        cases=len(outcomes),
        repeats=max((len(o.runs) for o in outcomes), default=1),
        score_ci=mean_interval(case_scores, clusters) if scored else None,
        pass_ci=wilson_interval(passed, len(scored)) if scored else None,
        judge_calls=len(judged),
        judge_errors=sum(1 for s in judged if s.score is None),
    )
    return _with_checks(card, thresholds)


def _with_checks(card: ModelCard, t: Thresholds) -> ModelCard:
    checks: list[Check] = []

    def at_least(name: str, actual: float | None, limit: float | None) -> None:
        if limit is not None:
            checks.append(Check(name, actual, limit, ">=", actual is not None and actual >= limit))

    def at_most(name: str, actual: float | None, limit: float | None, code: int = 1) -> None:
        if limit is not None:
            ok = actual is not None and actual <= limit + 1e-12
            checks.append(Check(name, actual, limit, "<=", ok, code))

    at_least("score", card.mean_score, t.score)
    at_least("pass_rate", card.pass_rate, t.pass_rate)
    at_most("p95_latency_ms", card.latency_p95_ms, t.p95_latency_ms)
    if t.cost_per_case_usd is not None and card.cost_per_case_usd is None:
        # An unknown price cannot prove the budget; it is shown, not failed.
        checks.append(Check("cost_per_case_usd", None, t.cost_per_case_usd, "<=", True))
    else:
        at_most("cost_per_case_usd", card.cost_per_case_usd, t.cost_per_case_usd)
    error_share = card.errors / card.runs if card.runs else 0.0  # per run: each one was paid
    at_most("error_rate", error_share, t.error_budget, code=3)
    return replace(card, checks=tuple(checks))


def pass_rule(suite: Suite) -> str:
    """The human-readable rule that decided pass/fail, printed under the scorecard."""
    required = sorted({c.name for case in suite.cases for c in case.criteria if c.required})
    required_cases = sum(1 for case in suite.cases if case.required)
    thresholds = sorted({case.threshold for case in suite.cases}) or [1.0]
    th = "/".join(f"{t:.2f}" for t in thresholds)
    case_rule = f"A case passes when its weighted score reaches its threshold ({th})"
    if required:
        case_rule += f" and every required criterion ({', '.join(required)}) passes"
    t = suite.thresholds
    parts = []
    if t.score is not None:
        parts.append(f"mean score >= {t.score:.2f}")
    if t.pass_rate is not None:
        parts.append(f"pass rate >= {t.pass_rate:.0%}")
    if t.p95_latency_ms is not None:
        parts.append(f"p95 latency <= {t.p95_latency_ms:g} ms")
    if t.cost_per_case_usd is not None:
        parts.append(f"cost/case <= ${t.cost_per_case_usd:g}")
    parts.append(f"provider errors <= {t.error_budget:.0%} of runs (else exit 3)")
    suite_rule = "The suite passes when " + ", ".join(parts)
    if required_cases:
        suite_rule += f" and none of the {required_cases} required case(s) failed"
    return f"{case_rule}. {suite_rule}."


def build_scorecard(suite: Suite, runs: Sequence[CaseRun]) -> Scorecard:
    """Group runs by requested model (in suite order of appearance) and build each card."""
    order: list[str] = []
    by_model: dict[str, list[CaseRun]] = {}
    for run in runs:
        if run.model not in by_model:
            order.append(run.model)
            by_model[run.model] = []
        by_model[run.model].append(run)
    cases = {c.id: c for c in suite.cases}
    cards = tuple(model_card(m, by_model[m], suite.thresholds, cases, suite.reduce)
                  for m in order)
    return Scorecard(suite=suite.name, cards=cards, pass_rule=pass_rule(suite))
