"""`promptops eval` / `compare` glue: progress bar, terminal scorecard, comparisons, reports."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptops.core.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from promptops.app.eval_suite import EvalResult
    from promptops.app.plan import EvalOptions, Plan
    from promptops.core.comparison import Comparison

REPORT_SUFFIXES = {".json": "run record", ".xml": "JUnit XML", ".md": "Markdown summary",
                   ".html": "HTML report"}


@dataclass(frozen=True)
class Display:
    """How results are shown and where reports go."""

    outputs: tuple[Path, ...] = ()
    json_out: bool = False
    verbose: bool = False
    quiet: bool = False


@dataclass(frozen=True)
class GateArgs:
    """`--baseline` and the comparison policy overrides."""

    baseline: str | None = None
    env: str | None = None
    margin: float | None = None
    tolerance: float | None = None
    on_inconclusive: str | None = None


def check_outputs(outputs: Sequence[Path]) -> None:
    """Refuse unknown report types before anything runs."""
    for out in outputs:
        if out.suffix.lower() not in REPORT_SUFFIXES:
            raise ConfigError(f"unknown report type {out.name!r}",
                              fix="use -o run.json, report.xml, summary.md or report.html")


@contextmanager
def _progress(plan: Plan, display: Display, label: str) -> Iterator[Callable[[Any], None] | None]:
    if display.quiet or display.json_out or os.environ.get("CI") or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=len(plan.jobs))
        yield lambda _run: progress.advance(task)


def run_eval(suite: Path, options: EvalOptions, display: Display, gate: GateArgs) -> int:
    """Run one suite end to end (and its baseline, when asked); return the exit code."""
    from promptops.app.eval_suite import execute, start

    check_outputs(display.outputs)
    plan = start(suite, options)
    for warning in plan.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    arm = _baseline_arm(plan, display, gate)
    with _progress(plan, display, plan.suite.name) as on_done:
        result = execute(plan, on_done=on_done)
    comparisons = _compare(plan, gate, arm, result) if arm is not None else []
    code = result.scorecard.exit_code
    if comparisons:
        from promptops.app.baseline import attach

        attach(result, comparisons)
        worst = max(c.exit_code for c in comparisons)
        code = 3 if code == 3 else max(code, worst)
    show(result, comparisons, display)
    return code


def _baseline_arm(plan: Plan, display: Display, gate: GateArgs) -> Any:
    """The baseline's label and runs: loaded, or run now (cached) for a prompt version."""
    from promptops.app.baseline import baseline_arm, resolve_baseline

    ref = gate.baseline or plan.suite.gate.get("baseline")
    if not ref:
        return None
    source = resolve_baseline(plan, str(ref), gate.env)
    if source.kind == "none":
        sys.stderr.write(f"note: {source.note}\n")
        return None
    with _progress(plan, display, f"baseline {source.label}") as on_done:
        return source.label, baseline_arm(plan, source, on_done=on_done)


def _compare(plan: Plan, gate: GateArgs, arm: Any, result: EvalResult) -> list[Comparison]:
    from promptops.app.compare import GatePolicy, compare

    label, baseline = arm
    policy = GatePolicy.from_suite(plan.suite.gate, margin=gate.margin, tolerance=gate.tolerance,
                                   on_inconclusive=gate.on_inconclusive)
    return compare(baseline, (result.meta, list(result.runs)), policy, baseline_label=label)


def show(result: EvalResult, comparisons: Sequence[Comparison], display: Display) -> None:
    """Print the scorecard (or the JSON record), the comparisons, and write the reports."""
    from rich.console import Console

    console = Console(highlight=False)
    if display.json_out:
        sys.stdout.write(result.record_path.read_text(encoding="utf-8"))
    else:
        from promptops.report.terminal import render_terminal

        render_terminal(result.meta, result.scorecard, console, verbose=display.verbose)
        if comparisons:
            from promptops.report.compare_terminal import render_comparisons

            render_comparisons(comparisons, console)
        console.print(f"[dim]run record: {result.record_path}[/dim]")
    write_outputs(display.outputs, result, comparisons, None if display.json_out else console)


def write_outputs(outputs: Sequence[Path], result: EvalResult, comparisons: Sequence[Comparison],
                  console: Console | None) -> None:
    """Write -o reports by suffix; append the Markdown summary to $GITHUB_STEP_SUMMARY."""
    from promptops.report.markdown import render_markdown

    markdown: str | None = None
    for out in outputs:
        out.parent.mkdir(parents=True, exist_ok=True)
        suffix = out.suffix.lower()
        if suffix == ".json":
            out.write_text(result.record_path.read_text(encoding="utf-8"), encoding="utf-8")
        elif suffix == ".xml":
            from promptops.report.junit import render_junit

            out.write_text(render_junit(result.meta, result.scorecard, result.runs),
                           encoding="utf-8")
        elif suffix == ".html":
            from promptops.report.html import render_html

            out.write_text(render_html(result.meta, result.scorecard, result.runs, comparisons),
                           encoding="utf-8")
        else:
            markdown = render_markdown(result.meta, result.scorecard, comparisons=comparisons)
            out.write_text(markdown, encoding="utf-8")
        if console is not None:
            console.print(f"[dim]wrote {REPORT_SUFFIXES[suffix]}: {out}[/dim]")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        from promptops.report.markdown import append_step_summary

        append_step_summary(
            markdown or render_markdown(result.meta, result.scorecard, comparisons=comparisons),
            os.environ)
