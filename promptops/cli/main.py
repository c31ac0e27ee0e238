"""The `promptops` command line: parse, call the app layer, render, map errors to exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from promptops import __version__
from promptops.core.errors import ConfigError

EXIT_CODES = """\b
Exit codes:
  0  passed
  1  gate failed: a threshold missed or a required case failed
  2  usage or config error, found before any model call (message gives file:line)
  3  infrastructure: providers or the git remote unreachable, or errors above the budget
  4  dirty tree (commit or stash first)      5  release tag already exists
  6  conflict: another command holds the lock, the branch is behind its upstream, or the
     push was rejected (the remote moved; the local commit stays)
  7  policy denied (not released, blocked, not served or soaked in the previous env,
     a pre-release where finals are required, a retired model)
  8  verify failed (hashes, tags or pointers)
  9  no change to version                    10 bump level smaller than the contract change
  11 rolled back, but the --probe applications did not confirm it within --slo"""

app = typer.Typer(
    name="promptops",
    help="Eval and release tool for LLM prompts.\n\n"
    "\b\nExamples:\n"
    "  promptops eval suites/customer-support-router.yaml\n"
    "  promptops eval suites/customer-support-router.yaml --model anthropic:claude-sonnet-5-5\n"
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
    baseline: Annotated[str | None, typer.Option(
        metavar="REF", help="Compare with a baseline and gate on the paired difference: a run "
        "id, a record file, NAME@VERSION (run now, cached), or `deployed`.")] = None,
    env: Annotated[str | None, typer.Option(help="Environment for `--baseline deployed` "
                                            "(default: the suite's gate.env or production).")
                   ] = None,
    margin: Annotated[float | None, typer.Option(help="Largest acceptable drop in mean score "
                                                 "(default: suite gate.margin or 0.03).")
                      ] = None,
    tolerance: Annotated[float | None, typer.Option(help="A significant drop smaller than this "
                                                    "does not fail (default 0).")] = None,
    on_inconclusive: Annotated[str | None, typer.Option(
        metavar="warn|fail", help="What an INCONCLUSIVE comparison does (default: warn, "
        "exit 0 loudly).")] = None,
    output: Annotated[list[Path] | None, typer.Option(
        "--output", "-o", metavar="FILE",
        help="Also write a report: run.json (record), report.xml (JUnit), summary.md "
        "(Markdown), report.html (self-contained page). Repeatable.")] = None,
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
      promptops eval suites/customer-support-router.yaml -m anthropic:claude-sonnet-5-5
      promptops eval suites/customer-support-router.yaml -m keyword-baseline -m openai:gpt-4o-mini
      promptops eval suites/customer-support-router.yaml -f tag:multilingual -o report.xml
      promptops eval suites/customer-support-router.yaml --resume
      promptops eval suites/customer-support-router.yaml --baseline customer-support-router@0.1.0
      promptops eval suites/customer-support-router.yaml --repeats 3 -o report.html

    \b
    Exit codes:
      0  passed
      1  gate failed: a threshold missed, a required case failed, or the comparison
         with --baseline is FAIL (or INCONCLUSIVE with --on-inconclusive fail)
      2  bad input, found before any model call
      3  provider errors above the suite's error budget
    """
    from promptops.app.plan import EvalOptions
    from promptops.cli.eval_output import Display, GateArgs, run_eval

    try:
        if repeats is not None and repeats < 1:
            raise ConfigError("--repeats must be at least 1", fix="pass e.g. --repeats 3")
        if concurrency is not None and concurrency < 1:
            raise ConfigError("--concurrency must be at least 1", fix="pass e.g. --concurrency 8")
        options = EvalOptions(
            models=tuple(model or ()), filters=tuple(filter_ or ()), sample=sample, seed=seed,
            repeats=repeats, use_cache=not no_cache, refresh=refresh,
            resume=resume_run or ("latest" if resume else None), concurrency=concurrency,
            judge=judge,
        )
        code = run_eval(
            suite, options, Display(tuple(output or ()), json_out, verbose, quiet),
            GateArgs(baseline, env, margin, tolerance, on_inconclusive),
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


@app.command("compare")
def compare_command(
    baseline: Annotated[str, typer.Argument(metavar="RUN_A", help="Baseline: run id (or a "
                                            "unique prefix) or record file.")],
    candidate: Annotated[str, typer.Argument(metavar="RUN_B", help="Candidate: run id or "
                                             "record file.")],
    margin: Annotated[float, typer.Option(help="Largest acceptable drop in mean score.")
                      ] = 0.03,
    tolerance: Annotated[float, typer.Option(help="A significant drop smaller than this does "
                                             "not fail.")] = 0.0,
    on_inconclusive: Annotated[str, typer.Option(metavar="warn|fail", help="What an "
                                                 "INCONCLUSIVE verdict does.")] = "warn",
    output: Annotated[list[Path] | None, typer.Option(
        "--output", "-o", metavar="FILE", help="Also write comparison.md (Markdown) or "
        "comparison.json.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")
                        ] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Compare two eval runs case by case: paired difference, interval, p, flips, verdict.

    \b
    Examples:
      promptops compare 20261127T063012Z-router-1a2b3c 20261127T071544Z-router-4d5e6f
      promptops compare old/run.json new/run.json --margin 0.05 -o comparison.md

    \b
    Exit codes: 0 PASS (or INCONCLUSIVE under warn), 1 FAIL (or INCONCLUSIVE under fail),
    2 unknown run or bad option.
    """
    from promptops.cli.compare_output import run_compare

    try:
        code = run_compare(baseline, candidate, margin, tolerance, on_inconclusive,
                           tuple(output or ()), json_out)
    except Exception as exc:
        raise fail(exc, debug) from None
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

    A model past its retirement date is a problem; one retiring within 60 days a warning
    (dates: `retirements:` in promptops.yaml, then the provider SDKs' deprecation tables).

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

        typer.echo(json.dumps({"ok": report.lines, "problems": report.problems,
                               "warnings": report.warnings}, indent=1))
        raise typer.Exit(2 if report.problems else 0)
    for line in report.lines:
        typer.echo(line)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
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
                   "then: promptops eval suites/sentiment.yaml -m anthropic:claude-sonnet-5-5")


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


def _register_release_commands() -> None:
    from promptops.cli import bundle_command, deploy_commands, release_cli, release_commands

    release_cli.register(app)
    release_commands.register(app)
    deploy_commands.register(app)
    bundle_command.register(app)


_register_release_commands()


def run() -> None:
    """Console-script entry point."""
    if os.environ.get("NO_COLOR"):
        os.environ.setdefault("TERM", "dumb")
    app()
