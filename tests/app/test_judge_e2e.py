"""LLM judge and repeats end to end, against the fake server."""

from __future__ import annotations

import json

from conftest import Project, suite_yaml

JUDGED = """\
  - id: polite
    input: {ticket: "ticket number 0 invoice"}
    expected: billing
    criteria:
      - name: tone
        scorer: llm_judge
        rubric: Is the answer a single polite queue name?
        choices: {A: 1.0, B: 0.5, C: 0.0}
        judge: fakeant:claude-haiku-4-5
        weight: 1
"""


def _judge_or_route(verdicts: list[str]):
    """Fake model: routes tickets; as a judge (system prompt), replies with the next verdict."""
    def respond(req):
        if req.system and "strict evaluator" in req.system:
            return verdicts.pop(0) if verdicts else "no idea"
        return "billing" if "invoice" in req.messages[-1]["content"] else "tech"
    return respond


def _record(project: Project) -> dict:
    path = max((project.root / ".promptops/runs").glob("*.json"),
               key=lambda p: p.stat().st_mtime_ns)
    return json.loads(path.read_text())


def _judge_score(project: Project) -> dict:
    run = next(r for r in _record(project)["runs"] if r["case_id"] == "polite")
    return next(s for s in run["scores"] if s["name"] == "tone")


def test_judge_scores_and_is_cached(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(2) + JUDGED)
    project.server.responder = _judge_or_route(["It is terse and polite.\nVERDICT: A"])
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 0, result.output
    tone = _judge_score(project)
    assert tone["score"] == 1.0 and tone["passed"]
    assert tone["detail"]["verdict"] == "A" and "terse and polite" in tone["detail"]["reasoning"]
    assert tone["detail"]["judge_model"] == "fakeant:claude-haiku-4-5"
    judge_calls = [r for r in project.server.requests if r.api == "anthropic"]
    assert len(judge_calls) == 1 and judge_calls[0].body["temperature"] == 0
    assert "<candidate_output>\nbilling\n</candidate_output>" in judge_calls[0].messages[-1][
        "content"]
    # unchanged: the judge verdict comes from the cache too
    project.server.reset()
    assert project.run("eval", "suites/router.yaml").exit_code == 0
    assert project.server.requests == [] and _judge_score(project)["detail"]["cached"]
    # a new rubric is a new judge call, but the judged output is still cached
    project.write("suites/router.yaml", suite_yaml(2) + JUDGED.replace("polite queue",
                                                                      "courteous queue"))
    project.server.responder = _judge_or_route(["VERDICT: B"])
    assert project.run("eval", "suites/router.yaml").exit_code == 1  # 0.75 < case threshold 1
    assert [r.api for r in project.server.requests] == ["anthropic"]
    assert _judge_score(project)["score"] == 0.5


def test_unparseable_verdict_is_unscored_and_counted(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(2) + JUDGED)
    project.server.responder = _judge_or_route(["Looks fine to me, I'd say good."])
    result = project.run("eval", "suites/router.yaml")
    tone = _judge_score(project)
    assert tone["score"] is None and tone["passed"] is None
    assert "no valid verdict" in tone["explanation"]
    assert tone["detail"]["raw"] == "Looks fine to me, I'd say good."
    assert "judge" in result.output.lower()  # the scorecard reports judge errors
    summary = _record(project)["summary"]["models"][0]
    assert summary["judge_errors"] == 1 and summary["judge_calls"] == 1


def test_self_judge_warns_unless_allowed(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(2) + JUDGED)
    project.server.responder = _judge_or_route(["VERDICT: A"] * 4)
    result = project.run("eval", "suites/router.yaml", "-m", "fakeant:claude-haiku-4-5")
    assert "judges favour their own outputs" in result.output
    allowed = JUDGED.replace("weight: 1", "weight: 1\n        allow_self_judge: true")
    project.write("suites/router.yaml", suite_yaml(2) + allowed)
    result = project.run("eval", "suites/router.yaml", "-m", "fakeant:claude-haiku-4-5")
    assert "judges favour their own outputs" not in result.output


def test_missing_judge_model_is_exit_2(project: Project) -> None:
    project.write("suites/router.yaml", suite_yaml(2) + JUDGED.replace(
        "        judge: fakeant:claude-haiku-4-5\n", ""))
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 2 and "no judge model" in result.output
    assert project.server.requests == []
    # --judge supplies it
    project.server.responder = _judge_or_route(["VERDICT: A"])
    assert project.run("eval", "suites/router.yaml", "--judge",
                       "fakeant:claude-haiku-4-5").exit_code == 0


def test_repeats_are_reduced_per_case(project: Project) -> None:
    answers = iter(["billing", "tech", "billing"] * 10)
    project.server.responder = lambda req: next(answers)
    project.write("suites/router.yaml", suite_yaml(1).replace(
        "suite: router", "suite: router\nrepeats: 3\nreduce: majority"))
    result = project.run("eval", "suites/router.yaml")
    assert result.exit_code == 0, result.output
    rec = _record(project)
    assert len(rec["runs"]) == 3 and len(project.server.requests) == 3
    model = rec["summary"]["models"][0]
    assert model["passed"] == 1 and model["cases"] == 1 and model["runs"] == 3
