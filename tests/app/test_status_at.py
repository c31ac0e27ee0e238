"""`promptops status --at WHEN`: what each environment served at a moment, from the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_deploy import NAME, Proj

from promptops.app.deploy import promote, rollback
from promptops.app.history import parse_moment, served_at
from promptops.core.errors import ConfigError


def moment(when: str) -> datetime:
    return datetime.fromisoformat(when.replace("Z", "+00:00"))


def test_replays_promotions_and_rollbacks(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    proj = Proj(tmp_path / "repo")
    proj.release("1.0.0", "1.1.0")
    promote(proj.root, NAME, "1.0.0", "production")
    promote(proj.root, NAME, "1.1.0", "production")
    promote(proj.root, NAME, "1.1.0", "staging")
    rollback(proj.root, NAME, "production", reason="incident")
    first, second, back = [e for e in proj.store.events(NAME, "production")
                           if e.kind in ("promote", "rollback")]
    assert served_at(proj.root, moment(first.when) - timedelta(seconds=1)) == {}
    at_first = served_at(proj.root, moment(first.when))
    assert at_first["production"][NAME].version == "1.0.0" and "staging" not in at_first
    during = served_at(proj.root, moment(second.when), env="production")
    assert list(during) == ["production"] and during["production"][NAME].version == "1.1.0"
    after = served_at(proj.root, moment(back.when))
    assert after["production"][NAME].version == "1.0.0"
    assert after["production"][NAME].kind == "rollback"
    assert after["staging"][NAME].version == "1.1.0"


def test_moments_in_every_form() -> None:
    assert parse_moment("2026-11-27T14:30Z") == datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    assert parse_moment("2026-11-27T14:30") == datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    end = parse_moment("2026-11-27")  # a bare date: the whole day
    assert end.date().isoformat() == "2026-11-27" and end.hour == 23 and end.minute == 59
    with pytest.raises(ConfigError, match="not a date or time"):
        parse_moment("yesterday")


def test_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from promptops.cli.main import app

    (tmp_path / "repo").mkdir()
    proj = Proj(tmp_path / "repo")
    proj.release("1.0.0")
    promote(proj.root, NAME, "1.0.0", "production")
    monkeypatch.chdir(proj.root)
    runner = CliRunner()
    now = runner.invoke(app, ["status", "--env", "production", "--at", "2999-01-01"])
    assert now.exit_code == 0 and f"{NAME}  1.0.0" in now.output and "promote by" in now.output
    before = runner.invoke(app, ["status", "--at", "2000-01-01"])
    assert before.exit_code == 0 and "nothing was deployed by 2000-01-01" in before.output
    assert runner.invoke(app, ["status", "--at", "soon"]).exit_code == 2
