"""End to end: `promptops eval` against the fake server through the real SDKs."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import PROMPT, Project, suite_yaml

from promptops.testing import Fault


def _record(project: Project) -> dict:
    records = sorted((project.root / ".promptops" / "runs").glob("*.json"),
                     key=lambda p: p.stat().st_mtime_ns)
    return json.loads(records[-1].read_text())


def test_eval_passes_and_writes_record(project: Project) -> None:
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    assert len(project.server.requests) == 6
    rec = _record(project)
    assert rec["schema_version"] == 1
    assert rec["meta"]["behaviour_hash"] and rec["meta"]["suite_hash"]
    run = rec["runs"][0]
    assert run["output"] in ("billing", "tech")
    assert run["served_model"] == "gpt-fake"
    assert run["usage"]["input_tokens"] > 0
    assert run["scores"][0]["explanation"]
    # an openai-compatible server has no known price: unknown, never 0
    assert run["cost_usd"] is None
    assert rec["summary"]["models"][0]["cost_usd"] is None


def test_failing_gate_exits_1_and_lists_failure(project: Project) -> None:
    project.server.responder = lambda req: "tech"
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 1
    assert "c0" in result.output and "expected 'billing', got 'tech'" in result.output


def test_second_run_is_served_from_cache(project: Project) -> None:
    assert project.run("eval", "suites/router.yaml").exit_code == 0
    project.server.reset()
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 0
    assert project.server.requests == []
    assert all(r["cached"] for r in _record(project)["runs"])
    stats = project.run("cache", "stats", "--json")
    assert json.loads(stats.stdout)["entries"] == 6
    # --no-cache and --refresh both call the models again
    assert project.run("eval", "suites/router.yaml", "--no-cache").exit_code == 0
    assert len(project.server.requests) == 6
    assert project.run("eval", "suites/router.yaml", "--refresh").exit_code == 0
    assert len(project.server.requests) == 12
    assert project.run("cache", "clear").exit_code == 0
    assert json.loads(project.run("cache", "stats", "--json").stdout)["entries"] == 0


def test_prompt_change_misses_cache(project: Project) -> None:
    assert project.run("eval", "suites/router.yaml").exit_code == 0
    text = (project.root / "prompts/router/prompt.yaml").read_text()
    project.write("prompts/router/prompt.yaml", text.replace("Answer billing", "Reply billing"))
    project.server.reset()
    assert project.run("eval", "suites/router.yaml").exit_code == 0
    assert len(project.server.requests) == 6


def fast_retries(monkeypatch, attempts: int = 6) -> None:
    """Millisecond backoff so retry tests do not sleep for real."""
    from promptops.providers.retry import RetryPolicy

    monkeypatch.setattr(RetryPolicy, "for_provider", classmethod(
        lambda cls, config, deadline_s=300.0: cls(max_attempts=attempts, base_s=0.001,
                                                  cap_s=0.01, max_retry_after_s=1.0)))


def test_storm_of_429_500_529_completes_every_case(project: Project, monkeypatch) -> None:
    fast_retries(monkeypatch)
    project.server.script(
        Fault.status(429, retry_after=0.01), Fault.status(500), Fault.status(529),
        Fault.status(503), Fault.status(429, retry_after_ms=5), Fault.garbage(),
        Fault.status(500), Fault.status(429, retry_after=0.01),
    )
    result = project.run("eval", "suites/router.yaml", "--no-cache")
    assert result.exit_code == 0, result.output
    rec = _record(project)
    assert all(r["error"] is None for r in rec["runs"])
    assert sum(r["attempts"] for r in rec["runs"]) == 6 + 8
    assert len(project.server.requests) == 6 + 8


def test_errors_beyond_budget_exit_3(project: Project, monkeypatch) -> None:
    fast_retries(monkeypatch, attempts=2)
    project.server.script(*[Fault.status(500)] * 4)  # two cases fail twice each
    result = project.run("eval", "suites/router.yaml", "--no-cache", "--concurrency", "1")
    assert result.exit_code == 3, result.output
    rec = _record(project)
    errors = [r for r in rec["runs"] if r["error"]]
    assert len(errors) == 2 and {e["error_kind"] for e in errors} == {"server"}
    assert all(not r["passed"] for r in errors)
    assert "error_rate" in result.output


def test_error_budget_tolerates_a_few(project: Project, monkeypatch) -> None:
    fast_retries(monkeypatch, attempts=1)
    project.write("suites/router.yaml", suite_yaml(6).replace("error_budget: 0.0",
                                                               "error_budget: 0.2"))
    project.server.script(Fault.status(500))
    result = project.run("eval", "suites/router.yaml", "--no-cache", "--concurrency", "1")
    assert result.exit_code == 0, result.output


def test_auth_error_is_not_retried_and_key_never_stored(project: Project) -> None:
    project.server.script(*[Fault.status(401)] * 6)
    result = project.run("eval", "suites/router.yaml", "--no-cache")
    assert result.exit_code == 3
    assert len(project.server.requests) == 6  # one attempt per case, no retries
    secret = "sk-fake-SECRET-0123456789abcdef"
    assert secret not in result.output
    for path in (project.root / ".promptops").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_no_key_in_state_after_success(project: Project) -> None:
    assert project.run("eval", "suites/router.yaml", "-o", "out/run.json").exit_code == 0
    secret = b"sk-fake-SECRET-0123456789abcdef"
    files = [p for p in (project.root / ".promptops").rglob("*") if p.is_file()]
    assert any(p.name == "cache.db" for p in files)
    for path in [*files, project.root / "out/run.json"]:
        assert secret not in path.read_bytes(), path
    # the key did reach the server, so the check above is meaningful
    assert project.server.requests[0].headers["authorization"].endswith("0123456789abcdef")


def test_anthropic_provider_end_to_end(project: Project) -> None:
    result = project.run("eval", "suites/router.yaml", "--model", "fakeant:claude-sonnet-4-5")
    assert result.exit_code == 0, result.output
    req = project.server.requests[0]
    assert req.api == "anthropic"
    assert req.system.startswith("Route the ticket")
    assert req.body["temperature"] == 0 and req.body["max_tokens"] == 10
    rec = _record(project)
    assert rec["runs"][0]["served_model"] == "claude-sonnet-4-5"
    # a model genai-prices knows gets a real price
    assert rec["runs"][0]["cost_usd"] > 0


def test_matrix_filter_and_sample(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(10))
    result = project.run("eval", "suites/router.yaml", "-m", "fake:gpt-fake",
                         "-m", "fakeant:claude-sonnet-4-5", "-f", "tag:billing")
    assert result.exit_code == 0, result.output
    rec = _record(project)
    assert {r["model"] for r in rec["runs"]} == {"fake:gpt-fake", "fakeant:claude-sonnet-4-5"}
    assert len(rec["runs"]) == 10 and all(r["case_id"] in {"c0", "c2", "c4", "c6", "c8"}
                                          for r in rec["runs"])
    project.run("eval", "suites/router.yaml", "--sample", "3", "--seed", "7")
    first = {r["case_id"] for r in _record(project)["runs"]}
    project.run("eval", "suites/router.yaml", "--sample", "3", "--seed", "7")
    assert {r["case_id"] for r in _record(project)["runs"]} == first and len(first) == 3


def test_repeats_are_cached_separately(project: Project) -> None:
    assert project.run("eval", "suites/router.yaml", "--repeats", "2").exit_code == 0
    assert len(project.server.requests) == 12
    assert {r["repeat"] for r in _record(project)["runs"]} == {0, 1}


def test_report_files(project: Project, monkeypatch) -> None:
    summary = project.root / "step-summary.md"
    summary.write_text("previous\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    project.server.responder = lambda req: "tech"
    result = project.run("eval", "suites/router.yaml", "-o", "r/run.json", "-o", "r/report.xml",
                         "-o", "r/summary.md", "-o", "r/report.html")
    assert result.exit_code == 1
    import xml.etree.ElementTree as ET

    suites = ET.parse(project.root / "r/report.xml").getroot()
    assert sum(int(s.get("failures", 0)) for s in suites.iter("testsuite")) == 3
    assert json.loads((project.root / "r/run.json").read_text())["meta"]["suite"] == "router"
    md = (project.root / "r/summary.md").read_text()
    assert "c0" in md
    page = (project.root / "r/report.html").read_text()
    assert page.lower().startswith("<!doctype html>") and 'data-case="c0"' in page
    text = summary.read_text()
    assert text.startswith("previous\n") and "router" in text


def test_json_flag_prints_record(project: Project) -> None:
    result = project.run("eval", "suites/router.yaml", "--json")
    data = json.loads(result.stdout)
    assert data["summary"]["exit_code"] == 0 and len(data["runs"]) == 6


def test_cases_from_jsonl_csv_yaml(project: Project) -> None:
    project.write("suites/cases.jsonl",
                  '{"id": "j1", "input": {"ticket": "invoice"}, "expected": "billing"}\n')
    project.write("suites/cases.csv", "id,expected,tags,ticket\nk1,tech,\"a,b\",crash\n")
    project.write("suites/cases.yaml", "- {id: y1, input: {ticket: invoice}, expected: billing}\n")
    suite = suite_yaml(1, extra="cases_file: [cases.jsonl, cases.csv, cases.yaml]")
    project.write("suites/router.yaml", suite)
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 0, result.output
    ids = {r["case_id"] for r in _record(project)["runs"]}
    assert ids == {"c0", "j1", "k1", "y1"}
    k1 = next(r for r in _record(project)["runs"] if r["case_id"] == "k1")
    assert k1["tags"] == ["a", "b"]


def test_python_provider(project: Project) -> None:
    project.write("mybaseline.py", "def answer(request):\n"
                  "    return 'billing' if 'invoice' in request.inputs['ticket'] else 'tech'\n")
    result = project.run("eval", "suites/router.yaml", "-m", "python:mybaseline:answer")
    assert result.exit_code == 0, result.output
    assert project.server.requests == []
    assert _record(project)["runs"][0]["cost_usd"] == 0.0


def test_exit_zero_reports_ci_code(project: Project) -> None:
    project.server.responder = lambda req: "tech"
    result = project.run("eval", "suites/router.yaml", "--exit-zero")
    assert result.exit_code == 0
    assert "a CI run would exit 1" in result.output


def test_init_then_lint_and_eval(tmp_path: Path, monkeypatch) -> None:
    import sys

    from typer.testing import CliRunner

    from promptops.cli.main import app

    monkeypatch.chdir(tmp_path)
    for name in [m for m in sys.modules if m == "baselines" or m.startswith("baselines.")]:
        monkeypatch.delitem(sys.modules, name)  # the repo's own example package shares the name
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert (tmp_path / ".github/workflows/promptops.yml").is_file()
    assert runner.invoke(app, ["lint"]).exit_code == 0
    result = runner.invoke(app, ["eval", "suites/sentiment.yaml"])
    assert result.exit_code in (0, 1) and "sentiment" in result.output
    assert runner.invoke(app, ["init"]).exit_code == 2  # not empty any more


def test_no_config_file_at_all(tmp_path: Path, monkeypatch) -> None:
    """Without promptops.yaml, python: models work and built-in providers are known."""
    from typer.testing import CliRunner

    from promptops.cli.main import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "prompts/echo").mkdir(parents=True)
    (tmp_path / "prompts/echo/prompt.yaml").write_text(
        "name: echo\ninput: {text: string}\ntemplate: 'Repeat: {{ text }}'\n")
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites/echo.yaml").write_text(
        "suite: echo\nprompt: echo\nmodels: ['python:echo_fn:run']\n"
        "cases:\n  - {id: a, input: {text: hi}, criteria: [{scorer: contains, value: hi}]}\n")
    (tmp_path / "echo_fn.py").write_text(
        "def run(request):\n    return request.messages[-1].content\n")
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "suites/echo.yaml"])
    assert result.exit_code == 0, result.output
    dry = runner.invoke(app, ["init", "fresh", "--dry-run"])
    assert "would create" in dry.output and not (tmp_path / "fresh" / "promptops.yaml").exists()
    lint = runner.invoke(app, ["lint", "--json"])
    data = json.loads(lint.stdout)
    assert lint.exit_code == 0 and data["problems"] == [] and len(data["ok"]) == 2


def test_json_output_schema_is_checked_per_case(project: Project) -> None:
    project.write("prompts/router/prompt.yaml", PROMPT.replace(
        "input:", "output:\n  format: json\n  schema: {type: object, required: [queue], "
        "properties: {queue: {enum: [billing, tech]}}}\ninput:"))
    project.write("suites/router.yaml", suite_yaml(4).replace(
        "{name: route, scorer: exact, normalize: [strip, lower], required: true}",
        "{name: route, scorer: json, path: queue, required: true}"))
    answers = {"0": '{"queue": "billing"}', "1": '```json\n{"queue": "tech"}\n```',
               "2": '{"queue": "refunds"}', "3": "tech"}
    project.server.responder = lambda req: answers[req.messages[-1]["content"].split()[2]]
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 1, result.output
    runs = {r["case_id"]: r for r in _record(project)["runs"]}
    assert runs["c0"]["passed"] and runs["c1"]["passed"]
    schema = {r: next(s for s in runs[r]["scores"] if s["name"] == "output-schema")
              for r in runs}
    assert schema["c2"]["score"] == 0.0 and "refunds" in schema["c2"]["explanation"]
    assert schema["c3"]["score"] == 0.0 and not runs["c3"]["passed"]
