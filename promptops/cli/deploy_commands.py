"""Deployment commands: promote, rollback and drill (they move deploy/<env>.yaml)."""

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
Env = Annotated[str, typer.Option("--env", metavar="ENV", help="Environment (deploy/ENV.yaml).")]


def _emit(result: Any, json_out: bool, text: str) -> None:
    for warning in getattr(result, "warnings", ()):
        typer.echo(f"warning: {warning}", err=True)
    if json_out:
        typer.echo(json.dumps(asdict(result), indent=1, default=str))
    else:
        typer.echo(text)


def _push_line(pushed: bool, upstream: str | None, no_push: bool) -> str:
    from promptops.cli.release_cli import push_line

    return push_line(pushed, upstream, no_push)


def _split_ref(ref: str) -> tuple[str, str]:
    from promptops.core.errors import ConfigError

    name, _, version = ref.partition("@")
    if not name or not version:
        raise ConfigError(f"expected NAME@VERSION, got {ref!r}",
                          fix="e.g. promptops promote customer-support-router@1.2.0 --to staging")
    return name, version


def _promote_all(ref: str | None, from_env: str | None, to: str, override: str | None,
                 dry_run: bool, no_push: bool, json_out: bool) -> None:
    from promptops.app.promotion import promote_all
    from promptops.core.errors import ConfigError

    if ref or not from_env:
        raise ConfigError("--all promotes what --from serves; it takes no NAME@VERSION",
                          fix="promptops promote --all --from staging --to production")
    result = promote_all(Path.cwd(), from_env, to, dry_run=dry_run, override_reason=override,
                         push=not no_push)
    verb = "would promote" if dry_run else "promoted"
    lines = [f"{verb} {len(result.moves)} prompt(s) from {from_env} to {to}:"]
    lines += [f"  {n}: {o or '(none)'} → {v}" for n, o, v in result.moves]
    if result.commit:
        lines.append(f"  commit {result.commit[:12]} · "
                     + _push_line(result.pushed, result.upstream, no_push))
    _emit(result, json_out, "\n".join(lines))


def _canary(name: str, version: str, to: str, weight: int, override: str | None,
            dry_run: bool, no_push: bool, json_out: bool) -> None:
    from promptops.app.canary import start_canary

    result = start_canary(Path.cwd(), name, version, to, weight, dry_run=dry_run,
                          override_reason=override, push=not no_push)
    verb = "would start" if dry_run else "started"
    text = (f"{verb} a canary of {name}@{version} in {to}: {weight}% of traffic "
            f"(stable {result.stable})")
    if result.previous:
        text += f"; replaces {result.previous.version} at {result.previous.weight}%"
    if result.commit:
        text += (f"\n  commit {result.commit[:12]} · event {result.event} · "
                 + _push_line(result.pushed, result.upstream, no_push))
    text += (f"\n  finish: promptops promote {name}@{version} --to {to} · abort: promptops "
             f"rollback {name} --env {to} --reason ...")
    _emit(result, json_out, text)


def _confirm(result: Any, probes: list[str], slo: float, json_out: bool, text: str,
             debug: bool) -> None:
    """Wait for the probes; print the rollback with its confirmation; exit 11 when missed."""
    from promptops.app.confirm import wait_for
    from promptops.cli.main import fail
    from promptops.core.errors import SloMissedError

    seen = wait_for(probes, result.name, result.to_version, max(0.0, slo - result.duration_s))
    total = result.duration_s + seen.seconds
    text += (f"\n  {'confirmed' if seen.confirmed else 'NOT confirmed'} by "
             f"{sum(1 for _, s in seen.probes if s == f'serves {seen.version}')}/"
             f"{len(seen.probes)} probe(s) in {seen.seconds:.3f} s (total {total:.3f} s, "
             f"SLO {slo:g} s)")
    text += "".join(f"\n    {url}: {state}" for url, state in seen.probes)
    if json_out:
        typer.echo(json.dumps({**asdict(result), "confirmation": asdict(seen)}, indent=1,
                              default=str))
    else:
        typer.echo(text)
    if not seen.confirmed:
        missed = SloMissedError(f"{result.name} in {result.env} is rolled back to "
                                f"{result.to_version}, but not every probe serves it after "
                                f"{total:.1f} s", why="; ".join(f"{u}: {s}" for u, s in
                                                                 seen.probes),
                                fix="check that the applications re-read deploy/ENV.yaml "
                                "(pointer TTL) or received the new bundle")
        raise fail(missed, debug)


def register(app: typer.Typer) -> None:
    """Add promote, rollback and drill to the CLI."""
    from promptops.cli.main import fail

    @app.command("promote")
    def promote_command(
        to: Annotated[str, typer.Option("--to", metavar="ENV", help="Target environment.")],
        ref: Annotated[str | None, typer.Argument(
            metavar="NAME@VERSION", help="A released version (omit with --all).")] = None,
        all_prompts: Annotated[bool, typer.Option(
            "--all", help="Promote every prompt whose --from version differs from --to's, "
            "in one commit (all or nothing).")] = False,
        from_env: Annotated[str | None, typer.Option(
            "--from", metavar="ENV", help="Environment that must have served the version first "
            "(default: the one before ENV in promptops.yaml `environments:`).")] = None,
        fallback: Annotated[str | None, typer.Option(
            metavar="X", help="fallbackBehavior: rollback | bundled | disable | error, a python "
            "alias or python:module:function (default: keep the current one, else rollback).")
        ] = None,
        override: Annotated[str | None, typer.Option(
            "--override-policy", metavar="REASON", help="Skip the promotion-order and soak "
            "rules (recorded in the event with REASON); final-only, blocked and retired "
            "models still hold.")] = None,
        canary: Annotated[int | None, typer.Option(
            "--canary", metavar="PERCENT", help="Serve the version to PERCENT (1-99) of "
            "traffic beside the current one; promote it without --canary to finish, roll "
            "back to abort.")] = None,
        no_push: NoPush = False,
        dry_run: DryRun = False,
        json_out: Json = False,
        debug: Debug = False,
    ) -> None:
        """Point an environment at a released version (writes deploy/ENV.yaml, one commit).

        When the branch has an upstream, fetches first, refuses a branch that is behind it
        (exit 6, nothing written) and pushes the commit, rebasing it once if someone pushed
        in between without touching this prompt's pointer entry; --no-push keeps it local.

        \b
        Examples:
          promptops promote customer-support-router@1.2.0 --to staging
          promptops promote customer-support-router@1.2.0 --to production --dry-run
          promptops promote customer-support-router@1.2.0 --to staging --fallback keyword-baseline
          promptops promote --all --from staging --to production --dry-run
          promptops promote customer-support-router@1.3.0 --to production --canary 10
          promptops promote customer-support-router@1.2.1 --to production \\
            --override-policy "INC-7 hotfix, soak waived by the on-call lead"

        \b
        Policy from promptops.yaml, e.g.
          environments:
            staging: {}
            production: {soak_hours: 24, require_final: true}
        production then takes only final versions that served 24 h in staging (not rolled back).

        \b
        Exit codes: 0 done (or --dry-run) · 2 bad input · 3 the remote is unreachable · 4 dirty
        tree · 6 conflict: the lock is held, the branch is behind its upstream, or the push was
        rejected and someone else changed this prompt's pointer entry (otherwise it rebases
        and pushes by itself; the local commit stays either way) · 7 policy denied
        (blocked here, not served or not long enough in the previous environment, rolled back
        there, a pre-release, or its model is retired) · 8 not released, tag missing or
        snapshot hash mismatch · 9 already deployed.
        """
        from promptops.app.deploy import promote

        try:
            if all_prompts and canary is not None:
                from promptops.core.errors import ConfigError

                raise ConfigError("--canary takes one NAME@VERSION, not --all",
                                  fix="start canaries one prompt at a time")
            if all_prompts:
                _promote_all(ref, from_env, to, override, dry_run, no_push, json_out)
                return
            name, version = _split_ref(ref or "")
            if canary is not None:
                _canary(name, version, to, canary, override, dry_run, no_push, json_out)
                return
            result = promote(Path.cwd(), name, version, to, require_previous=from_env,
                             fallback_behavior=fallback, dry_run=dry_run,
                             override_reason=override, push=not no_push)
        except Exception as exc:
            raise fail(exc, debug) from None
        verb = "would promote" if dry_run else "promoted"
        text = f"{verb} {name} in {to}: {result.from_version or '(none)'} → {version}"
        if result.commit:
            text += (f"\n  commit {result.commit[:12]} · event {result.event} · "
                     + _push_line(result.pushed, result.upstream, no_push))
        _emit(result, json_out, text)

    @app.command("rollback")
    def rollback_command(
        name: Annotated[str, typer.Argument(help="Prompt name.")],
        env: Env,
        reason: Annotated[str, typer.Option(help="Why (required; recorded in the event).")],
        to: Annotated[str | None, typer.Option(
            "--to", metavar="VERSION", help="Target version (default: the version deployed "
            "before the current one, from this environment's events).")] = None,
        yank: Annotated[bool, typer.Option(help="Also block the current version in ENV so it "
                                           "cannot be promoted again.")] = False,
        probe: Annotated[list[str] | None, typer.Option(
            metavar="URL", help="A runtime status endpoint (promptops.runtime.serve_status); "
            "wait until every probe serves the target. Repeatable.")] = None,
        slo: Annotated[float, typer.Option(
            metavar="SECONDS", help="How long --probe waits before exit 11.")] = 300.0,
        no_push: NoPush = False,
        dry_run: DryRun = False,
        json_out: Json = False,
        debug: Debug = False,
    ) -> None:
        """Move an environment back to the previously deployed version: no eval, one commit.

        Works with a dirty tree: it commits only deploy/ENV.yaml and its event file (and, for
        production, the registry's `deployed`). When the
        branch has an upstream it fetches and pushes the commit, but works offline: an
        unreachable remote only warns (the commit stays local; `git push` later). A branch
        behind its upstream is refused (exit 6) only if the upstream changed deploy/ENV.yaml;
        otherwise the rollback is committed locally, not pushed, with a warning. --no-push
        keeps it local.

        \b
        Examples:
          promptops rollback customer-support-router --env production --reason "wrong queues"
          promptops rollback customer-support-router --env production --to 1.1.0 --reason INC-42
          promptops rollback customer-support-router --env production --yank --reason "leaks PII"
          promptops rollback customer-support-router --env production --reason INC-42 \\
            --probe http://app-1:8080/promptops/status --probe http://app-2:8080/promptops/status

        \b
        A target whose model is retired is not refused, only warned about. While a canary runs
        (promote --canary), rollback without --to aborts the canary: all traffic goes back to
        the current version, and --yank blocks the canary version.

        \b
        Exit codes: 0 done (or --dry-run) · 2 bad input, no reason, nothing deployed or no
        previous version · 6 conflict: the lock is held, the upstream changed deploy/ENV.yaml,
        or the push was rejected (the local commit stays) · 8 target not released, yanked,
        blocked or its snapshot hash mismatches · 11 rolled back, but the probes did not all
        serve the target within --slo.
        """
        from promptops.app.confirm import check_probes
        from promptops.app.deploy import rollback

        try:
            check_probes(probe or ())
            result = rollback(Path.cwd(), name, env, to=to, reason=reason, yank=yank,
                              dry_run=dry_run, push=not no_push)
        except Exception as exc:
            raise fail(exc, debug) from None
        verb = "would roll back" if dry_run else "rolled back"
        text = (f"{verb} {name} in {env}: {result.from_version} → {result.to_version} "
                f"in {result.duration_s:.3f} s")
        if yank:
            text += f"\n  {'would block' if dry_run else 'blocked'} {result.from_version} in {env}"
        if result.commit:
            text += f"\n  commit {result.commit[:12]} · " + _push_line(
                result.pushed, result.upstream, no_push)
        if not probe or dry_run:
            _emit(result, json_out, text)
            return
        _confirm(result, probe, slo, json_out, text, debug)

    @app.command("drill")
    def drill_command(
        name: Annotated[str, typer.Argument(help="Prompt name.")],
        env: Env,
        no_check: Annotated[bool, typer.Option("--no-check", help="Skip the suite and "
                                               "fallback checks (timings only).")] = False,
        dry_run: Annotated[bool, typer.Option(help="Name the rollback target; change "
                                              "nothing.")] = False,
        json_out: Json = False,
        debug: Debug = False,
    ) -> None:
        """Prove rollback works: roll back, check the target and fallback, roll forward, record.

        Runs the prompt's suite against the rollback target on its model (cached), and when
        fallbackBehavior names a python callable, makes it answer one case. Records a `drill`
        event with rollback_s, check_s, forward_s, total_s and the verdict. Needs a clean tree.

        \b
        Examples:
          promptops drill customer-support-router --env staging
          promptops drill customer-support-router --env staging --no-check --json

        \b
        Exit codes: 0 pass · 1 fail (check failed or the pointer was not restored) · 2 bad
        input or nothing to roll back to · 4 dirty tree · 6 lock held · 8 verify failed.
        """
        from promptops.app.drill import drill

        try:
            result = drill(Path.cwd(), name, env, check=not no_check, dry_run=dry_run)
        except Exception as exc:
            raise fail(exc, debug) from None
        if dry_run:
            _emit(result, json_out, f"drill {name} in {env}: {result.notes[0]}")
            return
        t = result.timings
        lines = [f"drill {name} in {env}: {result.from_version} → {result.to_version} → "
                 f"{result.from_version}: {result.verdict.upper()} (rollback "
                 f"{t['rollback_s']:.3f} s, check {t['check_s']:.3f} s, forward "
                 f"{t['forward_s']:.3f} s, total {t['total_s']:.3f} s)"]
        lines += [f"  fail: {r}" for r in result.reasons]
        lines += [f"  note: {n}" for n in result.notes]
        _emit(result, json_out, "\n".join(lines))
        raise typer.Exit(1 if result.verdict == "fail" else 0)
