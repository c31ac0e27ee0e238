"""Tests for the deterministic scorers and the scorer registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptops.core.errors import ConfigError
from promptops.core.models import Criterion, Observation, ScoreResult
from promptops.core.scorers import (
    SCORERS,
    get_scorer,
    json_scorer,
    score_criterion,
    validate_criterion,
)

WHERE = "suites/triage.yaml:17"
NO_REF: Any = object()  # "the criterion has no reference at all"


@pytest.fixture(autouse=True)
def _helpers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


def run(
    scorer: str,
    output: str,
    reference: Any = NO_REF,
    *,
    threshold: float = 1.0,
    obs: Observation | None = None,
    **options: Any,
) -> ScoreResult:
    """Validate a criterion like the suite loader would, then score `output` with it."""
    has_ref = reference is not NO_REF
    ref = reference if has_ref else None
    validate_criterion("c", scorer, options, ref, has_ref, WHERE)
    crit = Criterion(name="c", scorer=scorer, threshold=threshold, options=options, where=WHERE)
    return score_criterion(crit, ref, obs or Observation(output=output))


def bad(scorer: str, reference: Any = NO_REF, **options: Any) -> ConfigError:
    """Assert validation fails with a located ConfigError that has a fix; return it."""
    has_ref = reference is not NO_REF
    with pytest.raises(ConfigError) as info:
        validate_criterion("c", scorer, options, reference if has_ref else None, has_ref, WHERE)
    assert info.value.where == WHERE
    assert info.value.fix
    return info.value


# --- registry ---------------------------------------------------------------------------------


def test_registry_has_every_scorer_with_a_doc() -> None:
    expected = {"exact", "contains", "not_contains", "regex", "json", "numeric", "custom"}
    expected |= {"latency", "cost", "output_tokens", "llm_judge"}
    assert set(SCORERS) == expected
    for name, spec in SCORERS.items():
        assert spec.name == name
        assert spec.doc and "\n" not in spec.doc


def test_get_scorer_known_and_unknown() -> None:
    assert get_scorer("regex", WHERE) is SCORERS["regex"]
    with pytest.raises(ConfigError) as info:
        get_scorer("regx", WHERE)
    err = info.value
    assert err.where == WHERE
    assert "did you mean 'regex'" in (err.fix or "")
    assert "exact" in (err.why or "") and "output_tokens" in (err.why or "")


def test_validate_unknown_scorer() -> None:
    err = bad("exactly", "x")
    assert "unknown scorer 'exactly'" in err.what
    assert "did you mean 'exact'" in (err.fix or "")


def test_validate_unknown_option_lists_allowed_keys() -> None:
    err = bad("exact", "x", ignorecase=True)
    assert "'ignorecase'" in err.what
    assert "ignore_case" in (err.why or "") and "normalize" in (err.why or "")
    assert "did you mean 'ignore_case'" in (err.fix or "")


def test_validate_accepts_common_keys_in_options() -> None:
    validate_criterion("c", "exact", {"weight": 2, "threshold": 0.5, "name": "c"}, "x", True, WHERE)


def test_missing_reference_for_scorers_that_need_one() -> None:
    for scorer in ("exact", "contains", "not_contains", "numeric"):
        assert "needs something to compare against" in bad(scorer).what


def test_score_criterion_copies_fields_and_applies_threshold() -> None:
    crit = Criterion(name="label", scorer="exact", weight=3.0, required=True, threshold=1.0)
    res = score_criterion(crit, "a", Observation(output="a"))
    assert (res.name, res.scorer, res.weight, res.required) == ("label", "exact", 3.0, True)
    assert res.score == 1.0 and res.passed is True and res.scored
    res = score_criterion(crit, "a", Observation(output="b"))
    assert res.score == 0.0 and res.passed is False


def test_partial_score_against_threshold() -> None:
    out = '{"a": 1, "b": 2}'
    fields = {"a": 1, "b": 3}
    assert run("json", out, fields=fields, threshold=0.5).passed is True
    res = run("json", out, fields=fields, threshold=0.75)
    assert res.score == 0.5 and res.passed is False


def test_unknown_scorer_at_score_time_is_unscored() -> None:
    res = score_criterion(Criterion(name="c", scorer="nope"), None, Observation(output="x"))
    assert res.score is None and res.passed is None and "nope" in res.explanation


def test_scorer_crash_is_unscored_not_raised() -> None:
    # Skipping validation: a regex criterion without a pattern makes the scorer itself fail.
    res = score_criterion(Criterion(name="c", scorer="regex"), None, Observation(output="x"))
    assert res.score is None and res.passed is None
    assert res.explanation.startswith("scorer error: TypeError")


# --- exact ------------------------------------------------------------------------------------


def test_exact_pass_strips_by_default() -> None:
    res = run("exact", "  billing_dispute\n", "billing_dispute")
    assert res.score == 1.0 and res.passed is True


def test_exact_fail_explanation() -> None:
    res = run("exact", "refund_request", "billing_dispute")
    assert res.score == 0.0 and res.passed is False
    assert res.explanation == "expected 'billing_dispute', got 'refund_request'"


def test_exact_is_case_sensitive_by_default_and_ignore_case_works() -> None:
    assert run("exact", "Billing", "billing").score == 0.0
    assert run("exact", "Billing", "billing", ignore_case=True).score == 1.0


@pytest.mark.parametrize(
    ("steps", "output", "reference"),
    [
        (["lower"], "BILLING", "billing"),
        (["collapse_whitespace", "strip"], " a \n\t b ", "a b"),
        (["strip_punctuation"], "billing.", "billing"),
        (["strip_punctuation"], "¡hola!", "hola"),
        (["nfkc"], "ｂｉｌｌｉｎｇ", "billing"),
        (["lower"], "STRASSE", "straße"),
    ],
)
def test_exact_normalize_steps(steps: list[str], output: str, reference: str) -> None:
    assert run("exact", output, reference).score == 0.0  # the default alone does not match
    assert run("exact", output, reference, normalize=steps).score == 1.0


def test_exact_empty_normalize_disables_strip() -> None:
    assert run("exact", "yes\n", "yes", normalize=[]).score == 0.0


def test_exact_list_reference_any_match() -> None:
    assert run("exact", "no", ["yes", "no"]).score == 1.0
    res = run("exact", "maybe", ["yes", "no"])
    assert res.score == 0.0 and res.explanation == "expected one of 'yes', 'no', got 'maybe'"


def test_exact_non_string_reference_uses_str() -> None:
    assert run("exact", "42", 42).score == 1.0
    assert run("exact", "43", 42).score == 0.0


def test_exact_truncates_long_output() -> None:
    res = run("exact", "x" * 5000, "y")
    assert res.score == 0.0 and len(res.explanation) < 120 and res.explanation.endswith("…")


def test_exact_validation_errors() -> None:
    assert "unknown normalize step 'upper'" in bad("exact", "x", normalize=["upper"]).what
    assert "must be a list" in bad("exact", "x", normalize="lower").what
    assert "`ignore_case` must be true or false" in bad("exact", "x", ignore_case="yes").what
    assert "got null" in bad("exact", None).what
    assert "empty list" in bad("exact", []).what
    assert "got a mapping" in bad("exact", {"a": 1}).what


# --- contains / not_contains ------------------------------------------------------------------


def test_contains_string() -> None:
    assert run("contains", "Your refund is on its way", "refund").score == 1.0
    res = run("contains", "Your credit is on its way", "refund")
    assert res.score == 0.0 and res.explanation.startswith("missing 'refund' in")


def test_contains_list_defaults_to_all_and_lists_missing() -> None:
    res = run("contains", "order 123 refunded", ["order", "refund", "sorry"])
    assert res.score == 0.0
    assert res.explanation.startswith("missing 'sorry' in")
    assert run("contains", "order refund sorry", ["order", "refund", "sorry"]).score == 1.0


def test_contains_mode_any() -> None:
    assert run("contains", "a refund", ["refund", "credit"], mode="any").score == 1.0
    res = run("contains", "nothing", ["refund", "credit"], mode="any")
    assert res.score == 0.0 and "'refund', 'credit'" in res.explanation


def test_contains_ignore_case() -> None:
    assert run("contains", "REFUND issued", "refund").score == 0.0
    assert run("contains", "REFUND issued", "refund", ignore_case=True).score == 1.0


def test_not_contains_any_by_default() -> None:
    assert run("not_contains", "all good", ["error", "sorry"]).score == 1.0
    res = run("not_contains", "sorry, all good", ["error", "sorry"])
    assert res.score == 0.0 and res.explanation.startswith("found forbidden 'sorry'")
    assert run("not_contains", "SORRY", "sorry", ignore_case=True).score == 0.0


def test_not_contains_mode_all_fails_only_when_all_appear() -> None:
    assert run("not_contains", "sorry", ["error", "sorry"], mode="all").score == 1.0
    assert run("not_contains", "error sorry", ["error", "sorry"], mode="all").score == 0.0


def test_contains_validation_errors() -> None:
    assert "`mode` must be one of all, any" in bad("contains", "x", mode="some").what
    assert "`ignore_case`" in bad("not_contains", "x", ignore_case=1).what
    assert "got a list" in bad("contains", [["nested"]]).what
    assert "empty string" in bad("contains", "").what
    assert "empty string" in bad("not_contains", ["a", ""]).what


# --- regex ------------------------------------------------------------------------------------


def test_regex_search_pass_and_fail() -> None:
    assert run("regex", "ticket #1234 opened", pattern=r"#\d{4}").score == 1.0
    res = run("regex", "no ticket", pattern=r"#\d{4}")
    assert res.score == 0.0 and res.explanation == r"/#\d{4}/ did not match 'no ticket'"


def test_regex_fullmatch() -> None:
    assert run("regex", "1234", pattern=r"\d+", mode="fullmatch").score == 1.0
    assert run("regex", "1234 ok", pattern=r"\d+", mode="fullmatch").score == 0.0


def test_regex_expect_no_match() -> None:
    assert run("regex", "all fine", pattern="(?i)as an ai", expect="no_match").score == 1.0
    res = run("regex", "As an AI model", pattern="(?i)as an ai", expect="no_match")
    assert res.score == 0.0 and "matched 'As an AI'" in res.explanation


def test_regex_flags() -> None:
    assert run("regex", "HELLO", pattern="hello").score == 0.0
    assert run("regex", "HELLO", pattern="hello", flags=["IGNORECASE"]).score == 1.0
    assert run("regex", "a\nb", pattern="^b$").score == 0.0
    assert run("regex", "a\nb", pattern="^b$", flags=["MULTILINE"]).score == 1.0
    assert run("regex", "a\nb", pattern="a.b", flags=["DOTALL"]).score == 1.0


def test_regex_normalize_applies_to_output() -> None:
    assert run("regex", "  yes \n", pattern="yes", mode="fullmatch").score == 1.0  # strip default
    assert run("regex", "YES", pattern="yes", mode="fullmatch", normalize=["lower"]).score == 1.0
    assert run("regex", " yes", pattern="yes", mode="fullmatch", normalize=[]).score == 0.0


def test_regex_reference_as_pattern_and_pattern_wins() -> None:
    assert run("regex", "id 42", r"\d+").score == 1.0
    assert run("regex", "id 42", "billing", pattern=r"\d+").score == 1.0


def test_regex_validation_errors() -> None:
    err = bad("regex", pattern="(unclosed")
    assert "does not compile" in err.what and err.why
    assert "needs a `pattern`" in bad("regex").what
    assert "must be a string" in bad("regex", 42).what
    assert "bad `flags`" in bad("regex", pattern="x", flags=["VERBOSE"]).what
    assert "`mode`" in bad("regex", pattern="x", mode="match").what
    assert "`expect`" in bad("regex", pattern="x", expect="yes").what


# --- json -------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"queue": {"type": "string"}, "priority": {"type": "integer"}},
    "required": ["queue"],
}


def test_json_valid_and_invalid() -> None:
    assert run("json", '{"a": 1}').score == 1.0
    res = run("json", "{'a': 1}")
    assert res.score == 0.0 and res.passed is False and res.explanation.startswith("invalid JSON")


def test_json_auto_extraction() -> None:
    fenced = 'Sure!\n```json\n{"queue": "billing"}\n```\nAnything else?'
    assert run("json", fenced, "billing", path="queue").score == 1.0
    prose = 'The answer is {"queue": "billing"} as requested [1].'
    assert run("json", prose, "billing", path="queue").score == 1.0
    assert run("json", "Here: [1, 2, 3]", [1, 2, 3], path="$").score == 1.0
    # the fenced block wins over an earlier bracket span in the prose
    fenced_late = 'Options [1, 2]:\n```json\n{"queue": "billing"}\n```'
    assert run("json", fenced_late, "billing", path="queue").score == 1.0
    res = run("json", 'x\n```json\n{"queue": }\n```', "billing", path="queue")
    assert res.score == 0.0 and res.explanation.startswith("fenced block: invalid JSON")


def test_json_strict_extraction_rejects_wrapped_json() -> None:
    res = run("json", 'Here: {"a": 1}', extract="strict")
    assert res.score == 0.0 and "invalid JSON" in res.explanation


def test_json_schema_pass_and_violation() -> None:
    assert run("json", '{"queue": "billing", "priority": 2}', schema=SCHEMA).score == 1.0
    res = run("json", '{"queue": "billing", "priority": "high"}', schema=SCHEMA)
    assert res.score == 0.0
    assert res.explanation == "schema: 'high' is not of type 'integer' at $.priority"


def test_json_path_values() -> None:
    out = '{"queue": "refund", "items": [{"name": "A1"}, {"name": "B2"}]}'
    res = run("json", out, "billing", path="queue")
    assert res.score == 0.0 and res.explanation == 'queue: expected "billing", got "refund"'
    assert run("json", out, "A1", path="items[0].name").score == 1.0
    assert run("json", out, "B2", path="items[-1].name").score == 1.0
    assert run("json", out, "B2", path="$.items.1.name").score == 1.0
    assert run("json", out, "B2", path="items[0]['name']").score == 0.0
    res = run("json", out, "x", path="items[5].name")
    assert res.score == 0.0 and res.explanation == "items[5].name: missing"


def test_json_equality_is_json_like() -> None:
    assert run("json", '{"n": 1.0}', 1, path="n").score == 1.0
    assert run("json", '{"flag": true}', 1, path="flag").score == 0.0
    assert run("json", '{"n": "1"}', 1, path="n").score == 0.0
    assert run("json", '{"o": {"a": [1, true]}}', {"a": [1, True]}, path="o").score == 1.0
    assert run("json", '{"n": null}', None, path="n").score == 1.0


def test_json_fields_fraction() -> None:
    out = '{"queue": "billing", "priority": 2, "lang": "en"}'
    fields = {"queue": "billing", "priority": 1, "lang": "en", "missing": 0}
    res = run("json", out, fields=fields, threshold=0.0)
    assert res.score == 0.5
    assert res.explanation == "priority: expected 1, got 2; missing: missing"
    assert run("json", out, fields={"queue": "billing", "lang": "en"}).explanation == (
        "all 2 fields match"
    )


def test_json_schema_validator_is_cached() -> None:
    schema = {"type": "object"}
    first = json_scorer._schema_validator(schema)
    assert json_scorer._schema_validator(schema) is first
    assert json_scorer._schema_validator({"type": "object"}) is first  # same canonical JSON


def test_json_validation_errors() -> None:
    err = bad("json", schema={"type": "nope"})
    assert "not a valid JSON Schema" in err.what and "nope" in (err.why or "")
    assert "must be a mapping" in bad("json", schema="object").what
    assert "needs the expected value" in bad("json", path="queue").what
    assert "bad `path`" in bad("json", "x", path="items[").what
    assert "bad `path`" in bad("json", "x", path="").what
    assert "`fields` must be a non-empty mapping" in bad("json", fields={}).what
    assert "`fields` must be" in bad("json", fields=["queue"]).what
    assert "bad `fields` path" in bad("json", fields={"a..b": 1}).what
    assert "`extract`" in bad("json", extract="loose").what


# --- numeric ----------------------------------------------------------------------------------


def test_numeric_exact_and_tolerance() -> None:
    assert run("numeric", "42", 42).score == 1.0
    res = run("numeric", "45", 42)
    assert res.score == 0.0 and res.explanation == "expected 42, got 45"
    assert run("numeric", "42.4", 42, tolerance=0.5).score == 1.0
    res = run("numeric", "43", 42, tolerance=0.5)
    assert res.score == 0.0 and res.explanation == "expected 42 ± 0.5, got 43"


def test_numeric_relative_tolerance() -> None:
    assert run("numeric", "1040", 1000, relative=0.05).score == 1.0
    assert run("numeric", "1060", 1000, relative=0.05).score == 0.0


def test_numeric_extraction() -> None:
    assert run("numeric", "The total is $1,234.50 today.", 1234.5).score == 1.0
    assert run("numeric", "It fell to -3 degrees", -3).score == 1.0
    assert run("numeric", "ticket ID-42", 42).score == 1.0
    assert run("numeric", "about 1e3 items", "1e3").score == 1.0
    res = run("numeric", "about 12", 12, extract="strict")
    assert res.score == 0.0 and res.explanation == "no number in 'about 12'"
    assert run("numeric", " 12\n", 12, extract="strict").score == 1.0


def test_numeric_no_number_is_a_failure() -> None:
    res = run("numeric", "I don't know", 3)
    assert res.score == 0.0 and res.passed is False


def test_numeric_validation_errors() -> None:
    assert "0 or more" in bad("numeric", 1, tolerance=-1).what
    assert "must be a number" in bad("numeric", 1, relative="5%").what
    assert "must be a number" in bad("numeric", 1, tolerance=True).what
    assert "`extract`" in bad("numeric", 1, extract="first").what
    assert "needs a number" in bad("numeric", "lots").what


# --- custom -----------------------------------------------------------------------------------

H = "custom_scorer_helpers"


def test_custom_bool_and_params() -> None:
    assert run("custom", "two words", function=f"{H}:is_short").score == 1.0
    assert run("custom", "one two three four", function=f"{H}:is_short").score == 0.0
    params = {"max_words": 5}
    assert run("custom", "one two three four", function=f"{H}:is_short", params=params).score == 1


def test_custom_number_tuple_and_dict() -> None:
    res = run("custom", "a b", "a b c d", function=f"{H}:overlap", threshold=0.5)
    assert res.score == 0.5 and res.passed is True
    res = run("custom", "out", function=f"{H}:with_reason")
    assert res.score == 0.25 and res.explanation == "reason for out"
    res = run("custom", "x", "x", function=f"{H}:as_dict")
    assert res.score == 1.0 and res.explanation == "dict verdict"
    res = run("custom", "skip", "x", function=f"{H}:as_dict")
    assert res.score is None and res.passed is None and res.explanation == "nothing to judge"


def test_custom_dotted_attribute() -> None:
    assert run("custom", "x", "x", function=f"{H}:Namespace.echo").score == 1.0
    assert run("custom", "x", "y", function=f"{H}:Namespace.echo").score == 0.0


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (1.5, "outside [0, 1]"),
        (-0.1, "outside [0, 1]"),
        (float("nan"), "outside [0, 1]"),
        ("good", "of type str"),
        (None, "returned None"),
        ({"explanation": "x"}, "without 'score'"),
        ((2, "too much"), "outside [0, 1]"),
    ],
)
def test_custom_odd_return_values_are_unscored(value: Any, why: str) -> None:
    res = run("custom", "x", function=f"{H}:returns", params={"value": value})
    assert res.score is None and res.passed is None
    assert res.explanation.startswith("returns()") and why in res.explanation


def test_custom_raising_function_is_unscored() -> None:
    res = run("custom", "x", function=f"{H}:boom")
    assert res.score is None and res.passed is None
    assert res.explanation == "scorer error: RuntimeError: kaboom"


def test_custom_validation_errors() -> None:
    assert "needs `function" in bad("custom").what
    err = bad("custom", function="custom_scorer_helpers.is_short")
    assert "cannot load" in err.what and "package.module:function" in (err.why or "")
    err = bad("custom", function="no_such_module_xyz:fn")
    assert "ModuleNotFoundError" in (err.why or "")
    err = bad("custom", function=f"{H}:is_shrt")
    assert "AttributeError" in (err.why or "")
    err = bad("custom", function=f"{H}:NOT_CALLABLE")
    assert "not a function" in (err.why or "")
    assert "`params` must be a mapping" in bad("custom", function=f"{H}:boom", params=[1]).what


# --- budgets ----------------------------------------------------------------------------------


def test_latency_budget() -> None:
    res = run("latency", "", obs=Observation("", latency_ms=5120), max_ms=5000)
    assert res.score == 0.0 and res.explanation == "latency 5120 ms > 5000 ms budget"
    res = run("latency", "", obs=Observation("", latency_ms=812.4), max_ms=5000)
    assert res.score == 1.0 and res.explanation == "latency 812 ms <= 5000 ms budget"
    res = run("latency", "", obs=Observation(""), max_ms=5000)
    assert res.score is None and res.passed is None


def test_cost_budget() -> None:
    assert run("cost", "", obs=Observation("", cost_usd=0.004), max_usd=0.01).score == 1.0
    res = run("cost", "", obs=Observation("", cost_usd=0.0123), max_usd=0.01)
    assert res.score == 0.0 and res.explanation == "cost $0.0123 > $0.01 budget"
    res = run("cost", "", obs=Observation(""), max_usd=0.01)
    assert res.score is None and res.explanation == "price unknown"


def test_output_tokens_budget() -> None:
    assert run("output_tokens", "", obs=Observation("", output_tokens=300), max=300).score == 1.0
    res = run("output_tokens", "", obs=Observation("", output_tokens=412), max=300)
    assert res.score == 0.0 and res.explanation == "412 output tokens > 300 budget"
    assert run("output_tokens", "", obs=Observation(""), max=300).score is None


def test_budget_validation_errors() -> None:
    assert "`max_ms` is required" in bad("latency").what
    assert "greater than 0" in bad("latency", max_ms=0).what
    assert "greater than 0" in bad("latency", max_ms=-5).what
    assert "must be a number" in bad("latency", max_ms="5s").what
    assert "`max_usd` is required" in bad("cost").what
    assert "0 or more" in bad("cost", max_usd=-0.01).what
    assert "must be a number" in bad("cost", max_usd=False).what
    assert "`max` is required" in bad("output_tokens").what
    assert "0 or more" in bad("output_tokens", max=-1).what
    assert "must be an integer" in bad("output_tokens", max=10.5).what
