"""The example application in examples/ runs offline and degrades to the keyword router."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_example_routes_a_ticket_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    work = tmp_path / "proj"
    for name in ("prompts", "suites", "baselines", "examples"):
        shutil.copytree(ROOT / name, work / name)
    (work / "promptops.yaml").write_text((ROOT / "promptops.yaml").read_text())
    proc = subprocess.run([sys.executable, "examples/route_ticket.py",
                           "My card was declined when renewing"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("payment_failure")
    assert "tier fallback" in proc.stdout and "degraded" in proc.stdout
    assert "ANTHROPIC_API_KEY is not set" in proc.stderr  # the failover is logged, loudly
    rows = sqlite3.connect(work / ".promptops" / "metrics.db").execute(
        "SELECT tier, error_type, prompt FROM requests").fetchall()
    assert rows == [("fallback", "model_error", "customer-support-router")]
