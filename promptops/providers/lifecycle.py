"""Retirement dates that provider SDKs ship as data (read from the installed package's source,
without importing the SDK, so `verify` and `lint` stay fast and work without the SDK)."""

from __future__ import annotations

import ast
from datetime import date
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from promptops.core.lifecycle import parse_retirement_date

# (provider kind, package, module file inside it, dict name): the SDKs' own deprecation tables
_SOURCES = (("anthropic", "anthropic", "_data/deprecated_models.py", "DEPRECATED_MODELS"),)


def _literal_dict(path: Path, name: str) -> dict[str, object]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign):
            target, expr = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, expr = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name and expr is not None:
            value = ast.literal_eval(expr)
            if isinstance(value, dict):
                return {str(k): v for k, v in value.items()}
    return {}


@lru_cache(maxsize=1)
def sdk_retirements() -> dict[tuple[str, str], tuple[date, str]]:
    """{(kind, model id): (retirement date, source)} from the installed SDKs; {} without them."""
    from importlib.metadata import PackageNotFoundError, version  # ~15 ms: only when used

    found: dict[tuple[str, str], tuple[date, str]] = {}
    for kind, package, rel, name in _SOURCES:
        try:
            spec = find_spec(package)
            locations = list(spec.submodule_search_locations or []) if spec else []
            if not locations:
                continue
            table = _literal_dict(Path(locations[0]) / rel, name)
            source = f"{package} SDK {version(package)}"
        except (OSError, SyntaxError, ValueError, PackageNotFoundError):
            continue  # an SDK that moved its table: no data is better than a wrong date
        for model_id, raw in table.items():
            try:
                found[(kind, model_id)] = (parse_retirement_date(raw), source)
            except ValueError:
                continue
    return found
