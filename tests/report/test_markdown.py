"""Markdown PR summary: verdict heading, well-formed tables, escaping, step summary file."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from report_samples import MINI, SONNET

from promptops.core.comparison import Comparison, Flip, TagDelta, compare_runs
from promptops.core.models import CaseRun, RunMeta, ScoreResult
from promptops.core.scorecard import Scorecard
from promptops.report.markdown import (
    append_step_summary,
    render_comparison_markdown,
    render_markdown,
)


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
        "❌ FAIL", "66.7% \\[20.8, 93.9\\]%", "2/3", "0.667 \\[0.000, 1.000\\]", "831 ms",
        "1.2 s", "360 / 12",
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
    assert "| billing | `anthropic:claude-sonnet-4-5` | 2 | 50.0% | 0.500 ±0.500 |" in details
    assert "| critical | `anthropic:claude-sonnet-4-5` | 1 | 100.0% | 1.000 |" in details
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


def test_intervals_and_judge_error_rate(meta: RunMeta, card: Scorecard) -> None:
    mini = next(r for r in _tables(render_markdown(meta, card))[0] if MINI in r[0])
    assert [c.strip() for c in (mini[2], mini[4])] == ["100.0% \\[51.0, 100.0\\]%",
                                                       "1.000 \\[1.000, 1.000\\]"]
    md = render_markdown(meta, card)
    assert "<sub>Brackets: 95% intervals over cases.</sub>" in md and "LLM judge" not in md
    judged = replace(card, cards=(replace(card.cards[0], judge_calls=4, judge_errors=1),
                                  replace(card.cards[1], judge_calls=2)))
    md = render_markdown(meta, judged)
    assert f"⚠️ LLM judge error rate (`{SONNET}`): 25.0% (1 of 4 verdicts unusable)" in md
    assert f"<br>LLM judge error rate (`{MINI}`): 0.0% (0 of 2 verdicts unusable)" in md


# --- Baseline comparisons ------------------------------------------------------------------

_BASE = [0.5 + 0.05 * (i % 10) for i in range(20)]


def _run(case: str, score: float) -> CaseRun:
    return CaseRun(case, SONNET, 0, "out", (), score, score >= 0.6, cost_usd=0.001,
                   latency_ms=400.0, tags=("all",), content_hash=f"h-{case}")


def _compare(shift: float, n: int = 20, noise: float = 0.01, **kw: object) -> Comparison:
    base = [_run(f"case-{i}", s) for i, s in enumerate(_BASE[:n])]
    cand = [_run(f"case-{i}", min(1.0, max(0.0, s + shift + (noise if i % 2 else -noise))))
            for i, s in enumerate(_BASE[:n])]
    options: dict[str, object] = {"margin": 0.02, "tolerance": 0.0, "on_inconclusive": "fail"}
    options.update(kw)
    return compare_runs(base, cand, baseline_label="prod | v1", candidate_label="v2",
                        **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shift", "n", "noise", "on_inconclusive", "verdict", "heading"),
    [
        (0.0, 20, 0.002, "fail", "PASS", "**✅ PASS**"),
        (-0.1, 20, 0.01, "fail", "FAIL", "**❌ FAIL**"),
        (-0.01, 6, 0.1, "fail", "INCONCLUSIVE", "**⚠️ INCONCLUSIVE**"),
        (-0.01, 6, 0.1, "warn", "INCONCLUSIVE", "**⚠️ INCONCLUSIVE (warn: exit 0)**"),
    ],
)
def test_comparison_section_per_verdict(
    shift: float, n: int, noise: float, on_inconclusive: str, verdict: str, heading: str
) -> None:
    c = _compare(shift, n, noise, on_inconclusive=on_inconclusive)
    assert c.verdict == verdict
    md = render_comparison_markdown([c])
    assert md.startswith("### Comparison with prod \\| v1\n\n" + heading + " · candidate v2")
    table = _tables(md)[0]
    assert {len(row) for row in table} == {5}
    assert [r[0].strip() for r in table[2:]] == ["Score", "Pass rate"]
    d = c.score
    if d.low is not None and d.high is not None:
        assert f"\\[{d.low:+.3f}, {d.high:+.3f}\\]" in table[2][3]
    assert "(score) at 80% power" in md
    assert "> **Decision rule.** FAIL when the 95% interval" in md
    assert "Cost/case Δ +\\$0.0000 · latency p50 Δ +0 ms · p95 Δ +0 ms" in md


def test_render_markdown_appends_comparisons_before_footer(meta: RunMeta, card: Scorecard) -> None:
    assert "### Comparison" not in render_markdown(meta, card)
    c = _compare(-0.1)
    md = render_markdown(meta, card, comparisons=[c, replace(c, baseline_label="other")])
    assert md.index("> **Pass rule.**") < md.index("### Comparison with prod") < md.index(
        "### Comparison with other") < md.index("<sub>run ")
    assert md.rstrip().endswith("2025-01-01T12:00:00Z</sub>")
    assert render_comparison_markdown([]) == ""


def test_comparison_flips_escaped_and_folded_when_long() -> None:
    flips = (Flip("ok|`x`", False, True, 0.2, 1.0), Flip("<b>bad</b>", True, False, 0.9, None))
    c = replace(_compare(-0.1), flips=flips, tag_deltas=(TagDelta("a|<i>", 3, 0.8, 0.7, -0.1),),
                changed=("e|1",), only_candidate=("new",), cost_per_case_delta_usd=None)
    md = render_comparison_markdown([c])
    flips_table = next(t for t in _tables(md) if t[0][0].strip() == "Case")
    assert [r[0].strip() for r in flips_table[2:]] == ["`<b>bad</b>`", "`` ok\\|`x` ``"]
    assert [r[1].strip() for r in flips_table[2:]] == ["❌ pass → fail", "✅ fail → pass"]
    assert flips_table[2][2].strip() == "0.900 → —"
    assert "**Flips: 1 pass → fail, 1 fail → pass**" in md and "<details><summary>Flips" not in md
    assert "| a\\|\\<i\\> | 3 | 0.800 | 0.700 | -0.100 |" in md
    not_paired = "changed content (1): `e\\|1` · only in candidate (1): `new`"
    assert f"<sub>Not paired: {not_paired}</sub>" in md
    assert "Cost/case Δ unknown" in md
    many = replace(c, flips=tuple(Flip(f"c{i}", True, False, 1.0, 0.0) for i in range(11)))
    md = render_comparison_markdown([many])
    assert "<details><summary>Flips: 11 pass → fail, 0 fail → pass</summary>" in md
    for table in _tables(md):
        assert {len(row) for row in table} == {len(table[0])}
