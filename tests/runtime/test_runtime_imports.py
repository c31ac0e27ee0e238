"""Importing the runtime stays light: no CLI, no app layer, no SDKs (DESIGN §1)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = {"typer", "rich", "anthropic", "openai"}


def _loaded_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return set(out.stdout.split())


def test_runtime_import_loads_no_cli_app_or_sdk() -> None:
    mods = _loaded_after("import promptops.runtime\nfrom promptops.runtime import PromptStore")
    assert "promptops.runtime.store" in mods  # the lazy export really loaded
    bad = {m for m in mods if m.split(".")[0] in HEAVY
           or m.startswith(("promptops.cli", "promptops.app"))}
    assert not bad, f"promptops.runtime imported {sorted(bad)[:8]}"
    assert "jinja2" not in mods  # templates compile on first render, not at import


def test_unknown_runtime_attribute_is_an_attribute_error() -> None:
    import promptops.runtime

    assert "PromptStore" in dir(promptops.runtime)
    try:
        promptops.runtime.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
