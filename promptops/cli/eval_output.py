"""`promptops eval` glue: progress bar, terminal scorecard and report files."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from promptops.core.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from promptops.app.eval_suite import EvalResult

REPORT_SUFFIXES = {".json": "run record", ".xml": "JUnit XML", ".md": "Markdown summary"}


def _check_outputs(outputs: Sequence[Path]) -> None:
    for out in outputs:
        if out.suffix.lower() not in REPORT_SUFFIXES:
            raise ConfigError(
                f"unknown report type {out.name!r}",
                fix="use -o run.json, -o report.xml or -o summary.md",
            )


def _progress_wanted(quiet: bool, json_out: bool) -> bool:
    return not (quiet or json_out or os.environ.get("CI")) and sys.stderr.isatty()


def run_eval(
    suite: Path, *, models: tuple[str, ...], filters: tuple[str, ...], sample: int | None,
    seed: int, repeats: int | None, use_cache: bool, refresh: bool, resume: str | None,
    concurrency: int | None, outputs: tuple[Path, ...], json_out: bool, verbose: bool,
    quiet: bool, judge: str | None = None,
) -> int:
    """Run one suite end to end; return the exit code."""
    from promptops.app.eval_suite import execute, start
    from promptops.app.plan import EvalOptions

    _check_outputs(outputs)
    if repeats is not None and repeats < 1:
        raise ConfigError("--repeats must be at least 1", fix="pass e.g. --repeats 3")
    if concurrency is not None and concurrency < 1:
        raise ConfigError("--concurrency must be at least 1", fix="pass e.g. --concurrency 8")
    options = EvalOptions(models=models, filters=filters, sample=sample, seed=seed,
                          repeats=repeats, use_cache=use_cache, refresh=refresh, resume=resume,
                          concurrency=concurrency, judge=judge)
    plan = start(suite, options)
    for warning in plan.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    from rich.console import Console

    console = Console(stderr=False, highlight=False)
    if _progress_wanted(quiet, json_out):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(plan.suite.name, total=len(plan.jobs))
            result = execute(plan, on_done=lambda _run: progress.advance(task))
    else:
        result = execute(plan)
    if json_out:
        sys.stdout.write(result.record_path.read_text(encoding="utf-8"))
    else:
        from promptops.report.terminal import render_terminal

        render_terminal(result.meta, result.scorecard, console, verbose=verbose)
        console.print(f"[dim]run record: {result.record_path}[/dim]")
    _write_outputs(outputs, result, console if not json_out else None)
    return result.scorecard.exit_code


def _write_outputs(outputs: Sequence[Path], result: EvalResult, console: Console | None) -> None:
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
        else:
            from promptops.report.markdown import render_markdown

            markdown = render_markdown(result.meta, result.scorecard)
            out.write_text(markdown, encoding="utf-8")
        if console is not None:
            console.print(f"[dim]wrote {REPORT_SUFFIXES[suffix]}: {out}[/dim]")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        from promptops.report.markdown import append_step_summary, render_markdown

        append_step_summary(markdown or render_markdown(result.meta, result.scorecard),
                            os.environ)

