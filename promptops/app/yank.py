"""Use case: `promptops yank` — withdraw a version everywhere (registry status `yanked`).

`rollback --yank` blocks a version in one environment; `yank` marks it unusable for good: it
can no longer be promoted or rolled back to, and `current` moves to the newest release left.
The tag stays (tags are never moved or deleted): the history of what shipped must not change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from promptops.app.clock import now_stamp
from promptops.app.remote_sync import prepare, publish
from promptops.core.errors import ConfigError, PolicyDeniedError
from promptops.core.registry import Event, PromptRecord, event_id
from promptops.core.versioning import parse_version
from promptops.storage.git_repo import GitRepo
from promptops.storage.registry_store import RegistryStore


@dataclass(frozen=True)
class YankResult:
    """What a yank did (or, with --dry-run, would do)."""

    name: str
    version: str
    previous_status: str
    current: str | None  # the registry's `current` afterwards
    commit: str | None
    event: str | None
    dry_run: bool
    pushed: bool = False
    upstream: str | None = None
    warnings: tuple[str, ...] = ()


def _newest_release(record: PromptRecord, without: str) -> str | None:
    finals = [e.version for e in record.changelog if e.status == "released"
              and e.version != without and not parse_version(e.version).prerelease]
    return max(finals, key=parse_version, default=None)


def yank(root: Path, name: str, version: str, *, reason: str, dry_run: bool = False,
         actor: str | None = None, push: bool = True) -> YankResult:
    """Mark name@version yanked in the registry, with an event and one commit.

    Refused while an environment serves it (roll back first); a pointer that names it as its
    rollback target gets a warning, since `rollback` will skip it.
    """
    if not reason or not reason.strip():
        raise ConfigError("a yank needs a reason", fix='pass --reason "what is wrong with it"')
    repo = GitRepo.find(root)
    store = RegistryStore(repo.root)
    with store.lock():
        repo.require_clean()
        sync = prepare(repo, f"yank {name}@{version}", push=push, dry_run=dry_run)
        registry = store.load_registry()
        record = registry.get(name)
        entry = record.entry(version) if record else None
        if record is None or entry is None:
            known = ", ".join(record.versions()[:8]) if record else "none"
            raise ConfigError(f"{name}@{version} is not in the registry",
                              why=f"versions: {known}", fix="name a recorded version")
        if entry.status == "yanked":
            raise PolicyDeniedError(f"{name}@{version} is already yanked",
                                    fix="nothing to do; `promptops history` shows when and why")
        serving = [env for env in store.envs()
                   if (p := store.load_pointer(env).get(name)) and p.prompt_version == version]
        if serving:
            first = serving[0]
            raise PolicyDeniedError(
                f"{name}@{version} is deployed to {', '.join(serving)}",
                why="a pointer must never serve a yanked version",
                fix=f"roll it back first: promptops rollback {name} --env {first} --yank "
                "--reason ..., then yank it")
        warnings = tuple(
            f"deploy/{env}.yaml names {version} as the rollback target of {name}; "
            "rollback will skip it and go further back"
            for env in store.envs()
            if (p := store.load_pointer(env).get(name)) and p.rollback_version == version)
        current = record.current
        if current == version:
            current = _newest_release(record, version)
        if dry_run:
            return YankResult(name, version, entry.status, current, None, None, True,
                              upstream=sync.label, warnings=(*sync.warnings, *warnings))
        now = now_stamp()
        who = actor or repo.user()
        updated = replace(record.with_entry(replace(entry, status="yanked")), current=current)
        if current != record.current:
            moved = updated.entry(current) if current else None
            updated = replace(updated, model=moved.model if moved else None)
        store.save_registry(registry.with_prompt(updated))
        event = Event(id=event_id(now, None, name, "yank"), kind="yank", prompt=name, env=None,
                      when=now, who=who, from_version=version, to_version=current,
                      reason=reason.strip(), evidence={"previousStatus": entry.status,
                                                       "tag": entry.tag})
        event_path = store.write_event(event)
        paths = ["prompts/registry.yaml", str(event_path.relative_to(repo.root))]
        commit = repo.commit(paths, f"yank({name}): {version}\n\n{reason.strip()}\n",
                             trailers={"Prompt-Version": version, "Prompt-Yanked": version})
        pushed, push_warnings = publish(repo, sync, commit)
    return YankResult(name, version, entry.status, current, commit, event_path.stem, False,
                      pushed, sync.label, (*warnings, *push_warnings))
