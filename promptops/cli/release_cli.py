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
        dry_run: DryRun = False,
        json_out: Json = False,
        debug: Debug = False,
    ) -> None:
        """Snapshot a prompt's head as its next version (refuses too small a level).

        \b
        Examples:
          promptops bump customer-support-router patch --note "Clarify the refund rule"
          promptops bump customer-support-router minor --pre rc --note "Switch to Haiku"
          promptops bump customer-support-router minor --finalize --note "rc.2 passed"

        \b
        Exit codes: 0 done · 2 bad input · 4 dirty tree · 6 another command holds the lock
        · 9 nothing changed · 10 the level is smaller than the contract change requires.
        """
        from promptops.app.bump import bump

        try:
            result = bump(Path.cwd(), name, level, note, pre=pre, finalize=finalize,
                          force=force, reason=reason, dry_run=dry_run, allow_dirty=allow_dirty)
        except Exception as exc:
            raise fail(exc, debug) from None
        lines = [f"{'would bump' if dry_run else 'bumped'} {name} "
                 f"{result.old or '(none)'} → {result.new} ({level}"
                 + (f"; contract requires {result.detected}" if result.detected else "") + ")"]
        lines += [f"  {c.level:<5} {c.area}: {c.field} — {c.change}" for c in result.changes]
        if not dry_run:
            lines.append(f"  snapshot {result.snapshot} · commit {str(result.commit)[:12]}")
        _emit(result, json_out, "\n".join(lines))
