"""Find the project and read its files: promptops.yaml, prompts, suites and case files."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from promptops.core.config import ProjectConfig, parse_config
from promptops.core.errors import ConfigError
from promptops.core.models import Suite
from promptops.core.prompt import PromptFile, parse_prompt
from promptops.core.suite import parse_suite
from promptops.core.yamlsource import LocatedDict, parse_yaml

CONFIG_NAME = "promptops.yaml"


def display(path: Path) -> str:
    """A path relative to the working directory when it is below it (for messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def find_root(start: Path | None = None) -> Path:
    """The nearest folder with promptops.yaml above `start` (or the cwd); else the cwd."""
    for base in [p for p in (start, Path.cwd()) if p is not None]:
        base = base.resolve()
        for folder in (base, *base.parents):
            if (folder / CONFIG_NAME).is_file():
                return folder
    return Path.cwd().resolve()


def read_text(path: Path, what: str) -> str:
    """Read a UTF-8 file or raise a ConfigError that says what is missing."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", where=display(path),
                          fix="check the path (paths are relative to the working directory)"
                          ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what}: {exc}", where=display(path),
                          fix="make it a readable UTF-8 text file") from None


def load_config(root: Path) -> ProjectConfig:
    """Parse promptops.yaml at the root; no file means defaults."""
    path = root / CONFIG_NAME
    if not path.is_file():
        return ProjectConfig()
    return parse_config(parse_yaml(read_text(path, "config"), display(path)), display(path))


def prompt_path(root: Path, ref: str) -> Path:
    """prompts/<name>/prompt.yaml for `name`, versions/<v>.yaml for `name@v`, or a file path."""
    if ref.endswith((".yaml", ".yml")):
        return (root / ref) if not Path(ref).is_absolute() else Path(ref)
    name, _, version = ref.partition("@")
    folder = root / "prompts" / name
    return folder / "versions" / f"{version}.yaml" if version else folder / "prompt.yaml"


def load_prompt(root: Path, ref: str, where: str | None = None) -> PromptFile:
    """Load and validate a prompt by reference."""
    path = prompt_path(root, ref)
    if not path.is_file():
        available = sorted(p.parent.name for p in (root / "prompts").glob("*/prompt.yaml"))
        raise ConfigError(
            f"prompt {ref!r} not found at {display(path)}", where=where,
            why=f"prompts in this project: {', '.join(available) or 'none'}",
            fix="fix `prompt:` in the suite, or create the prompt file",
        )
    shown = display(path)
    prompt = parse_prompt(parse_yaml(read_text(path, "prompt"), shown), shown)
    expected = ref.partition("@")[0]
    if not ref.endswith((".yaml", ".yml")) and prompt.name != expected:
        raise ConfigError(f"prompt file says `name: {prompt.name}` but lives under {expected}/",
                          where=shown, fix=f"set `name: {expected}` or move the file")
    return prompt


def _jsonl_rows(path: Path, shown: str) -> list[Mapping[str, Any]]:
    rows: list[Mapping[str, Any]] = []
    for n, line in enumerate(read_text(path, "cases file").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc.msg}", where=f"{shown}:{n}",
                              fix="each line must be one JSON object") from None
        if not isinstance(obj, dict):
            raise ConfigError("each line must be a JSON object", where=f"{shown}:{n}",
                              fix='write {"id": ..., "input": {...}, "expected": ...}')
        rows.append(_located(obj, shown, n))
    return rows


def _located(obj: dict[str, Any], shown: str, line: int) -> LocatedDict:
    out = LocatedDict(obj)
    out.source, out.line, out.key_lines = shown, line, {}
    return out


_CSV_META = {"id", "expected", "tags", "threshold", "required", "description", "cluster"}


def _csv_meta(key: str, value: str, where: str) -> Any:
    if key == "threshold":
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"threshold {value!r} is not a number", where=where,
                              fix="write a number between 0 and 1, e.g. 0.8") from None
    if key == "required":
        return value.strip().lower() in ("1", "true", "yes")
    return value


def _csv_rows(path: Path, shown: str) -> list[Mapping[str, Any]]:
    """CSV: `id`, `expected`, `tags` columns; `input.x` (or any other column) becomes input x."""
    rows: list[Mapping[str, Any]] = []
    text = read_text(path, "cases file")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for row in reader:
        line = reader.line_num
        case: dict[str, Any] = {"input": {}}
        for key, value in row.items():
            if key is None:
                raise ConfigError("row has more cells than the header", where=f"{shown}:{line}",
                                  fix="quote cells that contain commas")
            if key in _CSV_META:
                if value not in (None, ""):
                    case[key] = _csv_meta(key, value, f"{shown}:{line}")
            else:
                case["input"][key.removeprefix("input.")] = value or ""
        rows.append(_located(case, shown, line))
    return rows


def load_case_file(suite_dir: Path, ref: str, where: str) -> Sequence[Mapping[str, Any]]:
    """Read a `cases_file:` (JSONL, CSV or YAML) relative to the suite file."""
    path = suite_dir / ref
    shown = display(path)
    if not path.is_file():
        raise ConfigError(f"cases file {ref!r} not found", where=where,
                          fix=f"create {shown} or fix `cases_file:` (relative to the suite)")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl_rows(path, shown)
    if suffix == ".csv":
        return _csv_rows(path, shown)
    if suffix in (".yaml", ".yml"):
        data = parse_yaml(read_text(path, "cases file"), shown)
        if isinstance(data, Mapping) and "cases" in data:
            data = data["cases"]
        if not isinstance(data, list):
            raise ConfigError("a YAML cases file must be a list of cases", where=shown,
                              fix="write `- id: ...` items (or `cases:` with that list)")
        return data
    raise ConfigError(f"cases file {ref!r} has an unknown format", where=where,
                      fix="use .jsonl, .csv or .yaml")


def load_suite(path: Path) -> Suite:
    """Load and validate a suite file, with its case files."""
    shown = display(path)
    data = parse_yaml(read_text(path, "suite"), shown)
    return parse_suite(data, shown, lambda ref, where: load_case_file(path.parent, ref, where))


def state_dir(root: Path) -> Path:
    """The git-ignored local state folder (`PROMPTOPS_HOME` overrides, for tests)."""
    return Path(os.environ.get("PROMPTOPS_HOME") or root / ".promptops")


def suites_for(root: Path, name: str) -> list[Path]:
    """Every suites/*.yaml whose `prompt:` is `name` (or `name@...`), sorted."""
    found = []
    for path in sorted((root / "suites").glob("*.yaml")):
        try:
            data = parse_yaml(path.read_text(encoding="utf-8"), display(path))
        except (ConfigError, OSError, UnicodeDecodeError):
            continue
        if isinstance(data, Mapping) and str(data.get("prompt", "")).partition("@")[0] == name:
            found.append(path)
    return found
