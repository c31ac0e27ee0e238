"""The shared formatters: units, unknown values, visible whitespace, failure reasons."""

from __future__ import annotations

from promptops.core.models import CaseRun, ScoreResult
from promptops.core.scorecard import Check
from promptops.report import formatting as f


def test_numbers_have_units_and_unknown_is_not_zero() -> None:
    assert f.pct(0.875) == "87.5%"
    assert f.pct(None) == "—"
    assert f.ms(412.4) == "412 ms"
    assert f.ms(1234.0) == "1.2 s"
    assert f.usd(0.0123) == "$0.0123"
    assert f.usd(0.0) == "$0.0000"
    assert f.usd(0.0000012) == "$0.000001"
    assert f.usd(None) == "unknown"
    assert f.compact(950) == "950"
    assert f.compact(12_345) == "12.3k"


def test_truncate_shows_whitespace_and_cuts_with_ellipsis() -> None:
    assert f.truncate("a\tb\n") == '"a\\tb\\n"'
    assert f.truncate('say "hi"\x1b') == '"say \\"hi\\"\\x1b"'
    assert f.truncate(None) == "(no output)"
    long = f.truncate("x" * 200, 60)
    assert long.endswith('"…')
    assert long.count("x") == 60
    # An escape is never cut in half.
    assert f.truncate("ab\n", 3) == '"ab"…'


def test_failure_reasons_list_failing_and_unscored_criteria() -> None:
    run = CaseRun(
        "c1",
        "m",
        0,
        "out",
        (
            ScoreResult("ok", "exact", 1.0, True, "matched"),
            ScoreResult("route", "exact", 0.0, False, "expected 'a', got 'b'"),
            ScoreResult("judge", "llm_judge", None, None, "verdict unparseable"),
        ),
        0.0,
        False,
    )
    assert f.failure_reasons(run) == [
        "route: expected 'a', got 'b'",
        "judge (unscored): verdict unparseable",
    ]
    below = CaseRun("c2", "m", 0, "out", (), 0.5, False)
    assert f.failure_reasons(below) == ["score 0.500 below the case threshold"]


def test_checks_and_labels() -> None:
    check = Check("pass_rate", 0.75, 0.9, ">=", False)
    assert f.check_text(check) == "pass_rate 75.0% (needs >= 90.0%)"
    assert f.check_symbol(check) == "✗"
    assert f.check_symbol(Check("cost_per_case_usd", None, 0.002, "<=", True)) == "?"
    assert f.check_value("p95_latency_ms", 4000.0) == "4.0 s"
    assert f.verdict(0) == "PASS" and f.verdict(1) == "FAIL" and f.verdict(3) == "ERROR (exit 3)"
    run = CaseRun("case", "m", 1, "", (), 1.0, True)
    assert f.case_label(run) == "case#2"
    assert f.prompt_label("p@1.0.0", "1.0.0") == "p@1.0.0"
    assert f.prompt_label("p", None) == "p"
