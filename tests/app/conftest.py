"""A small throwaway project wired to the fake server, for end-to-end CLI tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptops.cli.main import app
from promptops.testing import FakeServer

PROMPT = """\
name: router
version: 1.0.0
model: fake:gpt-fake
config: {temperature: 0, max_tokens: 10}
input:
  ticket: {type: string, required: true}
messages:
  - role: system
    content: Route the ticket. Answer billing or tech.
  - role: user
    content: "{{ ticket }}"
"""


def suite_yaml(n: int = 6, models: str = "[fake:gpt-fake]", extra: str = "") -> str:
    """A suite of n cases: even ids expect billing, odd ids expect tech."""
    rows = []
    for i in range(n):
        word, label = ("invoice", "billing") if i % 2 == 0 else ("crash", "tech")
        rows.append(f"  - {{id: c{i}, input: {{ticket: 'ticket number {i} {word}'}}, "
                    f"expected: {label}, tags: [{label}]}}")
    cases = "\n".join(rows)
    return textwrap.dedent(f"""\
        suite: router
        prompt: router
        models: {models}
        defaults:
          criteria:
            - {{name: route, scorer: exact, normalize: [strip, lower], required: true}}
        thresholds: {{pass_rate: 0.8, error_budget: 0.0}}
        {extra}
        cases:
        """) + cases + "\n"


def route_by_keyword(req: object) -> str:
    """Fake model: 'billing' when the ticket mentions an invoice, else 'tech'."""
    text = req.messages[-1]["content"]  # type: ignore[attr-defined]
    return "billing" if "invoice" in text else "tech"


@dataclass
class Project:
    """A temp project folder plus helpers to run the CLI in it."""

    root: Path
    server: FakeServer
    runner: CliRunner

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, *args: str, env: dict[str, str] | None = None) -> object:
        return self.runner.invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            fake_server: FakeServer) -> Iterator[Project]:
    """A project whose `fake` provider is the fake server (OpenAI wire API)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("FAKE_KEY", "sk-fake-SECRET-0123456789abcdef")
    fake_server.responder = route_by_keyword
    proj = Project(tmp_path, fake_server, CliRunner())
    proj.write("promptops.yaml", textwrap.dedent(f"""\
        providers:
          fake: {{kind: openai-compatible, base_url: "{fake_server.openai_base_url}",
                  api_key_env: FAKE_KEY, concurrency: 4, timeout: 5}}
          fakeant: {{kind: anthropic, base_url: "{fake_server.anthropic_base_url}",
                     api_key_env: FAKE_KEY, concurrency: 4, timeout: 5}}
        """))
    proj.write("prompts/router/prompt.yaml", PROMPT)
    proj.write("suites/router.yaml", suite_yaml())
    yield proj


WriteFn = Callable[[str, str], Path]
