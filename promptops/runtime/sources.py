"""Where a PromptStore reads from: the project's files (registry, snapshots, pointer, heads)
or one bundle JSON file built by `promptops bundle`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptops.core.errors import ConfigError, VerifyFailedError
from promptops.core.registry import BUNDLE_SCHEMA

if TYPE_CHECKING:
    from promptops.core.prompt import PromptFile
    from promptops.core.registry import Pointer, Registry

Sig = tuple[int, int, int] | None


def bare_hash(value: str | None) -> str | None:
    """A hash without its `sha256:` prefix (registry and pointers write it both ways)."""
    return value.removeprefix("sha256:") if value else None


def signature(path: Path) -> Sig:
    """(mtime, size, inode) of a file, or None: cheap change detection for the pointer."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _parse(text: str, shown: str, name: str) -> PromptFile:
    from promptops.core.prompt import parse_prompt
    from promptops.core.yamlsource import parse_yaml

    prompt = parse_prompt(parse_yaml(text, shown), shown)
    if prompt.name != name:
        raise VerifyFailedError(f"{shown} says `name: {prompt.name}`, expected {name!r}",
                                fix="restore the file from git")
    return prompt


class ProjectSource:
    """Pointer, registry, snapshots and heads read from a project checkout."""

    def __init__(self, root: Path, env: str) -> None:
        from promptops.storage.registry_store import RegistryStore

        self.files = RegistryStore(root)
        self.watch = self.files.pointer_path(env)
        self.env = env
        self._registry: Registry | None = None
        self._registry_sig: Sig = None

    def load_pointer(self) -> Pointer:
        """The environment's pointer."""
        return self.files.load_pointer(self.env)

    def _reg(self) -> Registry:
        sig = signature(self.files.registry_path)
        if self._registry is None or sig != self._registry_sig:
            self._registry, self._registry_sig = self.files.load_registry(), sig
        return self._registry

    def versions(self, name: str) -> tuple[str, ...]:
        """Every version of `name` this source can serve."""
        record = self._reg().get(name)
        return record.versions() if record else ()

    def load_version(self, name: str, version: str) -> PromptFile:
        """The snapshot of name@version, hash-checked."""
        record = self._reg().get(name)
        entry = record.entry(version) if record else None
        shown = f"prompts/{name}/versions/{version}.yaml"
        if entry is None:
            raise VerifyFailedError(f"{name}@{version} is not in prompts/registry.yaml",
                                    why="an unrecorded snapshot cannot be verified",
                                    fix="pin or deploy a version `promptops bump` recorded")
        text = self.files.read_snapshot(name, version)
        if self.files.file_hash(text) != entry.file_hash:
            raise VerifyFailedError(f"{shown} does not match the registry's fileHash",
                                    why="a released snapshot was edited; it will not be served",
                                    fix=f"restore it: git checkout -- {shown}")
        prompt = _parse(text, shown, name)
        if bare_hash(entry.behaviour_hash) not in (None, prompt.behaviour_hash):
            raise VerifyFailedError(f"{shown}: behaviour hash differs from the registry",
                                    fix=f"restore it: git checkout -- {shown}")
        return prompt

    def head(self, name: str) -> tuple[PromptFile, Sig] | None:
        """The editable head file and its signature, or None."""
        path = self.head_path(name)
        sig = signature(path)
        if sig is None:
            return None
        return _parse(path.read_bytes().decode("utf-8"), f"prompts/{name}/prompt.yaml", name), sig

    def head_path(self, name: str) -> Path:
        """Where the head file of `name` lives (watched for edits)."""
        return self.files.root / "prompts" / name / "prompt.yaml"

    def known(self) -> list[str]:
        """Every prompt name this source knows."""
        heads = {p.parent.name for p in (self.files.root / "prompts").glob("*/prompt.yaml")}
        return sorted(heads | set(self.load_pointer().prompts))


class BundleSource:
    """Pointer entries and snapshot texts read from one bundle JSON file."""

    def __init__(self, path: Path, env: str | None) -> None:
        self.watch, self.shown, self.env = path, str(path), env or ""
        self.data: dict[str, Any] = {}
        self.snapshots: dict[tuple[str, str], dict[str, Any]] = {}

    def _read(self) -> dict[str, Any]:
        from promptops.storage.registry_store import RegistryStore

        try:
            data = json.loads(self.watch.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise ConfigError("bundle not found", where=self.shown,
                              fix="build it: promptops bundle --env production") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"unreadable bundle: {exc}", where=self.shown,
                              fix="rebuild it with `promptops bundle`") from None
        if not isinstance(data, dict) or data.get("schema") != BUNDLE_SCHEMA:
            raise ConfigError("not a promptops bundle (or a newer schema)", where=self.shown,
                              fix=f"rebuild it with this promptops (schema {BUNDLE_SCHEMA})")
        self.env = self.env or str(data.get("env"))
        if data.get("env") != self.env:
            raise ConfigError(f"bundle is for environment {data.get('env')!r}, not {self.env!r}",
                              where=self.shown, fix="build it with `promptops bundle --env "
                              f"{self.env}` or use PromptStore.from_bundle(path)")
        snapshots: dict[tuple[str, str], dict[str, Any]] = {}
        for name, item in (data.get("prompts") or {}).items():
            for version, snap in (item.get("snapshots") or {}).items():
                if RegistryStore.file_hash(snap["text"]) != snap.get("fileHash"):
                    raise VerifyFailedError(f"bundle snapshot {name}@{version} does not match "
                                            "its fileHash", where=self.shown,
                                            fix="rebuild the bundle from a verified checkout")
                snapshots[(name, version)] = snap
        self.data, self.snapshots = data, snapshots
        return data

    def load_pointer(self) -> Pointer:
        """The environment's pointer."""
        from promptops.core.registry import Pointer
        from promptops.storage.registry_store import pointer_entry_from

        data = self._read()
        entries = {name: pointer_entry_from(item["pointer"], f"{self.shown}: {name}")
                   for name, item in (data.get("prompts") or {}).items()}
        return Pointer(env=self.env, prompts=entries)

    def versions(self, name: str) -> tuple[str, ...]:
        """Every version of `name` this source can serve."""
        return tuple(v for n, v in self.snapshots if n == name)

    def load_version(self, name: str, version: str) -> PromptFile:
        """The snapshot of name@version, hash-checked."""
        snap = self.snapshots.get((name, version))
        if snap is None:
            raise VerifyFailedError(f"{name}@{version} is not in the bundle", where=self.shown,
                                    fix="rebuild the bundle: promptops bundle --env " + self.env)
        prompt = _parse(snap["text"], f"{self.shown}: {name}@{version}", name)
        if bare_hash(snap.get("behaviorHash")) not in (None, prompt.behaviour_hash):
            raise VerifyFailedError(f"bundle snapshot {name}@{version}: behaviour hash differs",
                                    where=self.shown, fix="rebuild the bundle")
        return prompt

    def head(self, name: str) -> tuple[PromptFile, Sig] | None:
        """The editable head file and its signature, or None."""
        return None

    def head_path(self, name: str) -> Path:
        """Where the head file of `name` lives (watched for edits)."""
        return self.watch

    def known(self) -> list[str]:
        """Every prompt name this source knows."""
        return sorted(self.data.get("prompts") or {})


