"""Release-flow commands: bump (and, as they land, verify, history, status ...)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

Json = Annotated[bool, typer.Option("--json", help="Machine-readable result.")]
DryRun = Annotated[bool, typer.Option(help="Show what would change; write nothing.")]
Debug = Annotated[bool, typer.Option(help="Show tracebacks.")]
NoPush = Annotated[bool, typer.Option(
    "--no-push", help="Keep everything local: no fetch, no push (the default pushes when the "
    "branch has an upstream).")]


def push_line(pushed: bool, upstream: str | None, no_push: bool) -> str:
    """Where the commit went: pushed to origin/main, or why it stayed local."""
    if pushed:
        return f"pushed to {upstream}"
    if no_push:
        return "not pushed (--no-push)"
    return "not pushed" if upstream else "local only (no upstream)"


def _emit(result: Any, json_out: bool, text: str) -> None:
    if json_out:
        typer.echo(json.dumps(asdict(result), indent=1, default=str))
    else:
        typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add the release-flow commands to the CLI."""
    from promptops.cli.main import fail

    @app.command("bump")
    def bump_command(
        name: Annotated[str, typer.Argument(help="Prompt name (folder under prompts/).")],
        level: Annotated[str, typer.Argument(metavar="major|minor|patch")],
        note: Annotated[str, typer.Option(help="What changed and why (goes to the changelog).")],
        pre: Annotated[str | None, typer.Option(metavar="LABEL", help="Make a pre-release, "
                                                "e.g. rc: 1.2.0 -> 1.3.0-rc.1.")] = None,
        finalize: Annotated[bool, typer.Option(help="Turn the latest pre-release into its "
                                               "final version (same behaviour only).")] = False,
        force: Annotated[bool, typer.Option(help="Accept a level below the detected minimum "
                                            "(needs --reason; recorded).")] = False,
        reason: Annotated[str | None, typer.Option(help="Why --force is right.")] = None,
        allow_dirty: Annotated[bool, typer.Option(help="Do not require a clean tree.")] = False,
        no_push: NoPush = False,
        dry_run: DryRun = False,
        json_out: Json = False,
        debug: Debug = False,
    ) -> None:
        """Snapshot a prompt's head as its next version (refuses too small a level).

        When the branch has an upstream, fetches first, refuses a branch that is behind it
        (exit 6, nothing written) and pushes the commit; --no-push keeps it local.

        \b
        Examples:
          promptops bump customer-support-router patch --note "Clarify the refund rule"
          promptops bump customer-support-router minor --pre rc --note "Switch to Haiku"
          promptops bump customer-support-router minor --finalize --note "rc.2 passed"

        \b
        Exit codes: 0 done · 2 bad input · 3 the remote is unreachable · 4 dirty tree
        · 6 conflict: the lock is held, the branch is behind its upstream, or the push was
        rejected (the local commit stays: git pull --rebase, then git push) · 9 nothing
        changed · 10 the level is smaller than the contract change requires.
        """
        from promptops.app.bump import bump

        try:
            result = bump(Path.cwd(), name, level, note, pre=pre, finalize=finalize,
                          force=force, reason=reason, dry_run=dry_run, allow_dirty=allow_dirty,
                          push=not no_push)
        except Exception as exc:
            raise fail(exc, debug) from None
        lines = [f"{'would bump' if dry_run else 'bumped'} {name} "
                 f"{result.old or '(none)'} → {result.new} ({level}"
                 + (f"; contract requires {result.detected}" if result.detected else "") + ")"]
        lines += [f"  {c.level:<5} {c.area}: {c.field} — {c.change}" for c in result.changes]
        if not dry_run:
            lines.append(f"  snapshot {result.snapshot} · commit {str(result.commit)[:12]} · "
                         + push_line(result.pushed, result.upstream, no_push))
        _emit(result, json_out, "\n".join(lines))

    @app.command("verify")
    def verify_command(
        as_of: Annotated[str | None, typer.Option(
            "--as-of", metavar="YYYY-MM-DD", help="Judge model retirements as of this date "
            "(default: today), to see what breaks by then.")] = None,
        json_out: Json = False,
        debug: Debug = False,
    ) -> None:
        """Check snapshots against the registry, release tags, pointers and version order,
        and that no pointer serves or rolls back to a retired model.

        Run it in CI on every pull request. Retirement dates come from `retirements:` in
        promptops.yaml and from the provider SDKs' deprecation tables; a model retiring
        within 60 days is a warning.

        \b
        Examples:
          promptops verify
          promptops verify --as-of 2027-01-31
        Exit codes: 0 consistent · 2 bad date · 8 something does not match (each problem
        is listed)
        """
        from datetime import date

        from promptops.app.verify import verify
        from promptops.core.errors import ConfigError

        try:
            try:
                day = date.fromisoformat(as_of) if as_of else None
            except ValueError:
                raise ConfigError(f"--as-of {as_of!r} is not a date",
                                  fix="write it as YYYY-MM-DD, e.g. --as-of 2027-01-31") from None
            report = verify(Path.cwd(), as_of=day)
        except Exception as exc:
            raise fail(exc, debug) from None
        if json_out:
            typer.echo(json.dumps({"ok": report.ok, "problems": report.problems,
                                   "warnings": report.warnings,
                                   "versions": report.versions, "pointers": report.pointers}))
        else:
            for problem in report.problems:
                typer.echo(f"✗ {problem}", err=True)
            for warning in report.warnings:
                typer.echo(f"warning: {warning}", err=True)
            typer.echo(f"{'ok' if report.ok else 'FAILED'}: {report.versions} versions, "
                       f"{report.pointers} pointers checked")
        raise typer.Exit(0 if report.ok else 8)

    @app.command("history")
    def history_command(
        name: Annotated[str, typer.Argument(help="Prompt name.")],
        json_out: Json = False,
        debug: Debug = False,
    ) -> None:
        """Show a prompt's events: bumps, releases, promotions, rollbacks, drills.

        \b
        Example:  promptops history customer-support-router
        """
        from promptops.app.history import history

        try:
            events = history(Path.cwd(), name)
        except Exception as exc:
            raise fail(exc, debug) from None
        if json_out:
            typer.echo(json.dumps([asdict(e) for e in events], indent=1, default=str))
            return
        for e in events:
            move = f"{e.from_version or '-'} → {e.to_version or '-'}"
            why = e.reason or e.note or ""
            typer.echo(f"{e.when}  {e.kind:<8} {e.env or '-':<11} {move:<22} {e.who}  {why}")

    @app.command("status")
    def status_command(
        env: Annotated[str | None, typer.Option(help="Only this environment.")] = None,
        at: Annotated[str | None, typer.Option(
            metavar="WHEN", help="What was live at that moment (ISO date or time, UTC), "
            "replayed from the events.")] = None,
        json_out: Json = False,
        debug: Debug = False,
    ) -> None:
        """Show what each environment serves (deploy/<env>.yaml), or served at a moment.

        \b
        Examples:
          promptops status --env production
          promptops status --env production --at 2026-11-27T14:30Z    # during the incident
        """
        from promptops.app.history import parse_moment, served_at, status
        from promptops.core.registry import canary_of

        try:
            if at is not None:
                past = served_at(Path.cwd(), parse_moment(at), env)
                if json_out:
                    typer.echo(json.dumps({e: {n: asdict(s) for n, s in ps.items()}
                                           for e, ps in past.items()}, indent=1))
                    return
                if not past:
                    typer.echo(f"nothing was deployed{f' to {env}' if env else ''} by {at}")
                for e, served in sorted(past.items()):
                    typer.echo(f"{e} at {at}:")
                    for n, s in sorted(served.items()):
                        typer.echo(f"  {n}  {s.version}  {s.model or ''}  since {s.since} "
                                   f"({s.kind} by {s.who})")
                return
            envs = status(Path.cwd(), env)
        except Exception as exc:
            raise fail(exc, debug) from None
        if json_out:
            typer.echo(json.dumps({e: {n: asdict(p) for n, p in ps.items()}
                                   for e, ps in envs.items()}, indent=1, default=str))
            return
        if not envs:
            typer.echo("no environments yet (deploy/<env>.yaml is written by promptops promote)")
        for e, prompts in envs.items():
            typer.echo(f"{e}:")
            for n, p in sorted(prompts.items()):
                state = "enabled" if p.enabled else "DISABLED"
                blocked = f" blocked {', '.join(p.blocked)}" if p.blocked else ""
                canary = canary_of(p)
                lane = f"  canary {canary.version} at {canary.weight}%" if canary else ""
                typer.echo(f"  {n}  {p.prompt_version}  {p.model or ''}  {state}  rollback "
                           f"{p.rollback_version or '-'}  since {p.deployed_at}{blocked}{lane}")

    @app.command("diff")
    def diff_command(
        a: Annotated[str, typer.Argument(metavar="NAME@A")],
        b: Annotated[str, typer.Argument(metavar="NAME@B")],
        json_out: Json = False,
        debug: Debug = False,
    ) -> None:
        """Compare two versions: template, config/model and contract separately, and scorecards.

        \b
        Example:  promptops diff customer-support-router@0.1.0 customer-support-router@0.2.0
        """
        from promptops.app.history import diff

        try:
            d = diff(Path.cwd(), a, b)
        except Exception as exc:
            raise fail(exc, debug) from None
        if json_out:
            typer.echo(json.dumps(asdict(d), indent=1, default=str))
            return
        typer.echo(f"== template ({d.name}@{d.a} → @{d.b})")
        typer.echo("\n".join(d.template) or "  (unchanged)")
        typer.echo("== model and config")
        for key, old, new in d.settings or [("(unchanged)", "", "")]:
            typer.echo(f"  {key}: {old} → {new}" if old or new else f"  {key}")
        typer.echo("== contract")
        for c in d.contract or ():
            typer.echo(f"  {c.level:<5} {c.area}: {c.field} — {c.change}")
        if not d.contract:
            typer.echo("  (unchanged)")
        sa, sb = d.scorecards
        if sa and sb:
            typer.echo("== scorecard")
            for key in ("pass_rate", "mean_score", "cost_per_case_usd", "latency_p95_ms"):
                va, vb = sa.get(key), sb.get(key)
                delta = f"  ({vb - va:+.4g})" if isinstance(va, int | float) and isinstance(
                    vb, int | float) else ""
                typer.echo(f"  {key}: {va} → {vb}{delta}")
