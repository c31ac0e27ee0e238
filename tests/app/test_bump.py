"""`promptops bump`, `verify`, `history`, `diff` end to end in temporary git repositories."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptops.cli.main import app
from promptops.storage.registry_store import RegistryStore

PROMPT = """\
name: router
version: 0.0.0
description: Routes a ticket.
model: openai:gpt-4o-mini
config: {temperature: 0, max_tokens: 10}
input:
  ticket: {type: string, required: true}
messages:
  - role: system
    content: Route the ticket. Answer billing or tech.
  - role: user
    content: "{{ ticket }}"
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.name", "Ada")
    git(tmp_path, "config", "user.email", "ada@example.com")
    (tmp_path / "prompts/router").mkdir(parents=True)
    (tmp_path / "prompts/router/prompt.yaml").write_text(PROMPT)
    (tmp_path / ".gitignore").write_text(".promptops/\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "init")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def edit(root: Path, old: str, new: str) -> None:
    path = root / "prompts/router/prompt.yaml"
    path.write_text(path.read_text().replace(old, new))


def test_first_bump_snapshots_records_and_commits(repo: Path) -> None:
    result = cli("bump", "router", "minor", "--note", "first cut")
    assert result.exit_code == 0, result.output
    assert "0.1.0" in result.output
    snap = repo / "prompts/router/versions/0.1.0.yaml"
    assert snap.read_text() == (repo / "prompts/router/prompt.yaml").read_text()
    assert "version: 0.1.0" in snap.read_text()
    record = RegistryStore(repo).load_registry().get("router")
    assert record is not None and record.latest == "0.1.0" and record.current is None
    entry = record.changelog[0]
    assert entry.status == "candidate" and entry.note == "first cut"
    assert entry.file_hash == RegistryStore.file_hash(snap.read_text())
    assert git(repo, "status", "--porcelain") == ""
    body = git(repo, "log", "-1", "--format=%B")
    assert "bump none → 0.1.0" in body and "Prompt-Version: 0.1.0" in body
    assert "Prompt-Behavior-Hash: " in body
    assert cli("verify").exit_code == 0
    events = json.loads(cli("history", "router", "--json").stdout)
    assert [e["kind"] for e in events] == ["bump"]


def test_no_change_and_metadata_only(repo: Path) -> None:
    cli("bump", "router", "minor", "--note", "first")
    result = cli("bump", "router", "patch", "--note", "again")
    assert result.exit_code == 9 and "behaves exactly like 0.1.0" in result.output
    edit(repo, "Routes a ticket.", "Routes a support ticket.")  # description: not behaviour
    assert cli("bump", "router", "patch", "--note", "doc", "--allow-dirty").exit_code == 9


def test_contract_change_needs_the_right_level(repo: Path) -> None:
    cli("bump", "router", "minor", "--note", "first")
    edit(repo, "Answer billing or tech.", "Answer billing, tech or other.")
    assert cli("bump", "router", "patch", "--note", "wording").exit_code == 0
    edit(repo, "  ticket: {type: string, required: true}",
         "  ticket: {type: string, required: true}\n  tier: {type: string, required: true}")
    small = cli("bump", "router", "minor", "--note", "tier")
    assert small.exit_code == 10 and "major" in small.output and "tier" in small.output
    assert cli("bump", "router", "minor", "--note", "t", "--force").exit_code == 2  # no reason
    forced = cli("bump", "router", "minor", "--note", "tier", "--force", "--reason",
                 "no caller uses it yet")
    assert forced.exit_code == 0, forced.output
    record = RegistryStore(repo).load_registry().get("router")
    assert record is not None and record.versions() == ("0.2.0", "0.1.1", "0.1.0")
    assert record.changelog[0].forced_reason == "no caller uses it yet"
    assert record.changelog[0].detected == "major"


def test_model_change_is_at_least_minor_and_diff_shows_it(repo: Path) -> None:
    cli("bump", "router", "minor", "--note", "first")
    edit(repo, "model: openai:gpt-4o-mini", "model: anthropic:claude-haiku-4-5")
    assert cli("bump", "router", "patch", "--note", "model").exit_code == 10
    assert cli("bump", "router", "minor", "--note", "model").exit_code == 0
    out = cli("diff", "router@0.1.0", "router@0.2.0").output
    assert "model: openai:gpt-4o-mini → anthropic:claude-haiku-4-5" in out
    assert "minor model" in out


def test_pre_releases_and_finalize(repo: Path) -> None:
    cli("bump", "router", "minor", "--note", "first")
    edit(repo, "Answer billing or tech.", "Answer with one queue.")
    assert cli("bump", "router", "minor", "--pre", "rc", "--note", "rc").exit_code == 0
    edit(repo, "Answer with one queue.", "Answer with exactly one queue.")
    assert cli("bump", "router", "minor", "--pre", "rc", "--note", "rc2").exit_code == 0
    assert cli("bump", "router", "minor", "--note", "oops").exit_code == 2  # rc needs --finalize
    assert cli("bump", "router", "minor", "--finalize", "--note", "final").exit_code == 0
    record = RegistryStore(repo).load_registry().get("router")
    assert record is not None
    assert record.versions() == ("0.2.0", "0.2.0-rc.2", "0.2.0-rc.1", "0.1.0")
    assert cli("verify").exit_code == 0


def test_dirty_tree_and_dry_run(repo: Path) -> None:
    (repo / "notes.txt").write_text("wip")
    result = cli("bump", "router", "minor", "--note", "x")
    assert result.exit_code == 4 and "notes.txt" in result.output
    (repo / "notes.txt").unlink()
    dry = cli("bump", "router", "minor", "--note", "x", "--dry-run", "--json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["new"] == "0.1.0"
    assert not (repo / "prompts/router/versions").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_verify_catches_an_edited_snapshot(repo: Path) -> None:
    cli("bump", "router", "minor", "--note", "first")
    snap = repo / "prompts/router/versions/0.1.0.yaml"
    snap.write_text(snap.read_text().replace("billing or tech", "billing or TECH"))
    result = cli("verify")
    assert result.exit_code == 8 and "fileHash" in result.output


def test_two_concurrent_bumps_never_corrupt(repo: Path) -> None:
    cli("bump", "router", "minor", "--note", "first")
    edit(repo, "Answer billing or tech.", "Answer billing or tech, nothing else.")
    git(repo, "commit", "-q", "-am", "edit head")
    env = {**os.environ, "CI": "true"}
    procs = [subprocess.Popen([sys.executable, "-m", "promptops", "bump", "router", "patch",
                               "--note", f"racer {i}"], cwd=repo, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, 9], [p.stderr.read() for p in procs if p.stderr]  # one wins, one: no change
    record = RegistryStore(repo).load_registry().get("router")
    assert record is not None and record.versions() == ("0.1.1", "0.1.0")
    assert cli("verify").exit_code == 0
    assert git(repo, "status", "--porcelain") == ""


def test_kill_9_during_bump_leaves_a_consistent_state(repo: Path) -> None:
    cli("bump", "router", "minor", "--note", "first")
    rng = random.Random(7)
    env = {**os.environ, "CI": "true"}
    for i in range(6):
        path = repo / "prompts/router/prompt.yaml"
        path.write_text(re.sub(r"content: Route the ticket\..*", f"content: Route the ticket. "
                               f"Take {i}, answer billing or tech.", path.read_text()))
        proc = subprocess.Popen([sys.executable, "-m", "promptops", "bump", "router", "patch",
                                 "--note", f"take {i}", "--allow-dirty"], cwd=repo, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 0.9))  # start-up is ~0.3 s: kills land before and during
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        result = cli("verify")
        assert result.exit_code == 0, (i, result.output)
        # and the next bump still works from whatever state the kill left
        nxt = cli("bump", "router", "patch", "--note", f"after kill {i}", "--allow-dirty")
        assert nxt.exit_code in (0, 9), nxt.output
        assert cli("verify").exit_code == 0


def test_leftover_snapshot_of_an_interrupted_bump_is_replaced(repo: Path) -> None:
    cli("bump", "router", "minor", "--note", "first")
    edit(repo, "Answer billing or tech.", "Answer billing or tech only.")
    leftover = repo / "prompts/router/versions/0.1.1.yaml"
    leftover.write_text("half a file from a killed bump")
    result = cli("bump", "router", "patch", "--note", "retry", "--allow-dirty")
    assert result.exit_code == 0, result.output
    assert "half a file" not in leftover.read_text()
    assert cli("verify").exit_code == 0
