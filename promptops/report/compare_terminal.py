"""Rich terminal rendering of baseline-vs-candidate comparisons (`eval --baseline`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from promptops.report import formatting as f
from promptops.report import markdown as m  # its comparison text helpers are rich-free

if TYPE_CHECKING:
    from promptops.core.comparison import Comparison, Flip
    from promptops.core.stats import PairedDiff

_OK, _BAD, _WARN = "green", "red", "yellow"
_BADGE = {"PASS": "bold black on green", "FAIL": "bold white on red"}
_AMBER = "bold black on yellow"
_TAG_MIN_DELTA = 0.005  # with more than _ALL_TAGS tags, smaller changes are not listed
_ALL_TAGS = 10
_MAX_IDS = 10  # ids listed per excluded-case category


def render_comparisons(
    comparisons: Sequence[Comparison], console: Console, *, max_flips: int = 15
) -> None:
    """Print one compact block per comparison: verdict, deltas, power, flips, tags, exclusions."""
    for i, c in enumerate(comparisons):
        if i:
            console.print()
        console.print(_block(c, max_flips))


def _t(text: str, style: str = "") -> Text:
    # Text (not str) so that brackets in labels and case ids are never parsed as rich markup.
    return Text(text, style=style)


def _table() -> Table:
    return Table(
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
        header_style="bold",
        show_edge=False,
    )


def _block(c: Comparison, max_flips: int) -> Group:
    parts: list[RenderableType] = [_title(c), _verdict(c), _numbers(c)]
    notes = [m.mde_sentence(c), m.pairing_sentence(c.score)]
    parts += [_t(n) for n in notes if n]
    parts += [_t(c.rule, "dim"), _t(m.cost_latency_text(c))]
    if c.flips:
        parts.append(_flips(m.ordered_flips(c), max_flips))
    if c.tag_deltas:
        parts.append(_tags(c))
    excluded = _excluded(c)
    if excluded:
        parts.append(excluded)
    return Group(*parts)


def _title(c: Comparison) -> Text:
    line = Text.assemble(_t(c.baseline_label, "bold"), " → ", _t(c.candidate_label, "bold"))
    if c.baseline_model == c.candidate_model:
        line.append(f" · {c.candidate_model}", style="dim")
    else:
        line.append(f" · {c.baseline_model} → {c.candidate_model}", style="dim")
    return line


def _verdict(c: Comparison) -> Text:
    label = m.verdict_label(c)
    badge = _t(f" {label} ", _BADGE.get(c.verdict, _AMBER))
    line = Text.assemble(_t("Comparison: ", "bold"), badge)
    if label == c.verdict:
        line.append(f"  exit {c.exit_code}", style="dim")
    if c.verdict == "INCONCLUSIVE":
        d = c.score
        why = (f"\n  The interval of the score Δ cannot rule out a drop beyond the margin "
               f"(-{c.margin:.3f})")
        if d.low is not None:
            why += f": its lower bound is {d.low:+.3f}"
        if c.on_inconclusive == "warn":
            why += "; not blocking because on_inconclusive is warn"
        line.append(why + ".", style=f"bold {_WARN}")
    return line


def _diff_style(d: PairedDiff) -> str:
    if d.high is not None and d.high < 0:
        return _BAD  # a significant drop
    if d.low is not None and d.low > 0:
        return _OK
    return ""


def _numbers(c: Comparison) -> Table:
    table = _table()
    table.add_column("", no_wrap=True)
    # Arms may wrap between value and interval at narrow widths; Δ and p never do.
    table.add_column("Baseline", justify="right")
    table.add_column("Candidate", justify="right")
    table.add_column("Δ (95% CI)", justify="right", no_wrap=True)
    table.add_column("p", justify="right", no_wrap=True)
    table.add_row(
        _t("Score"), _t(m.arm_text(c.baseline_score)), _t(m.arm_text(c.candidate_score)),
        _t(m.diff_text(c.score), _diff_style(c.score)), _t(m.p_text(c.score.p_value)),
    )
    table.add_row(
        _t("Pass rate"), _t(m.arm_text(c.baseline_pass, pct=True)),
        _t(m.arm_text(c.candidate_pass, pct=True)),
        _t(m.diff_text(c.pass_rate, pp=True), _diff_style(c.pass_rate)),
        _t(m.p_text(c.pass_rate.p_value)),
    )
    return table


def _flips(flips: Sequence[Flip], limit: int) -> RenderableType:
    worse = sum(1 for fl in flips if not fl.after_passed)
    title = _t(f"Flips: {worse} pass → fail, {len(flips) - worse} fail → pass", "bold")
    table = _table()
    table.add_column("Case", overflow="fold")
    table.add_column("Change", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    for fl in flips[:limit]:
        style = _OK if fl.after_passed else _BAD
        change = "fail → pass" if fl.after_passed else "pass → fail"
        table.add_row(_t(fl.case_id, style), _t(change, style), _t(m.flip_scores(fl)))
    if len(flips) <= limit:
        return Group(title, table)
    return Group(title, table, _t(f"… and {len(flips) - limit} more", "dim"))


def _tags(c: Comparison) -> RenderableType:
    tags = m.sorted_tags(c)
    shown = tags if len(tags) <= _ALL_TAGS else [t for t in tags if abs(t.diff) >= _TAG_MIN_DELTA]
    hidden = len(tags) - len(shown)
    title = _t("Per-tag score Δ (worst first)", "bold")
    table = _table()
    table.add_column("Tag", overflow="fold")
    for name in ("n", "Baseline", "Candidate", "Δ"):
        table.add_column(name, justify="right", no_wrap=True)
    for t in shown:
        style = _BAD if t.diff <= -_TAG_MIN_DELTA else _OK if t.diff >= _TAG_MIN_DELTA else ""
        table.add_row(_t(t.tag), _t(str(t.n)), _t(f.score(t.baseline_mean)),
                      _t(f.score(t.candidate_mean)), _t(m.signed(t.diff), style))
    note = _t(f"{hidden} tag(s) with |Δ| < {_TAG_MIN_DELTA} not shown", "dim")
    return Group(title, table, note) if hidden else Group(title, table)


def _excluded(c: Comparison) -> Text | None:
    parts = []
    for label, ids in m.excluded_groups(c):
        more = f", … +{len(ids) - _MAX_IDS}" if len(ids) > _MAX_IDS else ""
        parts.append(f"{label} ({len(ids)}): {', '.join(ids[:_MAX_IDS])}{more}")
    return _t("Not paired: " + " · ".join(parts), "dim") if parts else None
