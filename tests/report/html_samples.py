"""Hand-built suite, runs, scorecard and a real comparison for the HTML report tests."""

from __future__ import annotations

from promptops.core.comparison import Comparison, compare_runs
from promptops.core.models import (
    Case,
    CaseRun,
    Criterion,
    RunMeta,
    ScoreResult,
    Suite,
    Thresholds,
    Usage,
)
from promptops.core.scorecard import Scorecard, build_scorecard

SONNET = "anthropic:claude-sonnet-4-5"
MINI = "openai:gpt-4o-mini"
XSS = '<script>alert(1)</script> and "quotes" & <b>bold</b>'
REASONING = "The reply is polite but blames the <customer>; partly meets the rubric."
ERROR = "429 Too Many Requests after 5 attempts"

ROUTE = Criterion(name="route", scorer="exact", weight=2, required=True)
WORD = Criterion(name="one-word", scorer="regex", options={"pattern": "^[a-z_]+$"})
POLITE = Criterion(name="polite", scorer="llm_judge", options={"rubric": "polite?"})

# (case id, expected, tags)
CASES = [
    ("billing-double-charge", "billing_dispute", ("billing", "critical")),
    ("refund-late", "refunds", ("billing",)),
    ("shipping-lost", "shipping", ("shipping",)),
    ("account-locked", "account", ("account",)),
    ("password-reset", "account", ("account",)),
    ("invoice-copy", "billing_docs", ("billing",)),
    ("vip-escalation", "escalations", ("vip",)),  # run on MINI only: one row in the table
]
ONLY_MINI = "vip-escalation"


def make_suite() -> Suite:
    """Six cases on two models with a judge criterion on the first; loose error budget."""
    cases = tuple(
        Case(cid, {"ticket": cid}, exp, (ROUTE, WORD, POLITE) if i == 0 else (ROUTE, WORD), tags)
        for i, (cid, exp, tags) in enumerate(CASES)
    )
    return Suite(
        name="support-router",
        path="suites/support-router.yaml",
        prompt="support-router",
        models=(SONNET, MINI),
        cases=cases,
        thresholds=Thresholds(score=0.8, pass_rate=0.8, cost_per_case_usd=0.01, error_budget=0.5),
    )


def _scores(ok: bool, judged: bool) -> tuple[ScoreResult, ...]:
    route = ScoreResult("route", "exact", 1.0 if ok else 0.0, ok,
                        "matched" if ok else "expected 'refunds', got something else",
                        weight=2, required=True)
    word = ScoreResult("one-word", "regex", 1.0 if ok else 0.0, ok,
                       "matched" if ok else "no match for ^[a-z_]+$")
    if not judged:
        return route, word
    detail = {"judge_model": MINI, "reasoning": REASONING, "verdict": "B",
              "raw": REASONING + "\nVERDICT: B"}
    polite = ScoreResult("polite", "llm_judge", 0.5, False, "verdict B (0.5)", detail=detail)
    return route, word, polite


def _run(cid: str, model: str, tags: tuple[str, ...], output: str | None, ok: bool,
         repeat: int = 0, cached: bool = False) -> CaseRun:
    judged = cid == CASES[0][0]
    scores = _scores(ok, judged)
    score = sum((s.score or 0.0) * s.weight for s in scores) / sum(s.weight for s in scores)
    return CaseRun(
        cid, model, repeat, output, scores, score, ok and score >= 0.8,
        usage=Usage(120, 4), latency_ms=400.0 + 50 * len(cid) + 30 * repeat, tags=tags,
        served_model=model.split(":")[1], cost_usd=0.0004 if model == SONNET else None,
        cached=cached,
    )


def make_runs() -> list[CaseRun]:
    """Sonnet: two repeats, an XSS output that fails, a provider error. Mini: all unpriced."""
    runs: list[CaseRun] = []
    for cid, exp, tags in CASES:
        for rep in (0, 1):
            if cid == ONLY_MINI:
                continue
            if cid == "refund-late":
                runs.append(_run(cid, SONNET, tags, XSS, False, repeat=rep))
            elif cid == "account-locked" and rep == 1:
                runs.append(CaseRun(cid, SONNET, rep, None, (), None, False, error=ERROR,
                                    error_kind="rate_limit", tags=tags))
            else:
                runs.append(_run(cid, SONNET, tags, exp, True, repeat=rep, cached=rep == 1))
    for cid, exp, tags in CASES:
        ok = cid != "shipping-lost"
        runs.append(_run(cid, MINI, tags, exp if ok else "Shipping", ok))
    return runs


def make_meta() -> RunMeta:
    """Run metadata with a dirty git tree and a pinned prompt version."""
    return RunMeta(
        run_id="20250101T120000Z-ab12", suite="support-router",
        suite_path="suites/support-router.yaml", suite_hash="5" * 64, prompt="support-router",
        prompt_version="2.3.1", behaviour_hash="beefcafe" + "0" * 56, models=(SONNET, MINI),
        started_at="2025-01-01T12:00:00Z", duration_s=3.4, git_commit="0123456789abcdef",
        git_dirty=True, promptops_version="0.1.0", cases_total=len(CASES),
    )


def make_card(runs: list[CaseRun] | None = None) -> Scorecard:
    """The scorecard of `make_runs()` (or of the runs given)."""
    return build_scorecard(make_suite(), make_runs() if runs is None else runs)


# Baseline → candidate scores per case (None: the candidate's run errored).
_COMPARED: dict[str, tuple[float, float | None, tuple[str, ...]]] = {
    "billing-double-charge": (1.0, 1.0, ("billing", "critical")),
    "refund-late": (1.0, 0.0, ("billing",)),
    "shipping-lost": (1.0, 1.0, ("shipping",)),
    "account-locked": (1.0, None, ("account",)),
    "password-reset": (0.5, 0.5, ("account",)),
    "invoice-copy": (1.0, 1.0, ("billing",)),
    "order-status": (1.0, 0.9, ("shipping",)),
    "address-change": (0.8, 0.8, ("account",)),
    "gift-card": (0.0, 1.0, ("billing",)),
    "cancel-plan": (1.0, 1.0, ("billing",)),
}
CHANGED = "invoice-copy"  # its content hash differs between the versions
ONLY_CANDIDATE = ONLY_MINI


def _arm_run(cid: str, score: float | None, tags: tuple[str, ...], candidate: bool) -> CaseRun:
    content = f"{cid}-v2" if candidate and cid == CHANGED else cid
    if score is None:
        return CaseRun(cid, SONNET, 0, None, (), None, False, error=ERROR, error_kind="rate_limit",
                       tags=tags, content_hash=content)
    return CaseRun(cid, SONNET, 0, "x", (), score, score >= 1.0, tags=tags, content_hash=content,
                   cost_usd=0.0004 if candidate else 0.0005,
                   latency_ms=435.0 if candidate else 400.0)


def make_comparison() -> Comparison:
    """support-router@2.3.0 → 2.3.1 on Sonnet: an inconclusive drop with two flips."""
    base = [_arm_run(cid, b, tags, False) for cid, (b, _, tags) in _COMPARED.items()]
    cand = [_arm_run(cid, c, tags, True) for cid, (_, c, tags) in _COMPARED.items()]
    cand.append(_arm_run(ONLY_CANDIDATE, 1.0, ("vip",), True))
    return compare_runs(base, cand, baseline_label="support-router@2.3.0",
                        candidate_label="support-router@2.3.1", margin=0.03)
