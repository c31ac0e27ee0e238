"""promote, rollback and drill end to end, in throwaway git repositories."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from promptops.app.deploy import DeployResult, deployed_stack, promote, rollback
from promptops.app.drill import drill
from promptops.cli.deploy_commands import register
from promptops.core.errors import (
    ConfigError,
    DirtyTreeError,
    PolicyDeniedError,
    VerifyFailedError,
)
from promptops.core.registry import ChangelogEntry, Event, PromptRecord
from promptops.storage.git_repo import GitRepo
from promptops.storage.project import load_prompt
from promptops.storage.registry_store import RegistryStore

NAME = "router"
PROMPT = """\
name: router
version: VERSION
model: MODEL
input:
  ticket: {type: string, required: true}
messages:
  - role: user
    content: "vVERSION: {{ ticket }}"
"""
MODULE = """\
def route(request):
    return "billing" if "invoice" in request.inputs["ticket"] else "tech"


def wrong(request):
    return "billing"


def fallback(request):
    return "tech"
"""
SUITE = """\
suite: router
prompt: router
defaults:
  criteria:
    - {name: route, scorer: exact, required: true}
thresholds: {pass_rate: 1.0}
cases:
  - {id: a, input: {ticket: "my invoice is wrong"}, expected: billing}
  - {id: b, input: {ticket: "the app crashed"}, expected: tech}
"""


def git(root: Path, *args: str) -> str:
    """Run git in `root` and return stdout."""
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout


class Proj:
    """A temp repo with a python-routed prompt whose versions are released directly."""

    def __init__(self, root: Path, environments: str = "") -> None:
        self.root = root
        self.mod = f"dm_{uuid.uuid4().hex[:10]}"
        self.store = RegistryStore(root)
        git(root, "init", "-q", "-b", "main")
        git(root, "config", "user.name", "Ada Tester")
        git(root, "config", "user.email", "ada@example.com")
        (root / "promptops.yaml").write_text(f"models: {{}}\n{environments}")
        (root / ".gitignore").write_text(".promptops/\n__pycache__/\n")
        (root / f"{self.mod}.py").write_text(MODULE)
        (root / "suites").mkdir()
        (root / "suites" / "router.yaml").write_text(SUITE)
        self.commit_all("init")

    def commit_all(self, message: str) -> None:
        """Stage everything and commit."""
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)

    def model(self, func: str = "route") -> str:
        """The python: model spec of a function of the test module."""
        return f"python:{self.mod}:{func}"

    def release(self, *versions: str, status: str = "released", tag: bool = True,
                func: str = "route") -> None:
        """Snapshot, register (as `status`), commit and tag each version."""
        for v in versions:
            text = PROMPT.replace("VERSION", v).replace("MODEL", self.model(func))
            file_hash = self.store.write_snapshot(NAME, v, text)
            behaviour = load_prompt(self.root, f"{NAME}@{v}").behaviour_hash
            entry = ChangelogEntry(version=v, date="2025-01-01", status=status, note="n",
                                   bump="minor", detected=None, behaviour_hash=behaviour,
                                   file_hash=file_hash, model=self.model(func))
            reg = self.store.load_registry()
            record = reg.get(NAME) or PromptRecord(NAME, None, None, None, None)
            self.store.save_registry(reg.with_prompt(record.with_entry(entry)))
            self.commit_all(f"release {v}")
            if tag:
                git(self.root, "tag", f"prompts/{NAME}@{v}")

    def commits(self) -> int:
        """Number of commits on HEAD."""
        return int(git(self.root, "rev-list", "--count", "HEAD"))

    def files_of(self, commit: str) -> list[str]:
        """Paths a commit changed."""
        return git(self.root, "show", "--name-only", "--format=", commit).split()

    def entry(self, env: str = "staging") -> object:
        """The router's pointer entry in `env`."""
        return self.store.load_pointer(env).get(NAME)


@pytest.fixture(autouse=True)
def _own_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test imports its own python: model module; restore sys.path after it."""
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    root = tmp_path / "repo"
    root.mkdir()
    return Proj(root)


def test_promote_writes_pointer_event_and_one_commit(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    first = promote(proj.root, NAME, "1.0.0", "staging", actor="ci")
    before = proj.commits()
    result = promote(proj.root, NAME, "1.1.0", "staging", actor="ci")
    assert proj.commits() == before + 1
    assert (result.from_version, result.to_version, result.rollback_version) == \
        ("1.0.0", "1.1.0", "1.0.0")
    entry = proj.store.load_pointer("staging").get(NAME)
    reg = proj.store.load_registry().get(NAME)
    assert entry is not None and reg is not None
    new, old = reg.entry("1.1.0"), reg.entry("1.0.0")
    assert new is not None and old is not None
    assert entry.enabled and entry.prompt_version == "1.1.0"
    assert entry.model == proj.model()
    assert (entry.rollback_version, entry.rollback_model) == ("1.0.0", proj.model())
    assert entry.behaviour_hash == new.behaviour_hash
    assert entry.rollback_behaviour_hash == old.behaviour_hash != new.behaviour_hash
    assert entry.fallback_behavior == "rollback"
    assert entry.deployed_by == "ci" and entry.deployed_at
    assert entry.event == result.event != first.event
    assert result.commit is not None
    assert git(proj.root, "log", "-1", "--format=%s").strip() == \
        "deploy(staging): router 1.0.0 → 1.1.0"
    assert sorted(proj.files_of(result.commit)) == \
        ["deploy/events/" + f"{result.event}.json", "deploy/staging.yaml"]
    events = proj.store.events(NAME, "staging")
    assert [(e.kind, e.from_version, e.to_version) for e in events] == \
        [("promote", None, "1.0.0"), ("promote", "1.0.0", "1.1.0")]
    assert git(proj.root, "status", "--porcelain") == ""


def test_promote_dry_run_writes_nothing(proj: Proj) -> None:
    proj.release("1.0.0")
    before = proj.commits()
    result = promote(proj.root, NAME, "1.0.0", "staging", dry_run=True)
    assert result.dry_run and result.commit is None and result.to_version == "1.0.0"
    assert proj.commits() == before and proj.entry() is None


def test_promote_refuses_a_candidate_and_a_missing_tag(proj: Proj) -> None:
    proj.release("1.0.0", status="candidate")
    proj.release("1.1.0", tag=False)
    before = proj.commits()
    with pytest.raises(VerifyFailedError, match="candidate, not released"):
        promote(proj.root, NAME, "1.0.0", "staging")
    with pytest.raises(VerifyFailedError, match="no release tag"):
        promote(proj.root, NAME, "1.1.0", "staging")
    with pytest.raises(VerifyFailedError, match="not in the registry"):
        promote(proj.root, NAME, "9.9.9", "staging")
    assert proj.commits() == before and proj.entry() is None


def test_promote_refuses_a_dirty_tree(proj: Proj) -> None:
    proj.release("1.0.0")
    (proj.root / "notes.txt").write_text("wip\n")
    with pytest.raises(DirtyTreeError):
        promote(proj.root, NAME, "1.0.0", "staging")
    assert proj.entry() is None


def test_promotion_order_requires_the_previous_environment(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    proj = Proj(tmp_path / "repo", "environments: [staging, production]\n")
    proj.release("1.0.0")
    with pytest.raises(PolicyDeniedError, match="never been promoted to staging") as info:
        promote(proj.root, NAME, "1.0.0", "production")
    assert "promote to staging first" in str(info.value.fix)
    assert proj.entry("production") is None
    promote(proj.root, NAME, "1.0.0", "staging")
    result = promote(proj.root, NAME, "1.0.0", "production")
    assert result.to_version == "1.0.0" and proj.entry("production") is not None


def test_rollback_goes_to_the_previously_deployed_version(proj: Proj) -> None:
    proj.release("1.0.0", "1.0.1", "1.1.0")
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    before = proj.commits()
    result = rollback(proj.root, NAME, "staging", reason="bad routing", actor="oncall")
    assert proj.commits() == before + 1
    assert (result.from_version, result.to_version) == ("1.1.0", "1.0.0")  # not 1.0.1
    assert 0 < result.duration_s < 5
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.prompt_version == "1.0.0"
    assert entry.rollback_version is None and entry.blocked == ()
    event = proj.store.events(NAME, "staging")[-1]
    assert (event.kind, event.reason, event.who) == ("rollback", "bad routing", "oncall")
    assert event.id == result.event == entry.event
    assert event.timings["prepared_s"] > 0
    assert git(proj.root, "log", "-1", "--format=%s").strip() == \
        "rollback(staging): router 1.1.0 → 1.0.0"


def test_rollback_chain_follows_events_not_the_pointer(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0", "1.2.0", "1.2.1")
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        promote(proj.root, NAME, v, "staging")
    first = rollback(proj.root, NAME, "staging", reason="r1")
    assert (first.from_version, first.to_version, first.rollback_version) == \
        ("1.2.0", "1.1.0", "1.0.0")
    # a hand-edited rollbackVersion must not steer the default target
    pointer = proj.store.load_pointer("staging")
    entry = pointer.get(NAME)
    assert entry is not None and entry.rollback_version == "1.0.0"
    proj.store.save_pointer(pointer.with_entry(NAME, replace(entry, rollback_version="1.2.1")))
    proj.commit_all("hand edit")
    second = rollback(proj.root, NAME, "staging", reason="r2")
    assert (second.from_version, second.to_version, second.rollback_version) == \
        ("1.1.0", "1.0.0", None)
    with pytest.raises(ConfigError, match="no previously deployed version"):
        rollback(proj.root, NAME, "staging", reason="r3")


def test_deployed_stack_model() -> None:
    def ev(kind: str, version: str) -> Event:
        return Event(id=version, kind=kind, prompt=NAME, env="e", when="t", who="w",
                     to_version=version)

    events = [ev("promote", "1"), ev("promote", "2"), ev("promote", "3"), ev("rollback", "2"),
              ev("promote", "4"), ev("rollback", "9")]
    assert deployed_stack(events, "9") == ["1", "2", "9"]
    assert deployed_stack(events, "2") == ["1", "2"]  # pointer moved back by hand


def test_rollback_with_a_dirty_tree_commits_only_its_files(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    (proj.root / "scratch.txt").write_text("untracked\n")
    (proj.root / "suites" / "router.yaml").write_text(SUITE + "# edited\n")
    git(proj.root, "add", "suites/router.yaml")
    result = rollback(proj.root, NAME, "staging", reason="hotfix")
    assert result.commit is not None
    assert sorted(proj.files_of(result.commit)) == \
        [f"deploy/events/{result.event}.json", "deploy/staging.yaml"]
    status = git(proj.root, "status", "--porcelain")
    assert "M  suites/router.yaml" in status and "?? scratch.txt" in status
    assert "deploy/" not in status


def test_yank_blocks_the_version_in_that_env(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    result = rollback(proj.root, NAME, "staging", reason="leaks", yank=True)
    assert result.yanked
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.blocked == ("1.1.0",)
    with pytest.raises(PolicyDeniedError, match="blocked in staging"):
        promote(proj.root, NAME, "1.1.0", "staging")
    promote(proj.root, NAME, "1.1.0", "production")  # blocked only where it was yanked


def test_rollback_to_a_named_version_and_its_checks(proj: Proj) -> None:
    proj.release("1.0.0", "1.0.1", "1.1.0")
    proj.release("1.0.2", status="candidate")
    proj.release("1.0.3", status="yanked")
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    for bad, match in (("1.0.2", "candidate"), ("1.0.3", "yanked"), ("7.0.0", "registry")):
        with pytest.raises(VerifyFailedError, match=match):
            rollback(proj.root, NAME, "staging", to=bad, reason="x")
    snap = proj.store.snapshot_path(NAME, "1.0.1")
    snap.write_text(snap.read_text() + "# tampered\n")
    with pytest.raises(VerifyFailedError, match="does not match the registry"):
        rollback(proj.root, NAME, "staging", to="1.0.1", reason="x")
    git(proj.root, "checkout", "--", str(snap.relative_to(proj.root)))
    result = rollback(proj.root, NAME, "staging", to="1.0.1", reason="INC-7")
    assert (result.to_version, result.rollback_version) == ("1.0.1", "1.0.0")
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.prompt_version == "1.0.1"
    assert entry.rollback_version == "1.0.0"


def test_rollback_needs_a_reason_and_something_deployed(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    with pytest.raises(ConfigError, match="not deployed"):
        rollback(proj.root, NAME, "staging", reason="x")
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    before = proj.commits()
    with pytest.raises(ConfigError, match="needs a reason"):
        rollback(proj.root, NAME, "staging", reason="  ")
    dry = rollback(proj.root, NAME, "staging", reason="x", dry_run=True)
    assert dry == DeployResult(NAME, "staging", "1.1.0", "1.0.0", None, None, dry.duration_s,
                               True, False, None)
    assert proj.commits() == before
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.prompt_version == "1.1.0"


def _deploy_two(proj: Proj, fallback: str) -> None:
    promote(proj.root, NAME, "1.0.0", "staging", fallback_behavior=fallback)
    promote(proj.root, NAME, "1.1.0", "staging")


def test_drill_end_to_end_with_a_python_fallback(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    _deploy_two(proj, proj.model("fallback"))
    before_entry = proj.store.load_pointer("staging").get(NAME)
    before = proj.commits()
    result = drill(proj.root, NAME, "staging", actor="ci")
    assert result.verdict == "pass", result.reasons
    assert (result.from_version, result.to_version) == ("1.1.0", "1.0.0")
    assert set(result.timings) == {"rollback_s", "check_s", "forward_s", "total_s"}
    assert result.timings["total_s"] >= result.timings["rollback_s"] + result.timings["check_s"]
    assert proj.commits() == before + 3 and len(result.commits) == 3
    entry = proj.store.load_pointer("staging").get(NAME)
    assert before_entry is not None and entry is not None
    assert (entry.prompt_version, entry.rollback_version, entry.fallback_behavior) == \
        ("1.1.0", "1.0.0", proj.model("fallback"))
    assert entry.behaviour_hash == before_entry.behaviour_hash
    events = proj.store.events(NAME, "staging")
    assert [e.kind for e in events[-3:]] == ["rollback", "promote", "drill"]
    assert events[-1].evidence["verdict"] == "pass"
    assert events[-1].timings == result.timings
    assert list((proj.root / ".promptops" / "runs").glob("*.json"))  # the suite really ran
    assert git(proj.root, "status", "--porcelain") == ""


def test_drill_fails_on_a_broken_fallback_but_still_rolls_forward(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    _deploy_two(proj, proj.model("missing"))
    result = drill(proj.root, NAME, "staging")
    assert result.verdict == "fail"
    assert any("missing" in r for r in result.reasons)
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.prompt_version == "1.1.0"


def test_drill_fails_when_the_target_fails_its_suite(proj: Proj) -> None:
    proj.release("1.0.0", func="wrong")
    proj.release("1.1.0")
    _deploy_two(proj, "rollback")
    result = drill(proj.root, NAME, "staging")
    assert result.verdict == "fail"
    assert any("router.yaml on router@1.0.0 exited 1" in r for r in result.reasons)
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.prompt_version == "1.1.0"


def test_drill_without_check(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    _deploy_two(proj, proj.model("missing"))  # would fail a checked drill
    result = drill(proj.root, NAME, "staging", check=False)
    assert result.verdict == "pass" and result.reasons == ()
    assert not (proj.root / ".promptops" / "runs").exists()
    assert proj.store.events(NAME, "staging")[-1].evidence["checked"] is False
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.prompt_version == "1.1.0"


def test_cli_promote_rollback_drill(proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    runner = CliRunner()
    monkeypatch.chdir(proj.root)
    proj.release("1.0.0", "1.1.0")
    proj.release("1.2.0", status="candidate")
    assert runner.invoke(app, ["promote", "router@1.0.0", "--to", "staging"]).exit_code == 0
    out = runner.invoke(app, ["promote", "router@1.1.0", "--to", "staging"])
    assert out.exit_code == 0 and "promoted router in staging: 1.0.0 → 1.1.0" in out.output
    assert runner.invoke(app, ["promote", "router@1.2.0", "--to", "staging"]).exit_code == 8
    assert runner.invoke(app, ["promote", "router", "--to", "staging"]).exit_code == 2
    out = runner.invoke(app, ["drill", "router", "--env", "staging", "--no-check", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["verdict"] == "pass"
    assert runner.invoke(app, ["rollback", "router", "--env", "staging"]).exit_code == 2
    out = runner.invoke(app, ["rollback", "router", "--env", "staging", "--reason", "bad"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("rolled back router in staging: 1.1.0 → 1.0.0 in ")
    assert out.output.splitlines()[0].endswith(" s")
    assert "local only (no upstream)" in out.output
    out = runner.invoke(app, ["rollback", "router", "--env", "staging", "--to", "1.1.0",
                              "--reason", "back", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["to_version"] == "1.1.0"
    assert GitRepo(proj.root).head() is not None


def test_drill_dry_run_names_the_target_and_writes_nothing(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    _deploy_two(proj, "rollback")
    before = proj.commits()
    result = drill(proj.root, NAME, "staging", dry_run=True)
    assert (result.verdict, result.to_version) == ("dry-run", "1.0.0")
    assert "would roll back to 1.0.0" in result.notes[0]
    assert proj.commits() == before
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.prompt_version == "1.1.0"


def test_registry_deployed_mirrors_production(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    promote(proj.root, NAME, "1.0.0", "staging")
    record = proj.store.load_registry().get(NAME)
    assert record is not None and record.deployed is None  # staging does not count
    promote(proj.root, NAME, "1.0.0", "production")
    promote(proj.root, NAME, "1.1.0", "staging")
    promote(proj.root, NAME, "1.1.0", "production")
    record = proj.store.load_registry().get(NAME)
    assert record is not None and record.deployed == "1.1.0"
    rollback(proj.root, NAME, "production", reason="bad")
    record = proj.store.load_registry().get(NAME)
    assert record is not None and record.deployed == "1.0.0"
    assert git(proj.root, "status", "--porcelain") == ""


def test_running_prompt_store_follows_a_rollback_without_restart(proj: Proj) -> None:
    from promptops.runtime.store import PromptStore

    proj.release("1.0.0", "1.1.0")
    promote(proj.root, NAME, "1.0.0", "production")
    promote(proj.root, NAME, "1.1.0", "production")
    store = PromptStore(proj.root, "production")  # a long-lived process
    assert store.get(NAME).version == "1.1.0"
    rollback(proj.root, NAME, "production", reason="bad answers")  # another command
    served = store.get(NAME)
    assert (served.version, served.source) == ("1.0.0", "pointer")
