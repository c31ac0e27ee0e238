"""JUnit XML of one eval run, for GitLab/GitHub/Jenkins test-report parsers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from promptops.core.models import CaseRun, RunMeta
from promptops.core.scorecard import ModelCard, Scorecard
from promptops.report import formatting as f

# Characters XML 1.0 forbids even when escaped (ANSI escapes, NULs from a model's output).
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _seconds(latency_ms: float | None) -> str:
    return f"{(latency_ms or 0.0) / 1000:.3f}"


def render_junit(meta: RunMeta, card: Scorecard, runs: Sequence[CaseRun]) -> str:
    """One `<testsuite>` per model, one `<testcase>` per case run; returns the XML document."""
    root = ET.Element("testsuites", name=_clean(card.suite))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    time_total = 0.0
    for mc in card.cards:
        model_runs = [r for r in runs if r.model == mc.model]
        suite = _testsuite(meta, card.suite, mc, model_runs)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        time_total += float(suite.get("time", "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{time_total:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testsuite(meta: RunMeta, suite_name: str, mc: ModelCard, runs: list[CaseRun]) -> ET.Element:
    classname = _clean(f"{suite_name}.{mc.model}")
    suite = ET.Element("testsuite", name=_clean(f"{suite_name}[{mc.model}]"))
    if meta.started_at:
        suite.set("timestamp", meta.started_at)
    props = ET.SubElement(suite, "properties")
    for name, value in _properties(meta, mc):
        ET.SubElement(props, "property", name=name, value=_clean(value))
    failures = errors = 0
    for run in runs:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=classname,
            name=_clean(f.case_label(run)),
            time=_seconds(run.latency_ms),
        )
        if run.error is not None:
            errors += 1
            el = ET.SubElement(case, "error", type=_clean(run.error_kind or "error"))
            el.set("message", _clean(f.clip(run.error, 500)))
            el.text = _clean(run.error)
        elif not run.passed:
            failures += 1
            reasons = f.failure_reasons(run)
            el = ET.SubElement(case, "failure", type="failure")
            el.set("message", _clean(f.clip("; ".join(reasons), 500)))
            output = run.output if run.output is not None else "(no output)"
            el.text = _clean("\n".join(reasons) + "\n\noutput:\n" + output)
    missed = [c for c in mc.checks if not c.ok]
    synthetic = bool(missed) and not failures and not errors
    if synthetic:
        # Every case passed, yet the gate failed: without this the CI report would look green.
        failures += 1
        case = ET.SubElement(suite, "testcase", classname=classname, name="thresholds", time="0")
        lines = [f.check_text(c) for c in missed]
        el = ET.SubElement(case, "failure", type="thresholds")
        el.set("message", _clean("thresholds missed: " + "; ".join(lines)))
        el.text = _clean("\n".join(lines) + "\n\n" + f"exit {mc.exit_code}")
    suite.set("tests", str(len(runs) + synthetic))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", f"{sum((r.latency_ms or 0.0) for r in runs) / 1000:.3f}")
    return suite


def _properties(meta: RunMeta, mc: ModelCard) -> list[tuple[str, str]]:
    props = [
        ("run_id", meta.run_id),
        ("suite_hash", meta.suite_hash),
        ("prompt", f.prompt_label(meta.prompt, meta.prompt_version)),
        ("behaviour_hash", meta.behaviour_hash),
        ("git_commit", meta.git_commit or ""),
        ("git_dirty", "" if meta.git_dirty is None else str(meta.git_dirty).lower()),
        ("model", mc.model),
        ("served_models", ",".join(mc.served_models)),
        ("verdict", f.verdict(mc.exit_code)),
        ("pass_rate", f.pct(mc.pass_rate)),
        ("mean_score", f.score(mc.mean_score)),
        ("cost_usd", f.usd(mc.cost_usd)),
    ]
    return [(k, v) for k, v in props if v]
