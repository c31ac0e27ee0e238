"""The `promptops` command line: parse, call the app layer, render, map errors to exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from promptops import __version__

EXIT_CODES = """\b
Exit codes:
  0  passed
  1  gate failed: a threshold missed or a required case failed
  2  usage or config error, found before any model call (message gives file:line)
  3  infrastructure: providers unreachable or errors above the error budget"""

app = typer.Typer(
    name="promptops",
    help="Eval and release tool for LLM prompts.\n\n"
    "\b\nExamples:\n"
    "  promptops eval suites/customer-support-router.yaml\n"
    "  promptops eval suites/customer-support-router.yaml --model anthropic:claude-sonnet-4-5\n"
    "  promptops lint\n"
    "  promptops init\n\n" + EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
cache_app = typer.Typer(help="Inspect or clear the response cache (.promptops/cache.db).",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"promptops {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Eval and release tool for LLM prompts."""


def fail(exc: BaseException, debug: bool) -> typer.Exit:
    """Print one clear message (a traceback only with --debug) and return the exit."""
    from promptops.core.errors import PromptopsError

    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, PromptopsError):
        typer.echo(f"error: {exc.message}", err=True)
        return typer.Exit(exc.exit_code)
    typer.echo(f"internal error: {type(exc).__name__}: {exc} (re-run with --debug)", err=True)
    return typer.Exit(70)


@app.command("eval")
def eval_command(
    suite: Annotated[Path, typer.Argument(metavar="SUITE",
                                                 help="Suite file, e.g. suites/my-suite.yaml.")],
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", metavar="MODEL", help="provider:model or alias; repeat for a matrix. "
        "Overrides the suite's models.")] = None,
    filter_: Annotated[list[str] | None, typer.Option(
        "--filter", "-f", metavar="TERM",
        help="Run cases whose tag or id matches: `tag:billing`, `id:ref-*`, a bare word, or "
        "`!word` to exclude. Repeatable (any match).")] = None,
    sample: Annotated[int | None, typer.Option(help="Run a random sample of N cases.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample.")] = 0,
    repeats: Annotated[int | None, typer.Option(help="Run each case K times (each repeat "
                                                "cached separately).")] = None,
    judge: Annotated[str | None, typer.Option(metavar="MODEL", help="Judge model for every "
                                              "llm_judge criterion.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the "
                                           "response cache.")] = False,
    refresh: Annotated[bool, typer.Option(help="Call the models again and overwrite the "
                                          "cached responses.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue the latest unfinished run of this "
                                         "suite; finished cases are not sent again.")] = False,
    resume_run: Annotated[str | None, typer.Option(help="Continue this run id instead of the "
                                                   "latest.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Requests in flight per provider "
                                                    "(default: promptops.yaml).")] = None,
    output: Annotated[list[Path] | None, typer.Option(
        "--output", "-o", metavar="FILE",
        help="Also write a report: run.json (record), report.xml (JUnit), summary.md "
        "(Markdown). Repeatable.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run record as JSON "
                                           "instead of the scorecard.")] = False,
    exit_zero: Annotated[bool, typer.Option(help="Exit 0 whatever the verdict, and say which "
                                            "code CI would get (for demos).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More tables.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Run a suite against its models and print a scorecard.

    \b
    Examples:
      promptops eval suites/customer-support-router.yaml
      promptops eval suites/customer-support-router.yaml -m anthropic:claude-sonnet-4-5
      promptops eval suites/customer-support-router.yaml -m keyword-baseline -m openai:gpt-4o-mini
      promptops eval suites/customer-support-router.yaml -f tag:multilingual -o report.xml
      promptops eval suites/customer-support-router.yaml --resume

    \b
    Exit codes:
      0  passed
      1  gate failed: a threshold missed or a required case failed
      2  bad input, found before any model call
      3  provider errors above the suite's error budget
    """
    from promptops.cli.eval_output import run_eval

    try:
        code = run_eval(
            suite, models=tuple(model or ()), filters=tuple(filter_ or ()), sample=sample,
            seed=seed, repeats=repeats, use_cache=not no_cache, refresh=refresh,
            resume=resume_run or ("latest" if resume else None), concurrency=concurrency,
            judge=judge,
            outputs=tuple(output or ()), json_out=json_out, verbose=verbose, quiet=quiet,
        )
    except KeyboardInterrupt:
        typer.echo("interrupted: finished cases are journalled; continue with "
                   f"`promptops eval {suite} --resume`", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:
        raise fail(exc, debug) from None
    if exit_zero and code:
        typer.echo(f"(a CI run would exit {code}; --exit-zero returned 0)", err=True)
        code = 0
    raise typer.Exit(code)


@app.command("lint")
def lint_command(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Suites or prompt files to check (default: every file under suites/ and prompts/).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Validate prompts and suites without calling any model (exit 2 on any problem).

    \b
    Examples:
      promptops lint
      promptops lint suites/customer-support-router.yaml --json
    """
    from promptops.app.lint import lint

    try:
        report = lint(tuple(paths or ()))
    except Exception as exc:
        raise fail(exc, debug) from None
    if json_out:
        import json

        typer.echo(json.dumps({"ok": report.lines, "problems": report.problems}, indent=1))
        raise typer.Exit(2 if report.problems else 0)
    for line in report.lines:
        typer.echo(line)
    for problem in report.problems:
        typer.echo(f"error: {problem}", err=True)
    raise typer.Exit(2 if report.problems else 0)


@app.command("init")
def init_command(
    folder: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Write into a non-empty folder (never "
                                        "overwrites existing files).")] = False,
    dry_run: Annotated[bool, typer.Option(help="List the files without writing them.")] = False,
) -> None:
    """Scaffold a working project: config, a prompt, a suite with an offline baseline, CI workflow.

    \b
    Example:
      mkdir my-prompts && cd my-prompts
      promptops init && promptops eval suites/sentiment.yaml
    """
    from promptops.app.init_project import scaffold

    try:
        written = scaffold(folder, force=force, dry_run=dry_run)
    except Exception as exc:
        raise fail(exc, False) from None
    for path in written:
        typer.echo(f"{'would create' if dry_run else 'created'} {path}")
    if not dry_run:
        typer.echo("next: promptops eval suites/sentiment.yaml   (offline keyword baseline)\n"
                   "then: promptops eval suites/sentiment.yaml -m anthropic:claude-sonnet-4-5")


@cache_app.command("stats")
def cache_stats(
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show entries, hits and size of the response cache.  Example: promptops cache stats"""
    import json
    from dataclasses import asdict

    from promptops.storage.cache import ResponseCache
    from promptops.storage.project import find_root, state_dir

    cache = ResponseCache(state_dir(find_root()) / "cache.db")
    stats = cache.stats()
    cache.close()
    if json_out:
        typer.echo(json.dumps(asdict(stats)))
        return
    typer.echo(f"{stats.path}: {stats.entries} responses, {stats.hits} hits, "
               f"{stats.bytes / 1024:.0f} KiB")
    for model, n in stats.by_model:
        typer.echo(f"  {model}: {n}")


@cache_app.command("clear")
def cache_clear(
    older_than_days: Annotated[float | None, typer.Option(help="Only entries older than this.")
                               ] = None,
    dry_run: Annotated[bool, typer.Option(help="Say what would be deleted.")] = False,
) -> None:
    """Delete cached responses.  Example: promptops cache clear --older-than-days 30"""
    from promptops.storage.cache import ResponseCache
    from promptops.storage.project import find_root, state_dir

    cache = ResponseCache(state_dir(find_root()) / "cache.db")
    if dry_run:
        typer.echo(f"would delete up to {cache.stats().entries} responses")
    else:
        n = cache.clear(older_than_days * 86400 if older_than_days is not None else None)
        typer.echo(f"deleted {n} responses")
    cache.close()


def run() -> None:
    """Console-script entry point."""
    if os.environ.get("NO_COLOR"):
        os.environ.setdefault("TERM", "dumb")
    app()
