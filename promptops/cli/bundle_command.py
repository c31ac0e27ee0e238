"""`promptops bundle`: write the runtime bundle for one environment."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add `promptops bundle` to the CLI."""
    from promptops.cli.main import fail

    @app.command("bundle")
    def bundle_command(
        env: Annotated[str, typer.Option("--env", metavar="ENV",
                                         help="Environment (deploy/ENV.yaml).")] = "production",
        out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Bundle file to write.")
                       ] = Path("dist/promptops.bundle.json"),
        json_out: Annotated[bool, typer.Option("--json", help="Machine-readable result.")] = False,
        debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
    ) -> None:
        """Write one JSON file the runtime serves from: pointer + verified snapshots of ENV.

        Holds, per prompt deployed in ENV, its pointer entry and the snapshot text of the
        deployed and rollback versions with their hashes (verified now, and again at load).
        Ship it with the application: PromptStore.from_bundle("dist/promptops.bundle.json").

        \b
        Examples:
          promptops bundle --env production
          promptops bundle --env staging --out build/staging.bundle.json --json

        \b
        Exit codes: 0 written · 2 no pointer for ENV or bad input · 8 a snapshot's hash does
        not match the registry or the pointer.
        """
        from promptops.app.bundle import build_bundle

        try:
            result = build_bundle(Path.cwd(), env, out)
        except Exception as exc:
            raise fail(exc, debug) from None
        if json_out:
            typer.echo(json.dumps(asdict(result), indent=1))
            return
        commit = f" · commit {result.git_commit[:12]}" if result.git_commit else ""
        typer.echo(f"wrote {result.path}: {len(result.prompts)} prompt(s) for {env}, "
                   f"{len(result.versions)} snapshot(s), {result.bytes} bytes{commit}")
