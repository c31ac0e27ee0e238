"""Rollback latency: `promptops rollback` as a child process in a repo of 50 prompts x 20 versions.

Run:  .venv/bin/python bench/rollback_bench.py [--prompts 50 --versions 20 --runs 5]
Builds a throwaway git repo (registry, snapshots, one bump event per version, one commit, a tag
per version), promotes one prompt twice, then times `promptops rollback` --runs times; between
timed runs an untimed `promote` rolls forward again. Goal: every rollback ≤ 1 s wall.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from promptops.app.deploy import promote
from promptops.core.registry import ChangelogEntry, Event, PromptRecord, Registry, event_id
from promptops.storage.registry_store import RegistryStore

GOAL_S = 1.0
ENV = "production"
PROMPT = """\
name: NAME
version: VERSION
model: anthropic:claude-sonnet-5-5
input:
  ticket: {type: string, required: true}
messages:
  - role: system
    content: "Route the ticket (revision VERSION of NAME). Answer with one queue id."
  - role: user
    content: "{{ ticket }}"
"""
SHIM = ("from promptops.cli.main import app\n"
        "from promptops.cli.deploy_commands import register\n"
        "register(app)\napp()\n")


def git(root: Path, *args: str, stdin: str | None = None) -> str:
    """Run git in `root`; stdout."""
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True,
                          input=stdin).stdout


def build(root: Path, prompts: int, versions: int) -> None:
    """Write the registry, snapshots and events of prompts x versions released versions."""
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Bench")
    git(root, "config", "user.email", "bench@example.com")
    (root / ".gitignore").write_text(".promptops/\n")
    (root / "promptops.yaml").write_text("models: {}\n")
    store = RegistryStore(root)
    records = {}
    refs = []
    for p in range(prompts):
        name = f"prompt-{p:02d}"
        entries = []
        for v in range(versions):
            version = f"1.{v}.0"
            text = PROMPT.replace("NAME", name).replace("VERSION", version)
            file_hash = store.write_snapshot(name, version, text)
            entries.append(ChangelogEntry(
                version=version, date="2025-01-01", status="released", note=f"revision {v}",
                bump="minor", detected=None, behaviour_hash=file_hash, file_hash=file_hash,
                model="anthropic:claude-sonnet-5-5", tag=f"prompts/{name}@{version}"))
            when = f"2025-01-01T00:{p:02d}:{v:02d}Z"
            store.write_event(Event(id=event_id(when, None, name, "bump"), kind="bump",
                                    prompt=name, env=None, when=when, who="bench",
                                    to_version=version, note=f"revision {v}"))
            refs.append(f"create refs/tags/prompts/{name}@{version} HEAD\n")
        last = entries[-1].version
        records[name] = PromptRecord(name=name, current=last, latest=last,
                                     model="anthropic:claude-sonnet-5-5", deployed=None,
                                     changelog=tuple(reversed(entries)))
    store.save_registry(Registry(prompts=records))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bench fixture")
    git(root, "update-ref", "--stdin", stdin="".join(refs))


def command() -> list[str]:
    """`promptops`, or a shim that registers the deploy commands when main does not yet."""
    exe = shutil.which("promptops") or str(Path(sys.executable).with_name("promptops"))
    probe = subprocess.run([exe, "rollback", "--help"], capture_output=True, check=False)
    return [exe] if probe.returncode == 0 else [sys.executable, "-c", SHIM]


def main() -> None:
    """Build the repo, promote twice, time the rollbacks, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cmd = command()
    with tempfile.TemporaryDirectory(prefix="promptops-rollback-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        build(root, args.prompts, args.versions)
        print(f"fixture: {args.prompts} prompts x {args.versions} versions, "
              f"{args.prompts * args.versions} events, built in {time.perf_counter() - t:.1f} s")
        name = f"prompt-{args.prompts // 2:02d}"
        old, new = f"1.{args.versions - 2}.0", f"1.{args.versions - 1}.0"
        promote(root, name, old, ENV)
        promote(root, name, new, ENV)
        walls, own, forwards = [], [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            proc = subprocess.run([*cmd, "rollback", name, "--env", ENV, "--reason", "bench"],
                                  cwd=root, capture_output=True, text=True, check=False)
            walls.append(time.perf_counter() - t)
            if proc.returncode != 0:
                sys.exit(f"rollback failed ({proc.returncode}): {proc.stderr.strip()}")
            found = re.search(r"→ (\S+) in ([0-9.]+) s", proc.stdout)
            assert found and found.group(1) == old, proc.stdout
            own.append(float(found.group(2)))
            forwards.append(promote(root, name, new, ENV).duration_s)  # roll forward, untimed
        print(f"command: {' '.join(cmd[:2])}{' <shim>' if len(cmd) > 1 else ''}")
        for label, xs in (("rollback wall (child process)", walls),
                          ("rollback own duration (reported)", own),
                          ("promote forward (in process)", forwards)):
            print(f"{label:34} min {min(xs):.3f} s  median {statistics.median(xs):.3f} s  "
                  f"max {max(xs):.3f} s")
        verdict = "OK" if max(walls) <= GOAL_S else "MISSED"
        print(f"goal: every rollback ≤ {GOAL_S:.1f} s wall → {verdict}")


if __name__ == "__main__":
    main()
