"""Use case: `promptops verify` — snapshots, registry, tags and pointers agree (for CI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from promptops.app.retirement import retirement_of, today_utc
from promptops.core.config import ProjectConfig
from promptops.core.errors import PromptopsError
from promptops.core.prompt import parse_prompt
from promptops.core.registry import PointerEntry, PromptRecord, canary_of, tag_name
from promptops.core.versioning import parse_version, sort_versions
from promptops.core.yamlsource import parse_yaml
from promptops.storage.git_repo import GitRepo
from promptops.storage.project import load_config
from promptops.storage.registry_store import RegistryStore


@dataclass
class VerifyReport:
    """Every problem found, and how much was checked."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    versions: int = 0
    pointers: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems



def verify(root: Path, as_of: date | None = None) -> VerifyReport:
    """Check hashes, tags, pointers, version order and the models pointers run on (retired as
    of `as_of`, default today); never changes anything."""
    repo = GitRepo.find(root)
    store = RegistryStore(repo.root)
    report = VerifyReport()
    config, day = load_config(repo.root), as_of or today_utc()
    registry = store.load_registry()
    for name in sorted(registry.prompts):
        _check_prompt(store, repo, registry.prompts[name], report)
    for env in store.envs():
        pointer = store.load_pointer(env)
        for name, entry in sorted(pointer.prompts.items()):
            report.pointers += 1
            where = f"deploy/{env}.yaml: {name}"
            record = registry.get(name)
            if record is None:
                report.problems.append(f"{where} points at a prompt the registry does not know")
                continue
            current = record.entry(entry.prompt_version) if entry.prompt_version else None
            if entry.prompt_version and current is None:
                report.problems.append(f"{where}: version {entry.prompt_version} is not in the "
                                       "registry")
            elif current is not None:
                if current.status != "released":
                    report.problems.append(f"{where}: {current.version} is {current.status}, "
                                           "not released")
                if current.version in entry.blocked:
                    report.problems.append(f"{where}: {current.version} is blocked here")
                if entry.behaviour_hash and entry.behaviour_hash != current.behaviour_hash:
                    report.problems.append(f"{where}: behaviour hash differs from the registry's "
                                           f"for {current.version}")
            if entry.rollback_version and record.entry(entry.rollback_version) is None:
                report.problems.append(f"{where}: rollbackVersion {entry.rollback_version} does "
                                       "not exist")
            _check_models(where, entry, config, day, report)
            _check_canary(where, entry, record, config, day, report)
    return report


def _check_canary(where: str, entry: PointerEntry, record: PromptRecord,
                  config: ProjectConfig, day: date, report: VerifyReport) -> None:
    """A canary must name a released, unblocked version with matching hash and a live model."""
    raw = entry.extra.get("canary")
    if raw is None:
        return
    canary = canary_of(entry)
    if canary is None:
        report.problems.append(f"{where}: malformed canary (needs version and a weight 1..99)")
        return
    version = record.entry(canary.version)
    label = f"{where}: canary {canary.version}"
    if version is None or version.status != "released":
        state = "not in the registry" if version is None else version.status
        report.problems.append(f"{label} is {state}, not released")
    elif canary.behaviour_hash and canary.behaviour_hash != version.behaviour_hash:
        report.problems.append(f"{label}: behaviour hash differs from the registry's")
    if canary.version in entry.blocked:
        report.problems.append(f"{label} is blocked here")
    found = retirement_of(canary.model, config) if canary.model else None
    if found is not None and found.retired(day):
        report.problems.append(f"{label} runs on model {found.describe(day)}")


def _check_models(where: str, entry: PointerEntry, config: ProjectConfig, day: date,
                  report: VerifyReport) -> None:
    """A pointer serving, or rolling back to, a retired model is broken; soon is a warning."""
    pairs = ((entry.model, f"serves {entry.prompt_version}", "promote a version on a current "
              "model"),
             (entry.rollback_model, f"its rollback target {entry.rollback_version}",
              "a rollback there would not work; deploy a version on a current model so the "
              "rollback target moves"))
    for model, what, consequence in pairs:
        found = retirement_of(model, config) if model else None
        if found is None:
            continue
        line = f"{where}: {what} on model {found.describe(day)}"
        if found.retired(day):
            report.problems.append(f"{line} — {consequence}")
        elif found.soon(day):
            report.warnings.append(line)


def _check_prompt(store: RegistryStore, repo: GitRepo, record: PromptRecord,
                  report: VerifyReport) -> None:
    name = record.name
    versions = list(record.versions())
    if len(set(versions)) != len(versions):
        report.problems.append(f"{name}: a version appears twice in the changelog")
    try:
        ordered = sort_versions(versions)
    except PromptopsError as exc:
        report.problems.append(f"{name}: {exc.what}")
        return
    if list(reversed(ordered)) != versions:  # newest first, by semver precedence
        report.problems.append(f"{name}: versions are not monotonic (changelog order "
                               f"{', '.join(versions)})")
    for entry in record.changelog:
        report.versions += 1
        label = f"{name}@{entry.version}"
        try:
            text = store.read_snapshot(name, entry.version)
        except PromptopsError as exc:
            report.problems.append(f"{label}: {exc.what}")
            continue
        if store.file_hash(text) != entry.file_hash:
            report.problems.append(f"{label}: snapshot bytes do not match the registry's "
                                   "fileHash (a released file was edited)")
        shown = f"prompts/{name}/versions/{entry.version}.yaml"
        try:
            snap = parse_prompt(parse_yaml(text, shown), shown)
        except PromptopsError as exc:
            report.problems.append(f"{label}: {exc.what}")
            continue
        if snap.behaviour_hash != entry.behaviour_hash:
            report.problems.append(f"{label}: behaviour hash does not match the registry")
        if entry.status == "released" and not repo.tag_exists(tag_name(name, entry.version)):
            report.problems.append(f"{label} is released but tag {tag_name(name, entry.version)} "
                                   "is missing (fetch tags: git fetch --tags)")
    if record.current is not None:
        current = record.entry(record.current)
        if current is None or current.status not in ("released", "yanked"):
            report.problems.append(f"{name}: current {record.current} is not a released version")
        else:
            parse_version(record.current)
    if record.latest and record.entry(record.latest) is None:
        report.problems.append(f"{name}: latest {record.latest} has no changelog entry")
