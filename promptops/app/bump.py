"""Use case: `promptops bump` — snapshot the head as a new version, refusing too small a level."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from promptops.app.clock import now_stamp
from promptops.app.remote_sync import prepare, publish
from promptops.core.contract import (
    ContractChange,
    check_declared_level,
    contract_changes,
    required_level,
)
from promptops.core.errors import ConfigError, NoChangeError
from promptops.core.prompt import PromptFile, parse_prompt
from promptops.core.registry import ChangelogEntry, Event, PromptRecord, event_id
from promptops.core.versioning import next_version
from promptops.core.yamlsource import parse_yaml
from promptops.storage.git_repo import GitRepo
from promptops.storage.project import display, load_prompt, prompt_path
from promptops.storage.registry_store import RegistryStore

_VERSION_LINE = re.compile(r"^version:.*$", re.MULTILINE)


@dataclass(frozen=True)
class BumpResult:
    """What a bump did (or, with --dry-run, would do)."""

    name: str
    old: str | None
    new: str
    declared: str
    detected: str | None
    changes: tuple[ContractChange, ...]
    snapshot: str
    commit: str | None
    dry_run: bool
    forced_reason: str | None = None
    pushed: bool = False
    upstream: str | None = None  # e.g. origin/main; None: local only (no upstream, --no-push)


def with_version(text: str, version: str) -> str:
    """The head file's text with its `version:` line set (added after `name:` if missing)."""
    line = f"version: {version}"
    if _VERSION_LINE.search(text):
        return _VERSION_LINE.sub(line, text, count=1)
    return re.sub(r"^(name:.*)$", rf"\1\n{line}", text, count=1, flags=re.MULTILINE)


def bump(root: Path, name: str, level: str, note: str, *, pre: str | None = None,
         finalize: bool = False, force: bool = False, reason: str | None = None,
         dry_run: bool = False, allow_dirty: bool = False, actor: str | None = None,
         push: bool = True) -> BumpResult:
    """Snapshot prompts/<name>/prompt.yaml as the next version, with registry entry and event.

    With an upstream (and `push`), fetch first and refuse a branch that is behind (ConflictError,
    nothing written), then push the commit; `push=False` (--no-push) keeps it all local.
    """
    if not note.strip():
        raise ConfigError("a bump needs a note", fix='pass --note "what changed and why"')
    repo = GitRepo.find(root)
    store = RegistryStore(repo.root)
    head_path = prompt_path(repo.root, name)
    rel_head = str(head_path.relative_to(repo.root))
    with store.lock():
        if not allow_dirty:
            repo.require_clean(allow=(rel_head,))
        sync = prepare(repo, f"bump {name} ...", push=push, dry_run=dry_run)
        head = load_prompt(repo.root, name)
        registry = store.load_registry()
        record = registry.get(name)
        latest = record.latest if record else None
        old = _snapshot_prompt(store, name, latest) if latest else None
        if latest and "-" in latest and not (pre or finalize):
            raise ConfigError(
                f"{name}: {latest} is a pre-release",
                fix="bump the next pre-release with --pre rc, or --finalize to release it as is")
        changes: tuple[ContractChange, ...] = ()
        detected: str | None = None
        if old is not None:
            if old.behaviour_hash == head.behaviour_hash and not finalize:
                raise NoChangeError(
                    f"{name}: the head behaves exactly like {latest}", where=display(head_path),
                    why="messages, model, config, input, output and tools are unchanged",
                    fix="edit the prompt first (description/rationale edits need no version)")
            if finalize and old.behaviour_hash != head.behaviour_hash:
                raise ConfigError(
                    f"{name}: --finalize releases {latest} as it was, but the head has changed",
                    where=display(head_path),
                    fix="bump a new pre-release (--pre rc) and finalize that one once it passes")
            changes = contract_changes(old, head)
            detected = check_declared_level(level, changes, force=force, reason=reason) \
                if changes else None
        new = next_version(latest, level, pre=pre, finalize=finalize)
        text = with_version(head_path.read_text(encoding="utf-8"), new)
        snapshot = store.snapshot_path(name, new)
        result = BumpResult(name, latest, new, level, detected or required_level(changes),
                            changes, str(snapshot.relative_to(repo.root)), None, dry_run,
                            reason if force else None, upstream=sync.label)
        if dry_run:
            return result
        if snapshot.exists() and (record is None or record.entry(new) is None):
            snapshot.unlink()  # left by a bump killed before it reached the registry
        file_hash = store.write_snapshot(name, new, text)
        head_path.write_text(text, encoding="utf-8")
        now = now_stamp()
        who = actor or repo.user()
        entry = ChangelogEntry(
            version=new, date=now[:10], status="candidate", note=note.strip(),
            bump="finalize" if finalize else level, detected=result.detected or level,
            behaviour_hash=head.behaviour_hash, file_hash=file_hash, model=head.model or "",
            forced_reason=result.forced_reason)
        base = record or PromptRecord(name=name, current=None, latest=None, model=head.model,
                                      deployed=None, changelog=())
        updated = replace(base, latest=new, model=head.model,
                          changelog=(entry, *base.changelog))
        store.save_registry(registry.with_prompt(updated))
        event = Event(id=event_id(now, None, name, "bump"), kind="bump", prompt=name, env=None,
                      when=now, who=who, from_version=latest, to_version=new,
                      from_model=old.model if old else None, to_model=head.model,
                      note=note.strip(), reason=result.forced_reason,
                      evidence={"detected": result.detected, "declared": level,
                                "changes": [c.change + ": " + c.field for c in changes]},
                      timings={})
        event_path = store.write_event(event)
        paths = [rel_head, result.snapshot, "prompts/registry.yaml",
                 str(event_path.relative_to(repo.root))]
        commit = repo.commit(paths, f"prompt({name}): bump {latest or 'none'} → {new}",
                             trailers={"Prompt-Version": new,
                                       "Prompt-Behavior-Hash": head.behaviour_hash})
        pushed, _ = publish(repo, sync, commit)
        return replace(result, commit=commit, pushed=pushed)


def _snapshot_prompt(store: RegistryStore, name: str, version: str) -> PromptFile:
    text = store.read_snapshot(name, version)
    shown = display(store.snapshot_path(name, version))
    return parse_prompt(parse_yaml(text, shown), shown)
