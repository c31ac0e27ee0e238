"""The rich terminal scorecard of one eval run."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from promptops.core.models import CaseRun, RunMeta
from promptops.core.scorecard import Check, GroupStats, ModelCard, Scorecard
from promptops.report import formatting as f

_OK, _BAD, _WARN = "green", "red", "yellow"


def render_terminal(
    meta: RunMeta,
    card: Scorecard,
    console: Console,
    *,
    max_failures: int = 15,
    verbose: bool = False,
) -> None:
    """Print the scorecard of one run: summary, breakdowns, failures, checks, verdict, rule."""
    console.print(_header(meta, card, verbose))
    console.print(_summary(card.cards, verbose, console.width))
    for mc in card.cards:
        line = f.headline(mc)
        if line:
            label = f"{mc.model}: " if len(card.cards) > 1 else ""
            style = _WARN if mc.judge_errors else "dim"
            console.print(_t(label + line, style))
    if verbose or len(card.cards) == 1:
        for mc in card.cards:
            console.print(_breakdown(mc, titled=len(card.cards) > 1))
    elif card.cards:
        console.print(_matrix(card.cards))
    several = len(card.cards) > 1
    failures = [r for mc in card.cards for r in mc.failures]
    # Required cases decide the verdict on their own, so they are listed first.
    failures.sort(key=lambda r: not r.required)
    if failures:
        console.print(_failures(failures, several, max_failures))
    errors = [r for mc in card.cards for r in mc.error_runs]
    if errors:
        console.print(_errors(errors, several, max_failures))
    if any(mc.checks or mc.failed_required for mc in card.cards):
        console.print(_checks(card.cards))
    # The verdict comes last so it is on screen without scrolling past the failures.
    console.print(_verdict(card))
    console.print(Text(card.pass_rule, style="dim"))


def _t(text: str, style: str = "") -> Text:
    # Text (not str) so that brackets in case ids or outputs are never parsed as rich markup.
    return Text(text, style=style)


def _table(title: str | None = None) -> Table:
    return Table(
        title=_t(title, "bold") if title else None,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
        header_style="bold",
        show_edge=False,
    )


def _header(meta: RunMeta, card: Scorecard, verbose: bool) -> Group:
    line = Text()
    line.append(meta.suite or card.suite, style="bold")
    line.append(" · prompt ", style="dim")
    line.append(f.prompt_label(meta.prompt, meta.prompt_version), style="cyan")
    line.append(f" ({f.short_hash(meta.behaviour_hash, 8)})", style="dim")
    line.append(" · git ", style="dim")
    line.append(f.short_hash(meta.git_commit, 7))
    if meta.git_dirty:
        line.append(" dirty", style=_WARN)
    line.append(" · run ", style="dim")
    line.append(meta.run_id)
    parts = [meta.started_at, f"{meta.duration_s:.1f} s"]
    if verbose:
        parts += [f"{k}={v}" for k, v in sorted(meta.options.items())]
        if meta.prices_version:
            parts.append(f"prices {meta.prices_version}")
    return Group(line, _t(" · ".join(p for p in parts if p), "dim"))


def _usd(value: float | None) -> Text:
    return _t(f.usd(value), _WARN if value is None else "")


def _rate_style(rate: float | None, card: ModelCard | None = None) -> str:
    if rate is None:
        return "dim"
    limit = next((c.limit for c in card.checks if c.name == "pass_rate"), None) if card else None
    if limit is not None:
        return _OK if rate >= limit else _BAD
    return _OK if rate >= 1.0 else _WARN


# Summary columns dropped first at narrow widths, so the rest stays readable instead of squeezed.
_SUMMARY_DROP_ORDER = ("Cache hits", "Runs", "p50", "Cost /case", "Tokens in/out", "Err")


def _summary_cells(mc: ModelCard, verbose: bool, several: bool) -> dict[str, Text]:
    model = Text()
    if several:  # a verdict mark instead of a Verdict column keeps the matrix within 120 columns
        model.append_text(_verdict_mark(mc.exit_code))
        model.append(" ")
    model.append(mc.model)
    if verbose and mc.served_models and mc.served_models != (mc.model.split(":", 1)[-1],):
        model.append(f"\n→ {', '.join(mc.served_models)}", style="dim")
    cost = _usd(mc.cost_usd)
    if f.unpriced_note(mc):
        cost.append("*", style=_WARN)  # explained by a footnote under the table
    return {
        "Model": model,
        "Runs": _t(str(mc.runs)),
        "Pass": _t(str(mc.passed), _OK if mc.passed else "dim"),
        "Fail": _t(str(mc.failed), _BAD if mc.failed else "dim"),
        "Err": _t(str(mc.errors), _BAD if mc.errors else "dim"),
        "Pass rate": _t(f.pct(mc.pass_rate), _rate_style(mc.pass_rate, mc)),
        "Score": _t(f.score(mc.mean_score)),
        "p50": _t(f.ms(mc.latency_p50_ms)),
        "p95": _t(f.ms(mc.latency_p95_ms)),
        "Tokens in/out": _t(f"{f.compact(mc.input_tokens)} / {f.compact(mc.output_tokens)}"),
        "Cost": cost,
        "Cost /case": _usd(mc.cost_per_case_usd),
        "Cache hits": _t(str(mc.cache_hits), "" if mc.cache_hits else "dim"),
    }


def _summary(cards: Sequence[ModelCard], verbose: bool, width: int) -> RenderableType:
    rows = [_summary_cells(mc, verbose, len(cards) > 1) for mc in cards]
    names = list(rows[0]) if rows else []

    def col_width(name: str) -> int:
        words = [len(w) for w in name.split()]  # headers wrap at spaces, cells never wrap
        return max(words + [line.cell_len for r in rows for line in r[name].split()])

    for drop in (None, *_SUMMARY_DROP_ORDER):
        if drop in names:
            names.remove(drop)
        # Columns are 2 apart: one of padding plus the box's blank vertical.
        if sum(col_width(n) for n in names) + 2 * (len(names) - 1) <= width:
            break
    table = _table()
    for name in names:
        if name == "Model":
            table.add_column(name, overflow="fold", ratio=1)
        else:
            table.add_column(_t(name.replace(" ", "\n")), justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*(row[n] for n in names))
    notes = [
        _t(
            f"* {mc.model}: {f.unpriced_note(mc)} of {mc.scored_runs} runs; "
            "cost covers priced runs only",
            _WARN,
        )
        for mc in cards
        if f.unpriced_note(mc)
    ]
    return Group(table, *notes) if notes else table


def _group_table(title: str, groups: Sequence[GroupStats], mc: ModelCard, unscored: bool) -> Table:
    table = _table()
    table.add_column(title, overflow="fold")
    for name in ("Runs", "Pass rate", "Score") + (("Unscored",) if unscored else ()):
        table.add_column(name, justify="right", no_wrap=True)
    for g in groups:
        row = [
            _t(g.key),
            _t(str(g.runs)),
            _t(f.pct(g.pass_rate), _rate_style(g.pass_rate, mc)),
            _t(f"{f.score(g.mean_score)} {f.plus_minus(g.ci)}".rstrip()),
        ]
        if unscored:
            row.append(_t(str(g.unscored), _WARN if g.unscored else "dim"))
        table.add_row(*row)
    return table


def _breakdown(mc: ModelCard, titled: bool) -> RenderableType:
    parts: list[RenderableType] = []
    if mc.by_criterion:
        parts.append(_group_table("Criterion", mc.by_criterion, mc, unscored=True))
    if mc.by_tag:
        parts.append(_group_table("Tag", mc.by_tag, mc, unscored=False))
    # Columns puts the two tables side by side when they fit and stacks them otherwise.
    body = Columns(parts, padding=(0, 4))
    return Group(_t(mc.model, "bold"), body) if titled else body


def _matrix(cards: Sequence[ModelCard]) -> Table:
    table = _table("Pass rate by criterion and tag")
    table.add_column("", overflow="fold")
    for mc in cards:
        table.add_column(mc.model, justify="right", overflow="fold")
    for attr, prefix in (("by_criterion", ""), ("by_tag", "tag ")):
        keys = sorted({g.key for mc in cards for g in getattr(mc, attr)})
        if keys and prefix:
            table.add_section()
        for key in keys:
            row: list[RenderableType] = [_t(prefix + key, "dim" if prefix else "")]
            for mc in cards:
                g = next((g for g in getattr(mc, attr) if g.key == key), None)
                rate = g.pass_rate if g else None
                row.append(_t(f.pct(rate), _rate_style(rate, mc)))
            table.add_row(*row)
    return table


def _more(shown: int, total: int) -> Text | None:
    if total <= shown:
        return None
    return _t(f"… and {total - shown} more (see the run record)", "dim")


def _failures(runs: Sequence[CaseRun], several: bool, limit: int) -> RenderableType:
    table = _table(f"Failing cases ({len(runs)})")
    table.add_column("Case", style="bold", overflow="fold")
    if several:
        table.add_column("Model", overflow="fold")
    table.add_column("Output", overflow="fold", max_width=40)
    table.add_column("Why", overflow="fold", ratio=1)
    for run in runs[:limit]:
        case = Text(f.case_label(run), style=_BAD)
        if run.required:
            case.append(" required", style="bold red")
        row: list[RenderableType] = [case]
        if several:
            row.append(_t(run.model, "dim"))
        reasons = "\n".join(f.clip(r, 200) for r in f.failure_reasons(run))
        row += [_t(f.truncate(run.output), "dim"), _t(reasons)]
        table.add_row(*row)
    more = _more(min(limit, len(runs)), len(runs))
    return Group(table, more) if more else table


def _errors(runs: Sequence[CaseRun], several: bool, limit: int) -> RenderableType:
    table = _table(f"Provider errors ({len(runs)})")
    table.add_column("Case", style="bold", overflow="fold")
    if several:
        table.add_column("Model", overflow="fold")
    table.add_column("Kind", style=_WARN, no_wrap=True)
    table.add_column("Message", overflow="fold", ratio=1)
    for run in runs[:limit]:
        row = [_t(f.case_label(run))]
        if several:
            row.append(_t(run.model, "dim"))
        row += [_t(run.error_kind or "error"), _t(f.clip(run.error or "", 300))]
        table.add_row(*row)
    more = _more(min(limit, len(runs)), len(runs))
    return Group(table, more) if more else table


def _symbol(check: Check) -> Text:
    sym = f.check_symbol(check)
    return _t(sym, {"✓": _OK, "✗": f"bold {_BAD}"}.get(sym, _WARN))


def _checks(cards: Sequence[ModelCard]) -> Table:
    table = _table("Checks")
    table.add_column("Check")
    table.add_column("Limit")
    for mc in cards:
        table.add_column(mc.model if len(cards) > 1 else "Actual", overflow="fold")
    by_name: dict[str, list[Check | None]] = {}
    for i, mc in enumerate(cards):
        for check in mc.checks:
            by_name.setdefault(check.name, [None] * len(cards))[i] = check
    for name, checks in by_name.items():
        first = next(c for c in checks if c is not None)
        row = [_t(name), _t(f"{first.op} {f.check_value(name, first.limit)}")]
        for c in checks:
            if c is None:
                row.append(_t(f.NA))
            else:
                cell = Text.assemble(_symbol(c), " ", f.check_value(name, c.actual))
                if f.check_symbol(c) == "?":
                    cell.append(" (not checked)", style="dim")
                row.append(cell)
        table.add_row(*row)
    if any(mc.failed_required for mc in cards):
        row = [_t("required cases"), _t("0 failed")]
        for mc in cards:
            n = mc.failed_required
            row.append(_t(f"✗ {n} failed", _BAD) if n else _t("✓ 0 failed", _OK))
        table.add_row(*row)
    return table


def _verdict_style(code: int) -> str:
    return {0: f"bold {_OK}", 3: f"bold {_WARN}"}.get(code, f"bold {_BAD}")


def _verdict_mark(code: int) -> Text:
    return _t({0: "✓", 3: "!"}.get(code, "✗"), _verdict_style(code))


def _verdict_text(code: int) -> Text:
    return _t(f.verdict(code), _verdict_style(code))


def _verdict(card: Scorecard) -> Text:
    line = Text.assemble(_t("Verdict: ", "bold"), _verdict_text(card.exit_code))
    if card.exit_code != 3:
        line.append(f"  exit {card.exit_code}", style="dim")
    for mc in card.cards:
        reasons = f.verdict_reasons(mc)
        if reasons:
            who = f"{mc.model}: " if len(card.cards) > 1 else ""
            line.append(f"\n  {who}" + "; ".join(reasons), style=_BAD if mc.exit_code else "")
    return line
