"""Build the runtime bundle: one JSON file with an environment's pointer and verified snapshots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptops.app.clock import now_stamp
from promptops.core.errors import ConfigError, VerifyFailedError
from promptops.core.prompt import parse_prompt
from promptops.core.registry import BUNDLE_SCHEMA, canary_of
from promptops.core.yamlsource import parse_yaml
from promptops.storage.atomic import atomic_write
from promptops.storage.gitinfo import git_state
from promptops.storage.registry_store import RegistryStore, pointer_entry_to


@dataclass(frozen=True)
class BundleResult:
    """What `promptops bundle` wrote."""

    path: str
    env: str
    prompts: tuple[str, ...]
    versions: tuple[str, ...]  # name@version of every snapshot included
    git_commit: str | None
    bytes: int


def _snapshot(store: RegistryStore, name: str, version: str,
              expected_behaviour: str | None) -> dict[str, Any]:
    """A snapshot's text and hashes, verified against the registry and the pointer."""
    record = store.load_registry().get(name)
    entry = record.entry(version) if record else None
    shown = f"prompts/{name}/versions/{version}.yaml"
    if entry is None:
        raise VerifyFailedError(f"{name}@{version} is deployed but not in the registry",
                                fix="run `promptops verify` and restore prompts/registry.yaml")
    text = store.read_snapshot(name, version)
    if store.file_hash(text) != entry.file_hash:
        raise VerifyFailedError(f"{shown} does not match the registry's fileHash",
                                why=f"registry {entry.file_hash}, file {store.file_hash(text)}",
                                fix=f"restore it: git checkout -- {shown}")
    behaviour = parse_prompt(parse_yaml(text, shown), shown).behaviour_hash
    for want in (entry.behaviour_hash, expected_behaviour):
        if want and want.removeprefix("sha256:") != behaviour:
            raise VerifyFailedError(f"{shown}: behaviour hash {behaviour} does not match {want}",
                                    fix="restore the snapshot and pointer from git; "
                                    "run promptops verify")
    return {"text": text, "fileHash": entry.file_hash, "behaviorHash": behaviour}


def build_bundle(root: Path, env: str, out: Path) -> BundleResult:
    """Write `out` with every prompt deployed in `env`: pointer entry, deployed, rollback and
    canary text."""
    store = RegistryStore(root)
    if not store.pointer_path(env).is_file():
        known = ", ".join(store.envs()) or "none"
        raise ConfigError(f"no pointer for environment {env!r} (deploy/{env}.yaml)",
                          why=f"environments: {known}",
                          fix=f"promote a version first: promptops promote NAME@VERSION --to {env}")
    pointer = store.load_pointer(env)
    prompts: dict[str, Any] = {}
    versions: list[str] = []
    for name in sorted(pointer.prompts):
        entry = pointer.prompts[name]
        snaps: dict[str, Any] = {}
        canary = canary_of(entry)
        for version, expected in ((entry.prompt_version, entry.behaviour_hash),
                                  (entry.rollback_version, entry.rollback_behaviour_hash),
                                  (canary.version if canary else None,
                                   canary.behaviour_hash if canary else None)):
            if version and version not in snaps:
                snaps[version] = _snapshot(store, name, version, expected)
                versions.append(f"{name}@{version}")
        prompts[name] = {"pointer": pointer_entry_to(entry), "snapshots": snaps}
    commit, dirty = git_state(root)
    data = {"schema": BUNDLE_SCHEMA, "env": env, "createdAt": now_stamp(),
            "gitCommit": commit, "gitDirty": dirty, "prompts": prompts}
    body = (json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n").encode()
    atomic_write(out, body)
    return BundleResult(str(out), env, tuple(prompts), tuple(versions), commit, len(body))
