"""Use case: scaffold a working project (config, prompt, suite, offline baseline, CI workflow)."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from promptops.core.errors import ConfigError

# Package data cannot hold dotfiles reliably, so these are renamed on the way out.
_RENAMES = {"github": ".github", "gitignore": ".gitignore"}


def _walk(node: Traversable, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    out = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name == "__pycache__":
            continue
        name = _RENAMES.get(child.name, child.name) if not prefix else child.name
        if child.is_dir():
            out += _walk(child, (*prefix, name))
        else:
            out.append(((*prefix, name), child.read_text(encoding="utf-8")))
    return out


def scaffold(folder: Path, *, force: bool = False, dry_run: bool = False) -> list[Path]:
    """Write the starter project into `folder`; never overwrite a file."""
    existing = [p for p in folder.iterdir() if p.name != ".git"] if folder.is_dir() else []
    if existing and not force:
        raise ConfigError(
            f"{folder} is not empty", why="init never overwrites your files",
            fix="run it in an empty folder, or pass --force to add only the missing files",
        )
    files = _walk(resources.files("promptops.app").joinpath("init_template"))
    written = []
    for parts, text in files:
        target = folder.joinpath(*parts)
        if target.exists():
            continue
        written.append(target)
        if dry_run:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return written
