"""Use case: validate prompts and suites without calling any model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptops.app.plan import EvalOptions, build_plan
from promptops.app.retirement import retirement_of, today_utc
from promptops.core.config import ProjectConfig
from promptops.core.errors import ConfigError
from promptops.storage.project import display, find_root, load_config, load_prompt


@dataclass
class LintReport:
    """What was checked and what is wrong."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def lint(paths: Sequence[Path]) -> LintReport:
    """Check every given file (default: all suites and prompts of the project)."""
    root = find_root()
    report = LintReport()
    try:
        config = load_config(root)
    except ConfigError as exc:
        report.problems.append(exc.message)
        return report
    if not paths:
        paths = sorted((root / "suites").glob("*.y*ml")) + sorted(
            (root / "prompts").glob("*/prompt.yaml"))
        if not paths:
            report.problems.append(f"{display(root)}: no suites/*.yaml or prompts/*/prompt.yaml "
                                   "found\n  fix: run `promptops init` or pass files to lint")
    for path in paths:
        try:
            line, models = _lint_one(root, path)
            report.lines.append(line)
        except ConfigError as exc:
            report.problems.append(exc.message)
            continue
        _check_retirements(display(path), models, config, report)
    return report


def _check_retirements(where: str, models: Sequence[str], config: ProjectConfig,
                       report: LintReport) -> None:
    """A retired model is a problem (every call would fail); one retiring soon a warning."""
    day = today_utc()
    for spec in models:
        found = retirement_of(spec, config)
        if found is not None and found.retired(day):
            report.problems.append(f"{where}: model {found.describe(day)}\n  fix: move to a "
                                   "current model (a prompt: edit `model:` and bump minor)")
        elif found is not None and found.soon(day):
            report.warnings.append(f"{where}: model {found.describe(day)}")


def _lint_one(root: Path, path: Path) -> tuple[str, list[str]]:
    if path.name == "prompt.yaml" or path.parent.name == "versions":
        prompt = load_prompt(root, str(path.resolve()))
        # an old snapshot on a retired model is history, not a problem
        models = [prompt.model] if prompt.model and path.name == "prompt.yaml" else []
        return f"ok  {display(path)}  prompt {prompt.name} ({len(prompt.inputs)} inputs)", models
    plan = build_plan(path, EvalOptions(), connect=False)
    for model in plan.models:
        if model.provider.kind == "python":
            from promptops.providers.factory import build_python_provider

            build_python_provider(model.model_id).check()
    specs = [m.spec for m in plan.models]
    return (f"ok  {display(path)}  suite {plan.suite.name}: {len(plan.cases)} cases, "
            f"prompt {plan.prompt.name}, models {', '.join(specs)}"), specs
