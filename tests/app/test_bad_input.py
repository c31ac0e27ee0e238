"""Every kind of bad input: exit 2, a file:line message with a fix, and no request sent."""

from __future__ import annotations

import re

import pytest
from conftest import PROMPT, Project, suite_yaml

GOOD = suite_yaml(4)


def _swap(old: str, new: str) -> tuple[str, str]:
    assert old in GOOD or old in PROMPT, old
    return old, new


# (id, file to break, old text, new text, what the message must say, expected file:line)
CASES = [
    ("yaml-syntax", "suites/router.yaml", "suite: router", "suite: [router", "invalid YAML",
     "suites/router.yaml:"),
    ("unknown-suite-key", "suites/router.yaml", "suite: router", "suite: router\nmodelz: [x]",
     "unknown key 'modelz'", "suites/router.yaml:2"),
    ("missing-case-id", "suites/router.yaml", "{id: c1, ", "{", "case id None",
     "suites/router.yaml:"),
    ("duplicate-case-id", "suites/router.yaml", "{id: c1,", "{id: c0,", "duplicate case id",
     "suites/router.yaml:"),
    ("unknown-scorer", "suites/router.yaml", "scorer: exact", "scorer: exakt",
     "unknown scorer", "suites/router.yaml:6"),
    ("bad-regex", "suites/router.yaml", "scorer: exact, normalize: [strip, lower]",
     "scorer: regex, pattern: '(unclosed'", "pattern", "suites/router.yaml:6"),
    ("bad-threshold", "suites/router.yaml", "pass_rate: 0.8", "pass_rate: 80",
     "between 0 and 1", "suites/router.yaml:7"),
    ("unknown-option", "suites/router.yaml", "required: true}", "required: true, ignorecase: 1}",
     "ignorecase", "suites/router.yaml:6"),
    ("missing-input", "suites/router.yaml", "input: {ticket: 'ticket number 1 crash'}",
     "input: {tiket: 'x'}", "'ticket' is required", "suites/router.yaml:"),
    ("wrong-input-type", "suites/router.yaml", "input: {ticket: 'ticket number 1 crash'}",
     "input: {ticket: 42}", "must be string", "suites/router.yaml:"),
    ("undefined-variable", "prompts/router/prompt.yaml", 'content: "{{ ticket }}"',
     'content: "{{ ticket }} {{ customer }}"', "'customer' is undefined", "suites/router.yaml:"),
    ("template-syntax", "prompts/router/prompt.yaml", 'content: "{{ ticket }}"',
     'content: "{{ ticket }"', "template error", "prompts/router/prompt.yaml"),
    ("unknown-model", "suites/router.yaml", "models: [fake:gpt-fake]", "models: [nope]",
     "not `provider:model`", "suites/router.yaml"),
    ("unknown-provider", "suites/router.yaml", "models: [fake:gpt-fake]",
     "models: [faek:gpt-fake]", "unknown provider 'faek'", "promptops.yaml"),
    ("prompt-not-found", "suites/router.yaml", "prompt: router", "prompt: rooter",
     "prompt 'rooter' not found", "suites/router.yaml"),
    ("no-criteria", "suites/router.yaml", "    - {name: route, scorer: exact, normalize: "
     "[strip, lower], required: true}", "    []", "has no criteria", "suites/router.yaml:"),
    ("bad-cases-file", "suites/router.yaml", "cases:\n", "cases_file: missing.jsonl\ncases:\n",
     "not found", "suites/router.yaml:"),
    ("bad-message-role", "prompts/router/prompt.yaml", "role: system", "role: sistem",
     "is not one of", "prompts/router/prompt.yaml:"),
    ("bad-json-schema", "prompts/router/prompt.yaml", "input:",
     "output: {format: json, schema: {type: 12}}\ninput:", "invalid JSON Schema",
     "prompts/router/prompt.yaml:"),
]


@pytest.mark.parametrize(("file", "old", "new", "says", "where"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exit_2_before_any_call(project: Project, file: str, old: str, new: str,
                                          says: str, where: str) -> None:
    path = project.root / file
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 2, result.output
    assert says in result.output, result.output
    assert where in result.output, result.output
    if where.endswith(":"):
        assert re.search(re.escape(where) + r"\d+", result.output), result.output
    assert "fix:" in result.output
    assert "Traceback" not in result.output
    assert project.server.requests == []
    # lint finds the same problem, also without calling anything
    lint = project.run("lint", "suites/router.yaml")
    assert lint.exit_code == 2 and says in lint.output


def test_bad_config_file(project: Project) -> None:
    project.write("promptops.yaml", "providers:\n  local: {kind: openai-compatible}\n")
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 2
    assert "promptops.yaml:2" in result.output and "needs a base_url" in result.output


def test_missing_api_key_is_exit_2_without_a_call(project: Project, monkeypatch) -> None:
    monkeypatch.delenv("FAKE_KEY")
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 2, result.output
    assert "FAKE_KEY" in result.output
    assert project.server.requests == []


def test_bad_cli_flags(project: Project) -> None:
    assert project.run("eval", "suites/router.yaml", "-f", "tag:nothing").exit_code == 2
    assert project.run("eval", "suites/router.yaml", "-o", "x.pdf").exit_code == 2
    assert project.run("eval", "suites/nope.yaml").exit_code == 2
    assert project.run("eval", "suites/router.yaml", "--resume").exit_code == 2
    assert project.server.requests == []
