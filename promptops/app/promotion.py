"""The steps of a promotion shared by `promote` (one prompt) and `promote --all` (every prompt
whose version differs between two environments, in one commit): check, then write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from promptops.app.clock import now_stamp
from promptops.app.env_policy import EnvPolicy, check_promotion, environment_policies
from promptops.app.remote_sync import prepare, publish_pointer
from promptops.app.retirement import model_warning, refuse_retired, today_utc
from promptops.core.config import ProjectConfig
from promptops.core.errors import NoChangeError, PolicyDeniedError, VerifyFailedError
from promptops.core.registry import (
    ChangelogEntry,
    Event,
    PointerEntry,
    PromptRecord,
    Registry,
    canary_of,
    event_id,
    tag_name,
)
from promptops.storage.git_repo import GitRepo
from promptops.storage.project import load_config
from promptops.storage.registry_store import RegistryStore

DEFAULT_FALLBACK = "rollback"


@dataclass(frozen=True)
class Rules:
    """What a promotion is checked against (the same for every prompt of one command)."""

    config: ProjectConfig
    policies: tuple[EnvPolicy, ...]
    today: date
    as_of: datetime | None = None
    enforce: bool = True  # False for drills: no order/soak/retirement refusal
    override_reason: str | None = None  # waives order and soak, recorded


@dataclass(frozen=True)
class PromotePlan:
    """One prompt's checked promotion, ready to be written."""

    name: str
    version: str
    env: str
    entry: ChangelogEntry
    current: PointerEntry | None
    warnings: tuple[str, ...]

    @property
    def old(self) -> str | None:
        """The version the environment serves now (None: nothing yet)."""
        return self.current.prompt_version if self.current else None


def verified_entry(store: RegistryStore, record: PromptRecord | None, name: str,
                   version: str) -> ChangelogEntry:
    """The registry entry of a released version whose snapshot hash matches; else VerifyFailed."""
    entry = record.entry(version) if record else None
    if entry is None:
        known = ", ".join(record.versions()[:8]) if record else "none"
        raise VerifyFailedError(f"{name}@{version} is not in the registry",
                                why=f"versions: {known}", fix="pick a released version")
    if entry.status != "released":
        fix = (f"release it first: promptops release {name}@{version}"
               if entry.status == "candidate" else "pick another released version")
        raise VerifyFailedError(f"{name}@{version} is {entry.status}, not released", fix=fix)
    actual = store.file_hash(store.read_snapshot(name, version))
    if actual != entry.file_hash:
        path = store.snapshot_path(name, version).relative_to(store.root)
        raise VerifyFailedError(f"{path} does not match the registry",
                                why=f"registry {entry.file_hash}, file {actual}",
                                fix=f"restore it: git checkout -- {path}")
    return entry


def previous_env(policies: tuple[EnvPolicy, ...], to_env: str,
                 require_previous: str | None) -> str | None:
    """The environment that must have served a version before `to_env` (None: no rule)."""
    order = [p.name for p in policies]
    if require_previous is None and to_env in order and order.index(to_env) > 0:
        return order[order.index(to_env) - 1]
    return require_previous


def plan_promotion(repo: GitRepo, store: RegistryStore, registry: Registry,
                   current: PointerEntry | None, name: str, version: str, to_env: str,
                   rules: Rules, require_previous: str | None = None) -> PromotePlan:
    """Check one promotion (released, tagged, hash, blocked, retired model, policy)."""
    entry = verified_entry(store, registry.get(name), name, version)
    tag = tag_name(name, version)
    if not repo.tag_exists(tag):
        raise VerifyFailedError(f"{name}@{version} has no release tag", where=tag,
                                fix="run `promptops verify`; restore the tag from the remote")
    if current and version in current.blocked:
        raise PolicyDeniedError(f"{name}@{version} is blocked in {to_env}",
                                why="it was yanked here by `promptops rollback --yank`",
                                fix="release a fixed version and promote that")
    what = f"{name}@{version}"
    warning = (refuse_retired(what, entry.model, rules.config, rules.today,
                              fix="release a version on a current model and promote that")
               if rules.enforce else model_warning(what, entry.model, rules.config, rules.today))
    if rules.enforce:
        prev = previous_env(rules.policies, to_env, require_previous)
        if rules.override_reason and rules.override_reason.strip():
            prev = None  # order and soak waived, on the record; final-only still holds
        check_promotion(rules.policies, lambda env: store.events(name, env), name, version,
                        to_env, prev, rules.as_of)
    if current and current.prompt_version == version and current.enabled:
        raise NoChangeError(f"{to_env} already serves {name}@{version}")
    return PromotePlan(name, version, to_env, entry, current, (warning,) if warning else ())


def write_promotion(store: RegistryStore, plan: PromotePlan, who: str, now: str,
                    rules: Rules, fallback_behavior: str | None = None
                    ) -> tuple[PointerEntry, Path]:
    """Write the promote event; return the new pointer entry and the event file."""
    current, entry = plan.current, plan.entry
    canary = canary_of(current)  # a full promotion ends any canary: completed or superseded
    event = Event(id=event_id(now, plan.env, plan.name, "promote"), kind="promote",
                  prompt=plan.name, env=plan.env, when=now, who=who, from_version=plan.old,
                  to_version=plan.version, from_model=current.model if current else None,
                  to_model=entry.model,
                  evidence={"tag": tag_name(plan.name, plan.version),
                            "behaviorHash": entry.behaviour_hash,
                            "fromBehaviorHash": current.behaviour_hash if current else None,
                            "scorecard": entry.scorecard,
                            "policyOverride": (rules.override_reason or "").strip() or None,
                            "canaryEnded": canary.as_dict() if canary else None,
                            "warnings": list(plan.warnings)},
                  timings={"start": now})
    event_path = store.write_event(event)
    new = PointerEntry(
        enabled=True, prompt_version=plan.version, model=entry.model,
        rollback_version=plan.old, rollback_model=current.model if current else None,
        fallback_behavior=fallback_behavior
        or (current.fallback_behavior if current else DEFAULT_FALLBACK),
        behaviour_hash=entry.behaviour_hash,
        rollback_behaviour_hash=current.behaviour_hash if current else None,
        blocked=current.blocked if current else (), deployed_at=now, deployed_by=who,
        event=event_path.stem, extra=without_canary(current.extra) if current else {})
    return new, event_path


def without_canary(extra: Mapping[str, Any]) -> dict[str, Any]:
    """A pointer entry's extra fields with the canary removed."""
    return {k: v for k, v in extra.items() if k != "canary"}


def mirror_deployed(store: RegistryStore, registry: Registry, env: str,
                    versions: Mapping[str, str]) -> list[str]:
    """Keep the registry's `deployed` in step with production; the paths to commit.

    `registry` is the one loaded under the same lock: parsing it twice costs 0.2 s at 1,000
    versions.
    """
    if env != "production":
        return []
    updated = registry
    for name, version in versions.items():
        record = updated.get(name)
        if record is not None and record.deployed != version:
            updated = updated.with_prompt(replace(record, deployed=version))
    if updated is registry:
        return []
    store.save_registry(updated)
    return ["prompts/registry.yaml"]


@dataclass(frozen=True)
class PromoteAllResult:
    """An environment-wide promotion: every move, one commit."""

    from_env: str
    to_env: str
    moves: tuple[tuple[str, str | None, str], ...]  # (prompt, old version, new version)
    commit: str | None
    events: tuple[str, ...]
    dry_run: bool
    pushed: bool = False
    upstream: str | None = None
    warnings: tuple[str, ...] = ()


def promote_all(root: Path, from_env: str, to_env: str, *, dry_run: bool = False,
                actor: str | None = None, today: date | None = None,
                override_reason: str | None = None, as_of: datetime | None = None,
                push: bool = True) -> PromoteAllResult:
    """Promote every prompt whose `from_env` version differs from `to_env`'s, in one commit.

    All or nothing: each move passes the same checks as `promote` (with `from_env` as the
    environment that must have served it), and one refusal refuses them all.
    """
    if from_env == to_env:
        raise NoChangeError(f"--from and --to are both {to_env}")
    repo = GitRepo.find(root)
    store = RegistryStore(repo.root)
    with store.lock():
        repo.require_clean()
        sync = prepare(repo, f"promote --all --from {from_env} --to {to_env}", push=push,
                       dry_run=dry_run)
        registry = store.load_registry()
        source, target = store.load_pointer(from_env), store.load_pointer(to_env)
        rules = Rules(load_config(repo.root), environment_policies(repo.root),
                      today or today_utc(), as_of, True, override_reason)
        plans = []
        for name, src in sorted(source.prompts.items()):
            dst = target.get(name)
            if not src.enabled or not src.prompt_version or (
                    dst and dst.enabled and dst.prompt_version == src.prompt_version):
                continue
            plans.append(plan_promotion(repo, store, registry, dst, name, src.prompt_version,
                                        to_env, rules, require_previous=from_env))
        if not plans:
            raise NoChangeError(f"{to_env} already serves every version {from_env} serves")
        moves = tuple((p.name, p.old, p.version) for p in plans)
        warnings = tuple(w for p in plans for w in p.warnings)
        if dry_run:
            return PromoteAllResult(from_env, to_env, moves, None, (), True,
                                    upstream=sync.label, warnings=(*sync.warnings, *warnings))
        now, who = now_stamp(), actor or repo.user()
        paths, events = [str(store.pointer_path(to_env).relative_to(repo.root))], []
        pointer = target
        for plan in plans:
            new, event_path = write_promotion(store, plan, who, now, rules)
            pointer = pointer.with_entry(plan.name, new)
            paths.append(str(event_path.relative_to(repo.root)))
            events.append(event_path.stem)
        store.save_pointer(pointer)
        paths += mirror_deployed(store, registry, to_env, {p.name: p.version for p in plans})
        lines = "".join(f"- {n}: {o or 'none'} → {v}\n" for n, o, v in moves)
        commit = repo.commit(paths, f"deploy({to_env}): {len(moves)} prompt(s) from "
                             f"{from_env}\n\n{lines}", trailers={"Deploy-Env": to_env})
        pushed, push_warnings, commit = publish_pointer(repo, sync, commit, paths[0],
                                                        [p.name for p in plans])
    return PromoteAllResult(from_env, to_env, moves, commit, tuple(events), False, pushed,
                            sync.label, (*warnings, *push_warnings))
