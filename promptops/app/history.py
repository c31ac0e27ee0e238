"""Read-only views of the release flow: history, status and diff of two versions."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from promptops.core.contract import ContractChange, contract_changes
from promptops.core.errors import ConfigError
from promptops.core.prompt import PromptFile, parse_prompt
from promptops.core.registry import Event, PointerEntry
from promptops.core.yamlsource import parse_yaml
from promptops.storage.registry_store import RegistryStore


def history(root: Path, name: str) -> list[Event]:
    """Every event of a prompt, oldest first (bumps, releases, promotions, rollbacks, drills)."""
    store = RegistryStore(root)
    if store.load_registry().get(name) is None and not store.events(prompt=name):
        raise ConfigError(f"no prompt {name!r} in prompts/registry.yaml",
                          fix=f"bump it first: promptops bump {name} minor --note ...")
    return store.events(prompt=name)


def status(root: Path, env: str | None = None) -> dict[str, dict[str, PointerEntry]]:
    """env -> prompt -> pointer entry, for one environment or all of them."""
    store = RegistryStore(root)
    envs = [env] if env else store.envs()
    return {e: dict(store.load_pointer(e).prompts) for e in envs}


@dataclass(frozen=True)
class Served:
    """What one environment served of one prompt at a moment, and the event that set it."""

    version: str
    model: str | None
    since: str
    who: str
    event: str
    kind: str  # promote | rollback


def parse_moment(text: str) -> datetime:
    """An ISO date or date-time (UTC unless it says otherwise); ConfigError otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--at {text!r} is not a date or time",
                          fix="write e.g. --at 2026-11-27T14:30Z or --at 2026-11-27") from None
    if len(text.strip()) == 10:  # a bare date means the end of that day
        moment += timedelta(days=1) - timedelta(microseconds=1)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def served_at(root: Path, at: datetime, env: str | None = None) -> dict[str, dict[str, Served]]:
    """env -> prompt -> what was live at `at`, replayed from the promote/rollback events."""
    out: dict[str, dict[str, Served]] = {}
    for event in RegistryStore(root).events():
        if event.kind not in ("promote", "rollback") or not event.env or not event.to_version:
            continue
        if (env and event.env != env) or datetime.fromisoformat(
                event.when.replace("Z", "+00:00")) > at:
            continue
        out.setdefault(event.env, {})[event.prompt] = Served(
            event.to_version, event.to_model, event.when, event.who, event.id, event.kind)
    return out


@dataclass(frozen=True)
class VersionDiff:
    """Two versions side by side: text, config/model and contract, plus scorecard numbers."""

    name: str
    a: str
    b: str
    template: tuple[str, ...]  # unified diff lines of the messages/template
    settings: tuple[tuple[str, Any, Any], ...]  # (field, a, b) for model and config keys
    contract: tuple[ContractChange, ...]
    scorecards: tuple[dict[str, Any] | None, dict[str, Any] | None]


def _version(store: RegistryStore, ref: str) -> tuple[str, str, PromptFile]:
    name, sep, version = ref.partition("@")
    if not sep or not version:
        raise ConfigError(f"{ref!r} is not NAME@VERSION", fix="e.g. customer-support-router@1.2.0")
    text = store.read_snapshot(name, version)
    shown = f"prompts/{name}/versions/{version}.yaml"
    return name, version, parse_prompt(parse_yaml(text, shown), shown)


def _scorecard(root: Path, name: str, version: str) -> dict[str, Any] | None:
    path = root / "suites" / "scorecards" / name / f"{version}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    models = (data.get("summary") or {}).get("models") or [{}]
    first = models[0]
    return {k: first.get(k) for k in ("model", "pass_rate", "mean_score", "cost_per_case_usd",
                                      "latency_p95_ms")}


def diff(root: Path, ref_a: str, ref_b: str) -> VersionDiff:
    """Compare two snapshots of the same prompt."""
    store = RegistryStore(root)
    name, va, a = _version(store, ref_a)
    name_b, vb, b = _version(store, ref_b if "@" in ref_b else f"{name}@{ref_b}")
    if name_b != name:
        raise ConfigError("diff compares two versions of one prompt",
                          fix=f"write {name}@{va} {name}@<other>")

    def text(p: PromptFile) -> list[str]:
        return [line for role, body in p.messages for line in [f"[{role}]", *body.splitlines()]]

    template = tuple(difflib.unified_diff(text(a), text(b), f"{name}@{va}", f"{name}@{vb}",
                                          lineterm=""))
    settings = [("model", a.model, b.model)] if a.model != b.model else []
    for key in sorted({*a.config, *b.config}):
        if a.config.get(key) != b.config.get(key):
            settings.append((f"config.{key}", a.config.get(key), b.config.get(key)))
    return VersionDiff(name, va, vb, template, tuple(settings), contract_changes(a, b),
                       (_scorecard(root, name, va), _scorecard(root, name, vb)))
