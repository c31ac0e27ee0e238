"""Environment policy on promote: order, soak time in the previous env, final versions only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_deploy import NAME, Proj

from promptops.app.deploy import promote, rollback
from promptops.app.env_policy import EnvPolicy, environment_policies, served_hours
from promptops.core.errors import ConfigError, PolicyDeniedError
from promptops.core.registry import Event

POLICY = """\
environments:
  staging: {}
  production: {soak_hours: 24, require_final: true}
"""


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    root = tmp_path / "repo"
    root.mkdir()
    return Proj(root, POLICY)


def later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_policies_are_read_in_order_with_defaults(proj: Proj) -> None:
    assert environment_policies(proj.root) == (
        EnvPolicy("staging"), EnvPolicy("production", 24.0, True))


def test_production_waits_for_the_soak_time_in_staging(proj: Proj) -> None:
    proj.release("1.0.0")
    promote(proj.root, NAME, "1.0.0", "staging")
    with pytest.raises(PolicyDeniedError, match=r"served 1\.0 h in staging; production "
                       r"requires 24 h") as info:
        promote(proj.root, NAME, "1.0.0", "production", as_of=later(1))
    assert "wait 23.0 h more" in str(info.value.fix) and info.value.exit_code == 7
    assert proj.entry("production") is None
    done = promote(proj.root, NAME, "1.0.0", "production", as_of=later(25))
    assert done.to_version == "1.0.0"


def test_time_served_stops_when_a_newer_version_replaces_it(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")  # 1.0.0 served only a moment
    with pytest.raises(PolicyDeniedError, match=r"served 0\.0 h"):
        promote(proj.root, NAME, "1.0.0", "production", as_of=later(48))


def test_a_version_rolled_back_in_staging_cannot_go_to_production(proj: Proj) -> None:
    proj.release("1.0.0", "1.1.0")
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    rollback(proj.root, NAME, "staging", reason="misroutes refunds")
    with pytest.raises(PolicyDeniedError, match=r"1\.1\.0 was rolled back in staging") as info:
        promote(proj.root, NAME, "1.1.0", "production", as_of=later(100))
    assert info.value.why == "reason: misroutes refunds"
    assert str(info.value.where).startswith("deploy/events/")


def test_pre_releases_never_reach_a_final_only_environment(proj: Proj) -> None:
    proj.release("1.1.0-rc.1")
    promote(proj.root, NAME, "1.1.0-rc.1", "staging")
    with pytest.raises(PolicyDeniedError, match="production takes final versions only"):
        promote(proj.root, NAME, "1.1.0-rc.1", "production", as_of=later(48),
                override_reason="even with an override")


def test_an_override_skips_order_and_soak_and_is_recorded(proj: Proj) -> None:
    proj.release("1.0.0")
    result = promote(proj.root, NAME, "1.0.0", "production", override_reason=" INC-7 hotfix ")
    assert result.to_version == "1.0.0"
    [event] = proj.store.events(NAME, "production")
    assert event.evidence["policyOverride"] == "INC-7 hotfix"


def test_the_cli_passes_the_override(proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from promptops.cli.main import app

    proj.release("1.0.0")
    monkeypatch.chdir(proj.root)
    runner = CliRunner()
    denied = runner.invoke(app, ["promote", f"{NAME}@1.0.0", "--to", "production"])
    assert denied.exit_code == 7 and "never been promoted to staging" in denied.output
    ok = runner.invoke(app, ["promote", f"{NAME}@1.0.0", "--to", "production",
                             "--override-policy", "break glass"])
    assert ok.exit_code == 0, ok.output


def _event(kind: str, hour: int, to: str, frm: str | None = None,
           reason: str | None = None) -> Event:
    when = f"2026-11-01T{hour:02d}:00:00.000Z"
    return Event(id=f"{when}-{kind}", kind=kind, prompt=NAME, env="staging", when=when,
                 who="ci", from_version=frm, to_version=to, reason=reason)


def test_served_hours_ignores_a_drills_brief_rollback() -> None:
    events = [_event("promote", 0, "2.0.0", "1.0.0"),
              _event("rollback", 5, "1.0.0", "2.0.0", reason="drill"),
              _event("promote", 5, "2.0.0", "1.0.0"),  # the drill rolls forward
              _event("promote", 10, "3.0.0", "2.0.0")]
    now = datetime(2026, 11, 2, tzinfo=UTC)
    assert served_hours(events, "2.0.0", now) == (10.0, None)
    assert served_hours(events, "3.0.0", now) == (14.0, None)
    hours, rolled = served_hours([*events[:1], _event("rollback", 3, "1.0.0", "2.0.0", "bad")],
                                 "2.0.0", now)
    assert hours == 3.0 and rolled is not None and rolled.reason == "bad"


@pytest.mark.parametrize(("text", "what"), [
    ("environments:\n  production: {soak_hours: -1}\n", "soak_hours of 'production'"),
    ("environments:\n  production: {soak: 24}\n", "unknown policy: soak"),
    ("environments:\n  production: {require_final: yes please}\n", "require_final"),
    ("environments: production\n", "must list environment names"),
])
def test_bad_policies_are_located(tmp_path: Path, text: str, what: str) -> None:
    (tmp_path / "promptops.yaml").write_text(text)
    with pytest.raises(ConfigError, match=what) as info:
        environment_policies(tmp_path)
    assert str(info.value.where).startswith("promptops.yaml:")
