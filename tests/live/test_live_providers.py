"""Live API checks: run only with a real key (`pytest -m live`); skipped otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.live


@pytest.mark.parametrize(("model", "key"), [
    ("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    ("openai:gpt-4o-mini", "OPENAI_API_KEY"),
])
def test_example_suite_against_the_real_api(model: str, key: str, tmp_path: Path) -> None:
    if not os.environ.get(key):
        pytest.skip(f"{key} is not set")
    env = {**os.environ, "CI": "true", "PROMPTOPS_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "promptops", "eval", "suites/customer-support-router.yaml",
         "--model", model, "--sample", "5", "--seed", "1", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    record = json.loads(proc.stdout)
    runs = record["runs"]
    assert len(runs) == 5 and all(r["error"] is None for r in runs)
    assert all(r["served_model"] and r["usage"]["input_tokens"] for r in runs)
    assert all(r["cost_usd"] is not None for r in runs)  # genai-prices knows these models
    assert os.environ[key] not in proc.stdout + proc.stderr
