"""Release-flow records: the registry catalog, environment pointers and events (pure data)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

REGISTRY_SCHEMA = 1
STATUSES = ("candidate", "released", "yanked")
EVENT_KINDS = ("bump", "release", "promote", "rollback", "drill", "yank", "canary")
FALLBACKS = ("rollback", "bundled", "disable", "error")


@dataclass(frozen=True)
class ChangelogEntry:
    """One version of a prompt as recorded in the registry."""

    version: str
    date: str
    status: str  # candidate | released | yanked
    note: str
    bump: str  # declared level
    detected: str | None  # minimum level the contract change required (None: first version)
    behaviour_hash: str
    file_hash: str
    model: str | None
    scorecard: str | None = None
    tag: str | None = None
    released_by: str | None = None
    forced_reason: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # unknown keys, kept on rewrite


@dataclass(frozen=True)
class PromptRecord:
    """A prompt's registry entry: pointers to versions and its changelog (newest first)."""

    name: str
    current: str | None  # latest released
    latest: str | None  # newest bumped (candidate or released)
    model: str | None
    deployed: str | None  # mirror of deploy/production.yaml's promptVersion (compat only)
    changelog: tuple[ChangelogEntry, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. owners, kept on rewrite

    def entry(self, version: str) -> ChangelogEntry | None:
        """The changelog entry of a version, or None."""
        return next((e for e in self.changelog if e.version == version), None)

    def versions(self) -> tuple[str, ...]:
        """Every recorded version, newest first."""
        return tuple(e.version for e in self.changelog)

    def with_entry(self, entry: ChangelogEntry) -> PromptRecord:
        """A copy with `entry` replacing the same version's entry, or prepended as newest."""
        if self.entry(entry.version) is None:
            return replace(self, changelog=(entry, *self.changelog))
        log = tuple(entry if e.version == entry.version else e for e in self.changelog)
        return replace(self, changelog=log)


@dataclass(frozen=True)
class Registry:
    """The whole catalog, keyed by prompt name."""

    schema: int = REGISTRY_SCHEMA
    prompts: Mapping[str, PromptRecord] = field(default_factory=dict)

    def get(self, name: str) -> PromptRecord | None:
        """A prompt's record, or None when it has never been bumped."""
        return self.prompts.get(name)

    def with_prompt(self, record: PromptRecord) -> Registry:
        """A new Registry with `record` added or replaced."""
        return replace(self, prompts={**self.prompts, record.name: record})


@dataclass(frozen=True)
class PointerEntry:
    """One prompt's desired state in one environment (the feature-flag record)."""

    enabled: bool
    prompt_version: str | None
    model: str | None
    rollback_version: str | None
    rollback_model: str | None
    fallback_behavior: str  # rollback | bundled | disable | error
    behaviour_hash: str | None
    rollback_behaviour_hash: str | None
    blocked: tuple[str, ...]
    deployed_at: str | None
    deployed_by: str | None
    event: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. canary, kept on rewrite


@dataclass(frozen=True)
class Pointer:
    """An environment's pointer file: which version of each prompt it serves."""

    env: str
    prompts: Mapping[str, PointerEntry] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. policy, kept on rewrite

    def get(self, name: str) -> PointerEntry | None:
        """A prompt's entry, or None when it is not deployed here."""
        return self.prompts.get(name)

    def with_entry(self, name: str, entry: PointerEntry) -> Pointer:
        """A new Pointer with `entry` set for `name`."""
        return replace(self, prompts={**self.prompts, name: entry})


@dataclass(frozen=True)
class Event:
    """One append-only release-flow event (bump, release, promote, rollback, ...)."""

    id: str
    kind: str
    prompt: str
    env: str | None
    when: str
    who: str
    from_version: str | None = None
    to_version: str | None = None
    from_model: str | None = None
    to_model: str | None = None
    note: str | None = None
    reason: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, Any] = field(default_factory=dict)


def event_id(when: str | datetime, env: str | None, prompt: str, kind: str) -> str:
    """`<ts>__<env>__<name>__<kind>`, safe as a file name (env `-` when none)."""
    if isinstance(when, datetime):
        utc = when.astimezone(UTC) if when.tzinfo else when
        stamp = utc.strftime("%Y-%m-%dT%H-%M-%SZ")
    else:
        stamp = when.replace(":", "-")
    return f"{stamp}__{env or '-'}__{prompt.replace('/', '+')}__{kind}"


@dataclass(frozen=True)
class Canary:
    """A version served to `weight` percent of traffic beside a pointer's promptVersion.

    Stored in the pointer entry as `canary: {version, weight, model, behaviorHash, since,
    event}`. Requests are bucketed by `canary_bucket`, so one sticky key never flips between
    versions mid-conversation.
    """

    version: str
    weight: int  # 1..99 percent
    model: str | None = None
    behaviour_hash: str | None = None
    since: str | None = None
    event: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The pointer-file form."""
        return {"version": self.version, "weight": self.weight, "model": self.model,
                "behaviorHash": self.behaviour_hash, "since": self.since, "event": self.event}


def canary_of(entry: PointerEntry | None) -> Canary | None:
    """The entry's canary, or None (also when the block is malformed: never guess a version)."""
    raw = entry.extra.get("canary") if entry is not None else None
    if not isinstance(raw, Mapping):
        return None
    version, weight = raw.get("version"), raw.get("weight")
    if not isinstance(version, str) or isinstance(weight, bool) or not isinstance(weight, int) \
            or not 0 < weight < 100:
        return None
    model, behaviour, since, event = (
        None if raw.get(k) is None else str(raw[k])
        for k in ("model", "behaviorHash", "since", "event"))
    return Canary(version, weight, model, behaviour, since, event)


def canary_bucket(name: str, sticky_key: str) -> int:
    """0..99, the same for a prompt and key everywhere (sha256, not Python's salted hash)."""
    digest = hashlib.sha256(f"{name}\0{sticky_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


# The `promptops bundle` file format (written by app/bundle.py, read by runtime/store.py).
BUNDLE_SCHEMA = "promptops/bundle@1"


def tag_name(name: str, version: str) -> str:
    """The release tag of a version: prompts/<name>@<version> (annotated, never moved)."""
    return f"prompts/{name}@{version}"
