"""The rich terminal scorecard, rendered into a fixed-width recording console."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from report_samples import MINI, SONNET, make_card
from rich.console import Console

from promptops.core.models import RunMeta, ScoreResult
from promptops.core.scorecard import Scorecard
from promptops.report.terminal import render_terminal


def _render(meta: RunMeta, card: Scorecard, width: int = 120, **kw: object) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False)
    render_terminal(meta, card, console, **kw)  # type: ignore[arg-type]
    return console.export_text()


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_single_model_scorecard_shows_key_values(meta: RunMeta) -> None:
    card = make_card(model=SONNET)
    text = _render(meta, card)
    lines = text.splitlines()
    assert lines[0].startswith("support-router · prompt support-router@2.3.1 (beefcafe)")
    assert "git 0123456 dirty" in lines[0] and "run 20250101T120000Z-ab12" in lines[0]
    row = next(line for line in lines if line.startswith(SONNET))
    # runs, passed, failed, errors, pass rate, score, p50, p95, tokens, cost, cost/case, cache
    assert re.search(
        r"4\s+2\s+1\s+1\s+66\.7%\s+0\.667\s+831 ms\s+1\.2 s\s+360 / 12\s+\$0\.0008\*\s+"
        r"\$0\.0004\s+1$",
        row,
    ), row
    assert "1 unpriced of 3 runs" in text
    # Criterion and tag tables sit side by side at 120 columns.
    assert any("Criterion" in line and "Tag" in line for line in lines)
    assert "Unscored" in text
    assert re.search(r"refund-late required\s+\"billing \| <b>&\\\"quoted\\\"\\n", text)
    assert "no match for ^[a-z_]+$" in text
    assert re.search(r"account-locked\s+rate_limit\s+429 after 5 attempts", text)
    assert re.search(r"pass_rate\s+>= 90\.0%\s+✗ 66\.7%", text)
    assert re.search(r"score\s+>= 0\.900\s+✗ 0\.667", text)
    assert re.search(r"required cases\s+0 failed\s+✗ 1 failed", text)
    assert "Verdict: FAIL  exit 1" in text
    assert card.pass_rule in _flat(text)
    # The pass rule is the last thing printed.
    assert _flat(text).rstrip().endswith(card.pass_rule)


def test_several_models_render_a_matrix(meta: RunMeta, card: Scorecard) -> None:
    text = _render(meta, card)
    lines = text.splitlines()
    assert any(line.startswith(f"✗ {SONNET}") for line in lines)
    mini = next(line for line in lines if line.startswith(f"✓ {MINI}"))
    assert "100.0%" in mini
    assert re.search(r"unknown\s+unknown\s+0$", mini), mini  # never $0 for an unpriced model
    assert "Pass rate by criterion and tag" in text
    assert re.search(r"tag billing\s+50\.0%\s+100\.0%", text)
    assert "Unscored" not in text  # per-model criterion tables only when verbose
    assert re.search(r"cost_per_case_usd\s+<= \$0\.0020\s+✓ \$0\.0004\s+\? unknown", text)
    assert f"{SONNET}: score 0.667 (needs >= 0.900)" in _flat(text)
    assert max(len(line) for line in lines) <= 120


def test_verbose_shows_per_model_tables(meta: RunMeta, card: Scorecard) -> None:
    text = _render(meta, card, verbose=True)
    assert text.count("Unscored") == 2
    assert "Pass rate by criterion and tag" not in text


def test_error_budget_exceeded_is_exit_3(meta: RunMeta, error_card: Scorecard) -> None:
    text = _render(meta, error_card)
    assert "Verdict: ERROR (exit 3)" in text
    assert re.search(r"error_rate\s+<= 0\.0%\s+✗ 25\.0%", text)


def test_failures_are_limited(meta: RunMeta, card: Scorecard) -> None:
    bad = card.cards[0].failures[0]
    many = [replace(bad, case_id=f"case-{i}") for i in range(5)]
    crowded = replace(card, cards=(replace(card.cards[0], failures=tuple(many)),))
    text = _render(meta, crowded, max_failures=2)
    assert "case-0" in text and "case-1" in text and "case-2" not in text
    assert "… and 3 more (see the run record)" in text


def test_markup_in_data_is_printed_literally(meta: RunMeta, card: Scorecard) -> None:
    bad = card.cards[0].failures[0]
    weird = replace(
        bad,
        case_id="[bold]case[/]",
        output="[red]x[/red]",
        scores=(ScoreResult("route", "exact", 0.0, False, "got [/] instead"),),
    )
    card = replace(card, cards=(replace(card.cards[0], failures=(weird,)),))
    text = _render(meta, card)
    assert "[bold]case[/]" in text and "[red]x[/red]" in text and "got [/] instead" in text


def test_narrow_terminal_drops_columns_not_models(meta: RunMeta, card: Scorecard) -> None:
    text = _render(meta, card, width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith(f"✓ {MINI}") for line in lines)
    assert "Cache" not in text.split("Pass rate by")[0]


def test_no_color_is_respected(
    meta: RunMeta, card: Scorecard, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ansi(no_color: bool) -> str:
        if no_color:
            monkeypatch.setenv("NO_COLOR", "1")
        else:
            monkeypatch.delenv("NO_COLOR", raising=False)
        buf = io.StringIO()
        console = Console(file=buf, width=120, force_terminal=True, color_system="standard")
        render_terminal(meta, card, console)
        return buf.getvalue()

    colour = re.compile(r"\x1b\[[0-9;]*3[0-7]m")  # foreground colour codes
    assert colour.search(ansi(no_color=False))
    assert not colour.search(ansi(no_color=True))
