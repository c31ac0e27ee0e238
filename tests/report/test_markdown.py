"""Markdown PR summary: verdict heading, well-formed tables, escaping, step summary file."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from report_samples import MINI, SONNET

from promptops.core.models import RunMeta, ScoreResult
from promptops.core.scorecard import Scorecard
from promptops.report.markdown import append_step_summary, render_markdown


def _cells(line: str) -> list[str]:
    # Split on pipes that are not backslash-escaped: what a GFM table parser does.
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def _tables(md: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            current.append(_cells(line))
        elif current:
            tables.append(current)
            current = []
    return tables


def test_heading_and_summary_table(meta: RunMeta, card: Scorecard) -> None:
    md = render_markdown(meta, card)
    assert md.startswith("## ❌ promptops eval: support-router — FAIL\n")
    summary = _tables(md)[0]
    assert [c.strip() for c in summary[0]][:3] == ["Model", "Verdict", "Pass rate"]
    sonnet = next(r for r in summary if SONNET in r[0])
    assert [c.strip() for c in sonnet[1:]] == [
        "❌ FAIL", "66.7%", "2/3", "0.667", "831 ms", "1.2 s", "360 / 12",
        "\\$0.0008 (1 unpriced)", "\\$0.0004", "1",
    ]  # fmt: skip
    mini = next(r for r in summary if MINI in r[0])
    assert "unknown" in mini[8] and "$0" not in mini[8]


def test_every_table_row_has_the_header_cell_count(meta: RunMeta, card: Scorecard) -> None:
    tables = _tables(render_markdown(meta, card))
    assert len(tables) == 6  # summary, checks, failures, errors, tags, criteria
    for table in tables:
        assert {len(row) for row in table} == {len(table[0])}, table


def test_failing_case_output_is_escaped_on_one_line(meta: RunMeta, card: Scorecard) -> None:
    md = render_markdown(meta, card)
    row = next(line for line in md.splitlines() if line.startswith("| `refund-late`"))
    assert '`"billing \\| <b>&\\"quoted\\"\\n  second line"`' in row
    assert "**required**" in row
    assert "no match for ^\\[a-z\\_\\]+\\$" in row
    assert "| ❌ | `anthropic:claude-sonnet-4-5` | `pass_rate` | 66.7% | \\>= 90.0% |" in md
    assert "### Provider errors (1)" in md and "`rate_limit`" in md


def test_details_rule_and_footer(meta: RunMeta, card: Scorecard) -> None:
    md = render_markdown(meta, card)
    details = md.split("<details><summary>Per-tag results</summary>")[1].split("</details>")[0]
    assert "| billing | `anthropic:claude-sonnet-4-5` | 2 | 50.0% | 0.500 |" in details
    assert "> **Pass rule.** A case passes when its weighted score reaches" in md
    assert "every required criterion (route) passes" in md
    assert md.rstrip().endswith(
        "<sub>run `20250101T120000Z-ab12` · commit `0123456 (dirty)` · 2025-01-01T12:00:00Z</sub>"
    )


def test_error_and_pass_verdicts_and_failure_limit(
    meta: RunMeta, card: Scorecard, error_card: Scorecard
) -> None:
    assert render_markdown(meta, error_card).startswith(
        "## ⚠️ promptops eval: support-router — ERROR (exit 3)"
    )
    passing = replace(card, cards=card.cards[1:])
    assert render_markdown(meta, passing).startswith("## ✅ promptops eval: support-router — PASS")
    limited = render_markdown(meta, card, max_failures=0)
    assert "_… and 1 more (see the run record)_" in limited
    assert "| `refund-late`" not in limited


def test_append_step_summary_appends(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    assert append_step_summary("# one", {"GITHUB_STEP_SUMMARY": str(target)}) is True
    assert append_step_summary("# two\n", {"GITHUB_STEP_SUMMARY": str(target)}) is True
    assert target.read_text(encoding="utf-8") == "earlier step\n# one\n\n# two\n\n"


def test_append_step_summary_without_variable(tmp_path: Path) -> None:
    assert append_step_summary("# one", {}) is False
    assert append_step_summary("# one", {"GITHUB_STEP_SUMMARY": ""}) is False
    assert list(tmp_path.iterdir()) == []


def test_multiline_explanation_stays_in_its_row(meta: RunMeta, card: Scorecard) -> None:
    bad = card.cards[0].failures[0]
    judged = replace(
        bad,
        scores=(ScoreResult("polite", "llm_judge", 0.0, False, "reasoning:\nrude | blunt"),),
    )
    card = replace(card, cards=(replace(card.cards[0], failures=(judged,)),))
    md = render_markdown(meta, card)
    row = next(line for line in md.splitlines() if line.startswith("| `refund-late`"))
    assert row.endswith("| polite: reasoning:<br>rude \\| blunt |")
    failures = next(t for t in _tables(md) if t[0][0].strip() == "Case")
    assert {len(r) for r in failures} == {3}


def test_markdown_and_junit_do_not_import_rich() -> None:
    code = (
        "import sys, promptops.report.markdown, promptops.report.junit; "
        "print(sorted(m for m in sys.modules if m == 'rich' or m.startswith('rich.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
