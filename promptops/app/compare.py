"""Use case: compare two runs, or a run against a baseline (a run, a prompt version, deployed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptops.core.comparison import Comparison, compare_runs
from promptops.core.errors import ConfigError
from promptops.core.models import CaseRun, RunMeta
from promptops.core.yamlsource import parse_yaml
from promptops.storage.project import display, read_text, state_dir
from promptops.storage.records import read_record


@dataclass(frozen=True)
class GatePolicy:
    """How a paired comparison turns into a verdict (DESIGN §5)."""

    margin: float = 0.03
    tolerance: float = 0.0
    on_inconclusive: str = "warn"

    @classmethod
    def from_suite(cls, gate: Mapping[str, Any], **overrides: Any) -> GatePolicy:
        """The suite's `gate:` settings, with command-line overrides on top."""
        values = {k: gate[k] for k in ("margin", "tolerance", "on_inconclusive") if k in gate}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def find_record(root: Path, ref: str) -> Path:
    """A record file path, a run id, or a unique prefix of one."""
    path = Path(ref)
    if path.suffix == ".json" and path.is_file():
        return path
    runs = state_dir(root) / "runs"
    exact = runs / f"{ref}.json"
    if exact.is_file():
        return exact
    matches = sorted(p for p in runs.glob(f"{ref}*.json"))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(f"no run {ref!r}", where=display(runs),
                          fix="pass a run id from .promptops/runs/ (see the end of an eval's "
                          "output) or the path of a run record")
    raise ConfigError(f"run id prefix {ref!r} is ambiguous ({len(matches)} runs)",
                      where=display(runs), fix="give more of the run id")


def load_run(root: Path, ref: str) -> tuple[RunMeta, list[CaseRun]]:
    """Load a run record by id or path."""
    meta, runs, _ = read_record(find_record(root, ref))
    return meta, runs


def compare(
    baseline: tuple[RunMeta, Sequence[CaseRun]],
    candidate: tuple[RunMeta, Sequence[CaseRun]],
    policy: GatePolicy,
    *,
    baseline_label: str | None = None,
) -> list[Comparison]:
    """One comparison per model: same model on both sides, or the single model of each."""
    (bmeta, bruns), (cmeta, cruns) = baseline, candidate
    pairs = [(m, m) for m in cmeta.models if m in bmeta.models]
    if not pairs and len(bmeta.models) == 1 and len(cmeta.models) == 1:
        pairs = [(bmeta.models[0], cmeta.models[0])]  # model A vs model B
    if not pairs:
        raise ConfigError(
            "the two runs share no model to compare",
            why=f"baseline ran {', '.join(bmeta.models)}; candidate ran {', '.join(cmeta.models)}",
            fix="compare runs of the same model, or runs of one model each",
        )
    out = []
    for bmodel, cmodel in pairs:
        blabel = baseline_label or _label(bmeta)
        out.append(compare_runs(
            [r for r in bruns if r.model == bmodel], [r for r in cruns if r.model == cmodel],
            baseline_label=blabel if len(pairs) == 1 else f"{blabel} [{bmodel}]",
            candidate_label=_label(cmeta) if len(pairs) == 1 else f"{_label(cmeta)} [{cmodel}]",
            margin=policy.margin, tolerance=policy.tolerance,
            on_inconclusive=policy.on_inconclusive,
        ))
    return out


def _label(meta: RunMeta) -> str:
    version = f"@{meta.prompt_version}" if meta.prompt_version else ""
    return f"{meta.prompt}{version} ({meta.behaviour_hash[:8]}, run {meta.run_id})"


def deployed_version(root: Path, prompt: str, env: str) -> str | None:
    """The version of `prompt` that `deploy/<env>.yaml` points at, or None when none is."""
    path = root / "deploy" / f"{env}.yaml"
    if not path.is_file():
        return None
    data = parse_yaml(read_text(path, "deployment pointer"), display(path)) or {}
    entry = data.get("prompts", data).get(prompt) if isinstance(data, Mapping) else None
    if not isinstance(entry, Mapping):
        return None
    if entry.get("enabled") is False:
        return None
    version = entry.get("promptVersion")
    return str(version) if version else None
