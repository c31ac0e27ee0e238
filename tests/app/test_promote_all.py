"""`promptops promote --all --from staging --to production`: every differing prompt, one commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_deploy import PROMPT, Proj, git

from promptops.app.deploy import promote
from promptops.app.promotion import promote_all
from promptops.core.errors import NoChangeError, PolicyDeniedError
from promptops.core.registry import ChangelogEntry, PromptRecord
from promptops.storage.project import load_prompt

NAMES = ("billing", "router", "triage")


def release(proj: Proj, name: str, version: str) -> None:
    """Snapshot, register as released, commit and tag name@version."""
    text = PROMPT.replace("VERSION", version).replace("MODEL", proj.model())
    text = text.replace("name: router", f"name: {name}")
    file_hash = proj.store.write_snapshot(name, version, text)
    behaviour = load_prompt(proj.root, f"{name}@{version}").behaviour_hash
    entry = ChangelogEntry(version=version, date="2025-01-01", status="released", note="n",
                           bump="minor", detected=None, behaviour_hash=behaviour,
                           file_hash=file_hash, model=proj.model())
    reg = proj.store.load_registry()
    record = reg.get(name) or PromptRecord(name, None, None, None, None)
    proj.store.save_registry(reg.with_prompt(record.with_entry(entry)))
    proj.commit_all(f"release {name} {version}")
    git(proj.root, "tag", f"prompts/{name}@{version}")


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    root = tmp_path / "repo"
    root.mkdir()
    p = Proj(root, "environments:\n  staging: {}\n  production: {soak_hours: 1}\n")
    for name in NAMES:
        release(p, name, "1.0.0")
        release(p, name, "1.1.0")
        promote(p.root, name, "1.0.0", "staging")
        promote(p.root, name, "1.0.0", "production", override_reason="setup")
    promote(p.root, "billing", "1.1.0", "staging")
    promote(p.root, "triage", "1.1.0", "staging")
    return p


def later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_every_differing_prompt_moves_in_one_commit(proj: Proj) -> None:
    before = proj.commits()
    plan = promote_all(proj.root, "staging", "production", dry_run=True, as_of=later(2))
    assert plan.moves == (("billing", "1.0.0", "1.1.0"), ("triage", "1.0.0", "1.1.0"))
    assert proj.commits() == before
    result = promote_all(proj.root, "staging", "production", as_of=later(2), actor="ci")
    assert result.moves == plan.moves and proj.commits() == before + 1
    assert result.commit is not None
    files = proj.files_of(result.commit)
    assert "deploy/production.yaml" in files and len(result.events) == 2
    assert all(f"deploy/events/{e}.json" in files for e in result.events)
    pointer = proj.store.load_pointer("production")
    served = {n: e.prompt_version for n, e in pointer.prompts.items()}
    assert served == {"billing": "1.1.0", "router": "1.0.0", "triage": "1.1.0"}
    billing = pointer.get("billing")
    assert billing is not None and billing.rollback_version == "1.0.0"
    body = git(proj.root, "log", "-1", "--format=%B")
    assert body.startswith("deploy(production): 2 prompt(s) from staging")
    assert "- triage: 1.0.0 → 1.1.0" in body
    with pytest.raises(NoChangeError):
        promote_all(proj.root, "staging", "production", as_of=later(2))


def test_one_refusal_refuses_them_all(proj: Proj) -> None:
    pointer = proj.store.load_pointer("production")
    before = proj.commits()
    with pytest.raises(PolicyDeniedError, match=r"has served 0\.0 h in staging"):
        promote_all(proj.root, "staging", "production")  # not soaked yet
    assert proj.store.load_pointer("production") == pointer and proj.commits() == before
    assert [e for e in proj.store.events() if e.env == "production" and
            e.to_version == "1.1.0"] == []


def test_the_cli(proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from promptops.cli.main import app

    monkeypatch.chdir(proj.root)
    runner = CliRunner()
    out = runner.invoke(app, ["promote", "--all", "--from", "staging", "--to", "production",
                              "--dry-run", "--json"])
    assert out.exit_code == 7, out.output  # soak: 1 h
    ok = runner.invoke(app, ["promote", "--all", "--from", "staging", "--to", "production",
                             "--override-policy", "release train", "--json"])
    assert ok.exit_code == 0, ok.output
    assert [m[0] for m in json.loads(ok.output)["moves"]] == ["billing", "triage"]
    bad = runner.invoke(app, ["promote", "router@1.1.0", "--all", "--from", "staging",
                              "--to", "production"])
    assert bad.exit_code == 2 and "takes no NAME@VERSION" in bad.output
    assert runner.invoke(app, ["promote", "--all", "--to", "production"]).exit_code == 2
