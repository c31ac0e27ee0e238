"""`promptops yank`: withdraw a version everywhere; rollback then skips it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from test_deploy import NAME, Proj, git

from promptops.app.deploy import promote, rollback
from promptops.app.verify import verify
from promptops.app.yank import yank
from promptops.core.errors import ConfigError, PolicyDeniedError, VerifyFailedError


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    root = tmp_path / "repo"
    root.mkdir()
    p = Proj(root)
    p.release("1.0.0", "1.1.0", "1.2.0")
    reg = p.store.load_registry()
    record = reg.get(NAME)
    assert record is not None
    p.store.save_registry(reg.with_prompt(replace(record, current="1.2.0", latest="1.2.0")))
    p.commit_all("current 1.2.0")
    return p


def status(proj: Proj, version: str) -> str:
    record = proj.store.load_registry().get(NAME)
    assert record is not None
    entry = record.entry(version)
    assert entry is not None
    return entry.status


def test_yank_marks_the_version_and_moves_current(proj: Proj) -> None:
    before = proj.commits()
    result = yank(proj.root, NAME, "1.2.0", reason="leaks queue names", actor="ci")
    assert (result.previous_status, result.current) == ("released", "1.1.0")
    assert status(proj, "1.2.0") == "yanked" and proj.commits() == before + 1
    record = proj.store.load_registry().get(NAME)
    assert record is not None and record.current == "1.1.0"
    assert result.commit is not None
    assert sorted(proj.files_of(result.commit)) == sorted(
        ["prompts/registry.yaml", f"deploy/events/{result.event}.json"])
    [event] = [e for e in proj.store.events(NAME) if e.kind == "yank"]
    assert (event.from_version, event.to_version, event.reason, event.who) == (
        "1.2.0", "1.1.0", "leaks queue names", "ci")
    assert "prompts/router@1.2.0" in git(proj.root, "tag", "--list")  # tags never go
    assert verify(proj.root).ok
    with pytest.raises(VerifyFailedError, match="yanked, not released"):
        promote(proj.root, NAME, "1.2.0", "staging")
    with pytest.raises(PolicyDeniedError, match="already yanked"):
        yank(proj.root, NAME, "1.2.0", reason="again")


def test_a_deployed_version_must_be_rolled_back_first(proj: Proj) -> None:
    promote(proj.root, NAME, "1.1.0", "production")
    before = proj.commits()
    with pytest.raises(PolicyDeniedError, match=r"1\.1\.0 is deployed to production") as info:
        yank(proj.root, NAME, "1.1.0", reason="bad")
    assert "promptops rollback router --env production --yank" in str(info.value.fix)
    assert proj.commits() == before and status(proj, "1.1.0") == "released"


def test_rollback_skips_a_yanked_version(proj: Proj) -> None:
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        promote(proj.root, NAME, v, "production")
    warned = yank(proj.root, NAME, "1.1.0", reason="wrong refunds")
    assert warned.warnings == ("deploy/production.yaml names 1.1.0 as the rollback target of "
                               "router; rollback will skip it and go further back",)
    result = rollback(proj.root, NAME, "production", reason="1.2.0 misroutes")
    assert (result.from_version, result.to_version) == ("1.2.0", "1.0.0")
    assert result.warnings == ("skipped router@1.1.0: yanked or blocked in production",)
    entry = proj.store.load_pointer("production").get(NAME)
    assert entry is not None and entry.prompt_version == "1.0.0"
    assert entry.rollback_version is None
    with pytest.raises(VerifyFailedError):
        rollback(proj.root, NAME, "production", to="1.1.0", reason="explicit")


def test_nothing_left_to_roll_back_to_says_why(proj: Proj) -> None:
    promote(proj.root, NAME, "1.0.0", "production")
    promote(proj.root, NAME, "1.1.0", "production")
    yank(proj.root, NAME, "1.0.0", reason="broken")
    with pytest.raises(ConfigError, match="no previously deployed version") as info:
        rollback(proj.root, NAME, "production", reason="now")
    assert info.value.why == "yanked or blocked: 1.0.0"


def test_bad_yanks_write_nothing(proj: Proj) -> None:
    before = proj.commits()
    with pytest.raises(ConfigError, match="needs a reason"):
        yank(proj.root, NAME, "1.2.0", reason=" ")
    with pytest.raises(ConfigError, match=r"router@9\.9\.9 is not in the registry"):
        yank(proj.root, NAME, "9.9.9", reason="x")
    dry = yank(proj.root, NAME, "1.2.0", reason="x", dry_run=True)
    assert dry.dry_run and dry.commit is None and dry.current == "1.1.0"
    assert proj.commits() == before and status(proj, "1.2.0") == "released"


def test_yank_cli(proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from promptops.cli.main import app

    monkeypatch.chdir(proj.root)
    runner = CliRunner()
    out = runner.invoke(app, ["yank", f"{NAME}@1.2.0", "--reason", "INC-12", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["current"] == "1.1.0"
    again = runner.invoke(app, ["yank", f"{NAME}@1.2.0", "--reason", "INC-12"])
    assert again.exit_code == 7
    assert runner.invoke(app, ["yank", NAME, "--reason", "x"]).exit_code == 2
