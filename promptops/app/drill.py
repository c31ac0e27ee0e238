"""Use case: `promptops drill` — roll back, check the target, roll forward, record timings."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from promptops.app.clock import now_stamp
from promptops.app.deploy import promote_with, rollback
from promptops.app.promotion import verified_entry
from promptops.core.errors import ConfigError, PolicyDeniedError, PromptopsError, VerifyFailedError
from promptops.core.registry import FALLBACKS, Event, canary_of, event_id, tag_name
from promptops.storage.git_repo import GitRepo
from promptops.storage.project import suites_for
from promptops.storage.registry_store import RegistryStore


@dataclass(frozen=True)
class DrillResult:
    """A drill's outcome: the versions moved through, timings (seconds) and verdict."""

    name: str
    env: str
    from_version: str
    to_version: str
    verdict: str  # pass | fail | dry-run
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    timings: Mapping[str, float] = field(default_factory=dict)
    event: str | None = None
    commits: tuple[str, ...] = ()


def check_suites(suites: list[Path], name: str, version: str, model: str | None) -> list[str]:
    """Run each suite against name@version on its deployed model (cached); failure reasons."""
    from promptops.app.eval_suite import execute
    from promptops.app.plan import EvalOptions, build_plan

    reasons = []
    for suite in suites:
        options = EvalOptions(prompt=f"{name}@{version}", models=(model,) if model else ())
        result = execute(build_plan(suite, options))
        if result.scorecard.exit_code:
            reasons.append(f"{suite.name} on {name}@{version} exited "
                           f"{result.scorecard.exit_code} (run {result.meta.run_id})")
    return reasons


def check_fallback(root: Path, name: str, version: str, fallback: str,
                   suites: list[Path]) -> str | None:
    """Import a python fallback and have it answer one case; a note when there is nothing to do."""
    from promptops.app.plan import EvalOptions, build_plan
    from promptops.providers.factory import build_python_provider
    from promptops.storage.project import load_config

    if fallback in FALLBACKS:
        return None
    spec = load_config(root).models.get(fallback, fallback)
    if not spec.startswith("python:"):
        return f"fallback {fallback!r} is not a python callable; not checked"
    target = spec.removeprefix("python:")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    provider = build_python_provider(target)
    provider.check()
    if not suites:
        return f"no suite for {name}: fallback {fallback} import-checked only"
    plan = build_plan(suites[0], EvalOptions(prompt=f"{name}@{version}", models=(spec,),
                                             use_cache=False), connect=False)
    if not plan.jobs:
        return f"{suites[0].name} has no case: fallback {fallback} import-checked only"
    answer = asyncio.run(provider.complete(plan.jobs[0].request, timeout_s=30.0))
    if not answer.text.strip():
        raise ConfigError(f"fallback {fallback} answered nothing to case {plan.jobs[0].case.id}")
    return None


def drill(root: Path, name: str, env: str, *, actor: str | None = None,
          check: bool = True, dry_run: bool = False) -> DrillResult:
    """Roll `name` back in `env`, check the target and fallback, roll forward, record an event."""
    t0 = time.perf_counter()
    repo = GitRepo.find(root)
    store = RegistryStore(repo.root)
    repo.require_clean()  # the roll forward must not be blocked half-way
    snap = store.load_pointer(env).get(name)
    if snap is None or not snap.prompt_version:
        raise ConfigError(f"{name} is not deployed to {env}", fix="promote a version first")
    original = snap.prompt_version
    if canary_of(snap) is not None:
        raise PolicyDeniedError(f"{name} runs a canary in {env}",
                                why="a drill's rollback would abort the canary",
                                fix=f"finish it (promptops promote {name}@V --to {env}) or abort "
                                f"it (promptops rollback {name} --env {env}) first")
    record = store.load_registry().get(name)
    verified_entry(store, record, name, original)  # preflight: we must be able to return
    if not repo.tag_exists(tag_name(name, original)):
        raise VerifyFailedError(f"{name}@{original} has no release tag; a drill could not "
                                "roll forward", fix="run `promptops verify`")
    if dry_run:  # the rollback's own dry run names the target; nothing is written
        plan = rollback(repo.root, name, env, reason="drill", actor=actor, dry_run=True,
                        push=False)
        return DrillResult(name=name, env=env, from_version=original,
                           to_version=plan.to_version, verdict="dry-run", reasons=(),
                           notes=(f"would roll back to {plan.to_version}, "
                                  f"{'check it, ' if check else ''}then forward to {original}",))
    t_back = time.perf_counter()
    back = rollback(repo.root, name, env, reason="drill", actor=actor, push=False)
    t1 = time.perf_counter()
    reasons: list[str] = []
    notes: list[str] = []
    if check:
        suites = suites_for(repo.root, name)
        if not suites:
            notes.append(f"no suite evaluates {name}; suite check skipped")
        entry = record.entry(back.to_version) if record else None
        try:
            reasons += check_suites(suites, name, back.to_version, entry.model if entry else None)
        except Exception as exc:  # a drill must always roll forward
            reasons.append(f"suite check failed: {exc}")
        try:
            note = check_fallback(repo.root, name, back.to_version, snap.fallback_behavior,
                                  suites)
            notes += [note] if note else []
        except Exception as exc:
            reasons.append(f"fallback {snap.fallback_behavior} failed: {exc}")
    t2 = time.perf_counter()
    commits = [str(back.commit)]
    try:
        fwd = promote_with(repo.root, name, original, env, actor=actor, policy=False,
                           require_clean=False, push=False)
        commits.append(str(fwd.commit))
    except PromptopsError as exc:
        reasons.append(f"roll forward failed ({exc.what}); {env} still serves "
                       f"{back.to_version}")
    t3 = time.perf_counter()
    now_entry = store.load_pointer(env).get(name)
    if now_entry is None or (now_entry.prompt_version, now_entry.model,
                             now_entry.behaviour_hash) != (original, snap.model,
                                                           snap.behaviour_hash):
        reasons.append("the pointer was not restored to its state before the drill")
    timings = {"rollback_s": round(t1 - t_back, 4), "check_s": round(t2 - t1, 4),
               "forward_s": round(t3 - t2, 4), "total_s": round(t3 - t0, 4)}
    verdict = "fail" if reasons else "pass"
    with store.lock():
        when = now_stamp()
        event = Event(id=event_id(when, env, name, "drill"), kind="drill", prompt=name, env=env,
                      when=when, who=actor or repo.user(), from_version=original,
                      to_version=back.to_version, from_model=snap.model,
                      to_model=now_entry.model if now_entry else None, reason="drill",
                      evidence={"verdict": verdict, "reasons": reasons, "notes": notes,
                                "checked": check, "commits": commits,
                                "rollbackCommandS": back.duration_s},
                      timings=timings)
        path = store.write_event(event)
        commits.append(repo.commit([str(path.relative_to(repo.root))],
                                   f"drill({env}): {name} {original} → {back.to_version} → "
                                   f"{original}: {verdict}"))
    return DrillResult(name, env, original, back.to_version, verdict, tuple(reasons),
                       tuple(notes), timings, path.stem, tuple(commits))
