"""Layering rules (DESIGN §1) and start-up import guards, enforced."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "promptops"

# layer -> promptops layers it may import
ALLOWED = {
    "core": {"core"},
    "providers": {"core", "providers"},
    "storage": {"core", "storage"},
    "report": {"core", "report"},
    "app": {"core", "providers", "storage", "report", "app"},
    "cli": {"core", "providers", "storage", "report", "app", "cli"},
    "testing": {"testing"},
    "runtime": {"core", "providers", "storage", "runtime"},
}
# third-party modules a layer must never import
FORBIDDEN = {
    "core": {"anthropic", "openai", "typer", "rich", "httpx2", "aiohttp", "genai_prices"},
    "providers": {"typer", "rich"},
    "storage": {"typer", "rich", "anthropic", "openai"},
    "report": {"typer", "anthropic", "openai"},
    "app": {"typer", "rich"},
    "runtime": {"typer", "rich"},
    "testing": {"typer", "rich", "anthropic", "openai"},
}
LAZY_ONLY = {"anthropic", "openai", "genai_prices", "aiohttp", "jsonschema"}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, is_top_level) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, id(node) in top))
    return out


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(PKG).parts[0], p) for p in PKG.rglob("*.py")
            if len(p.relative_to(PKG).parts) > 1]


@pytest.mark.parametrize(("layer", "path"), _modules(), ids=lambda v: str(v)[-40:])
def test_layering(layer: str, path: Path) -> None:
    for module, top_level in _imports(path):
        parts = module.split(".")
        if parts[0] == "promptops" and len(parts) > 1 and parts[1] in ALLOWED:
            assert parts[1] in ALLOWED[layer], f"{path}: {layer} must not import {module}"
        assert parts[0] not in FORBIDDEN.get(layer, set()), f"{path}: imports {module}"
        if parts[0] in LAZY_ONLY:
            assert not top_level, f"{path}: {module} must be imported lazily (start-up time)"


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(PKG)): n for _, p in _modules()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert not big, f"split these modules: {big}"


def _loaded_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return set(out.stdout.split())


def test_help_does_not_import_sdks() -> None:
    mods = _loaded_after(
        "import sys\nsys.argv=['promptops','--help']\nfrom promptops.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass")
    heavy = {m for m in mods if m.split(".")[0] in {"anthropic", "openai", "genai_prices",
                                                     "aiohttp", "httpx2", "jsonschema"}}
    assert not heavy, f"promptops --help imported {sorted(heavy)[:5]}"
    assert "typer" in mods  # the check ran the real CLI


def test_core_imports_no_sdk() -> None:
    mods = _loaded_after("import promptops.core.suite, promptops.core.scorecard")
    assert not {m for m in mods if m.split(".")[0] in {"anthropic", "openai", "typer", "rich"}}
