"""Canary releases in the release flow: start, re-weight, finish, abort, and their guards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_deploy import NAME, Proj, git

from promptops.app.bundle import build_bundle
from promptops.app.canary import start_canary
from promptops.app.deploy import promote, rollback
from promptops.app.drill import drill
from promptops.app.verify import verify
from promptops.core.errors import (
    ConfigError,
    NoChangeError,
    PolicyDeniedError,
    VerifyFailedError,
)
from promptops.core.registry import canary_of


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    root = tmp_path / "repo"
    root.mkdir()
    p = Proj(root)
    p.release("1.0.0", "1.1.0", "1.2.0")
    p.release("1.3.0", status="candidate")
    promote(p.root, NAME, "1.0.0", "production")
    return p


def test_a_canary_runs_beside_the_stable_version(proj: Proj) -> None:
    before = proj.commits()
    result = start_canary(proj.root, NAME, "1.1.0", "production", 10, actor="ci")
    assert (result.stable, result.version, result.weight, result.previous) == (
        "1.0.0", "1.1.0", 10, None)
    assert proj.commits() == before + 1
    entry = proj.store.load_pointer("production").get(NAME)
    assert entry is not None and entry.prompt_version == "1.0.0"  # stable unchanged
    canary = canary_of(entry)
    assert canary is not None and (canary.version, canary.weight) == ("1.1.0", 10)
    assert canary.model == proj.model() and canary.event == result.event
    [event] = [e for e in proj.store.events(NAME, "production") if e.kind == "canary"]
    assert (event.from_version, event.to_version, event.evidence["weight"]) == (
        "1.0.0", "1.1.0", 10)
    assert git(proj.root, "log", "-1", "--format=%s").strip() == \
        "deploy(production): router canary 1.1.0 at 10% (stable 1.0.0)"
    assert verify(proj.root).ok
    raised = start_canary(proj.root, NAME, "1.1.0", "production", 50)
    assert raised.previous is not None and raised.previous.weight == 10
    with pytest.raises(NoChangeError):
        start_canary(proj.root, NAME, "1.1.0", "production", 50)


@pytest.mark.parametrize(("version", "weight", "error"), [
    ("1.1.0", 0, ConfigError), ("1.1.0", 100, ConfigError),
    ("1.0.0", 10, NoChangeError),  # that is the stable version
    ("1.3.0", 10, VerifyFailedError),  # a candidate
])
def test_refused_canaries_write_nothing(proj: Proj, version: str, weight: int,
                                        error: type[Exception]) -> None:
    before = proj.commits()
    with pytest.raises(error):
        start_canary(proj.root, NAME, version, "production", weight)
    assert proj.commits() == before and canary_of(proj.store.load_pointer(
        "production").get(NAME)) is None


def test_no_canary_without_a_stable_version(proj: Proj) -> None:
    with pytest.raises(ConfigError, match="no enabled version in staging"):
        start_canary(proj.root, NAME, "1.1.0", "staging", 10)


def test_promoting_the_canary_finishes_it(proj: Proj) -> None:
    start_canary(proj.root, NAME, "1.1.0", "production", 10)
    promote(proj.root, NAME, "1.1.0", "production")
    entry = proj.store.load_pointer("production").get(NAME)
    assert entry is not None and canary_of(entry) is None and "canary" not in entry.extra
    assert (entry.prompt_version, entry.rollback_version) == ("1.1.0", "1.0.0")
    last = proj.store.events(NAME, "production")[-1]
    assert last.kind == "promote" and last.evidence["canaryEnded"]["version"] == "1.1.0"


def test_rollback_aborts_the_canary_and_keeps_stable(proj: Proj) -> None:
    start_canary(proj.root, NAME, "1.1.0", "production", 25)
    result = rollback(proj.root, NAME, "production", reason="canary errors", yank=True)
    assert (result.from_version, result.to_version) == ("1.1.0", "1.0.0")
    entry = proj.store.load_pointer("production").get(NAME)
    assert entry is not None and entry.prompt_version == "1.0.0" and canary_of(entry) is None
    assert entry.blocked == ("1.1.0",)
    last = proj.store.events(NAME, "production")[-1]
    assert (last.kind, last.reason) == ("rollback", "canary errors")
    assert last.evidence["canaryAborted"]["weight"] == 25
    with pytest.raises(PolicyDeniedError, match="blocked"):
        start_canary(proj.root, NAME, "1.1.0", "production", 10)


def test_rollback_to_a_named_version_also_ends_the_canary(proj: Proj) -> None:
    promote(proj.root, NAME, "1.1.0", "production")
    start_canary(proj.root, NAME, "1.2.0", "production", 10)
    rollback(proj.root, NAME, "production", to="1.0.0", reason="both bad")
    entry = proj.store.load_pointer("production").get(NAME)
    assert entry is not None and entry.prompt_version == "1.0.0" and canary_of(entry) is None


def test_verify_bundle_drill_and_status_know_the_canary(
        proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    start_canary(proj.root, NAME, "1.2.0", "production", 10)
    out = proj.root.parent / "bundle.json"
    result = build_bundle(proj.root, "production", out)
    assert f"{NAME}@1.2.0" in result.versions
    assert "1.2.0" in json.loads(out.read_text())["prompts"][NAME]["snapshots"]
    with pytest.raises(PolicyDeniedError, match="runs a canary"):
        drill(proj.root, NAME, "production", check=False)
    path = proj.root / "deploy" / "production.yaml"
    path.write_text(path.read_text().replace("version: 1.2.0", "version: 9.9.9"))
    proj.commit_all("hand-edited canary")
    [problem] = verify(proj.root).problems
    assert "canary 9.9.9 is not in the registry" in problem
    from typer.testing import CliRunner

    from promptops.cli.main import app

    monkeypatch.chdir(proj.root)
    shown = CliRunner().invoke(app, ["status", "--env", "production"])
    assert "canary 9.9.9 at 10%" in shown.output


def test_cli(proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from promptops.cli.main import app

    monkeypatch.chdir(proj.root)
    runner = CliRunner()
    out = runner.invoke(app, ["promote", f"{NAME}@1.1.0", "--to", "production",
                              "--canary", "10"])
    assert out.exit_code == 0, out.output
    assert "started a canary of router@1.1.0 in production: 10% of traffic" in out.output
    assert runner.invoke(app, ["promote", "--all", "--from", "staging", "--to",
                               "production", "--canary", "5"]).exit_code == 2
    assert runner.invoke(app, ["promote", f"{NAME}@1.1.0", "--to", "production",
                               "--canary", "150"]).exit_code == 2
