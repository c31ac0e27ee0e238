"""PromptStore: serve the deployed version of each prompt; re-read the pointer on change."""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptops.core.errors import ConfigError, VerifyFailedError
from promptops.core.models import Message
from promptops.core.registry import canary_bucket, canary_of
from promptops.runtime.sources import BundleSource, ProjectSource, Sig, bare_hash, signature

if TYPE_CHECKING:
    from promptops.core.prompt import PromptFile, Renderer
    from promptops.core.registry import Canary, PointerEntry

log = logging.getLogger("promptops.runtime")

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*")
_Arms = tuple["ResolvedPrompt", int, "ResolvedPrompt | None"]  # stable, canary weight, canary


def pin_variable(name: str) -> str:
    """The environment variable that force-pins a prompt: PROMPTOPS_PIN_<NAME>."""
    return "PROMPTOPS_PIN_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


class _Compiled:
    """The Renderer of one prompt version, compiled on first render and shared."""

    __slots__ = ("renderer",)

    def __init__(self) -> None:
        self.renderer: Renderer | None = None


@dataclass(frozen=True)
class ResolvedPrompt:
    """The version of a prompt to serve in an environment, with how it was chosen."""

    name: str
    version: str | None
    env: str
    source: str  # forced | pointer | canary | disabled | head | bundle
    prompt: PromptFile
    model: str | None
    enabled: bool
    fallback_behavior: str | None
    rollback_version: str | None
    rollback_model: str | None
    behaviour_hash: str
    _compiled: _Compiled = field(default_factory=_Compiled, repr=False, compare=False)

    def render(self, variables: Mapping[str, Any]) -> tuple[Message, ...]:
        """Check the inputs against the contract and render every message."""
        from promptops.core.prompt import Renderer, check_inputs

        where = f"{self.name}@{self.version or 'head'}"
        renderer = self._compiled.renderer
        if renderer is None:
            renderer = self._compiled.renderer = Renderer(self.prompt)
        return renderer.render(check_inputs(self.prompt, variables, where), where)

    def anthropic_request(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Anthropic Messages shape: `system` (omitted when empty), `messages` and the config."""
        msgs = self.render(variables)
        system = "\n\n".join(m.content for m in msgs if m.role == "system")
        out: dict[str, Any] = {"system": system} if system else {}
        out["messages"] = [{"role": m.role, "content": m.content} for m in msgs
                           if m.role != "system"]
        return {**out, **self.prompt.config}

    def openai_request(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """OpenAI Chat Completions shape: `messages` (system included) and the config."""
        msgs = [{"role": m.role, "content": m.content} for m in self.render(variables)]
        return {"messages": msgs, **self.prompt.config}

    def trace_attributes(self) -> dict[str, str]:
        """Span/log attributes naming exactly what was served (no version key for the head)."""
        out = {"gen_ai.prompt.name": self.name}
        if self.version is not None:
            out["gen_ai.prompt.version"] = self.version
        out.update({"promptops.behaviour_hash": self.behaviour_hash, "promptops.env": self.env,
                    "promptops.source": self.source})
        return out


class PromptStore:
    """Loads prompts for one environment; `get` is a stat plus dict lookups when cached.

    `problems`: (name, version) → why that canary could not be served (stable was, instead).
    """

    def __init__(self, root: str | Path = ".", env: str = "production", *,
                 bundle: str | Path | None = None, ttl_s: float | None = None,
                 environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 rng: Callable[[], float] = random.random) -> None:
        self._setup(BundleSource(Path(bundle), env) if bundle is not None
                    else ProjectSource(Path(root), env), ttl_s, environ, clock, rng)

    def _setup(self, source: ProjectSource | BundleSource, ttl_s: float | None,
               environ: Mapping[str, str] | None, clock: Callable[[], float],
               rng: Callable[[], float]) -> None:
        self._source = source
        self._ttl, self._clock, self._next_check, self._rng = ttl_s, clock, 0.0, rng
        self.problems: dict[tuple[str, str], str] = {}
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._lock = threading.Lock()
        self._pins: dict[str, str] = {}
        self._versions: dict[tuple[str, str], tuple[PromptFile, _Compiled]] = {}
        self._resolved: dict[tuple[str, str | None], _Arms] = {}
        self._heads: dict[str, Sig] = {}
        self._sig: Sig = None
        self._reload(signature(self._source.watch))
        self.env: str = self._source.env

    @classmethod
    def from_bundle(cls, path: str | Path, env: str | None = None, *,
                    ttl_s: float | None = None, environ: Mapping[str, str] | None = None,
                    clock: Callable[[], float] = time.monotonic,
                    rng: Callable[[], float] = random.random) -> PromptStore:
        """Serve from a bundle built by `promptops bundle` (env defaults to the bundle's)."""
        store = cls.__new__(cls)
        store._setup(BundleSource(Path(path), env), ttl_s, environ, clock, rng)
        return store

    def _reload(self, sig: Sig) -> None:
        with self._lock:
            pointer = self._source.load_pointer()
            if isinstance(self._source, BundleSource):
                self._versions = {}
            self._pointer, self._sig, self._resolved = pointer, sig, {}

    def get(self, name: str, sticky_key: str | None = None) -> ResolvedPrompt:
        """The version to serve now: forced pin, canary arm, pointer (or disabled), else head.

        During a canary, `sticky_key` (a user or conversation id) keeps a caller on one version;
        without one, every call draws afresh (the canary's weight is the chance).
        """
        stable, weight, canary = self.serving(name)
        if canary is None:
            return stable
        draw = canary_bucket(name, sticky_key) if sticky_key is not None else self._rng() * 100
        return canary if draw < weight else stable

    def serving(self, name: str) -> _Arms:
        """(stable, canary weight, canary or None) as `get` chooses between them now."""
        if self._ttl is None or self._clock() >= self._next_check:
            if self._ttl is not None:
                self._next_check = self._clock() + self._ttl
            sig = signature(self._source.watch)
            if sig != self._sig:
                self._reload(sig)
        var = self._pins.get(name)
        if var is None:
            var = self._pins[name] = pin_variable(name)
        key = (name, self._environ.get(var))
        arms = self._resolved.get(key)
        if arms is None or (arms[0].version is None and not self._head_fresh(name)):
            arms = self._resolved[key] = self._arms(name, key[1])
        return arms

    def deployed(self) -> tuple[str, ...]:
        """The prompts this environment's pointer names."""
        return tuple(sorted(self._pointer.prompts))

    def _arms(self, name: str, pin: str | None) -> _Arms:
        stable = self._resolve(name, pin)
        entry = self._pointer.get(name)
        canary = canary_of(entry) if pin is None and entry is not None and entry.enabled else None
        if canary is None:
            return stable, 0, None
        try:
            served = self._serve(name, canary.version, "canary", entry, canary)
        except Exception as exc:  # a broken canary must never take the stable version down
            if (name, canary.version) not in self.problems:  # warn once, not once per reload
                self.problems[(name, canary.version)] = why = (
                    f"{name}@{canary.version}: canary not served, serving "
                    f"{stable.version or 'head'}: {getattr(exc, 'what', None) or exc!r}")
                log.warning("promptops: %s", why)
            return stable, 0, None
        return stable, canary.weight, served

    def _head_fresh(self, name: str) -> bool:
        return signature(self._source.head_path(name)) == self._heads.get(name)

    def _version(self, name: str, version: str) -> tuple[PromptFile, _Compiled]:
        cached = self._versions.get((name, version))
        if cached is None:
            cached = self._versions[(name, version)] = (
                self._source.load_version(name, version), _Compiled())
        return cached

    def _resolve(self, name: str, pin: str | None) -> ResolvedPrompt:
        if not _NAME_RE.fullmatch(name):
            raise ConfigError(f"invalid prompt name {name!r}",
                              fix="use lowercase letters, digits, `-` and `/`")
        entry = self._pointer.get(name)
        if pin is not None:
            if pin not in self._source.versions(name):
                raise ConfigError(f"{pin_variable(name)}={pin} names an unknown version of {name}",
                                  why=f"known: {', '.join(self._source.versions(name)) or 'none'}",
                                  fix=f"unset {pin_variable(name)} or pin a recorded version")
            return self._serve(name, pin, "forced", entry)
        bundled = isinstance(self._source, BundleSource)
        if entry is not None and entry.prompt_version is not None:
            source = "disabled" if not entry.enabled else "bundle" if bundled else "pointer"
            return self._serve(name, entry.prompt_version, source, entry)
        head = self._source.head(name)
        if head is None:
            raise ConfigError(
                f"prompt {name!r} is not deployed in {self.env} and has no head file",
                why=f"prompts here: {', '.join(self._source.known()) or 'none'}",
                fix=f"check the name, or deploy it: promptops promote {name}@<version> "
                f"--to {self.env}" + (" and rebuild the bundle" if bundled else ""))
        prompt, self._heads[name] = head
        enabled = entry.enabled if entry is not None else True
        return ResolvedPrompt(
            name, None, self.env, "head" if enabled else "disabled", prompt,
            (entry.model if entry else None) or prompt.model, enabled,
            entry.fallback_behavior if entry else None, entry.rollback_version if entry else None,
            entry.rollback_model if entry else None, prompt.behaviour_hash)

    def _serve(self, name: str, version: str, source: str, entry: PointerEntry | None,
               canary: Canary | None = None) -> ResolvedPrompt:
        prompt, compiled = self._version(name, version)
        model = prompt.model
        if entry is not None:
            slots: tuple[tuple[str | None, str | None, str | None], ...] = (
                (entry.prompt_version, entry.model, entry.behaviour_hash),
                (entry.rollback_version, entry.rollback_model, entry.rollback_behaviour_hash))
            if canary is not None:  # the canary's own model and hash, not promptVersion's
                slots = ((canary.version, canary.model, canary.behaviour_hash),)
            for v, m, expected in slots:
                if v != version:
                    continue
                model = m or model
                if bare_hash(expected) not in (None, prompt.behaviour_hash):
                    raise VerifyFailedError(
                        f"{name}@{version}: behaviour hash differs from deploy/{self.env}.yaml",
                        why=f"pointer {expected}, snapshot {prompt.behaviour_hash}",
                        fix="restore the snapshot or the pointer from git; run promptops verify")
                break
        return ResolvedPrompt(
            name, version, self.env, source, prompt, model,
            entry.enabled if entry is not None and source != "forced" else True,
            entry.fallback_behavior if entry else None, entry.rollback_version if entry else None,
            entry.rollback_model if entry else None, prompt.behaviour_hash, compiled)
