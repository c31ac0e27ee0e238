"""Comparison blocks in the terminal: verdict badge, Δ with interval, power, flips, exclusions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import pytest
from rich.console import Console

from promptops.core.comparison import Comparison, Flip, TagDelta, compare_runs
from promptops.core.models import CaseRun
from promptops.report.compare_terminal import render_comparisons

MODEL = "anthropic:claude-sonnet-4-5"
BASE = [0.5 + 0.05 * (i % 10) for i in range(20)]  # 0.50 … 0.95, varied so the SE is not 0


def _run(case: str, score: float, tags: tuple[str, ...] = ("all",)) -> CaseRun:
    return CaseRun(case, MODEL, 0, "out", (), score, score >= 0.6, cost_usd=0.001,
                   latency_ms=400.0, tags=tags, content_hash=f"h-{case}")


def _compare(shift: float, n: int = 20, noise: float = 0.01, **kw: object) -> Comparison:
    """Candidate = baseline + shift, with alternating noise; labels `base` → `cand`."""
    base = [_run(f"case-{i}", s) for i, s in enumerate(BASE[:n])]
    cand = [_run(f"case-{i}", min(1.0, max(0.0, s + shift + (noise if i % 2 else -noise))))
            for i, s in enumerate(BASE[:n])]
    options: dict[str, object] = {"margin": 0.02, "tolerance": 0.0, "on_inconclusive": "fail"}
    options.update(kw)
    return compare_runs(base, cand, baseline_label="base", candidate_label="cand",
                        **options)  # type: ignore[arg-type]


def _render(comparisons: Sequence[Comparison], **kw: int) -> str:
    console = Console(width=120, record=True, color_system=None)
    render_comparisons(comparisons, console, **kw)
    return console.export_text()


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_fail_block_shows_verdict_delta_interval_and_power() -> None:
    c = _compare(-0.1)
    assert c.verdict == "FAIL"
    text = _render([c])
    lines = text.splitlines()
    assert lines[0] == f"base → cand · {MODEL}"
    assert "FAIL" in lines[1] and "exit 1" in lines[1]
    d = c.score
    assert d.low is not None and d.high is not None and d.mde is not None
    delta = f"{d.mean_diff:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
    assert delta.startswith("-0.1")
    row = next(line for line in lines if line.startswith("Score"))
    assert row.rstrip().endswith(delta + "  <0.001"), row
    assert f"0.725 [{c.baseline_score.low:.3f}, {c.baseline_score.high:.3f}]" in row
    pass_row = next(line for line in lines if line.startswith("Pass rate"))
    arm = r"[\d.]+% \[[\d., ]+\]%"
    assert re.match(rf"Pass rate\s+{arm}\s+{arm}\s+-[\d.]+ pp \[[-+][\d.]+, [-+][\d.]+\]",
                    pass_row), pass_row
    assert f"This suite can detect a drop of {d.mde * 100:.1f} pp (score) at 80% power" in text
    assert "Pairing: correlation" in text and "unpaired (" in text and "smaller)" in text
    assert c.rule in _flat(text)


@pytest.mark.parametrize(
    ("on_inconclusive", "badge"),
    [("warn", "INCONCLUSIVE (warn: exit 0)"), ("fail", "INCONCLUSIVE")],
)
def test_inconclusive_badge_says_whether_it_blocks(on_inconclusive: str, badge: str) -> None:
    c = _compare(-0.01, n=6, noise=0.1, on_inconclusive=on_inconclusive)
    assert c.verdict == "INCONCLUSIVE"
    verdict = _render([c]).splitlines()[1]
    assert f" {badge} " in verdict
    assert ("exit 1" in verdict) is (on_inconclusive == "fail")
    assert ("not blocking" in _render([c])) is (on_inconclusive == "warn")


def test_pass_and_several_comparisons_in_order() -> None:
    ok = _compare(0.0, noise=0.002)
    assert ok.verdict == "PASS"
    text = _render([ok, replace(ok, baseline_label="other")])
    assert "PASS" in text.splitlines()[1] and "exit 0" in text.splitlines()[1]
    assert text.index("base → cand") < text.index("other → cand")


def test_flips_regressions_first_and_capped() -> None:
    flips = (
        Flip("fixed-1", False, True, 0.4, 0.9),
        Flip("broke-1", True, False, 0.9, 0.3),
        Flip("fixed-2", False, True, None, 1.0),
        Flip("broke-2", True, False, 0.8, None),
    )
    c = replace(_compare(-0.1), flips=flips)
    text = _render([c])
    assert "Flips: 2 pass → fail, 2 fail → pass" in text
    order = [text.index(i) for i in ("broke-1", "broke-2", "fixed-1", "fixed-2")]
    assert order == sorted(order)
    assert re.search(r"broke-1\s+pass → fail\s+0\.900 → 0\.300", text)
    assert re.search(r"fixed-2\s+fail → pass\s+— → 1\.000", text)
    capped = _render([c], max_flips=3)
    assert "broke-2" in capped and "fixed-1" in capped and "fixed-2" not in capped
    assert "… and 1 more" in capped


def test_cost_and_latency_deltas_known_and_unknown() -> None:
    c = replace(_compare(-0.1), cost_per_case_delta_usd=0.001, latency_p50_delta_ms=-120.0,
                latency_p95_delta_ms=1500.0)
    assert "Cost/case Δ +$0.0010 · latency p50 Δ -120 ms · p95 Δ +1.5 s" in _render([c])
    unknown = replace(c, cost_per_case_delta_usd=None, latency_p50_delta_ms=None,
                      latency_p95_delta_ms=None)
    assert "Cost/case Δ unknown · latency p50 Δ unknown · p95 Δ unknown" in _render([unknown])


def test_excluded_cases_are_listed() -> None:
    c = replace(_compare(-0.1), changed=("edited",), only_baseline=("gone-1", "gone-2"),
                only_candidate=(), errored=("[boom]",))
    line = next(x for x in _render([c]).splitlines() if x.startswith("Not paired"))
    assert line == ("Not paired: changed content (1): edited · only in baseline (2): "
                    "gone-1, gone-2 · errored (1): [boom]")
    assert "Not paired" not in _render([_compare(-0.1)])


def test_too_few_paired_cases_and_markup_safety() -> None:
    c = replace(_compare(-0.1, n=1), baseline_label="[bold]v1[/bold]")
    text = _render([c])
    assert "too few paired cases to estimate" in text
    assert text.splitlines()[0].startswith("[bold]v1[/bold] → cand")


def test_tags_worst_first_and_small_deltas_hidden_when_many() -> None:
    few = tuple(TagDelta(f"t{i}", 4, 0.8, 0.8 + d, d) for i, d in enumerate((0.05, -0.2, 0.0)))
    text = _render([replace(_compare(-0.1), tag_deltas=few)])
    assert text.index("t1") < text.index("t2") < text.index("t0")  # -0.2, 0.0, +0.05
    assert re.search(r"t1\s+4\s+0\.800\s+0\.600\s+-0\.200", text)
    many = tuple(TagDelta(f"tag-{i:02d}", 3, 0.7, 0.7, 0.0) for i in range(11))
    many += (TagDelta("hurt", 3, 0.7, 0.6, -0.1),)
    text = _render([replace(_compare(-0.1), tag_deltas=many)])
    assert "hurt" in text and "tag-00" not in text
    assert "11 tag(s) with |Δ| < 0.005 not shown" in text
