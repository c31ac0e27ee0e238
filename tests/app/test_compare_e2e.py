"""Paired comparison end to end: `compare RUN_A RUN_B` and `eval --baseline`."""

from __future__ import annotations

import json

from conftest import PROMPT, Project, route_by_keyword, suite_yaml


def _run_ids(project: Project) -> list[str]:
    paths = sorted((project.root / ".promptops/runs").glob("*.json"),
                   key=lambda p: p.stat().st_mtime_ns)
    return [p.stem for p in paths]


def _latest(project: Project) -> dict:
    run_id = _run_ids(project)[-1]
    return json.loads((project.root / ".promptops/runs" / f"{run_id}.json").read_text())


def test_compare_two_runs_catches_a_regression(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(30))
    assert project.run("eval", "suites/router.yaml").exit_code == 0
    project.server.responder = lambda req: "tech"  # the billing half now fails
    assert project.run("eval", "suites/router.yaml", "--no-cache").exit_code == 1
    a, b = _run_ids(project)
    result = project.run("compare", a, b)
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "c0" in result.output  # c0 flipped pass -> fail
    data = json.loads(project.run("compare", a, b, "--json").stdout)
    [cmp] = data
    assert cmp["verdict"] == "FAIL" and cmp["exit_code"] == 1
    assert cmp["score"]["mean_diff"] < 0 and cmp["score"]["high"] < 0
    flips = {f["case_id"] for f in cmp["flips"]}
    assert flips == {f"c{i}" for i in range(0, 30, 2)}
    # the other way round it is an improvement: PASS
    assert project.run("compare", b, a).exit_code == 0
    md = project.root / "cmp.md"
    assert project.run("compare", a, b, "-o", str(md)).exit_code == 1
    assert "FAIL" in md.read_text()


def test_compare_excludes_cases_whose_content_changed(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(6))
    project.run("eval", "suites/router.yaml")
    project.write("suites/router.yaml", suite_yaml(6).replace(
        "ticket number 1 crash", "ticket number 1 crash again"))
    project.run("eval", "suites/router.yaml")
    a, b = _run_ids(project)
    [cmp] = json.loads(project.run("compare", a, b, "--json").stdout)
    assert cmp["changed"] == ["c1"] and "c1" not in cmp["paired_ids"]
    assert len(cmp["paired_ids"]) == 5


def test_small_suite_is_inconclusive_and_policy_decides(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(6))
    project.run("eval", "suites/router.yaml")
    first = _run_ids(project)[-1]
    project.server.responder = lambda req: (
        "tech" if "number 0 " in req.messages[-1]["content"] else route_by_keyword(req))
    warn = project.run("eval", "suites/router.yaml", "--no-cache", "--baseline", first)
    assert "INCONCLUSIVE" in warn.output
    assert warn.exit_code == 0, warn.output  # 5/6 still meets the thresholds; warn exits 0
    fail = project.run("eval", "suites/router.yaml", "--no-cache", "--baseline", first,
                       "--on-inconclusive", "fail")
    assert fail.exit_code == 1
    rec = _latest(project)
    assert rec["summary"]["comparisons"][0]["verdict"] == "INCONCLUSIVE"


def test_baseline_prompt_version_is_run_on_the_same_cases(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(30))
    project.write("prompts/router/versions/1.0.0.yaml", PROMPT)
    project.write("prompts/router/prompt.yaml",
                  PROMPT.replace("Answer billing or tech.", "Answer with one word."))
    project.server.responder = lambda req: (
        route_by_keyword(req) if "billing or tech" in (req.messages[0]["content"]) else "tech")
    result = project.run("eval", "suites/router.yaml", "--baseline", "router@1.0.0")
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "router@1.0.0" in result.output
    rec = _latest(project)
    cmp = rec["summary"]["comparisons"][0]
    assert cmp["verdict"] == "FAIL" and cmp["baseline_label"] == "router@1.0.0"
    assert rec["summary"]["exit_code"] == 1
    assert len(_run_ids(project)) == 2  # the baseline arm has its own record
    # run again: both arms come from the cache, no request is sent
    project.server.reset()
    again = project.run("eval", "suites/router.yaml", "--baseline", "router@1.0.0")
    assert again.exit_code == 1 and project.server.requests == []


def test_baseline_deployed(project: Project) -> None:
    note = project.run("eval", "suites/router.yaml", "--baseline", "deployed")
    assert note.exit_code == 0 and "nothing of router is deployed" in note.output
    project.write("prompts/router/versions/1.0.0.yaml", PROMPT)
    project.write("deploy/staging.yaml", "router: {enabled: true, promptVersion: 1.0.0}\n")
    result = project.run("eval", "suites/router.yaml", "--baseline", "deployed",
                         "--env", "staging")
    assert result.exit_code == 0, result.output
    cmp = _latest(project)["summary"]["comparisons"][0]
    assert cmp["baseline_label"] == "deployed to staging: router@1.0.0"
    assert cmp["verdict"] in ("PASS", "INCONCLUSIVE")


def test_suite_gate_section_drives_the_baseline(project: Project) -> None:
    project.write("prompts/router/versions/1.0.0.yaml", PROMPT)
    project.write("suites/router.yaml", suite_yaml(6).replace(
        "suite: router", "suite: router\ngate: {baseline: 'router@1.0.0', margin: 0.5}"))
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 0, result.output
    cmp = _latest(project)["summary"]["comparisons"][0]
    assert cmp["margin"] == 0.5 and cmp["verdict"] == "PASS"


def test_unknown_run_is_exit_2(project: Project) -> None:
    result = project.run("compare", "nope", "nada")
    assert result.exit_code == 2 and "no run 'nope'" in result.output
