"""The SDKs' own deprecation tables, read from their source without importing them."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from promptops.app.retirement import retirement_of
from promptops.core.config import ProjectConfig
from promptops.providers import lifecycle
from promptops.providers.lifecycle import _literal_dict, sdk_retirements


def test_literal_dict_reads_annotated_and_plain_assignments(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("from typing import Dict\nOTHER = 1\n"
                    "TABLE: Dict[str, str] = {'a': 'May 1st, 2026'}\nPLAIN = {'b': 'x'}\n")
    assert _literal_dict(path, "TABLE") == {"a": "May 1st, 2026"}
    assert _literal_dict(path, "PLAIN") == {"b": "x"}
    assert _literal_dict(path, "MISSING") == {}


def test_installed_anthropic_sdk_table_is_read_without_importing_it() -> None:
    code = ("import sys; from promptops.providers.lifecycle import sdk_retirements; "
            "t = sdk_retirements(); print(len(t), 'anthropic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.split()
    assert int(out[0]) > 0 and out[1] == "False"
    table = sdk_retirements()
    assert all(kind == "anthropic" and isinstance(when, date) and src.startswith("anthropic SDK")
               for (kind, _), (when, src) in table.items())


def test_lookup_goes_through_aliases_and_provider_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = {("anthropic", "claude-old"): (date(2026, 1, 1), "anthropic SDK 9")}
    monkeypatch.setattr(lifecycle, "sdk_retirements", lambda: fake)
    import promptops.app.retirement as app_retirement

    monkeypatch.setattr(app_retirement, "sdk_retirements", lambda: fake)
    config = ProjectConfig(models={"old": "anthropic:claude-old"})
    found = retirement_of("old", config)
    assert found is not None and found.retires_on == date(2026, 1, 1) and found.model == "old"
    assert retirement_of("openai:claude-old", config) is None  # other provider, other model
    assert retirement_of("nosuch:claude-old", config) is None  # unknown provider: no data
    overridden = ProjectConfig(retirements={"anthropic:claude-old": (date(2027, 1, 1), "p:2")})
    found = retirement_of("anthropic:claude-old", overridden)
    assert found is not None and (found.retires_on, found.source) == (date(2027, 1, 1), "p:2")
