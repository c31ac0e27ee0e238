"""Hand-built suite, runs and scorecards shared by the report renderer tests."""

from __future__ import annotations

from dataclasses import replace

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
NASTY = 'billing | <b>&"quoted"\n  second line'

ROUTE = Criterion(name="route", scorer="exact", weight=2, required=True)
WORD = Criterion(name="one-word", scorer="regex", options={"pattern": "^[a-z_]+$"})


def make_suite(error_budget: float) -> Suite:
    """Four cases, two models, thresholds on score, pass rate, latency, cost and errors."""
    cases = (
        Case(
            "billing-double-charge",
            {"ticket": "charged twice"},
            "billing_dispute",
            (ROUTE, WORD),
            ("billing", "critical"),
        ),
        Case(
            "refund-late",
            {"ticket": "refund?"},
            "refunds",
            (ROUTE, WORD),
            ("billing",),
            required=True,
        ),
        Case("shipping-lost", {"ticket": "lost parcel"}, "shipping", (ROUTE, WORD), ("shipping",)),
        Case("account-locked", {"ticket": "locked"}, "account", (ROUTE, WORD), ("account",)),
    )
    return Suite(
        name="support-router",
        path="suites/support-router.yaml",
        prompt="support-router",
        models=(SONNET, MINI),
        cases=cases,
        thresholds=Thresholds(
            score=0.9,
            pass_rate=0.9,
            p95_latency_ms=4000,
            cost_per_case_usd=0.002,
            error_budget=error_budget,
        ),
    )


def _ok(case: str, model: str, output: str, tags: tuple[str, ...], **kw: object) -> CaseRun:
    scores = (
        ScoreResult("route", "exact", 1.0, True, "matched", weight=2, required=True),
        ScoreResult("one-word", "regex", 1.0, True, "matched ^[a-z_]+$"),
    )
    base = CaseRun(
        case,
        model,
        0,
        output,
        scores,
        1.0,
        True,
        usage=Usage(120, 4),
        cost_usd=0.0004,
        latency_ms=412.0,
        tags=tags,
        served_model=model.split(":")[1],
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def make_runs() -> list[CaseRun]:
    """Two models: passes, a failing required case, a provider error, an unpriced run."""
    bad_scores = (
        ScoreResult(
            "route",
            "exact",
            0.0,
            False,
            "expected 'refunds', got 'billing |...'",
            weight=2,
            required=True,
        ),
        ScoreResult("one-word", "regex", 0.0, False, "no match for ^[a-z_]+$"),
    )
    return [
        _ok("billing-double-charge", SONNET, "billing_dispute", ("billing", "critical")),
        _ok(
            "refund-late",
            SONNET,
            NASTY,
            ("billing",),
            scores=bad_scores,
            score=0.0,
            passed=False,
            required=True,
            latency_ms=1250.0,
        ),
        _ok("shipping-lost", SONNET, "shipping", ("shipping",), cost_usd=None, cached=True),
        CaseRun(
            "account-locked",
            SONNET,
            0,
            None,
            (),
            None,
            False,
            error="429 after 5 attempts",
            error_kind="rate_limit",
            tags=("account",),
            latency_ms=3000.0,
        ),
        _ok(
            "billing-double-charge", MINI, "billing_dispute", ("billing", "critical"), cost_usd=None
        ),
        _ok("refund-late", MINI, "refunds", ("billing",), cost_usd=None, required=True),
        _ok("shipping-lost", MINI, "shipping", ("shipping",), cost_usd=None),
        _ok("account-locked", MINI, "account", ("account",), cost_usd=None),
    ]


def make_meta() -> RunMeta:
    """Run metadata with a dirty git tree and a pinned prompt version."""
    return RunMeta(
        run_id="20250101T120000Z-ab12",
        suite="support-router",
        suite_path="suites/support-router.yaml",
        suite_hash="s" * 64,
        prompt="support-router",
        prompt_version="2.3.1",
        behaviour_hash="beefcafe" + "0" * 56,
        models=(SONNET, MINI),
        started_at="2025-01-01T12:00:00Z",
        duration_s=3.4,
        git_commit="0123456789abcdef",
        git_dirty=True,
        cases_total=4,
    )


def make_card(error_budget: float = 0.5, model: str | None = None) -> Scorecard:
    """The scorecard of `make_runs()`, optionally of one model only."""
    runs = [r for r in make_runs() if model is None or r.model == model]
    return build_scorecard(make_suite(error_budget), runs)
