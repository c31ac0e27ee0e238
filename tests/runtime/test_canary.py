"""Canary serving: sticky bucketing, the canary arm, safe fallback to stable, reloads, bundles."""

from __future__ import annotations

import json
import logging
import random
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_fakes import Sink
from test_store import NAME, PROMPT, VARS, behaviour, make_project, pointer_entry, set_pointer

from promptops.app.bundle import build_bundle
from promptops.core.config import ProjectConfig
from promptops.core.registry import PointerEntry, canary_bucket
from promptops.runtime import PromptStore
from promptops.runtime.client import CallResult, Runtime
from promptops.runtime.store import pin_variable
from promptops.storage.registry_store import RegistryStore

CANARY_MODEL = "anthropic:claude-sonnet-5"
KEYS = [f"user-{i}" for i in range(200)]


def with_canary(version: str = "1.2.0", weight: int = 10, *,
                canary_model: str | None = CANARY_MODEL, behaviour_hash: str | None = "auto",
                **kw: Any) -> PointerEntry:
    """Stable 1.1.0 (rollback 1.0.0) with `version` as the canary."""
    if behaviour_hash == "auto":
        behaviour_hash = "sha256:" + behaviour(PROMPT.format(version=version))
    canary = {"version": version, "weight": weight, "model": canary_model,
              "behaviorHash": behaviour_hash, "since": "2025-06-01T00:00:00Z", "event": None}
    return pointer_entry("1.1.0", "1.0.0", extra={"canary": canary}, **kw)


def split_keys(weight: int = 10) -> tuple[str, str]:
    """One key in the canary bucket range and one outside it."""
    inside = next(k for k in KEYS if canary_bucket(NAME, k) < weight)
    outside = next(k for k in KEYS if canary_bucket(NAME, k) >= weight)
    return inside, outside


@pytest.fixture
def project(tmp_path: Path) -> RegistryStore:
    return make_project(tmp_path, entry=with_canary())


def test_sticky_key_picks_the_same_version_in_every_store(project: RegistryStore) -> None:
    one, two = PromptStore(project.root, environ={}), PromptStore(project.root, environ={})
    served = {k: one.get(NAME, sticky_key=k).version for k in KEYS}
    assert served == {k: two.get(NAME, sticky_key=k).version for k in KEYS}
    assert served == {k: one.get(NAME, sticky_key=k).version for k in KEYS}  # and every call
    assert served == {k: "1.2.0" if canary_bucket(NAME, k) < 10 else "1.1.0" for k in KEYS}
    assert set(served.values()) == {"1.1.0", "1.2.0"}


def test_canary_share_over_10000_keys_is_the_weight(project: RegistryStore) -> None:
    store = PromptStore(project.root, environ={})
    hits = sum(store.get(NAME, sticky_key=f"account-{i}").source == "canary"
               for i in range(10_000))
    assert 800 <= hits <= 1200  # weight 10, ±2 points


def test_without_a_sticky_key_each_call_draws_with_the_weight(project: RegistryStore) -> None:
    store = PromptStore(project.root, environ={}, rng=random.Random(20250601).random)
    hits = sum(store.get(NAME).source == "canary" for _ in range(10_000))
    assert 800 <= hits <= 1200
    draws = iter([0.05, 0.5])
    store = PromptStore(project.root, environ={}, rng=lambda: next(draws))
    assert [store.get(NAME).version, store.get(NAME).version] == ["1.2.0", "1.1.0"]


def test_canary_arm_serves_its_version_model_and_source(project: RegistryStore) -> None:
    store = PromptStore(project.root, environ={})
    inside, outside = split_keys()
    p = store.get(NAME, sticky_key=inside)
    assert (p.version, p.source, p.model, p.enabled) == ("1.2.0", "canary", CANARY_MODEL, True)
    assert p.render(VARS)[0].content == "Route the ticket (v1.2.0)."
    attrs = p.trace_attributes()
    assert (attrs["gen_ai.prompt.version"], attrs["promptops.source"]) == ("1.2.0", "canary")
    assert attrs["promptops.behaviour_hash"] == behaviour(PROMPT.format(version="1.2.0"))
    assert store.get(NAME, sticky_key=inside) is p  # cached like the stable arm
    stable = store.get(NAME, sticky_key=outside)
    assert (stable.version, stable.source, stable.model) == ("1.1.0", "pointer",
                                                             "anthropic:claude-opus-4")
    set_pointer(project, with_canary(canary_model=None))  # no canary model: the prompt's own
    assert store.get(NAME, sticky_key=inside).model == "anthropic:claude-sonnet-4-5"


def test_pinned_or_disabled_never_serves_the_canary(project: RegistryStore) -> None:
    pinned = PromptStore(project.root, environ={pin_variable(NAME): "1.0.0"})
    served = [pinned.get(NAME, sticky_key=k) for k in KEYS]
    assert {(p.version, p.source) for p in served} == {("1.0.0", "forced")}
    set_pointer(project, with_canary(weight=99, enabled=False))
    store = PromptStore(project.root, environ={}, rng=lambda: 0.0)
    assert {store.get(NAME, sticky_key=k).source for k in KEYS} == {"disabled"}
    assert store.get(NAME).version == "1.1.0"


@pytest.mark.parametrize("broken", ["missing", "hash", "tampered"])
def test_unservable_canary_serves_stable_and_records_a_problem(
    project: RegistryStore, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    version = "9.9.9" if broken == "missing" else "1.2.0"
    set_pointer(project, with_canary(version, weight=99, behaviour_hash="sha256:0000"
                                     if broken == "hash" else "auto"))
    if broken == "tampered":
        path = project.snapshot_path(NAME, "1.2.0")
        path.write_text(path.read_text() + "# edited\n")
    store = PromptStore(project.root, environ={}, rng=lambda: 0.0)
    with caplog.at_level(logging.WARNING, logger="promptops.runtime"):
        served = [store.get(NAME, sticky_key=k) for k in KEYS] + [store.get(NAME)]
        set_pointer(project, with_canary(version, weight=98, behaviour_hash="sha256:0000"
                                         if broken == "hash" else "auto"))
        served.append(store.get(NAME))  # reloaded: the same problem is not logged again
    assert {(p.version, p.source) for p in served} == {("1.1.0", "pointer")}
    assert list(store.problems) == [(NAME, version)]
    assert "canary not served" in store.problems[(NAME, version)]
    assert len([r for r in caplog.records if "canary not served" in r.message]) == 1


def test_pointer_reload_picks_up_canary_start_and_end(project: RegistryStore) -> None:
    now = [100.0]
    inside, _ = split_keys()
    store = PromptStore(project.root, environ={}, ttl_s=5.0, clock=lambda: now[0])
    assert store.get(NAME, sticky_key=inside).source == "canary"
    set_pointer(project, pointer_entry("1.1.0", "1.0.0"))  # aborted: the canary block is gone
    now[0] += 4.9
    assert store.get(NAME, sticky_key=inside).source == "canary"  # within the TTL
    now[0] += 0.2
    assert (store.get(NAME, sticky_key=inside).version,
            store.get(NAME, sticky_key=inside).source) == ("1.1.0", "pointer")
    set_pointer(project, with_canary("1.2.0", weight=50))  # a new canary starts
    now[0] += 5.1
    assert store.get(NAME, sticky_key=inside).source == "canary"
    set_pointer(project, pointer_entry("1.2.0", "1.1.0"))  # completed: 1.2.0 for everyone
    now[0] += 5.1
    p = store.get(NAME, sticky_key=inside)
    assert (p.version, p.source) == ("1.2.0", "pointer")


def _bundle_with_canary(project: RegistryStore, out: Path, *, include: bool) -> None:
    """A bundle whose pointer carries the canary; its snapshot added by hand when missing."""
    build_bundle(project.root, "production", out)
    data = json.loads(out.read_text())
    item = data["prompts"][NAME]
    assert item["pointer"]["canary"]["version"] == "1.2.0"
    snaps = item["snapshots"]
    if include and "1.2.0" not in snaps:
        text = project.read_snapshot(NAME, "1.2.0")
        snaps["1.2.0"] = {"text": text, "fileHash": project.file_hash(text),
                          "behaviorHash": behaviour(text)}
    elif not include:
        snaps.pop("1.2.0", None)
    out.write_text(json.dumps(data))


def test_bundle_store_serves_a_bundled_canary(project: RegistryStore, tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    _bundle_with_canary(project, out, include=True)
    store = PromptStore.from_bundle(out, environ={})
    inside, outside = split_keys()
    p = store.get(NAME, sticky_key=inside)
    assert (p.version, p.source, p.model) == ("1.2.0", "canary", CANARY_MODEL)
    assert (store.get(NAME, sticky_key=outside).version,
            store.get(NAME, sticky_key=outside).source) == ("1.1.0", "bundle")
    assert not store.problems
    _bundle_with_canary(project, out, include=False)  # a bundle without it: stable, no error
    p = store.get(NAME, sticky_key=inside)
    assert (p.version, p.source) == ("1.1.0", "bundle")
    assert (NAME, "1.2.0") in store.problems


@pytest.fixture
def models() -> Iterator[None]:
    mod = types.ModuleType("canary_models")
    mod.answer = lambda request: request.messages[0].content  # type: ignore[attr-defined]
    mod.loud = lambda request: request.messages[0].content.upper()  # type: ignore[attr-defined]
    sys.modules["canary_models"] = mod
    yield
    del sys.modules["canary_models"]


def test_runtime_records_the_canary_version(project: RegistryStore, models: None) -> None:
    set_pointer(project, with_canary(canary_model="python:canary_models:loud",
                                     model="python:canary_models:answer"))
    sink = Sink()
    rt = Runtime(PromptStore(project.root, environ={}), config=ProjectConfig(), metrics=sink,
                 environ={})
    inside, outside = split_keys()
    try:
        canary = rt.call(NAME, VARS, sticky_key=inside)
        stable = rt.call(NAME, VARS, sticky_key=outside)
        streamed = list(rt.stream(NAME, VARS, sticky_key=inside))
    finally:
        rt.close()
    assert (canary.prompt_version, canary.text) == ("1.2.0", "ROUTE THE TICKET (V1.2.0).")
    assert (stable.prompt_version, stable.text) == ("1.1.0", "Route the ticket (v1.1.0).")
    final = streamed[-1]
    assert isinstance(final, CallResult) and final.prompt_version == "1.2.0"
    assert [r.prompt_version for r in sink.rows] == ["1.2.0", "1.1.0", "1.2.0"]
    assert [r.model for r in sink.rows[:2]] == ["python:canary_models:loud",
                                                "python:canary_models:answer"]
