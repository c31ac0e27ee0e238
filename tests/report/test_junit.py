"""JUnit XML: valid, counted per model, escape-safe, with a synthetic thresholds case."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from report_samples import MINI, NASTY, SONNET, make_suite

from promptops.core.models import CaseRun, RunMeta, Thresholds
from promptops.core.scorecard import Scorecard, build_scorecard
from promptops.report.junit import render_junit


def _suites(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    return {s.get("name", ""): s for s in root.iter("testsuite")}


def test_counts_per_model_and_in_total(meta: RunMeta, card: Scorecard, runs: list[CaseRun]) -> None:
    xml = render_junit(meta, card, runs)
    root = ET.fromstring(xml)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "1", "1")
    suites = _suites(xml)
    assert set(suites) == {f"support-router[{SONNET}]", f"support-router[{MINI}]"}
    sonnet = suites[f"support-router[{SONNET}]"]
    assert [sonnet.get(k) for k in ("tests", "failures", "errors", "skipped")] == [
        "4",
        "1",
        "1",
        "0",
    ]
    assert sonnet.get("time") == "5.074"
    cases = sonnet.findall("testcase")
    assert len(cases) == 4
    assert {c.get("classname") for c in cases} == {f"support-router.{SONNET}"}
    assert len(sonnet.findall("testcase/failure")) == 1
    error = sonnet.find("testcase/error")
    assert error is not None and error.get("type") == "rate_limit"
    assert error.get("message") == "429 after 5 attempts"
    mini = suites[f"support-router[{MINI}]"]
    assert (mini.get("failures"), mini.get("errors")) == ("0", "0")
    assert mini.find("testcase/failure") is None


def test_failure_carries_explanations_and_exact_output(
    meta: RunMeta, card: Scorecard, runs: list[CaseRun]
) -> None:
    sonnet = _suites(render_junit(meta, card, runs))[f"support-router[{SONNET}]"]
    case = next(c for c in sonnet.iter("testcase") if c.get("name") == "refund-late")
    assert case.get("time") == "1.250"
    failure = case.find("failure")
    assert failure is not None
    message = failure.get("message", "")
    assert "route: expected 'refunds', got 'billing |...'" in message
    assert "one-word: no match for ^[a-z_]+$" in message
    # <, &, " and the newline survive the round trip unchanged.
    assert (failure.text or "").endswith("output:\n" + NASTY)


def test_properties_identify_the_run(meta: RunMeta, card: Scorecard, runs: list[CaseRun]) -> None:
    suite = _suites(render_junit(meta, card, runs))[f"support-router[{SONNET}]"]
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["run_id"] == meta.run_id
    assert props["git_commit"] == meta.git_commit
    assert props["behaviour_hash"] == meta.behaviour_hash
    assert props["cost_usd"] == "$0.0008"


def test_repeats_control_characters_and_no_output(meta: RunMeta, runs: list[CaseRun]) -> None:
    bad = next(r for r in runs if not r.passed and r.error is None)
    runs = [
        *runs,
        replace(bad, repeat=1, output="\x1b[31mred\x00"),
        replace(bad, repeat=2, output=None),
    ]
    xml = render_junit(meta, build_scorecard(make_suite(0.5), runs), runs)
    cases = {c.get("name"): c for c in ET.fromstring(xml).iter("testcase")}
    assert "refund-late#2" in cases and "refund-late#3" in cases
    assert "\\x1b[31mred\\x00" in (cases["refund-late#2"].findtext("failure") or "")
    assert (cases["refund-late#3"].findtext("failure") or "").endswith("(no output)")


def test_threshold_failure_with_passing_cases_adds_synthetic_case(
    meta: RunMeta, runs: list[CaseRun]
) -> None:
    passing = [r for r in runs if r.model == MINI]
    suite = replace(make_suite(0.5), thresholds=Thresholds(p95_latency_ms=100.0))
    card = build_scorecard(suite, passing)
    assert card.exit_code == 1
    mini = _suites(render_junit(meta, card, passing))[f"support-router[{MINI}]"]
    assert (mini.get("tests"), mini.get("failures")) == ("5", "1")
    synthetic = [c for c in mini.iter("testcase") if c.get("name") == "thresholds"]
    assert len(synthetic) == 1
    failure = synthetic[0].find("failure")
    assert failure is not None
    assert "p95_latency_ms 412 ms (needs <= 100 ms)" in failure.get("message", "")


def test_no_synthetic_case_when_cases_already_fail(
    meta: RunMeta, card: Scorecard, runs: list[CaseRun]
) -> None:
    names = [c.get("name") for c in ET.fromstring(render_junit(meta, card, runs)).iter("testcase")]
    assert "thresholds" not in names
    assert len(names) == len(runs)
