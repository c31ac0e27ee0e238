"""Retired models in the release flow: release and promote refuse them, rollback warns,
verify fails a pointer whose rollback target is retired, lint flags prompts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import Project
from test_deploy import NAME, Proj, git
from test_release import init_repo

from promptops.app.deploy import promote, rollback
from promptops.app.release import release
from promptops.app.verify import verify
from promptops.core.errors import PolicyDeniedError

RETIRES = date(2027, 3, 1)


def retire(proj: Proj, spec: str, when: date = RETIRES) -> None:
    """Add `retirements: {spec: when}` to the project's promptops.yaml and commit it."""
    path = proj.root / "promptops.yaml"
    path.write_text(path.read_text() + f'retirements:\n  "{spec}": {when.isoformat()}\n')
    proj.commit_all("retire a model")


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    root = tmp_path / "repo"
    root.mkdir()
    return Proj(root)


def test_promote_warns_before_and_refuses_after_the_retirement_date(proj: Proj) -> None:
    proj.release("1.0.0")
    proj.release("1.1.0", func="wrong")
    retire(proj, proj.model("wrong"))
    early = promote(proj.root, NAME, "1.0.0", "staging", today=RETIRES)
    assert early.warnings == ()  # 1.0.0 runs on another model
    soon = promote(proj.root, NAME, "1.1.0", "staging", today=RETIRES - timedelta(days=10),
                   dry_run=True)
    [warning] = soon.warnings
    assert warning.startswith(f"router@1.1.0: model {proj.model('wrong')} retires on "
                              f"{RETIRES} (in 10 days); source: ")
    assert warning.endswith("promptops.yaml:3")  # the line that gives the date
    commits = proj.commits()
    with pytest.raises(PolicyDeniedError, match=r"router@1\.1\.0 runs on a retired model") as info:
        promote(proj.root, NAME, "1.1.0", "staging", today=RETIRES)
    assert info.value.exit_code == 7 and "is retired from today" in str(info.value.why)
    assert proj.commits() == commits
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.prompt_version == "1.0.0"


def test_rollback_to_a_retired_model_is_never_refused_but_warned(proj: Proj) -> None:
    proj.release("1.0.0", func="wrong")
    proj.release("1.1.0")
    promote(proj.root, NAME, "1.0.0", "production")
    promote(proj.root, NAME, "1.1.0", "production")
    retire(proj, proj.model("wrong"))
    result = rollback(proj.root, NAME, "production", reason="bad routes",
                      today=RETIRES + timedelta(days=3))
    assert result.to_version == "1.0.0" and result.commit is not None
    [warning] = result.warnings
    assert f"was retired on {RETIRES} (3 days ago)" in warning
    [event] = [e for e in proj.store.events(NAME, "production") if e.kind == "rollback"]
    assert event.evidence["warnings"] == [warning]


def test_verify_fails_a_pointer_whose_rollback_target_is_retired(proj: Proj) -> None:
    proj.release("1.0.0", func="wrong")
    proj.release("1.1.0")
    promote(proj.root, NAME, "1.0.0", "production")
    promote(proj.root, NAME, "1.1.0", "production")
    retire(proj, proj.model("wrong"))
    before = verify(proj.root, as_of=RETIRES - timedelta(days=30))
    assert before.ok
    [warning] = before.warnings
    assert warning.startswith(f"deploy/production.yaml: router: its rollback target 1.0.0 on "
                              f"model {proj.model('wrong')} retires on {RETIRES} (in 30 days)")
    after = verify(proj.root, as_of=RETIRES)
    assert not after.ok
    [problem] = after.problems
    assert "its rollback target 1.0.0" in problem and "a rollback there would not work" in problem
    far = verify(proj.root, as_of=RETIRES - timedelta(days=200))
    assert far.ok and far.warnings == []


def test_verify_cli_takes_an_as_of_date(proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from promptops.cli.main import app

    proj.release("1.0.0", func="wrong")
    promote(proj.root, NAME, "1.0.0", "production")
    retire(proj, proj.model("wrong"))
    monkeypatch.chdir(proj.root)
    runner = CliRunner()
    bad = runner.invoke(app, ["verify", "--as-of", str(RETIRES)])
    assert bad.exit_code == 8 and "serves 1.0.0 on model" in bad.output
    assert runner.invoke(app, ["verify", "--as-of", "2027-01-01"]).exit_code == 0
    assert runner.invoke(app, ["verify", "--as-of", "tomorrow"]).exit_code == 2


def test_release_refuses_a_retired_model_before_any_model_call(project: Project) -> None:
    root = init_repo(project.root)
    config = root / "promptops.yaml"
    config.write_text(config.read_text() + f'retirements:\n  "fake:gpt-fake": {RETIRES}\n')
    git(root, "commit", "-qam", "retire gpt-fake")
    with pytest.raises(PolicyDeniedError, match=r"router@0\.0\.1 runs on a retired model"):
        release(root, "router", today=RETIRES + timedelta(days=1))
    assert project.server.requests == []
    assert git(root, "tag", "--list") == ""
    ok = release(root, "router", today=RETIRES - timedelta(days=5))
    assert ok.exit_code == 0 and ok.commit is not None
    assert ok.notes[0] == (f"warning: router@0.0.1: model fake:gpt-fake retires on {RETIRES} "
                           "(in 5 days); source: promptops.yaml:7")


def test_lint_flags_retired_and_retiring_models(project: Project) -> None:
    today = date.today()
    config = project.root / "promptops.yaml"
    base = config.read_text()
    config.write_text(base + f'retirements:\n  "fake:gpt-fake": {today + timedelta(days=9)}\n')
    soon = project.run("lint")
    assert soon.exit_code == 0  # type: ignore[attr-defined]
    assert "retires on" in soon.output and "(in 9 days)" in soon.output  # type: ignore
    config.write_text(base + f'retirements:\n  "fake:gpt-fake": {today - timedelta(days=1)}\n')
    gone = project.run("lint")
    assert gone.exit_code == 2  # type: ignore[attr-defined]
    assert "was retired on" in gone.output and "bump minor" in gone.output  # type: ignore
