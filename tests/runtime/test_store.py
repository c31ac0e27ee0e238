"""PromptStore: resolution order, hash verification, pointer reloads, bundles, request shapes."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from promptops.app.bundle import build_bundle
from promptops.core.errors import ConfigError, VerifyFailedError
from promptops.core.models import Message
from promptops.core.prompt import parse_prompt
from promptops.core.registry import ChangelogEntry, Pointer, PointerEntry, PromptRecord, Registry
from promptops.core.yamlsource import parse_yaml
from promptops.runtime import PromptStore, ResolvedPrompt
from promptops.runtime.store import pin_variable
from promptops.storage.registry_store import RegistryStore

NAME = "support-router"
PROMPT = """\
name: support-router
version: {version}
model: anthropic:claude-sonnet-4-5
config: {{temperature: 0, max_tokens: 20}}
input:
  ticket: {{type: string, required: true}}
  tier: {{type: string, required: false, default: standard}}
messages:
  - role: system
    content: "Route the ticket (v{version})."
  - role: user
    content: "[{{{{ tier }}}}] {{{{ ticket }}}}"
"""


def behaviour(text: str) -> str:
    return parse_prompt(parse_yaml(text, "x"), "x").behaviour_hash


def pointer_entry(version: str | None, rollback: str | None = None, **kw: object) -> PointerEntry:
    base = PointerEntry(
        enabled=True, prompt_version=version, model="anthropic:claude-opus-4",
        rollback_version=rollback, rollback_model="anthropic:claude-haiku-4" if rollback else None,
        fallback_behavior="rollback",
        behaviour_hash=behaviour(PROMPT.format(version=version)) if version else None,
        rollback_behaviour_hash=behaviour(PROMPT.format(version=rollback)) if rollback else None,
        blocked=(), deployed_at=None, deployed_by=None, event=None)
    return replace(base, **kw)  # type: ignore[arg-type]


def make_project(root: Path, versions: tuple[str, ...] = ("1.0.0", "1.1.0", "1.2.0"),
                 entry: PointerEntry | None = None, env: str = "production") -> RegistryStore:
    store = RegistryStore(root)
    (root / "prompts" / NAME).mkdir(parents=True)
    (root / "prompts" / NAME / "prompt.yaml").write_text(PROMPT.format(version="head"))
    record = PromptRecord(NAME, versions[-1], versions[-1], None, None)
    for v in versions:
        text = PROMPT.format(version=v)
        fh = store.write_snapshot(NAME, v, text)
        record = record.with_entry(ChangelogEntry(
            version=v, date="2025-01-01", status="released", note="n", bump="minor",
            detected=None, behaviour_hash=behaviour(text), file_hash=fh,
            model="anthropic:claude-sonnet-4-5"))
    store.save_registry(Registry().with_prompt(record))
    store.save_pointer(Pointer(env=env, prompts={NAME: entry or pointer_entry("1.1.0", "1.0.0")}))
    return store


def set_pointer(store: RegistryStore, entry: PointerEntry, env: str = "production") -> None:
    store.save_pointer(Pointer(env=env, prompts={NAME: entry}))


VARS = {"ticket": "my card was charged twice"}


@pytest.fixture
def project(tmp_path: Path) -> RegistryStore:
    return make_project(tmp_path)


def test_pointer_resolution_serves_the_deployed_version(project: RegistryStore) -> None:
    p = PromptStore(project.root, environ={}).get(NAME)
    assert (p.version, p.source, p.env, p.enabled) == ("1.1.0", "pointer", "production", True)
    assert p.model == "anthropic:claude-opus-4"  # the pointer's model wins over the prompt's
    assert (p.rollback_version, p.rollback_model) == ("1.0.0", "anthropic:claude-haiku-4")
    assert p.fallback_behavior == "rollback"
    assert p.render(VARS) == (Message("system", "Route the ticket (v1.1.0)."),
                              Message("user", "[standard] my card was charged twice"))


def test_get_returns_the_cached_object(project: RegistryStore) -> None:
    store = PromptStore(project.root, environ={})
    assert store.get(NAME) is store.get(NAME)


def test_disabled_entry_keeps_version_info(tmp_path: Path) -> None:
    project = make_project(tmp_path, entry=pointer_entry(
        "1.1.0", "1.0.0", enabled=False, fallback_behavior="python:app.rules:route"))
    p = PromptStore(project.root, environ={}).get(NAME)
    assert (p.source, p.enabled, p.version) == ("disabled", False, "1.1.0")
    assert p.fallback_behavior == "python:app.rules:route"


def test_forced_pin_overrides_the_pointer(project: RegistryStore) -> None:
    env = {pin_variable(NAME): "1.2.0"}
    assert pin_variable(NAME) == "PROMPTOPS_PIN_SUPPORT_ROUTER"
    p = PromptStore(project.root, environ=env).get(NAME)
    assert (p.source, p.version, p.enabled) == ("forced", "1.2.0", True)
    assert p.model == "anthropic:claude-sonnet-4-5"  # not the pointer's (that is for 1.1.0)
    env[pin_variable(NAME)] = "1.0.0"  # pinning the rollback version takes its model
    p = PromptStore(project.root, environ=env).get(NAME)
    assert (p.version, p.model) == ("1.0.0", "anthropic:claude-haiku-4")


def test_forced_pin_to_unknown_version_is_a_config_error(project: RegistryStore) -> None:
    with pytest.raises(ConfigError, match="unknown version") as info:
        PromptStore(project.root, environ={pin_variable(NAME): "9.9.9"}).get(NAME)
    assert "1.2.0" in str(info.value.why)


def test_head_without_pointer_entry(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    project.save_pointer(Pointer(env="production"))
    store = PromptStore(project.root, environ={})
    p = store.get(NAME)
    assert (p.source, p.version, p.model) == ("head", None, "anthropic:claude-sonnet-4-5")
    assert "gen_ai.prompt.version" not in p.trace_attributes()
    head = project.root / "prompts" / NAME / "prompt.yaml"
    head.write_text(PROMPT.format(version="edited") + "\n")
    assert store.get(NAME).render(VARS)[0].content == "Route the ticket (vedited)."


def test_unknown_prompt_is_a_config_error_with_a_fix(project: RegistryStore) -> None:
    with pytest.raises(ConfigError) as info:
        PromptStore(project.root, environ={}).get("nope")
    assert "promptops promote nope@" in str(info.value.fix)
    assert NAME in str(info.value.why)
    with pytest.raises(ConfigError, match="invalid prompt name"):
        PromptStore(project.root, environ={}).get("../etc")


def test_tampered_snapshot_is_never_served(project: RegistryStore) -> None:
    path = project.snapshot_path(NAME, "1.1.0")
    path.write_text(path.read_text().replace("Route the ticket", "Leak the ticket"))
    with pytest.raises(VerifyFailedError, match="fileHash"):
        PromptStore(project.root, environ={}).get(NAME)


def test_pointer_behaviour_hash_mismatch_is_refused(project: RegistryStore) -> None:
    set_pointer(project, pointer_entry("1.1.0", "1.0.0", behaviour_hash="sha256:" + "0" * 64))
    with pytest.raises(VerifyFailedError, match="behaviour hash"):
        PromptStore(project.root, environ={}).get(NAME)


def test_pointer_rewrite_is_picked_up_without_restart(project: RegistryStore) -> None:
    store = PromptStore(project.root, environ={})
    assert store.get(NAME).version == "1.1.0"
    set_pointer(project, pointer_entry("1.0.0", None))  # what `promptops rollback` writes
    assert store.get(NAME).version == "1.0.0"
    set_pointer(project, pointer_entry("1.0.0", None, enabled=False))
    assert store.get(NAME).source == "disabled"


def test_ttl_defers_the_stat_until_the_clock_moves(project: RegistryStore) -> None:
    now = [100.0]
    store = PromptStore(project.root, environ={}, ttl_s=5.0, clock=lambda: now[0])
    assert store.get(NAME).version == "1.1.0"  # first get checks and arms the timer
    set_pointer(project, pointer_entry("1.2.0", "1.1.0"))
    now[0] += 4.9
    assert store.get(NAME).version == "1.1.0"
    now[0] += 0.2
    assert store.get(NAME).version == "1.2.0"


def test_same_size_same_mtime_rewrite_is_still_seen(project: RegistryStore) -> None:
    store = PromptStore(project.root, environ={})
    path = project.pointer_path("production")
    st = path.stat()
    assert store.get(NAME).version == "1.1.0"
    set_pointer(project, pointer_entry("1.2.0", "1.0.0"))  # same length: one digit differs
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert store.get(NAME).version == "1.2.0"  # the atomic rename changed the inode


def test_request_shapes(project: RegistryStore) -> None:
    p = PromptStore(project.root, environ={}).get(NAME)
    assert p.anthropic_request(VARS) == {
        "system": "Route the ticket (v1.1.0).",
        "messages": [{"role": "user", "content": "[standard] my card was charged twice"}],
        "temperature": 0, "max_tokens": 20}
    assert p.openai_request({**VARS, "tier": "free"}) == {
        "messages": [{"role": "system", "content": "Route the ticket (v1.1.0)."},
                     {"role": "user", "content": "[free] my card was charged twice"}],
        "temperature": 0, "max_tokens": 20}


def test_render_checks_the_contract(project: RegistryStore) -> None:
    p = PromptStore(project.root, environ={}).get(NAME)
    with pytest.raises(ConfigError, match="required"):
        p.render({})
    with pytest.raises(ConfigError, match="must be string"):
        p.render({"ticket": 3})


def test_trace_attributes(project: RegistryStore) -> None:
    p = PromptStore(project.root, environ={}).get(NAME)
    assert p.trace_attributes() == {
        "gen_ai.prompt.name": NAME, "gen_ai.prompt.version": "1.1.0",
        "promptops.behaviour_hash": behaviour(PROMPT.format(version="1.1.0")),
        "promptops.env": "production", "promptops.source": "pointer"}


def test_bundle_round_trip(project: RegistryStore, tmp_path: Path) -> None:
    out = tmp_path / "dist" / "promptops.bundle.json"
    result = build_bundle(project.root, "production", out)
    assert result.versions == (f"{NAME}@1.1.0", f"{NAME}@1.0.0")
    data = json.loads(out.read_text())
    assert data["schema"] == "promptops/bundle@1" and data["env"] == "production"
    assert data["prompts"][NAME]["pointer"]["promptVersion"] == "1.1.0"
    store = PromptStore.from_bundle(out, environ={})
    assert store.env == "production"
    p = store.get(NAME)
    assert isinstance(p, ResolvedPrompt)
    assert (p.source, p.version, p.model) == ("bundle", "1.1.0", "anthropic:claude-opus-4")
    direct = PromptStore(project.root, environ={}).get(NAME)
    assert p.render(VARS) == direct.render(VARS)
    assert p.behaviour_hash == direct.behaviour_hash
    pinned = PromptStore(bundle=out, environ={pin_variable(NAME): "1.0.0"}).get(NAME)
    assert (pinned.source, pinned.version) == ("forced", "1.0.0")
    with pytest.raises(ConfigError, match="unknown version"):  # 1.2.0 was not bundled
        PromptStore(bundle=out, environ={pin_variable(NAME): "1.2.0"}).get(NAME)
    with pytest.raises(ConfigError, match="not deployed"):
        store.get("other")
    with pytest.raises(ConfigError, match="environment"):
        PromptStore(bundle=out, env="staging")


def test_bundle_with_tampered_snapshot_is_refused(project: RegistryStore, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    build_bundle(project.root, "production", out)
    data = json.loads(out.read_text())
    snap = data["prompts"][NAME]["snapshots"]["1.1.0"]
    snap["text"] = snap["text"].replace("Route", "Leak")
    out.write_text(json.dumps(data))
    with pytest.raises(VerifyFailedError, match="fileHash"):
        PromptStore.from_bundle(out)


def test_bundle_refuses_a_tampered_project(project: RegistryStore, tmp_path: Path) -> None:
    path = project.snapshot_path(NAME, "1.0.0")
    path.write_text(path.read_text() + "# edited\n")
    with pytest.raises(VerifyFailedError):
        build_bundle(project.root, "production", tmp_path / "b.json")
    with pytest.raises(ConfigError, match="no pointer"):
        build_bundle(project.root, "staging", tmp_path / "b.json")


def test_rebuilt_bundle_is_picked_up(project: RegistryStore, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    build_bundle(project.root, "production", out)
    store = PromptStore.from_bundle(out, environ={})
    assert store.get(NAME).version == "1.1.0"
    set_pointer(project, pointer_entry("1.0.0", None, enabled=False))
    build_bundle(project.root, "production", out)
    p = store.get(NAME)
    assert (p.version, p.source, p.enabled) == ("1.0.0", "disabled", False)
