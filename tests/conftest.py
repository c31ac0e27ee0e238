"""For every test: git never sees the developer's configuration or identity."""

from __future__ import annotations

from pathlib import Path

import pytest

_GIT_VARS = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
             "EMAIL", "GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME with no global or system git config, and no identity from the env."""
    home = tmp_path_factory.mktemp("home")  # not under tmp_path: tests list that folder
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("PROMPTOPS_HOME", raising=False)
    for var in _GIT_VARS:
        monkeypatch.delenv(var, raising=False)
    return home
