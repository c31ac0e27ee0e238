"""The `promptops release` command: gate a candidate, mark it released, commit and tag it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from promptops.cli.release_cli import NoPush, push_line

if TYPE_CHECKING:
    from promptops.app.release import ReleaseResult


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def render(result: ReleaseResult, no_push: bool = False) -> str:
    """The human-readable report of a release (or of a failed gate)."""
    mean = "n/a" if result.mean_score is None else f"{result.mean_score:.3f}"
    source = f"reused run {result.run_id}" if result.reused else f"run {result.run_id}"
    lines = [f"scorecard: {result.cases} cases · pass rate {_pct(result.pass_rate)} · "
             f"mean score {mean} · {result.model} · {result.suite} ({source})"]
    lines += [f"  {note}" for note in result.notes]
    if result.exit_code:
        lines.append(f"release of {result.name}@{result.version} refused:")
        lines += [f"  ✗ {reason}" for reason in result.reasons]
        lines.append(f"exit {result.exit_code}")
    elif result.dry_run:
        lines.append(f"would release {result.name}@{result.version}: gate passed "
                     f"(scorecard {result.scorecard_hash}); nothing written (--dry-run)")
    else:
        lines.append(f"released {result.name}@{result.version} · tag {result.tag} · "
                     f"commit {str(result.commit)[:12]} · "
                     + push_line(result.pushed, result.upstream, no_push))
        lines.append(f"  scorecard {result.scorecard_path} ({result.scorecard_hash})")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the `release` command to the CLI."""
    from promptops.cli.main import fail

    @app.command("release")
    def release_command(
        ref: Annotated[str, typer.Argument(metavar="NAME[@VERSION]",
                                           help="Prompt to release; the version defaults to "
                                           "the latest bumped one.")],
        suite: Annotated[Path | None, typer.Option(
            metavar="SUITE", help="Suite that gates it (default: the one suite whose "
            "`prompt:` is NAME).")] = None,
        gate_env: Annotated[str, typer.Option(
            help="Compare against the version deployed here (deploy/<env>.yaml).")
        ] = "production",
        on_inconclusive: Annotated[str | None, typer.Option(
            metavar="warn|fail", help="An INCONCLUSIVE comparison warns or fails "
            "(default: the suite's gate.on_inconclusive).")] = None,
        actor: Annotated[str | None, typer.Option(
            help="Who releases (CI identity); default: git user.")] = None,
        dry_run: Annotated[bool, typer.Option(
            help="Check and gate (the eval may run; it is cached); write nothing, push "
            "nothing (it still fetches to check the branch is up to date).")] = False,
        no_push: NoPush = False,
        json_out: Annotated[bool, typer.Option("--json", help="Machine-readable result.")
                            ] = False,
        debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
    ) -> None:
        """Gate a candidate version on its scorecard, then mark it released and tag it.

        Reuses the newest run with the same behaviour hash, model and suite hash (or runs the
        suite now), checks the suite's thresholds and required cases, and compares it paired
        against the version deployed in --gate-env. On a pass: the scorecard is committed to
        suites/scorecards/NAME/VERSION.json, the registry marks the version released, an event
        is written, and the annotated tag prompts/NAME@VERSION carries the release record.

        When the branch has an upstream (e.g. origin/main) it fetches first and refuses a branch
        that is behind or diverged (exit 6, nothing written); after the commit and tag it pushes
        both with one `git push --atomic` (never forced). If the remote moved in between, the
        push is rejected (exit 6): the local commit stays, the local tag is removed, and
        `git pull --rebase` then `promptops release NAME@VERSION` re-tags it and pushes.
        --no-push keeps everything local.

        \b
        Examples:
          promptops release customer-support-router
          promptops release customer-support-router@2.4.0 --dry-run
          promptops release customer-support-router@2.4.0-rc.1 --suite suites/csr.yaml
          promptops release customer-support-router --gate-env staging --on-inconclusive fail

        \b
        Exit codes: 0 released (or would be, with --dry-run) · 1 gate failed (thresholds,
        required case, or a regression vs the deployed version) · 2 bad input · 3 providers
        failing or the remote unreachable · 4 dirty tree · 5 tag exists · 6 conflict: the
        lock is held, the branch is behind its upstream, or the push was rejected · 7 not a
        candidate (released without tag, yanked) or its model is retired · 8 snapshot hash
        mismatch.
        """
        from promptops.app.release import release

        name, _, version = ref.partition("@")
        try:
            if on_inconclusive not in (None, "warn", "fail"):
                from promptops.core.errors import ConfigError

                raise ConfigError(f"--on-inconclusive {on_inconclusive!r}", fix="use warn or fail")
            result = release(Path.cwd(), name, version or None, suite=suite, gate_env=gate_env,
                             dry_run=dry_run, actor=actor, on_inconclusive=on_inconclusive,
                             push=not no_push)
        except Exception as exc:
            raise fail(exc, debug) from None
        if json_out:
            typer.echo(json.dumps(asdict(result), indent=1, default=str))
        else:
            typer.echo(render(result, no_push))
        if result.exit_code:
            raise typer.Exit(result.exit_code)

    @app.command("yank")
    def yank_command(
        ref: Annotated[str, typer.Argument(metavar="NAME@VERSION", help="The version to "
                                           "withdraw everywhere.")],
        reason: Annotated[str, typer.Option(help="Why (required; recorded in the event).")],
        actor: Annotated[str | None, typer.Option(
            help="Who yanks (CI identity); default: git user.")] = None,
        dry_run: Annotated[bool, typer.Option(help="Show what would change; write nothing.")
                           ] = False,
        no_push: NoPush = False,
        json_out: Annotated[bool, typer.Option("--json", help="Machine-readable result.")
                            ] = False,
        debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
    ) -> None:
        """Withdraw a version everywhere: the registry marks it yanked (one commit).

        A yanked version can no longer be promoted or rolled back to (rollback skips it and
        goes further back); the registry's `current` moves to the newest release left. Its tag
        stays. A version an environment still serves is refused: roll it back first
        (`promptops rollback NAME --env ENV --yank` blocks it in that environment only).

        \b
        Examples:
          promptops yank customer-support-router@0.3.0 --reason "leaks internal queue names"
          promptops yank customer-support-router@0.3.0 --reason "INC-12" --dry-run --json

        \b
        Exit codes: 0 yanked (or would be) · 2 bad input, no reason, unknown version · 3 the
        remote is unreachable · 4 dirty tree · 6 conflict (lock held, branch behind its
        upstream, push rejected) · 7 still deployed somewhere, or already yanked.
        """
        from promptops.app.yank import yank

        name, _, version = ref.partition("@")
        try:
            if not name or not version:
                from promptops.core.errors import ConfigError

                raise ConfigError(f"expected NAME@VERSION, got {ref!r}",
                                  fix="e.g. promptops yank customer-support-router@0.3.0 "
                                  "--reason ...")
            result = yank(Path.cwd(), name, version, reason=reason, dry_run=dry_run,
                          actor=actor, push=not no_push)
        except Exception as exc:
            raise fail(exc, debug) from None
        for warning in result.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if json_out:
            typer.echo(json.dumps(asdict(result), indent=1, default=str))
            return
        verb = "would yank" if dry_run else "yanked"
        text = (f"{verb} {name}@{version} (was {result.previous_status}); current release: "
                f"{result.current or 'none'}")
        if result.commit:
            text += (f"\n  commit {result.commit[:12]} · event {result.event} · "
                     + push_line(result.pushed, result.upstream, no_push))
        typer.echo(text)
