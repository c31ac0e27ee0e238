"""Kill a run mid-way, then --resume: finished cases are never sent again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import Project, suite_yaml


def _journal_runs(project: Project) -> list[dict]:
    journals = list((project.root / ".promptops" / "runs").glob("*.journal.jsonl"))
    if not journals:
        return []
    runs = []
    for line in journals[0].read_text().splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "run" in obj:
            runs.append(obj["run"])
    return runs


def test_kill_then_resume_pays_nothing_twice(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(30))
    project.server.latency_ms = 80
    env = {**os.environ, "CI": "true"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "promptops", "eval", "suites/router.yaml", "--no-cache",
         "--concurrency", "2"], cwd=project.root, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(_journal_runs(project)) < 8 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {r["case_id"] for r in _journal_runs(project) if r["error"] is None}
    assert 8 <= len(finished) < 30
    assert not list((project.root / ".promptops" / "runs").glob("*.json"))  # no record yet

    project.server.latency_ms = 0
    project.server.reset()
    result = project.run("eval", "suites/router.yaml", "--no-cache", "--resume")
    assert result.exit_code == 0, result.output
    sent = {req.messages[-1]["content"] for req in project.server.requests}
    tickets = {f"c{i}": f"ticket number {i} " for i in range(30)}
    assert not any(t.startswith(tickets[c]) for c in finished for t in sent)
    assert len(project.server.requests) == 30 - len(finished)
    record = json.loads(next((project.root / ".promptops" / "runs").glob("*.json")).read_text())
    assert len(record["runs"]) == 30 and all(r["passed"] for r in record["runs"])
    # resuming a finished run is refused
    again = project.run("eval", "suites/router.yaml", "--resume")
    assert again.exit_code == 2


def test_resume_refuses_a_changed_suite(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(3))
    runs_dir = project.root / ".promptops" / "runs"
    runs_dir.mkdir(parents=True)
    (runs_dir / "20260101T000000Z-router-abcdef.journal.jsonl").write_text(
        json.dumps({"header": {"suite": "router", "suite_hash": "old"}}) + "\n")
    result = project.run("eval", "suites/router.yaml", "--resume")
    assert result.exit_code == 2 and "different suite" in result.output
    assert project.server.requests == []
