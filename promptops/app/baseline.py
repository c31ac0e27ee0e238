"""`eval --baseline`: get the baseline arm (a stored run, a prompt version, or deployed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from promptops.app.compare import deployed_version, load_run
from promptops.app.eval_suite import EvalResult, execute
from promptops.app.plan import Plan, build_plan
from promptops.app.runner import OnDone
from promptops.core.comparison import Comparison
from promptops.core.models import CaseRun, RunMeta
from promptops.storage.records import read_record, write_record


@dataclass(frozen=True)
class Baseline:
    """Where the baseline comes from: a stored run, or a prompt version to run now."""

    kind: str  # "run" | "version" | "none"
    ref: str
    label: str
    note: str = ""  # why there is none, for the user


def resolve_baseline(plan: Plan, ref: str, env: str | None) -> Baseline:
    """Classify `--baseline REF`: `deployed`, `name@version`, a run id or a record path."""
    if ref == "deployed":
        env = env or str(plan.suite.gate.get("env") or "production")
        version = deployed_version(plan.root, plan.prompt.name, env)
        if version is None:
            return Baseline("none", ref, ref, f"nothing of {plan.prompt.name} is deployed to "
                            f"{env} (deploy/{env}.yaml); the absolute thresholds alone gate")
        return Baseline("version", f"{plan.prompt.name}@{version}",
                        f"deployed to {env}: {plan.prompt.name}@{version}")
    if "@" in ref and not ref.endswith(".json"):
        return Baseline("version", ref, ref)
    return Baseline("run", ref, f"run {ref}")


def baseline_arm(plan: Plan, baseline: Baseline, env: Mapping[str, str] | None = None,
                 on_done: OnDone | None = None) -> tuple[RunMeta, list[CaseRun]]:
    """Load the stored run, or run the same cases against the named prompt version."""
    if baseline.kind == "run":
        return load_run(plan.root, baseline.ref)
    options = replace(plan.options, prompt=baseline.ref, resume=None)
    base_plan = build_plan(Path(plan.suite.path), options, env)
    result = execute(base_plan, on_done=on_done)
    return result.meta, list(result.runs)


def attach(result: EvalResult, comparisons: list[Comparison]) -> None:
    """Store the comparisons in the candidate's run record."""
    meta, runs, summary = read_record(result.record_path)
    summary = {**summary, "comparisons": [_plain(c) for c in comparisons],
               "exit_code": max(summary.get("exit_code", 0),
                                *(c.exit_code for c in comparisons))}
    write_record(result.record_path, meta, summary, runs)


def _plain(c: Comparison) -> dict[str, Any]:
    data = asdict(c)
    data["exit_code"] = c.exit_code
    return data
