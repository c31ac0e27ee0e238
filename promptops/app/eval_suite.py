"""Use case: run a suite (or resume a killed run), score it, and write the run record."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promptops import __version__
from promptops.app.plan import EvalOptions, Plan, build_plan
from promptops.app.runner import Engine, OnDone
from promptops.core.errors import ConfigError
from promptops.core.hashing import content_hash
from promptops.core.models import CaseRun, RunMeta
from promptops.core.scorecard import Scorecard, build_scorecard
from promptops.storage.cache import ResponseCache
from promptops.storage.gitinfo import git_state
from promptops.storage.project import state_dir
from promptops.storage.records import Journal, RunKey, read_journal, write_record


@dataclass(frozen=True)
class EvalResult:
    """What a finished run produced."""

    meta: RunMeta
    scorecard: Scorecard
    runs: tuple[CaseRun, ...]
    record_path: Path
    retries: int


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _header(plan: Plan) -> dict[str, Any]:
    """What must match for a journal to be resumed."""
    return {
        "suite": plan.suite.name, "suite_hash": plan.suite.hash,
        "behaviour_hash": plan.prompt.behaviour_hash,
        "models": [m.spec for m in plan.models],
        "jobs": content_hash([(j.case.id, j.model.spec, j.repeat) for j in plan.jobs]),
    }


def _find_journal(runs_dir: Path, plan: Plan, resume: str) -> tuple[str, Path]:
    """The journal to resume: a run id, or the newest unfinished one of this suite."""
    if resume != "latest":
        path = runs_dir / f"{resume}.journal.jsonl"
        if not path.is_file():
            raise ConfigError(f"no journal for run {resume!r}", where=str(runs_dir),
                              fix="pass `--resume` alone to pick the latest unfinished run")
        return resume, path
    candidates = sorted(runs_dir.glob(f"*-{plan.suite.name}-*.journal.jsonl"), reverse=True)
    for path in candidates:
        run_id = path.name.removesuffix(".journal.jsonl")
        if not (runs_dir / f"{run_id}.json").exists():
            return run_id, path
    raise ConfigError(f"no unfinished run of suite {plan.suite.name!r} to resume",
                      where=str(runs_dir), fix="run without --resume")


def start(suite_path: Path, options: EvalOptions,
          env: Mapping[str, str] | None = None) -> Plan:
    """Validate everything (exit 2 on any problem) before a single model call."""
    return build_plan(suite_path, options, env)


def execute(plan: Plan, *, on_done: OnDone | None = None) -> EvalResult:
    """Run the plan to completion and write the run record."""
    opts = plan.options
    home = state_dir(plan.root)
    runs_dir = home / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    done: dict[RunKey, CaseRun] = {}
    if opts.resume:
        run_id, journal_path = _find_journal(runs_dir, plan, opts.resume)
        header, done = read_journal(journal_path)
        if {k: header.get(k) for k in _header(plan)} != _header(plan):
            raise ConfigError(
                f"run {run_id} was made from a different suite, prompt, model list or selection",
                where=str(journal_path),
                fix="resume with the same suite, prompt and flags, or run without --resume",
            )
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_id = f"{stamp}-{plan.suite.name}-{secrets.token_hex(3)}"
        journal_path = runs_dir / f"{run_id}.journal.jsonl"
    commit, dirty = git_state(plan.root)
    started = _now()
    t0 = time.perf_counter()
    cache = ResponseCache(home / "cache.db") if opts.use_cache else None
    journal = Journal(journal_path, _header(plan))
    try:
        engine = Engine(plan, cache=cache, journal=journal, done=done, refresh=opts.refresh,
                        on_done=on_done)
        runs = asyncio.run(_run_and_close(engine, plan))
    finally:
        journal.close()
        if cache is not None:
            cache.close()
    from promptops.providers.pricing import genai_prices_version

    meta = RunMeta(
        run_id=run_id, suite=plan.suite.name, suite_path=plan.suite.path,
        suite_hash=plan.suite.hash, prompt=plan.prompt.name, prompt_version=plan.prompt.version,
        behaviour_hash=plan.prompt.behaviour_hash, models=tuple(m.spec for m in plan.models),
        started_at=started, finished_at=_now(), duration_s=round(time.perf_counter() - t0, 3),
        git_commit=commit, git_dirty=dirty, promptops_version=__version__,
        prices_version=genai_prices_version(), cases_total=len(plan.suite.cases),
        options={k: v for k, v in asdict(opts).items() if v not in (None, (), False)},
    )
    scorecard = build_scorecard(replace(plan.suite, cases=plan.cases), runs)
    record_path = runs_dir / f"{run_id}.json"
    write_record(record_path, meta, summarize(scorecard), runs)
    return EvalResult(meta, scorecard, tuple(runs), record_path, engine.retries)


async def _run_and_close(engine: Engine, plan: Plan) -> list[CaseRun]:
    try:
        return await engine.run()
    finally:
        for provider in plan.providers.values():
            await provider.aclose()


def summarize(card: Scorecard) -> dict[str, Any]:
    """The machine-readable headline numbers per model, stored in the record."""
    models = []
    for c in card.cards:
        models.append({
            "model": c.model, "served_models": list(c.served_models), "runs": c.runs,
            "cases": c.cases, "repeats": c.repeats,
            "score_ci": asdict(c.score_ci) if c.score_ci else None,
            "pass_ci": asdict(c.pass_ci) if c.pass_ci else None,
            "judge_calls": c.judge_calls, "judge_errors": c.judge_errors,
            "passed": c.passed, "failed": c.failed, "errors": c.errors,
            "pass_rate": c.pass_rate, "mean_score": c.mean_score,
            "latency_p50_ms": c.latency_p50_ms, "latency_p95_ms": c.latency_p95_ms,
            "input_tokens": c.input_tokens, "output_tokens": c.output_tokens,
            "cost_usd": c.cost_usd, "cost_per_case_usd": c.cost_per_case_usd,
            "cost_unknown_runs": c.cost_unknown_runs, "cache_hits": c.cache_hits,
            "checks": [asdict(ch) for ch in c.checks], "exit_code": c.exit_code,
            "by_criterion": [asdict(g) for g in c.by_criterion],
            "by_tag": [asdict(g) for g in c.by_tag],
        })
    return {"exit_code": card.exit_code, "pass_rule": card.pass_rule, "models": models}
