"""Use cases: `promptops promote` and `promptops rollback`, which move an environment pointer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from promptops.app.clock import now_stamp
from promptops.app.env_policy import environment_policies
from promptops.app.promotion import (
    Rules,
    mirror_deployed,
    plan_promotion,
    verified_entry,
    without_canary,
    write_promotion,
)
from promptops.app.remote_sync import RemoteSync, prepare, publish_pointer
from promptops.app.retirement import model_warning, today_utc
from promptops.core.errors import ConfigError, VerifyFailedError
from promptops.core.registry import (
    Canary,
    Event,
    Pointer,
    PointerEntry,
    PromptRecord,
    canary_of,
    event_id,
)
from promptops.storage.git_repo import GitRepo
from promptops.storage.project import load_config
from promptops.storage.registry_store import RegistryStore

DEPLOY_KINDS = ("promote", "rollback")


@dataclass(frozen=True)
class DeployResult:
    """What a promote or rollback did (or, with --dry-run, would do)."""

    name: str
    env: str
    from_version: str | None
    to_version: str
    commit: str | None
    event: str | None
    duration_s: float
    dry_run: bool
    yanked: bool = False
    rollback_version: str | None = None  # what the new pointer entry names as its rollback
    pushed: bool = False
    upstream: str | None = None  # e.g. origin/main; None: local only (no upstream, --no-push)
    warnings: tuple[str, ...] = ()  # a retiring model; rollback: the remote was unreachable


def apply_deploy(stack: list[str], kind: str, version: str) -> list[str]:
    """The deployed-versions stack after one promote or rollback event."""
    out = list(stack)
    if kind == "rollback":
        if version in out:
            while out[-1] != version:
                out.pop()
            return out
        if out:
            out.pop()  # the bad version goes; an off-history target takes its place
    if not out or out[-1] != version:
        out.append(version)
    return out


def deployed_stack(events: Sequence[Event], current: str | None) -> list[str]:
    """Versions deployed in one env, oldest first, with rolled-back-from versions removed."""
    stack: list[str] = []
    for event in events:
        if event.kind in DEPLOY_KINDS and event.to_version:
            stack = apply_deploy(stack, event.kind, event.to_version)
    if current and (not stack or stack[-1] != current):  # the pointer was edited by hand
        if current in stack:
            del stack[len(stack) - stack[::-1].index(current):]
        else:
            stack.append(current)
    return stack


def promote(root: Path, name: str, version: str, to_env: str, *,
            require_previous: str | None = None, fallback_behavior: str | None = None,
            dry_run: bool = False, actor: str | None = None, today: date | None = None,
            override_reason: str | None = None, as_of: datetime | None = None,
            push: bool = True) -> DeployResult:
    """Point `to_env` at a released version (policy: promotion order, soak time, final only,
    blocked, retired model, clean tree). `override_reason` skips the order and soak rules and
    is recorded in the event.

    With an upstream (and `push`): fetch first, refuse a branch that is behind or diverged
    (ConflictError, nothing written), push the commit after it; a rejected push raises
    ConflictError and keeps the local commit.
    """
    return promote_with(root, name, version, to_env, require_previous=require_previous,
                        fallback_behavior=fallback_behavior, dry_run=dry_run, actor=actor,
                        today=today, override_reason=override_reason, as_of=as_of, push=push)


def promote_with(root: Path, name: str, version: str, to_env: str, *,
                 require_previous: str | None = None, fallback_behavior: str | None = None,
                 dry_run: bool = False, actor: str | None = None, policy: bool = True,
                 require_clean: bool = True, today: date | None = None,
                 override_reason: str | None = None, as_of: datetime | None = None,
                 push: bool = True) -> DeployResult:
    """`promote`, optionally without the promotion-order policy and clean-tree check (drills)."""
    t0 = time.perf_counter()
    repo = GitRepo.find(root)
    store = RegistryStore(repo.root)
    with store.lock():
        if require_clean:
            repo.require_clean()
        sync = prepare(repo, f"promote {name}@{version} --to {to_env}", push=push,
                       dry_run=dry_run)
        registry = store.load_registry()
        pointer = store.load_pointer(to_env)
        rules = Rules(load_config(repo.root), environment_policies(repo.root),
                      today or today_utc(), as_of, policy, override_reason)
        plan = plan_promotion(repo, store, registry, pointer.get(name), name, version, to_env,
                              rules, require_previous)
        old, entry, warnings = plan.old, plan.entry, plan.warnings
        if dry_run:
            return DeployResult(name, to_env, old, version, None, None,
                                round(time.perf_counter() - t0, 3), True,
                                rollback_version=old, upstream=sync.label,
                                warnings=(*sync.warnings, *warnings))
        new, event_path = write_promotion(store, plan, actor or repo.user(), now_stamp(), rules,
                                          fallback_behavior)
        store.save_pointer(pointer.with_entry(name, new))
        paths = [str(store.pointer_path(to_env).relative_to(repo.root)),
                 str(event_path.relative_to(repo.root)),
                 *mirror_deployed(store, registry, to_env, {name: version})]
        commit = repo.commit(paths, f"deploy({to_env}): {name} {old or 'none'} → {version}",
                             trailers={"Prompt-Version": version, "Deploy-Env": to_env,
                                       "Prompt-Behavior-Hash": entry.behaviour_hash})
        pushed, push_warnings, commit = publish_pointer(repo, sync, commit, paths[0], [name])
    return DeployResult(name, to_env, old, version, commit, event_path.stem,
                        round(time.perf_counter() - t0, 3), False, rollback_version=old,
                        pushed=pushed, upstream=sync.label,
                        warnings=(*warnings, *push_warnings))


def rollback(root: Path, name: str, env: str, *, to: str | None = None, reason: str,
             yank: bool = False, dry_run: bool = False, actor: str | None = None,
             today: date | None = None, push: bool = True) -> DeployResult:
    """Point `env` back at the previously deployed version: no eval, one commit, then push.

    Rollback must work in an emergency, so neither a retired target model (a warning) nor the
    remote blocks it unless pushing it would clobber someone else's change. With an upstream
    (and `push`):
    - the fetch failing (offline) only warns: the rollback is committed locally, not pushed;
    - a branch behind (or diverged from) its upstream is refused with ConflictError, before
      anything is written, only when the upstream commits changed deploy/<env>.yaml (the
      rollback would be computed from a stale pointer); otherwise it is committed locally and
      not pushed (the push could only be rejected), with a warning to pull --rebase and push;
    - an up-to-date branch is pushed after the commit; a rejected push (the remote moved in
      between) raises ConflictError and keeps the local commit; an unreachable one warns.
    There is no automatic rebase-and-retry yet.
    """
    t0 = time.perf_counter()
    if not reason or not reason.strip():
        raise ConfigError("a rollback needs a reason", fix='pass --reason "what went wrong"')
    repo = GitRepo.find(root)
    store = RegistryStore(repo.root)
    with store.lock():
        sync = prepare(repo, f"rollback {name} --env {env}", push=push, dry_run=dry_run,
                       pointer=str(store.pointer_path(env).relative_to(repo.root)))
        pointer = store.load_pointer(env)
        current = pointer.get(name)
        if current is None or not current.prompt_version:
            raise ConfigError(f"{name} is not deployed to {env}",
                              where=str(store.pointer_path(env).relative_to(repo.root)),
                              fix=f"promote a version first: promptops promote {name}@X --to {env}")
        canary = canary_of(current)
        if canary is not None and to is None:  # the canary is what goes: stable stays
            return _abort_canary(repo, store, sync, pointer, canary, name, env, reason.strip(),
                                 yank, dry_run, actor or repo.user(), t0)
        bad = current.prompt_version
        events = store.events(name, env)
        stack = deployed_stack(events, bad)
        registry = store.load_registry()
        record = registry.get(name)
        target = to
        skipped: list[str] = []
        if target is None:
            has_history = any(e.kind in DEPLOY_KINDS for e in events)
            # the previously deployed version, skipping any yanked or blocked since
            for version in reversed(stack[:-1]):
                if _usable(record, current.blocked, version):
                    target = version
                    break
                skipped.append(version)
            if target is None and not has_history:
                target = current.rollback_version
        if target is None:
            raise ConfigError(f"{name} has no previously deployed version in {env}",
                              why=(f"yanked or blocked: {', '.join(skipped)}" if skipped
                                   else None),
                              fix=f"name one: promptops rollback {name} --env {env} --to X "
                              "--reason ...")
        if target == bad:
            raise ConfigError(f"{env} already serves {name}@{target}",
                              fix="name another version with --to")
        if target in current.blocked:
            raise VerifyFailedError(f"{name}@{target} is blocked in {env}",
                                    fix="roll back to another version with --to")
        entry = verified_entry(store, record, name, target)
        # never refused (rollback must always work), but said loudly: a retired target's
        # calls fail over to the runtime's fallbacks
        warning = _target_warning(repo.root, f"{name}@{target}", entry.model, today)
        warnings = tuple(f"skipped {name}@{v}: yanked or blocked in {env}" for v in skipped)
        warnings += (warning,) if warning else ()
        after = apply_deploy(stack, "rollback", target)
        prev = next((v for v in reversed(after[:-1]) if _usable(record, current.blocked, v)),
                    None)
        prev_entry = record.entry(prev) if record and prev else None
        if dry_run:
            return DeployResult(name, env, bad, target, None, None,
                                round(time.perf_counter() - t0, 3), True, yank, prev,
                                upstream=sync.label, warnings=(*warnings, *sync.warnings))
        now = now_stamp()
        who = actor or repo.user()
        blocked = (*current.blocked, bad) if yank and bad not in current.blocked \
            else current.blocked
        event = Event(id=event_id(now, env, name, "rollback"), kind="rollback", prompt=name,
                      env=env, when=now, who=who, from_version=bad, to_version=target,
                      from_model=current.model, to_model=entry.model, reason=reason.strip(),
                      evidence={"yanked": yank, "rollbackVersion": prev,
                                "warnings": list(warnings),
                                "behaviorHash": entry.behaviour_hash,
                                "fromBehaviorHash": current.behaviour_hash},
                      timings={"start": now,
                               "prepared_s": round(time.perf_counter() - t0, 4)})
        event_path = store.write_event(event)
        new = PointerEntry(
            enabled=current.enabled, prompt_version=target, model=entry.model,
            rollback_version=prev, rollback_model=prev_entry.model if prev_entry else None,
            fallback_behavior=current.fallback_behavior, behaviour_hash=entry.behaviour_hash,
            rollback_behaviour_hash=prev_entry.behaviour_hash if prev_entry else None,
            blocked=tuple(blocked), deployed_at=now, deployed_by=who, event=event_path.stem,
            extra=without_canary(current.extra))
        store.save_pointer(pointer.with_entry(name, new))
        paths = [str(store.pointer_path(env).relative_to(repo.root)),
                 str(event_path.relative_to(repo.root)),
                 *mirror_deployed(store, registry, env, {name: target})]
        message = f"rollback({env}): {name} {bad} → {target}\n\n{reason.strip()}\n"
        trailers = {"Prompt-Version": target, "Deploy-Env": env}
        if yank:
            trailers["Prompt-Blocked"] = bad
        commit = repo.commit(paths, message, trailers=trailers)
        pushed, push_warnings, commit = publish_pointer(repo, sync, commit, paths[0], [name],
                                                        offline_ok=True)
    return DeployResult(name, env, bad, target, commit, event_path.stem,
                        round(time.perf_counter() - t0, 4), False, yank, prev, pushed=pushed,
                        upstream=sync.label, warnings=(*warnings, *push_warnings))


def _abort_canary(repo: GitRepo, store: RegistryStore, sync: RemoteSync, pointer: Pointer,
                  canary: Canary, name: str, env: str, reason: str, yank: bool, dry_run: bool,
                  who: str, t0: float) -> DeployResult:
    """Remove the canary (all traffic back on promptVersion); --yank also blocks it here."""
    current = pointer.get(name)
    assert current is not None and current.prompt_version is not None
    stable = current.prompt_version
    if dry_run:
        return DeployResult(name, env, canary.version, stable, None, None,
                            round(time.perf_counter() - t0, 4), True, yank,
                            current.rollback_version, upstream=sync.label,
                            warnings=sync.warnings)
    now = now_stamp()
    event = Event(id=event_id(now, env, name, "rollback"), kind="rollback", prompt=name,
                  env=env, when=now, who=who, from_version=canary.version, to_version=stable,
                  from_model=canary.model, to_model=current.model, reason=reason,
                  evidence={"yanked": yank, "canaryAborted": canary.as_dict()},
                  timings={"start": now, "prepared_s": round(time.perf_counter() - t0, 4)})
    event_path = store.write_event(event)
    blocked = current.blocked + ((canary.version,) if yank and canary.version
                                 not in current.blocked else ())
    store.save_pointer(pointer.with_entry(name, replace(
        current, blocked=blocked, extra=without_canary(current.extra))))
    paths = [str(store.pointer_path(env).relative_to(repo.root)),
             str(event_path.relative_to(repo.root))]
    trailers = {"Prompt-Version": stable, "Deploy-Env": env}
    if yank:
        trailers["Prompt-Blocked"] = canary.version
    commit = repo.commit(paths, f"rollback({env}): {name} canary {canary.version} aborted, "
                         f"{stable} serves all\n\n{reason}\n", trailers=trailers)
    pushed, warnings, commit = publish_pointer(repo, sync, commit, paths[0], [name],
                                               offline_ok=True)
    return DeployResult(name, env, canary.version, stable, commit, event_path.stem,
                        round(time.perf_counter() - t0, 4), False, yank,
                        current.rollback_version, pushed=pushed, upstream=sync.label,
                        warnings=warnings)


def _usable(record: PromptRecord | None, blocked: Sequence[str], version: str) -> bool:
    """A version a rollback may land on: released (not yanked) and not blocked here."""
    entry = record.entry(version) if record else None
    return entry is not None and entry.status == "released" and version not in blocked


def _target_warning(root: Path, what: str, model: str | None, today: date | None) -> str | None:
    try:
        config = load_config(root)
    except ConfigError:
        return None  # a broken promptops.yaml must not stop an emergency rollback
    return model_warning(what, model, config, today or today_utc())
