"""Self-contained HTML report of one eval run: summary, charts, comparisons, filterable cases."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from promptops.core.models import CaseRun, RunMeta
from promptops.core.scorecard import GroupStats, ModelCard, Scorecard
from promptops.report import formatting as f

if TYPE_CHECKING:
    import jinja2

    from promptops.core.comparison import Comparison
    from promptops.core.stats import Interval, PairedDiff

BINS = 10
SEARCH_LIMIT = 4000  # output characters kept in `data-search`: bounds the page size
_STATUS_CLASS = {0: "pass", 1: "fail", 3: "error"}
_VERDICT_CLASS = {"PASS": "pass", "FAIL": "fail", "INCONCLUSIVE": "warn"}


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    """The Jinja2 template, loaded once from package data."""
    import jinja2  # lazily: keeps `promptops --help` fast

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    source = files("promptops.report").joinpath("templates/report.html.j2")
    return env.from_string(source.read_text(encoding="utf-8"))


def render_html(
    meta: RunMeta,
    card: Scorecard,
    runs: Sequence[CaseRun],
    comparisons: Sequence[Comparison] = (),
) -> str:
    """Render the run as one HTML5 document with no external requests."""
    code = card.exit_code
    commit = f.short_hash(meta.git_commit, 12) + (" (dirty)" if meta.git_dirty else "")
    return _template().render(
        meta=meta,
        title=f"promptops · {meta.suite or card.suite} · {f.verdict(code)}",
        prompt=f.prompt_label(meta.prompt, meta.prompt_version),
        behaviour=f.short_hash(meta.behaviour_hash, 16),
        commit=commit,
        verdict=f.verdict(code),
        verdict_class=_STATUS_CLASS.get(code, "fail"),
        exit_code=code,
        pass_rule=card.pass_rule,
        models=[mc.model for mc in card.cards],
        cards=[_card(mc, runs) for mc in card.cards],
        criteria=_groups([(mc.model, mc.by_criterion) for mc in card.cards]),
        tags=_groups([(mc.model, mc.by_tag) for mc in card.cards]),
        comparisons=[_comparison(c) for c in comparisons],
        cases=[_case(r) for r in runs],
    )


def _ci(iv: Interval | None, *, as_pct: bool = False) -> str:
    """`95% CI [70.1, 95.3]%` (the shared formatter), or empty when there is no interval."""
    text = f.interval(iv, as_pct=as_pct)
    return f"95% CI {text}" if text else ""


def _card(mc: ModelCard, runs: Sequence[CaseRun]) -> dict[str, Any]:
    """One model's summary figures, formatted, plus its score histogram."""
    # The lead adds these to ModelCard; older cards simply have no intervals.
    score_ci, pass_ci = getattr(mc, "score_ci", None), getattr(mc, "pass_ci", None)
    mine = [r for r in runs if r.model == mc.model and r.error is None]
    return {
        "model": mc.model,
        "served": ", ".join(mc.served_models),
        "verdict": f.verdict(mc.exit_code),
        "exit_code": mc.exit_code,
        "cls": _STATUS_CLASS.get(mc.exit_code, "fail"),
        "reasons": f.verdict_reasons(mc),
        "pass_rate": f.pct(mc.pass_rate),
        "pass_ci": _ci(pass_ci, as_pct=True),
        "passed": f"{mc.passed}/{mc.scored_runs}",
        "repeats": getattr(mc, "repeats", 1),
        "score": f.score(mc.mean_score),
        "score_pm": f.plus_minus(score_ci),
        "score_ci": _ci(score_ci),
        "p50": f.ms(mc.latency_p50_ms),
        "p95": f.ms(mc.latency_p95_ms),
        "tokens": f"{f.count(mc.input_tokens)} / {f.count(mc.output_tokens)}",
        "cost": f.cost_text(mc),
        "cost_case": f.usd(mc.cost_per_case_usd),
        "cache_hits": mc.cache_hits,
        "errors": mc.errors,
        "runs": mc.runs,
        "checks": [
            {"sym": f.check_symbol(c), "name": c.name, "op": c.op,
             "actual": f.check_value(c.name, c.actual), "limit": f.check_value(c.name, c.limit),
             "cls": {"✓": "pass", "✗": "fail"}.get(f.check_symbol(c), "warn")}
            for c in mc.checks
        ],
        "failed_required": mc.failed_required,
        "hist": _histogram([r.score for r in mine if r.score is not None]),
        "unscored": sum(1 for r in mine if r.score is None),
        "judge": _judge_note(mc),
    }


def _judge_note(mc: ModelCard) -> str:
    """`4 verdicts, 1 unusable (25.0%)` when the model had LLM-judge criteria."""
    calls, errors = getattr(mc, "judge_calls", 0), getattr(mc, "judge_errors", 0)
    if not calls:
        return ""
    return f"{calls} verdicts, {errors} unusable ({f.pct(errors / calls)})"


def _histogram(scores: Sequence[float]) -> dict[str, Any]:
    """Ten bins over [0, 1] (1.0 falls in the last), with bar geometry for the SVG."""
    counts = [0] * BINS
    for s in scores:
        counts[min(BINS - 1, max(0, int(s * BINS)))] += 1
    top = max(counts) or 1
    bars = [
        {"x": 30 + i * 28, "h": round(100 * n / top, 1), "y": round(110 - 100 * n / top, 1),
         "n": n, "label": f"{i / BINS:.1f}–{(i + 1) / BINS:.1f}"}
        for i, n in enumerate(counts)
    ]
    return {"bars": bars, "top": max(counts), "total": len(scores)}


def _groups(per_model: Sequence[tuple[str, Sequence[GroupStats]]]) -> list[dict[str, Any]]:
    """Rows of a per-criterion or per-tag table, across models."""
    return [
        {"key": g.key, "model": model, "runs": g.runs, "pass_rate": f.pct(g.pass_rate),
         "score": f.score(g.mean_score)}
        for model, groups in per_model
        for g in groups
    ]


def _case(run: CaseRun) -> dict[str, Any]:
    """One row of the case table, with the text the search box matches against."""
    status = "error" if run.error is not None else "passed" if run.passed else "failed"
    judges = [
        {"name": s.name, "model": str(s.detail.get("judge_model") or ""),
         "verdict": str(s.detail.get("verdict") or ""),
         "reasoning": str(s.detail.get("reasoning") or ""),
         "raw": str(s.detail.get("raw") or "")}
        for s in run.scores
        if s.detail
    ]
    output = run.output or ""
    search = " ".join([run.case_id, run.model, *run.tags, output[:SEARCH_LIMIT]]).lower()
    return {
        "id": run.case_id,
        "model": run.model,
        "repeat": run.repeat + 1,
        "status": status,
        "required": run.required,
        "score": f.score(run.score),
        "tags": run.tags,
        "output": run.output,
        "reasons": f.failure_reasons(run) if status == "failed" else [],
        "judges": judges,
        "error": f"{run.error_kind or 'error'}: {run.error}" if run.error is not None else "",
        "search": search,
        "cached": run.cached,
    }


def _signed(value: float | None, fmt: Callable[[float], str], none: str = f.NA) -> str:
    """`+0.012` / `−0.031` with a true minus sign; `none` when unknown."""
    if value is None:
        return none
    text = fmt(abs(value))
    # A drop that rounds to zero reads +0.000, not −0.000.
    negative = value < 0 and any(ch in "123456789" for ch in text)
    return ("−" if negative else "+") + text


def _pp(value: float) -> str:
    return f"{value * 100:.1f} pp"


def _diff(d: PairedDiff, fmt: Callable[[float], str]) -> dict[str, str]:
    """A paired difference's mean, interval and p-value, formatted."""
    ci = "" if d.low is None or d.high is None else (
        f"95% CI {_signed(d.low, fmt)} to {_signed(d.high, fmt)}")
    p = "" if d.p_value is None else (
        "p < 0.001" if d.p_value < 0.001 else f"p = {d.p_value:.3f}")
    return {"mean": _signed(d.mean_diff, fmt), "ci": ci, "p": p, "n": str(d.n)}


def _forest(c: Comparison) -> dict[str, Any]:
    """Geometry of the interval bar against 0, −margin and −tolerance (score units)."""
    d = c.score
    ends = [v for v in (d.low, d.high, d.mean_diff) if v is not None]
    points = [0.0, -c.margin, -c.tolerance, *ends]
    lo, hi = min(points), max(points)
    pad = max((hi - lo) * 0.15, 0.01)
    lo, hi = lo - pad, hi + pad
    width, left = 520.0, 20.0

    def x(v: float) -> float:
        return round(left + (v - lo) / (hi - lo) * width, 1)

    bar = None
    if d.low is not None and d.high is not None:
        mid = d.mean_diff if d.mean_diff is not None else (d.low + d.high) / 2
        bar = {"x1": x(d.low), "x2": x(d.high), "mid": x(mid)}
    return {
        "bar": bar, "zero": x(0.0), "margin": x(-c.margin), "tolerance": x(-c.tolerance),
        # A zero tolerance sits on the zero line; equal to the margin it would draw twice.
        "show_tolerance": c.tolerance > 0 and abs(c.tolerance - c.margin) > 1e-12,
        "lo": _signed(lo, "{:.2f}".format), "hi": _signed(hi, "{:.2f}".format),
        "x_lo": left, "x_hi": left + width,
    }


def _arm(label: str, model: str, score: Interval, passed: Interval) -> dict[str, str]:
    """One side of a comparison: mean score and pass rate with their intervals."""
    return {"label": label, "model": model, "score": f.score(score.estimate),
            "score_ci": _ci(score), "pass": f.pct(passed.estimate),
            "pass_ci": _ci(passed, as_pct=True)}


def _comparison(c: Comparison) -> dict[str, Any]:
    """One baseline-vs-candidate comparison, formatted for the template."""
    mde = c.score.mde
    return {
        "c": c,
        "cls": _VERDICT_CLASS.get(c.verdict, "warn"),
        "score": _diff(c.score, "{:.3f}".format),
        "pass": _diff(c.pass_rate, _pp),
        "arms": [_arm(c.baseline_label, c.baseline_model, c.baseline_score, c.baseline_pass),
                 _arm(c.candidate_label, c.candidate_model, c.candidate_score, c.candidate_pass)],
        "mde": None if mde is None else f"{mde * 100:.1f}",
        "forest": _forest(c),
        "flips": [
            {"id": fl.case_id, "before": "pass" if fl.before_passed else "fail",
             "after": "pass" if fl.after_passed else "fail",
             "scores": f"{f.score(fl.before_score)} → {f.score(fl.after_score)}",
             "cls": "pass" if fl.after_passed else "fail"}
            for fl in sorted(c.flips, key=lambda fl: fl.after_passed)  # regressions first
        ],
        "tag_deltas": [
            {"tag": t.tag, "n": t.n, "base": f.score(t.baseline_mean),
             "cand": f.score(t.candidate_mean), "diff": _signed(t.diff, "{:.3f}".format),
             "cls": "fail" if (t.diff or 0) < 0 else "pass" if (t.diff or 0) > 0 else ""}
            for t in sorted(c.tag_deltas, key=lambda t: (t.diff or 0.0, t.tag))  # worst first
        ],
        # An unpriced or unmeasured arm makes the delta unknown, never +$0 or +0 ms.
        "cost": _signed(c.cost_per_case_delta_usd, f.usd, f.UNKNOWN_COST),
        "p50": _signed(c.latency_p50_delta_ms, f.ms, f.UNKNOWN_COST),
        "p95": _signed(c.latency_p95_delta_ms, f.ms, f.UNKNOWN_COST),
    }
