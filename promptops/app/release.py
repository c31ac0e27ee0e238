"""Use case: `promptops release` — gate a candidate on its scorecard, then record, commit, tag."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from promptops import __version__
from promptops.app.clock import now_stamp
from promptops.app.compare import GatePolicy, compare, deployed_version
from promptops.app.eval_suite import execute, start
from promptops.app.plan import EvalOptions
from promptops.app.remote_sync import RemoteSync, prepare, publish
from promptops.app.retirement import refuse_retired, today_utc
from promptops.core.errors import (
    ConfigError,
    PolicyDeniedError,
    TagExistsError,
    VerifyFailedError,
)
from promptops.core.models import CaseRun, RunMeta
from promptops.core.registry import ChangelogEntry, Event, PromptRecord, event_id, tag_name
from promptops.core.versioning import parse_version
from promptops.storage.atomic import atomic_write
from promptops.storage.git_remote import GitRemote
from promptops.storage.git_repo import GitRepo
from promptops.storage.project import (
    display,
    load_config,
    load_prompt,
    load_suite,
    state_dir,
    suites_for,
)
from promptops.storage.records import SCHEMA_VERSION, meta_from_dict, read_record
from promptops.storage.registry_store import RegistryStore

# run options that change what a run measures: such runs are never reused as a scorecard
_PARTIAL_OPTIONS = frozenset({"filters", "sample", "repeats", "judge"})


@dataclass(frozen=True)
class ReleaseResult:
    """What a release did (or, with --dry-run or on a failed gate, would have done)."""

    name: str
    version: str
    tag: str
    scorecard_path: str
    scorecard_hash: str | None
    reused: bool
    exit_code: int
    reasons: tuple[str, ...]
    verdict: str | None
    commit: str | None
    dry_run: bool
    model: str = ""
    suite: str = ""
    run_id: str = ""
    baseline: str | None = None
    pass_rate: float | None = None
    mean_score: float | None = None
    cases: int = 0
    notes: tuple[str, ...] = ()
    pushed: bool = False
    upstream: str | None = None  # e.g. origin/main; None: local only (no upstream, --no-push)


@dataclass(frozen=True)
class Scored:
    """One arm's run record: loaded, with its single model card from the summary."""

    path: Path
    meta: RunMeta
    runs: list[CaseRun]
    card: dict[str, Any]
    reused: bool


def find_suite(root: Path, name: str) -> Path:
    """The single suites/*.yaml whose `prompt:` is `name` (or `name@...`)."""
    found = suites_for(root, name)
    if len(found) != 1:
        listed = ", ".join(display(p) for p in found) or "none"
        raise ConfigError(f"{len(found)} suites evaluate prompt {name!r}", where="suites/",
                          why=f"candidates: {listed}", fix="pick one with --suite PATH")
    return found[0]


def find_scorecard(root: Path, name: str, behaviour_hash: str, model: str,
                   suite_hash: str) -> Path | None:
    """The newest complete run record with exactly this key (behaviour, model, suite)."""
    best: tuple[str, Path] | None = None
    for path in (state_dir(root) / "runs").glob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            meta = meta_from_dict(data["meta"])
            cards = data["summary"]["models"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (data.get("schema_version") == SCHEMA_VERSION and meta.prompt == name
                and meta.behaviour_hash == behaviour_hash and meta.models == (model,)
                and meta.suite_hash == suite_hash and not _PARTIAL_OPTIONS & set(meta.options)
                and len(cards) == 1 and cards[0].get("exit_code") in (0, 1)
                and (best is None or meta.finished_at > best[0])):
            best = (meta.finished_at, path)
    return best[1] if best else None


def score(root: Path, suite_path: Path, suite_hash: str, name: str, version: str,
          behaviour_hash: str, model: str, env: Mapping[str, str] | None) -> Scored:
    """Reuse a matching run record, or run the suite against the snapshot now."""
    path = find_scorecard(root, name, behaviour_hash, model, suite_hash)
    reused = path is not None
    if path is None:
        options = EvalOptions(prompt=f"{name}@{version}", models=(model,))
        path = execute(start(suite_path, options, env)).record_path
    meta, runs, summary = read_record(path)
    return Scored(path, meta, runs, dict(summary["models"][0]), reused)


def canonical(path: Path) -> bytes:
    """The run record as canonical JSON bytes (sorted keys, fixed indent, LF)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return (json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def absolute_reasons(s: Scored) -> list[str]:
    """Why the scorecard's thresholds or required cases failed (empty when they passed)."""
    reasons = [f"threshold {c['name']}: {_num(c['actual'])} is not {c['op']} {_num(c['limit'])}"
               for c in s.card.get("checks", []) if not c.get("ok")]
    required = sorted({r.case_id for r in s.runs if r.required and not r.passed and not r.error})
    if required:
        reasons.append(f"required case(s) failed: {', '.join(required)}")
    if s.card.get("exit_code") and not reasons:
        reasons.append(f"the scorecard failed (exit {s.card['exit_code']})")
    return reasons


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _check_version(repo: GitRepo, record: PromptRecord | None, name: str,
                   version: str | None) -> ChangelogEntry:
    """The candidate's registry entry, or the refusal that fits its state."""
    if record is None or version is None:
        raise ConfigError(f"prompt {name!r} has no versions in the registry",
                          fix=f'bump one first: promptops bump {name} patch --note "..."')
    entry = record.entry(version)
    tag = tag_name(name, version)
    if entry is None:
        raise ConfigError(f"{name}@{version} is not in the registry",
                          why=f"versions: {', '.join(record.versions()) or 'none'}",
                          fix="release one of those versions, or bump a new one")
    if repo.tag_exists(tag):
        raise TagExistsError(f"{name}@{version} is already released", where=tag,
                             fix="release tags are never moved; bump and release the next version")
    if entry.status == "released":
        raise PolicyDeniedError(f"{name}@{version} is marked released but has no tag {tag}",
                                why="an earlier release was interrupted after its commit",
                                fix=f"`promptops release {name}@{version}` recreates the tag "
                                "on that release commit when it can find it")
    if entry.status != "candidate":
        raise PolicyDeniedError(f"{name}@{version} is {entry.status}, not a candidate",
                                fix="bump and release a new version instead")
    return entry


def _retag(repo: GitRepo, store: RegistryStore, record: PromptRecord, version: str,
           dry_run: bool) -> ReleaseResult | None:
    """Finish a release killed between its commit and its tag: tag that commit now."""
    entry = record.entry(version)
    tag = tag_name(record.name, version)
    if entry is None or entry.status != "released" or repo.tag_exists(tag):
        return None
    commit = repo.commit_with_subject(f"release({record.name}): {version}")
    if commit is None:
        return None  # not ours to repair: _check_version explains
    event = next((e for e in reversed(store.events(prompt=record.name))
                  if e.kind == "release" and e.to_version == version), None)
    evidence = dict(event.evidence) if event else {}
    path = f"suites/scorecards/{record.name}/{version}.json"
    result = ReleaseResult(
        name=record.name, version=version, tag=tag, scorecard_path=path,
        scorecard_hash=entry.scorecard, reused=True, exit_code=0, reasons=(),
        verdict=evidence.get("verdict"), commit=commit, dry_run=dry_run,
        model=str(evidence.get("model") or entry.model or ""),
        suite=str(evidence.get("suite") or ""), run_id=str(evidence.get("run") or ""),
        baseline=evidence.get("baseline"), pass_rate=evidence.get("passRate"),
        mean_score=evidence.get("meanScore"),
        notes=(f"the release commit {commit[:12]} had no tag (an interrupted release); "
               "tagged it now",))
    if not dry_run:
        repo.create_tag(tag, release_record(
            result, entry, entry.released_by or repo.user(), event.when if event else now_stamp(),
            str(evidence.get("suiteHash") or ""), str(evidence.get("gateEnv") or ""), commit),
            commit=commit)
    return result


def release(root: Path, name: str, version: str | None = None, *, suite: Path | None = None,
            gate_env: str = "production", dry_run: bool = False, actor: str | None = None,
            env: Mapping[str, str] | None = None, on_inconclusive: str | None = None,
            today: date | None = None, push: bool = True) -> ReleaseResult:
    """Gate a candidate version, then mark it released, commit the scorecard and tag it.

    With an upstream (and `push`): fetch first and refuse a branch that is behind or diverged
    (ConflictError, nothing written); after the commit and tag, push both with one
    `git push --atomic`. A rejected push deletes the local tag and raises ConflictError; the
    commit stays, and after `git pull --rebase` a re-run re-tags it (`_retag`) and pushes.
    A model past its retirement date is refused before any model call.
    """
    repo = GitRepo.find(root)
    store = RegistryStore(repo.root)
    with store.lock():
        repo.require_clean()
        registry = store.load_registry()
        record = registry.get(name)
        version = version or (record.latest if record else None)
        sync = prepare(repo, f"release {name}{'@' + version if version else ''}", push=push,
                       dry_run=dry_run)
        if record is not None and version is not None:
            repaired = _retag(repo, store, record, version, dry_run)
            if repaired is not None:
                return _publish(repo, sync, replace(repaired, upstream=sync.label))
        entry = _check_version(repo, record, name, version)
        assert record is not None and version is not None
        if sync.upstream is not None and GitRemote(repo).tag_exists(
                sync.upstream, tag_name(name, version)):  # before paying for an eval
            raise TagExistsError(f"{name}@{version} is already released on "
                                 f"{sync.upstream.label}", where=tag_name(name, version),
                                 fix="git fetch --tags; release tags are never moved, so bump "
                                 "and release the next version")
        text = store.read_snapshot(name, version)
        prompt = load_prompt(repo.root, f"{name}@{version}")
        if (store.file_hash(text), prompt.behaviour_hash) != (entry.file_hash,
                                                               entry.behaviour_hash):
            raise VerifyFailedError(f"snapshot {name}@{version} does not match the registry",
                                    where=display(store.snapshot_path(name, version)),
                                    fix="restore it from git; snapshots are immutable")
        if not prompt.model:
            raise ConfigError(f"{name}@{version} has no `model:`",
                              where=display(store.snapshot_path(name, version)),
                              fix="set the model in the prompt and bump a new version")
        # before any model call: a retired model cannot pass, and would be useless if it did
        life = refuse_retired(
            f"{name}@{version}", prompt.model, load_config(repo.root), today or today_utc(),
            fix=f"move the prompt to a current model (edit `model:`, then `promptops bump {name} "
            "minor`) and release that version")
        suite_path = suite or find_suite(repo.root, name)
        the_suite = load_suite(suite_path)
        policy = GatePolicy.from_suite(the_suite.gate, on_inconclusive=on_inconclusive)
        cand = score(repo.root, suite_path, the_suite.hash, name, version,
                     prompt.behaviour_hash, prompt.model, env)
        tag = tag_name(name, version)
        sc_rel = f"suites/scorecards/{name}/{version}.json"
        result = ReleaseResult(
            name, version, tag, sc_rel, None, cand.reused, 0, (), None, None, dry_run,
            upstream=sync.label, model=prompt.model, suite=display(suite_path),
            run_id=cand.meta.run_id, pass_rate=cand.card.get("pass_rate"),
            mean_score=cand.card.get("mean_score"), cases=int(cand.card.get("cases") or 0))
        if cand.card.get("exit_code") == 3:
            return replace(result, exit_code=3, reasons=(
                "infrastructure: provider errors above the error budget; nothing was released",))
        result = _compare(result, cand, absolute_reasons(cand), repo.root, gate_env, policy,
                          the_suite.hash, env, Path(suite_path))
        if life:
            result = replace(result, notes=(f"warning: {life}", *result.notes))
        if result.exit_code:
            return result
        data = canonical(cand.path)
        result = replace(result, scorecard_hash=RegistryStore.file_hash(data.decode()))
        if dry_run:
            return result
        return _publish(repo, sync, _write(repo, store, record, entry, result, data, actor,
                                           gate_env, the_suite.hash))


def _publish(repo: GitRepo, sync: RemoteSync, result: ReleaseResult) -> ReleaseResult:
    """Push the release commit and its tag together (nothing to do for a dry run)."""
    if result.dry_run or result.commit is None:
        return result
    pushed, _ = publish(repo, sync, result.commit, tag=result.tag,
                        retry=f"promptops release {result.name}@{result.version}")
    return replace(result, pushed=pushed)


def _compare(result: ReleaseResult, cand: Scored, reasons: list[str], root: Path, gate_env: str,
             policy: GatePolicy, suite_hash: str, env: Mapping[str, str] | None,
             suite_path: Path) -> ReleaseResult:
    """Add the paired comparison against the version deployed in `gate_env` to the result."""
    name = result.name
    deployed = deployed_version(root, name, gate_env)
    if deployed is None:
        note = f"no comparison: nothing of {name} is deployed to {gate_env}; thresholds alone gate"
        return replace(result, exit_code=1 if reasons else 0, reasons=tuple(reasons),
                       notes=(note,))
    base_prompt = load_prompt(root, f"{name}@{deployed}")
    base_model = base_prompt.model or result.model
    base = score(root, suite_path, suite_hash, name, deployed, base_prompt.behaviour_hash,
                 base_model, env)
    label = f"{name}@{deployed} (deployed to {gate_env})"
    if base.card.get("exit_code") == 3:
        return replace(result, exit_code=3, baseline=deployed, reasons=(
            f"infrastructure: the baseline {label} hit provider errors above the error budget",))
    [cmp] = compare((base.meta, base.runs), (cand.meta, cand.runs), policy, baseline_label=label)
    diff = cmp.score
    line = (f"{cmp.verdict} vs {label}: mean score diff {_num(diff.mean_diff)} "
            f"(95% CI {_num(diff.low)} .. {_num(diff.high)}, n={diff.n}); {cmp.rule}")
    notes = (line,)
    if cmp.exit_code:
        reasons.append(f"regression gate: {line}")
    return replace(result, exit_code=1 if reasons else 0, reasons=tuple(reasons),
                   verdict=cmp.verdict, baseline=deployed, notes=notes)


def _write(repo: GitRepo, store: RegistryStore, record: PromptRecord, entry: ChangelogEntry,
           result: ReleaseResult, data: bytes, actor: str | None, gate_env: str,
           suite_hash: str) -> ReleaseResult:
    """Scorecard file, registry, event, one commit; then the tag (only after the commit)."""
    name, version, sc_hash = result.name, result.version, result.scorecard_hash
    assert sc_hash is not None
    now = now_stamp()
    who = actor or repo.user()
    atomic_write(repo.root / result.scorecard_path, data)
    new_entry = replace(entry, status="released", scorecard=sc_hash, tag=result.tag,
                        released_by=who)
    updated = record.with_entry(new_entry)
    final = not parse_version(version).prerelease
    if final and (record.current is None
                  or parse_version(version) > parse_version(record.current)):
        updated = replace(updated, current=version, model=entry.model or result.model)
    store.save_registry(store.load_registry().with_prompt(updated))
    evidence = {"scorecard": sc_hash, "passRate": result.pass_rate,
                "meanScore": result.mean_score, "model": result.model,
                "suite": result.suite, "suiteHash": suite_hash, "run": result.run_id,
                "gateEnv": gate_env, "baseline": result.baseline, "verdict": result.verdict}
    event = Event(id=event_id(now, None, name, "release"), kind="release", prompt=name,
                  env=None, when=now, who=who, from_version=record.current,
                  to_version=version, from_model=record.model, to_model=result.model,
                  note=entry.note, evidence=evidence)
    event_path = store.write_event(event)
    paths = [result.scorecard_path, "prompts/registry.yaml",
             str(event_path.relative_to(repo.root))]
    commit = repo.commit(paths, f"release({name}): {version}", trailers={
        "Prompt-Version": version, "Prompt-Behavior-Hash": entry.behaviour_hash,
        "Prompt-Scorecard": sc_hash})
    repo.create_tag(result.tag, release_record(result, entry, who, now, suite_hash, gate_env,
                                               commit), commit=commit)
    return replace(result, commit=commit)


def release_record(result: ReleaseResult, entry: ChangelogEntry, who: str, when: str,
                   suite_hash: str, gate_env: str, commit: str) -> str:
    """The YAML release record carried by the annotated tag."""
    record = {
        "schema": "promptops/release@1", "prompt": result.name, "version": result.version,
        "behaviorHash": entry.behaviour_hash, "fileHash": entry.file_hash,
        "model": result.model,
        "scorecard": {"hash": result.scorecard_hash, "path": result.scorecard_path,
                      "run": result.run_id, "cases": result.cases,
                      "passRate": result.pass_rate, "meanScore": result.mean_score},
        "suite": {"path": result.suite, "hash": suite_hash},
        "comparison": {"env": gate_env, "baseline": result.baseline,
                       "verdict": result.verdict},
        "actor": who, "time": when, "commit": commit, "promptops": __version__,
    }
    return yaml.safe_dump(record, sort_keys=False, allow_unicode=True, width=100)
