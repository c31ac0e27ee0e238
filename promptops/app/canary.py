"""Use case: `promptops promote NAME@V --to ENV --canary N` — serve a released version to N% of
traffic beside the pointer's promptVersion.

The canary passes the same checks as a promotion (released, tagged, hash, not blocked, model
not retired, environment policy). Finishing it is a plain `promote NAME@V --to ENV`; aborting
it is `rollback NAME --env ENV` (see deploy.rollback), which removes only the canary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from promptops.app.clock import now_stamp
from promptops.app.env_policy import environment_policies
from promptops.app.promotion import Rules, plan_promotion
from promptops.app.remote_sync import prepare, publish_pointer
from promptops.app.retirement import today_utc
from promptops.core.errors import ConfigError, NoChangeError
from promptops.core.registry import Canary, Event, canary_of, event_id, tag_name
from promptops.storage.git_repo import GitRepo
from promptops.storage.project import load_config
from promptops.storage.registry_store import RegistryStore


@dataclass(frozen=True)
class CanaryResult:
    """What `promote --canary` did (or, with --dry-run, would do)."""

    name: str
    env: str
    stable: str
    version: str
    weight: int
    previous: Canary | None  # the canary it replaced or re-weighted
    commit: str | None
    event: str | None
    duration_s: float
    dry_run: bool
    pushed: bool = False
    upstream: str | None = None
    warnings: tuple[str, ...] = ()


def start_canary(root: Path, name: str, version: str, env: str, weight: int, *,
                 dry_run: bool = False, actor: str | None = None, today: date | None = None,
                 override_reason: str | None = None, as_of: datetime | None = None,
                 push: bool = True) -> CanaryResult:
    """Serve name@version to `weight`% of `env`'s traffic (1..99), in one commit."""
    t0 = time.perf_counter()
    if isinstance(weight, bool) or not 0 < weight < 100:
        raise ConfigError(f"--canary {weight} is not a percentage from 1 to 99",
                          fix="e.g. --canary 10; `promote` without --canary moves all traffic")
    repo = GitRepo.find(root)
    store = RegistryStore(repo.root)
    with store.lock():
        repo.require_clean()
        sync = prepare(repo, f"promote {name}@{version} --to {env} --canary {weight}",
                       push=push, dry_run=dry_run)
        pointer = store.load_pointer(env)
        current = pointer.get(name)
        if current is None or not current.prompt_version or not current.enabled:
            raise ConfigError(f"{name} has no enabled version in {env} to run a canary beside",
                              fix=f"promote one first: promptops promote {name}@X --to {env}")
        previous = canary_of(current)
        if previous and (previous.version, previous.weight) == (version, weight):
            raise NoChangeError(f"{env} already runs {name}@{version} as a {weight}% canary")
        rules = Rules(load_config(repo.root), environment_policies(repo.root),
                      today or today_utc(), as_of, True, override_reason)
        plan = plan_promotion(repo, store, store.load_registry(), current, name, version, env,
                              rules)
        stable = current.prompt_version
        if dry_run:
            return CanaryResult(name, env, stable, version, weight, previous, None, None,
                                round(time.perf_counter() - t0, 3), True,
                                upstream=sync.label, warnings=(*sync.warnings, *plan.warnings))
        now, who = now_stamp(), actor or repo.user()
        event = Event(id=event_id(now, env, name, "canary"), kind="canary", prompt=name,
                      env=env, when=now, who=who, from_version=stable, to_version=version,
                      from_model=current.model, to_model=plan.entry.model,
                      evidence={"weight": weight, "tag": tag_name(name, version),
                                "behaviorHash": plan.entry.behaviour_hash,
                                "replaced": previous.as_dict() if previous else None,
                                "policyOverride": (override_reason or "").strip() or None,
                                "warnings": list(plan.warnings)},
                      timings={"start": now})
        event_path = store.write_event(event)
        canary = Canary(version, weight, plan.entry.model, plan.entry.behaviour_hash, now,
                        event_path.stem)
        entry = replace(current, extra={**current.extra, "canary": canary.as_dict()})
        store.save_pointer(pointer.with_entry(name, entry))
        paths = [str(store.pointer_path(env).relative_to(repo.root)),
                 str(event_path.relative_to(repo.root))]
        commit = repo.commit(paths, f"deploy({env}): {name} canary {version} at {weight}% "
                             f"(stable {stable})",
                             trailers={"Prompt-Version": version, "Deploy-Env": env,
                                       "Canary-Weight": str(weight)})
        pushed, push_warnings, commit = publish_pointer(repo, sync, commit, paths[0], [name])
    return CanaryResult(name, env, stable, version, weight, previous, commit, event_path.stem,
                        round(time.perf_counter() - t0, 3), False, pushed, sync.label,
                        (*plan.warnings, *push_warnings))
