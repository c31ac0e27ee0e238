"""`rollback --probe URL`: wait until running applications serve the rollback target."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_deploy import NAME, Proj

from promptops.app.canary import start_canary
from promptops.app.confirm import wait_for
from promptops.app.deploy import promote
from promptops.runtime import PromptStore, serve_status, store_status


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    root = tmp_path / "repo"
    root.mkdir()
    p = Proj(root)
    p.release("1.0.0", "1.1.0", "1.2.0")
    promote(p.root, NAME, "1.0.0", "production")
    promote(p.root, NAME, "1.1.0", "production")
    return p


@pytest.fixture
def servers() -> Iterator[list[object]]:
    made: list[object] = []
    yield made
    for server in made:
        server.shutdown()  # type: ignore[attr-defined]


def probe_of(store: PromptStore, servers: list[object]) -> str:
    server, url = serve_status(store)
    servers.append(server)
    return url


def rollback_cli(proj: Proj, monkeypatch: pytest.MonkeyPatch, *args: str) -> object:
    from typer.testing import CliRunner

    from promptops.cli.main import app

    monkeypatch.chdir(proj.root)
    return CliRunner().invoke(app, ["rollback", NAME, "--env", "production",
                                    "--reason", "INC-7", *args])


def test_status_endpoint_reports_what_the_store_serves(proj: Proj,
                                                       servers: list[object]) -> None:
    store = PromptStore(proj.root, env="production")
    start_canary(proj.root, NAME, "1.2.0", "production", 10)
    with urllib.request.urlopen(probe_of(store, servers), timeout=5) as resp:
        data = json.loads(resp.read())
    assert data["schema"] == "promptops/status@1" and data["env"] == "production"
    item = data["prompts"][NAME]
    assert (item["version"], item["source"]) == ("1.1.0", "pointer")
    assert item["canary"] == {"version": "1.2.0", "weight": 10}
    assert item["behaviorHash"] == store_status(store)["prompts"][NAME]["behaviorHash"]


def test_rollback_waits_until_every_probe_serves_the_target(
        proj: Proj, servers: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    urls = [probe_of(PromptStore(proj.root, env="production", ttl_s=0.2), servers)
            for _ in range(2)]
    out = rollback_cli(proj, monkeypatch, "--probe", urls[0], "--probe", urls[1], "--slo", "30")
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    assert "confirmed by 2/2 probe(s)" in out.output  # type: ignore[attr-defined]
    assert f"{urls[0]}: serves 1.0.0" in out.output  # type: ignore[attr-defined]


def test_a_stale_application_misses_the_slo_with_exit_11(
        proj: Proj, servers: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    stale = PromptStore(proj.root, env="production", ttl_s=3600)
    assert stale.get(NAME).version == "1.1.0"  # read now; not again for an hour
    out = rollback_cli(proj, monkeypatch, "--probe", probe_of(stale, servers), "--slo", "1.5")
    assert out.exit_code == 11, out.output  # type: ignore[attr-defined]
    text = out.output  # type: ignore[attr-defined]
    assert "rolled back router in production: 1.1.0 → 1.0.0" in text
    assert "NOT confirmed by 0/1 probe(s)" in text and "serves 1.1.0" in text
    entry = proj.store.load_pointer("production").get(NAME)
    assert entry is not None and entry.prompt_version == "1.0.0"  # the rollback stands


def test_a_bad_probe_is_refused_before_anything_is_written(
        proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    before = proj.commits()
    out = rollback_cli(proj, monkeypatch, "--probe", "file:///etc/passwd")
    assert out.exit_code == 2 and proj.commits() == before  # type: ignore[attr-defined]


def test_an_unreachable_probe_is_reported() -> None:
    seen = wait_for(["http://127.0.0.1:9/promptops/status"], NAME, "1.0.0", 0.2,
                    interval_s=0.05)
    assert not seen.confirmed and seen.probes[0][1].startswith("unreachable:")
