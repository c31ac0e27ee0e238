"""`promptops release` end to end in temporary git repositories, the fake server as the model."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROMPT, Project, route_by_keyword, suite_yaml

from promptops.app.bump import bump
from promptops.app.release import release
from promptops.cli.main import app
from promptops.cli.release_commands import register
from promptops.core.errors import ConfigError, DirtyTreeError, PolicyDeniedError, TagExistsError
from promptops.core.registry import Pointer, PointerEntry
from promptops.storage.atomic import RepoLock
from promptops.storage.git_repo import GitRepo
from promptops.storage.registry_store import RegistryStore

if not any(c.name == "release" for c in app.registered_commands):
    register(app)

SCRIPT = ("import sys; from pathlib import Path; from promptops.app.release import release; "
          "sys.exit(release(Path(sys.argv[1]), 'router').exit_code)")


def git(root: Path, *args: str) -> str:
    """Run git in `root` and return stdout."""
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout



def init_repo(root: Path, config: str | None = None, suite: str | None = None) -> Path:
    """A committed project (config, prompt, suite, .gitignore) with version 0.0.1 bumped."""
    root.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (root / "promptops.yaml").write_text(config)
        (root / "prompts/router").mkdir(parents=True)
        (root / "prompts/router/prompt.yaml").write_text(PROMPT)
        (root / "suites").mkdir()
        (root / "suites/router.yaml").write_text(suite or suite_yaml())
    (root / ".gitignore").write_text(".promptops/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Ada Tester")
    git(root, "config", "user.email", "ada@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    bump(root, "router", "patch", "first version")
    return root


@pytest.fixture
def repo(project: Project) -> Path:
    """The conftest project as a git repo with router@0.0.1 as a candidate."""
    return init_repo(project.root)


def edit_prompt(root: Path, marker: str) -> None:
    """Change the head's system message (the fake model reacts to the marker)."""
    path = root / "prompts/router/prompt.yaml"
    path.write_text(path.read_text().replace("Route the ticket.", f"Route the ticket. {marker}"))


def entry(root: Path, version: str) -> Any:
    """The registry entry of router@version."""
    record = RegistryStore(root).load_registry().get("router")
    assert record is not None
    return record.entry(version)


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def test_release_success_records_everything(repo: Path, project: Project) -> None:
    result = project.run("release", "router")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.output  # type: ignore[attr-defined]
    assert "released router@0.0.1" in out and "pass rate 100.0%" in out
    assert "no comparison: nothing of router is deployed to production" in out
    e = entry(repo, "0.0.1")
    assert (e.status, e.tag, e.released_by) == (
        "released", "prompts/router@0.0.1", "Ada Tester <ada@example.com>")
    record = RegistryStore(repo).load_registry().get("router")
    assert record is not None and record.current == "0.0.1"
    committed = git(repo, "show", "HEAD:suites/scorecards/router/0.0.1.json").encode()
    assert e.scorecard == "sha256:" + hashlib.sha256(committed).hexdigest()
    card = json.loads(committed)
    assert card["meta"]["behaviour_hash"] == e.behaviour_hash
    assert card["summary"]["models"][0]["pass_rate"] == 1.0
    gr = GitRepo(repo)
    assert gr.dirty_paths() == []
    assert gr.tag_commit("prompts/router@0.0.1") == head(repo)
    message = gr.tag_message("prompts/router@0.0.1")
    assert message is not None
    rec = yaml.safe_load(message)
    assert (rec["version"], rec["behaviorHash"], rec["fileHash"]) == (
        "0.0.1", e.behaviour_hash, e.file_hash)
    assert rec["scorecard"]["hash"] == e.scorecard and rec["scorecard"]["passRate"] == 1.0
    assert rec["model"] == "fake:gpt-fake" and rec["actor"] == "Ada Tester <ada@example.com>"
    assert git(repo, "log", "-1", "--format=%s").strip() == "release(router): 0.0.1"
    assert f"Prompt-Scorecard: {e.scorecard}" in git(repo, "log", "-1", "--format=%B")
    [event] = [ev for ev in RegistryStore(repo).events("router") if ev.kind == "release"]
    assert event.to_version == "0.0.1" and event.evidence["scorecard"] == e.scorecard
    assert event.evidence["passRate"] == 1.0
    assert f"deploy/events/{event.id}.json" in git(repo, "show", "--name-only", "HEAD")
    # releasing it again: the tag exists (5)
    with pytest.raises(TagExistsError):
        release(repo, "router", "0.0.1")
    assert project.run("release", "router@0.0.1").exit_code == 5  # type: ignore[attr-defined]


def test_refusals_dirty_tree_tag_and_status(repo: Path, project: Project) -> None:
    (repo / "notes.txt").write_text("wip\n")
    with pytest.raises(DirtyTreeError):
        release(repo, "router")
    assert project.run("release", "router").exit_code == 4  # type: ignore[attr-defined]
    (repo / "notes.txt").unlink()
    git(repo, "tag", "prompts/router@0.0.1")  # someone tagged it by hand
    with pytest.raises(TagExistsError):
        release(repo, "router", dry_run=True)
    git(repo, "tag", "-d", "prompts/router@0.0.1")
    (repo / "suites/other.yaml").write_text(suite_yaml(2))
    GitRepo(repo).commit(["suites/other.yaml"], "second suite for router")
    with pytest.raises(ConfigError, match="2 suites evaluate prompt 'router'") as info:
        release(repo, "router", dry_run=True)
    assert "suites/other.yaml" in str(info.value.why)
    assert release(repo, "router", suite=repo / "suites/other.yaml", dry_run=True).cases == 2
    store = RegistryStore(repo)
    for status in ("yanked", "released"):
        reg = store.load_registry()
        record = reg.get("router")
        assert record is not None
        from dataclasses import replace
        store.save_registry(reg.with_prompt(record.with_entry(
            replace(entry(repo, "0.0.1"), status=status))))
        GitRepo(repo).commit(["prompts/registry.yaml"], f"mark {status}")
        with pytest.raises(PolicyDeniedError):
            release(repo, "router", dry_run=True)
        assert project.run("release", "router").exit_code == 7  # type: ignore[attr-defined]
    assert not GitRepo(repo).tag_exists("prompts/router@0.0.1")


def test_thresholds_fail_writes_nothing(repo: Path, project: Project) -> None:
    project.server.responder = lambda req: (
        "tech" if "BROKEN" in req.messages[0]["content"] else route_by_keyword(req))
    edit_prompt(repo, "BROKEN")
    bump(repo, "router", "patch", "broken")
    before = head(repo)
    result = release(repo, "router")
    assert result.exit_code == 1 and result.version == "0.0.2" and result.commit is None
    assert result.reasons == ("threshold pass_rate: 0.5 is not >= 0.8",), result.reasons
    cli = project.run("release", "router")
    assert cli.exit_code == 1  # type: ignore[attr-defined]
    assert "✗ threshold pass_rate" in cli.output and "exit 1" in cli.output  # type: ignore
    assert head(repo) == before and GitRepo(repo).dirty_paths() == []
    assert not (repo / "suites/scorecards").exists()
    assert not GitRepo(repo).tag_exists("prompts/router@0.0.2")
    assert entry(repo, "0.0.2").status == "candidate" and entry(repo, "0.0.2").scorecard is None


def test_regression_against_production_fails(tmp_path: Path, project: Project) -> None:
    suite = suite_yaml(30).replace("pass_rate: 0.8", "pass_rate: 0.7")
    root = init_repo(tmp_path / "r", (project.root / "promptops.yaml").read_text(), suite)
    assert release(root, "router").exit_code == 0
    store = RegistryStore(root)
    pointer = Pointer("production").with_entry("router", PointerEntry(
        enabled=True, prompt_version="0.0.1", model="fake:gpt-fake", rollback_version=None,
        rollback_model=None, fallback_behavior="rollback",
        behaviour_hash=entry(root, "0.0.1").behaviour_hash, rollback_behaviour_hash=None,
        blocked=(), deployed_at=None, deployed_by=None, event=None))
    store.save_pointer(pointer)
    GitRepo(root).commit(["deploy/production.yaml"], "deploy router 0.0.1")
    worse = {f"number {i} " for i in range(0, 16, 2)}  # 8 of the 15 billing cases
    project.server.responder = lambda req: (
        "tech" if "DEGRADED" in req.messages[0]["content"]
        and any(w in req.messages[-1]["content"] + " " for w in worse)
        else route_by_keyword(req))
    edit_prompt(root, "DEGRADED")
    bump(root, "router", "patch", "degraded")
    before = head(root)
    # with nothing deployed in the gate env, the absolute thresholds alone pass it
    assert release(root, "router", gate_env="staging", dry_run=True).exit_code == 0
    result = release(root, "router")
    assert (result.exit_code, result.verdict, result.baseline) == (1, "FAIL", "0.0.1")
    assert result.pass_rate == pytest.approx(22 / 30)
    assert len(result.reasons) == 1 and result.reasons[0].startswith("regression gate: FAIL")
    assert head(root) == before and not GitRepo(root).tag_exists("prompts/router@0.0.2")
    assert entry(root, "0.0.2").status == "candidate"


def test_scorecard_reuse(repo: Path, project: Project) -> None:
    runs = repo / ".promptops/runs"
    first = release(repo, "router", dry_run=True)
    assert first.exit_code == 0 and not first.reused and first.scorecard_hash
    sent, records = project.server.count(), sorted(runs.glob("*.json"))
    assert sent > 0 and len(records) == 1
    second = release(repo, "router", dry_run=True)
    assert second.reused and second.run_id == first.run_id
    assert second.scorecard_hash == first.scorecard_hash
    assert project.server.count() == sent and sorted(runs.glob("*.json")) == records
    assert GitRepo(repo).dirty_paths() == [] and entry(repo, "0.0.1").status == "candidate"
    cli = project.run("release", "router@0.0.1", "--dry-run", "--json")
    data = json.loads(cli.stdout)  # type: ignore[attr-defined]
    assert (data["reused"], data["exit_code"], data["commit"]) == (True, 0, None)
    assert project.server.count() == sent
    # a changed suite is another key: it runs again
    (repo / "suites/router.yaml").write_text(suite_yaml(4))
    GitRepo(repo).commit(["suites/router.yaml"], "smaller suite")
    assert not release(repo, "router", dry_run=True).reused
    assert len(list(runs.glob("*.json"))) == 2


def _check_invariants(root: Path, where: str) -> None:
    store = RegistryStore(root)
    record = store.load_registry().get("router")
    assert record is not None, where
    for e in record.changelog:
        assert store.file_hash(store.read_snapshot("router", e.version)) == e.file_hash, where
    gr = GitRepo(root)
    if gr.tag_exists("prompts/router@0.0.1"):
        assert entry(root, "0.0.1").status == "released", where
        at_tag = git(root, "show", "prompts/router@0.0.1:prompts/registry.yaml")
        assert "status: released" in at_tag, where
    with RepoLock(root, timeout_s=2):  # a killed holder's lock is taken over
        pass


def test_kill_9_during_release_leaves_a_consistent_repo(tmp_path: Path, project: Project
                                                        ) -> None:
    config = (project.root / "promptops.yaml").read_text()
    env = {**os.environ}
    root = init_repo(tmp_path / "k0", config)
    t0 = time.monotonic()
    assert subprocess.run([sys.executable, "-c", SCRIPT, str(root)], env=env).returncode == 0
    total = time.monotonic() - t0
    _check_invariants(root, "completed")
    for i, frac in enumerate((0.35, 0.55, 0.7, 0.8, 0.9, 0.97), start=1):
        root = init_repo(tmp_path / f"k{i}", config)
        delay = total * frac * random.uniform(0.9, 1.1)
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(root)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        where = f"killed after {delay:.3f}s of {total:.3f}s (rc {proc.returncode})"
        _check_invariants(root, where)
        if not GitRepo(root).tag_exists("prompts/router@0.0.1"):
            git(root, "reset", "-q", "--hard")
            git(root, "clean", "-qfd")
            if entry(root, "0.0.1").status == "candidate":  # recoverable: just run it again
                assert release(root, "router").exit_code == 0, where
            else:  # killed between the commit and the tag: release finishes the tag
                result = release(root, "router")
                assert result.exit_code == 0 and "tagged it now" in result.notes[0], where
            from promptops.app.verify import verify

            assert verify(root).ok, where


def test_release_interrupted_before_its_tag_is_finished_by_release(repo: Path,
                                                                    project: Project) -> None:
    assert project.run("release", "router").exit_code == 0  # type: ignore[attr-defined]
    release_commit = head(repo)
    git(repo, "tag", "-d", "prompts/router@0.0.1")  # as if killed between commit and tag
    from promptops.app.verify import verify

    assert not verify(repo).ok
    result = release(repo, "router", "0.0.1")
    assert result.exit_code == 0 and "tagged it now" in result.notes[0]
    assert GitRepo(repo).tag_commit("prompts/router@0.0.1") == release_commit
    message = GitRepo(repo).tag_message("prompts/router@0.0.1")
    assert message is not None and yaml.safe_load(message)["version"] == "0.0.1"
    assert verify(repo).ok


def test_status_and_diff_after_two_releases(repo: Path, project: Project) -> None:
    assert release(repo, "router").exit_code == 0
    edit_prompt(repo, "Be brief.")
    bump(repo, "router", "patch", "brevity")
    assert release(repo, "router").exit_code == 0
    from promptops.app.deploy import promote

    promote(repo, "router", "0.0.1", "staging")
    promote(repo, "router", "0.0.2", "staging")
    status = project.run("status", "--env", "staging")
    assert status.exit_code == 0  # type: ignore[attr-defined]
    assert "router  0.0.2" in status.output and "rollback 0.0.1" in status.output  # type: ignore[attr-defined]
    data = json.loads(project.run("status", "--json").stdout)  # type: ignore[attr-defined]
    assert data["staging"]["router"]["prompt_version"] == "0.0.2"
    out = project.run("diff", "router@0.0.1", "router@0.0.2").output  # type: ignore[attr-defined]
    assert "== template" in out and "+Route the ticket. Be brief." in out.replace("[system]", "")
    assert "== contract" in out and "patch template" in out
    assert "== scorecard" in out and "pass_rate: 1.0 → 1.0" in out
    history = project.run("history", "router").output  # type: ignore[attr-defined]
    kinds = [line.split()[1] for line in history.splitlines()]
    assert kinds == ["bump", "release", "bump", "release", "promote", "promote"]
