"""Tests for suite parsing (criteria merging, ids, thresholds, file:line) and case selection."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from promptops.core.errors import ConfigError
from promptops.core.models import Case, Suite, Thresholds
from promptops.core.selection import select_cases
from promptops.core.suite import parse_suite
from promptops.core.yamlsource import parse_yaml

PATH = "suites/s.yaml"

HEAD = """\
suite: s
prompt: router
models: [anthropic:claude-sonnet-4-5]
defaults:
  criteria:
    - {name: route, scorer: exact, weight: 2, required: true}
    - {name: short, scorer: regex, pattern: '^[a-z_]+$'}
"""


class Loader:
    """A case-file loader stub that records its calls."""

    def __init__(self, files: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> None:
        self.files = dict(files or {})
        self.calls: list[tuple[str, str]] = []

    def __call__(self, ref: str, where: str) -> Sequence[Mapping[str, Any]]:
        self.calls.append((ref, where))
        return self.files[ref]


def load(text: str, loader: Loader | None = None) -> Suite:
    return parse_suite(parse_yaml(textwrap.dedent(text), PATH), PATH, loader or Loader())


def with_cases(cases: str, head: str = HEAD) -> Suite:
    return load(head + "cases:\n" + textwrap.indent(textwrap.dedent(cases), "  "))


def bad(text: str, loader: Loader | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text, loader)
    assert info.value.exit_code == 2
    assert info.value.fix
    return info.value


def bad_cases(cases: str, head: str = HEAD) -> ConfigError:
    return bad(head + "cases:\n" + textwrap.indent(textwrap.dedent(cases), "  "))


TWO = """\
- id: a
  input: {ticket: one}
  expected: billing
- id: b
  input: {ticket: two}
  expected: tech
"""


# --- basics and criteria merging --------------------------------------------------------------


def test_suite_fields() -> None:
    s = with_cases(TWO)
    assert s.name == "s"
    assert s.path == PATH
    assert s.prompt == "router"
    assert s.models == ("anthropic:claude-sonnet-4-5",)
    assert s.repeats == 1
    assert s.thresholds == Thresholds()
    assert [c.id for c in s.cases] == ["a", "b"]
    assert s.cases[0].input == {"ticket": "one"}
    assert s.cases[0].expected == "billing"
    assert s.cases[0].where == "suites/s.yaml:9"
    assert s.cases[1].where == "suites/s.yaml:12"


def test_single_model_string_becomes_a_tuple() -> None:
    s = load("suite: s\nprompt: p\nmodels: openai:gpt-4o\ncases:\n"
             "  - {id: a, criteria: [{scorer: regex, pattern: x}]}\n")
    assert s.models == ("openai:gpt-4o",)


def test_default_criteria_are_merged_into_every_case() -> None:
    s = with_cases(TWO)
    for case in s.cases:
        assert [c.name for c in case.criteria] == ["route", "short"]
    route = s.cases[0].criteria[0]
    assert (route.scorer, route.weight, route.required, route.threshold) == (
        "exact", 2.0, True, 1.0)
    assert route.where == "suites/s.yaml:6"
    short = s.cases[0].criteria[1]
    assert short.options == {"pattern": "^[a-z_]+$"}
    assert short.where == "suites/s.yaml:7"


def test_case_criterion_with_the_same_name_replaces_the_default() -> None:
    s = with_cases("""\
        - id: a
          expected: billing
          criteria:
            - {name: route, scorer: contains, weight: 1}
            - {name: polite, scorer: regex, pattern: please}
        - id: b
          expected: tech
    """)
    a, b = s.cases
    assert [(c.name, c.scorer) for c in a.criteria] == [
        ("short", "regex"), ("route", "contains"), ("polite", "regex")]
    route = a.criteria[1]
    assert (route.weight, route.required) == (1.0, False)
    assert route.where == "suites/s.yaml:12"
    assert [(c.name, c.scorer) for c in b.criteria] == [("route", "exact"), ("short", "regex")]


def test_unnamed_criterion_is_named_after_its_scorer_and_overrides_by_that_name() -> None:
    head = "suite: s\nprompt: p\ndefaults:\n  criteria:\n    - {scorer: exact}\n"
    s = with_cases("- {id: a, expected: x, criteria: [{scorer: exact, weight: 3}]}\n", head)
    assert [(c.name, c.weight) for c in s.cases[0].criteria] == [("exact", 3.0)]


def test_criterion_value_versus_case_expected() -> None:
    s = with_cases("""\
        - id: a
          expected: billing
          criteria:
            - {name: route, scorer: exact, value: refunds}
    """)
    route = next(c for c in s.cases[0].criteria if c.name == "route")
    assert route.has_value is True
    assert route.value == "refunds"
    s = with_cases(TWO)
    route = s.cases[0].criteria[0]
    assert route.has_value is False
    assert route.value is None
    assert s.cases[0].expected == "billing"


def test_criterion_needing_a_reference_without_one_is_an_error_at_the_criterion() -> None:
    err = bad_cases("- id: a\n  input: {ticket: x}\n")
    assert err.what == "criterion 'route': scorer 'exact' needs something to compare against"
    assert err.where == "suites/s.yaml:6"


def test_criterion_error_in_a_case_points_at_that_criterion() -> None:
    err = bad_cases("""\
        - id: a
          expected: x
        - id: b
          expected: y
          criteria:
            - {name: extra, scorer: regex, pattern: '[unclosed'}
    """)
    assert err.what == "regex '[unclosed' does not compile"
    assert err.where == "suites/s.yaml:14"


def test_unknown_scorer_points_at_the_criterion() -> None:
    err = bad_cases("- id: a\n  expected: x\n  criteria:\n    - name: z\n      scorer: exactly\n")
    assert err.what == "unknown scorer 'exactly'"
    assert err.where == "suites/s.yaml:12"


@pytest.mark.parametrize(
    ("crit", "what"),
    [
        ("{name: z, scorer: exact, weight: -1}", "`weight` must be a number >= 0, got -1"),
        ("{name: z, scorer: exact, threshold: 1.5}",
         "`threshold` must be a number between 0 and 1, got 1.5"),
        ("{name: z, scorer: exact, required: 'yes'}", "`required` must be true or false"),
        ("{name: z}", "criterion has no `scorer`"),
    ],
)
def test_bad_criterion_fields(crit: str, what: str) -> None:
    err = bad_cases(f"- id: a\n  expected: x\n  criteria:\n    - {crit}\n")
    assert err.what == what
    assert err.where == "suites/s.yaml:12"


def test_two_criteria_with_the_same_name_in_a_case() -> None:
    err = bad_cases("- id: a\n  expected: x\n  criteria:\n"
                    "    - {name: z, scorer: exact}\n    - {name: z, scorer: contains}\n")
    assert err.what == "case 'a' has two criteria named ['z']"
    assert err.where == "suites/s.yaml:9"


def test_case_without_any_criteria() -> None:
    err = bad("suite: s\nprompt: p\ncases:\n  - {id: a, expected: x}\n")
    assert err.what == "case 'a' has no criteria"
    assert err.where == "suites/s.yaml:4"


# --- case fields ------------------------------------------------------------------------------


def test_case_threshold_default_and_suite_default_threshold() -> None:
    s = with_cases("- {id: a, expected: x}\n- {id: b, expected: x, threshold: 0.5}\n")
    assert [c.threshold for c in s.cases] == [1.0, 0.5]
    head = HEAD + "  threshold: 0.8\n"
    s = with_cases("- {id: a, expected: x}\n- {id: b, expected: x, threshold: 0.25}\n", head)
    assert [c.threshold for c in s.cases] == [0.8, 0.25]


@pytest.mark.parametrize("value", ["1.2", "-0.1", "'high'", "true"])
def test_case_threshold_range(value: str) -> None:
    err = bad_cases(f"- id: a\n  expected: x\n  threshold: {value}\n")
    assert err.what.startswith("`threshold` must be a number between 0 and 1, got ")
    assert err.where == "suites/s.yaml:11"


def test_defaults_threshold_range() -> None:
    err = bad(HEAD + "  threshold: 2\ncases:\n  - {id: a, expected: x}\n")
    assert err.what == "`threshold` must be a number between 0 and 1, got 2"
    assert err.where == "suites/s.yaml:8"


def test_required_case() -> None:
    s = with_cases("- {id: a, expected: x, required: true}\n- {id: b, expected: x}\n")
    assert [c.required for c in s.cases] == [True, False]
    err = bad_cases("- id: a\n  expected: x\n  required: 1\n")
    assert err.what == "`required` must be true or false"
    assert err.where == "suites/s.yaml:11"


def test_tags_as_list_comma_string_and_suite_tags() -> None:
    s = with_cases("""\
        - {id: a, expected: x, tags: [billing, critical]}
        - {id: b, expected: x, tags: "billing, smoke;fast  slow"}
        - {id: c, expected: x}
    """, HEAD + "tags: [router, billing]\n")
    assert [c.tags for c in s.cases] == [
        ("router", "billing", "critical"),
        ("router", "billing", "smoke", "fast", "slow"),
        ("router", "billing"),
    ]


def test_bad_tags() -> None:
    err = bad_cases("- id: a\n  expected: x\n  tags: {a: 1}\n")
    assert err.what == "`tags` must be a list of words"
    assert err.where == "suites/s.yaml:9"


@pytest.mark.parametrize(
    ("case", "shown"),
    [("{expected: x}", "None"), ("{id: 'has space', expected: x}", "'has space'"),
     ("{id: -lead, expected: x}", "'-lead'"), ("{id: [a], expected: x}", "['a']")],
)
def test_missing_or_invalid_case_id(case: str, shown: str) -> None:
    err = bad_cases(f"- {{id: ok, expected: x}}\n- {case}\n")
    assert err.what == f"case id {shown} is missing or not a plain identifier"
    assert err.where == "suites/s.yaml:10"
    assert err.why == "comparisons between runs pair cases by id"


def test_integer_and_punctuated_ids_are_accepted() -> None:
    s = with_cases("- {id: 7, expected: x}\n- {id: 'ns/a:b.c#1@2_x-y', expected: x}\n")
    assert [c.id for c in s.cases] == ["7", "ns/a:b.c#1@2_x-y"]


def test_duplicate_case_id_names_both_lines() -> None:
    err = bad_cases("- {id: a, expected: x}\n- {id: b, expected: x}\n- {id: a, expected: y}\n")
    assert err.what == "duplicate case id 'a'"
    assert err.where == "suites/s.yaml:11"
    assert err.why == "first used at suites/s.yaml:9"


def test_unknown_case_key() -> None:
    err = bad_cases("- id: a\n  expected: x\n  expect: y\n")
    assert err.what == "unknown key 'expect' in case"
    assert err.where == "suites/s.yaml:11"


def test_unknown_suite_and_defaults_keys() -> None:
    err = bad(HEAD + "cases: []\nthreshold: {score: 1}\n")
    assert err.what == "unknown key 'threshold' in suite"
    assert err.where == "suites/s.yaml:9"
    err = bad(HEAD + "  repeats: 2\ncases: []\n")
    assert err.what == "unknown key 'repeats' in defaults"
    assert err.where == "suites/s.yaml:8"


def test_suite_name_prompt_and_cases_are_required() -> None:
    assert bad("prompt: p\ncases: []\n").what == "suite has no `suite:` name"
    assert bad("suite: s\ncases: []\n").what == "suite has no `prompt:`"
    err = bad(HEAD)
    assert err.what == "suite has no cases"
    assert err.where == "suites/s.yaml:1"


# --- thresholds and repeats -------------------------------------------------------------------


def test_thresholds_are_parsed() -> None:
    s = with_cases("- {id: a, expected: x}\n", HEAD + (
        "thresholds: {score: 0.9, pass_rate: 1, p95_latency_ms: 4000,"
        " cost_per_case_usd: 0.002, error_budget: 0.05}\n"))
    assert s.thresholds == Thresholds(score=0.9, pass_rate=1.0, p95_latency_ms=4000.0,
                                      cost_per_case_usd=0.002, error_budget=0.05)


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("score: 90", "`score` must be a number between 0 and 1, got 90"),
        ("pass_rate: -0.5", "`pass_rate` must be a number between 0 and 1, got -0.5"),
        ("error_budget: 1.5", "`error_budget` must be a number between 0 and 1, got 1.5"),
        ("p95_latency_ms: -1", "`p95_latency_ms` must be a number >= 0, got -1"),
        ("cost_per_case_usd: cheap", "`cost_per_case_usd` must be a number >= 0, got 'cheap'"),
        ("score: true", "`score` must be a number between 0 and 1, got True"),
        ("latency: 3", "unknown key 'latency' in thresholds"),
    ],
)
def test_threshold_checks(line: str, what: str) -> None:
    err = bad(HEAD + f"thresholds:\n  {line}\ncases:\n  - {{id: a, expected: x}}\n")
    assert err.what == what
    assert err.where == "suites/s.yaml:9"


def test_large_latency_and_cost_limits_are_fine() -> None:
    s = with_cases("- {id: a, expected: x}\n",
                   HEAD + "thresholds: {p95_latency_ms: 120000, cost_per_case_usd: 5}\n")
    assert s.thresholds.p95_latency_ms == 120000.0
    assert s.thresholds.cost_per_case_usd == 5.0


@pytest.mark.parametrize("value", [1, 3, 100])
def test_repeats_in_range(value: int) -> None:
    assert with_cases("- {id: a, expected: x}\n", HEAD + f"repeats: {value}\n").repeats == value


@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("101", "101"), ("true", "True"),
                                              ("'3'", "'3'"), ("2.5", "2.5")])
def test_repeats_out_of_range(value: str, shown: str) -> None:
    err = bad(HEAD + f"repeats: {value}\ncases:\n  - {{id: a, expected: x}}\n")
    assert err.what == f"`repeats` must be an integer from 1 to 100, got {shown}"
    assert err.where == "suites/s.yaml:8"


# --- case files through the loader ------------------------------------------------------------


def test_cases_file_rows_come_through_the_loader() -> None:
    row = parse_yaml("- {id: f1, expected: x}\n- {id: f2, expected: y}\n", "suites/more.yaml")
    loader = Loader({"more.yaml": row})
    s = load(HEAD + "cases_file: more.yaml\ncases:\n  - {id: a, expected: x}\n", loader)
    assert loader.calls == [("more.yaml", "suites/s.yaml:8")]
    assert [c.id for c in s.cases] == ["a", "f1", "f2"]
    assert s.cases[2].where == "suites/more.yaml:2"


def test_duplicate_id_across_files_says_where_it_was_first_used() -> None:
    rows = parse_yaml("- {id: x1, expected: x}\n- {id: a, expected: y}\n", "suites/more.yaml")
    err = bad(HEAD + "cases_file: [more.yaml]\ncases:\n  - {id: a, expected: x}\n",
              Loader({"more.yaml": rows}))
    assert err.what == "duplicate case id 'a'"
    assert err.where == "suites/more.yaml:2"
    assert err.why == "first used at suites/s.yaml:10"


# --- hashes -----------------------------------------------------------------------------------


def test_suite_hash_is_stable_and_content_addressed() -> None:
    first = with_cases(TWO)
    again = with_cases(TWO)
    assert len(first.hash) == 64
    assert first.hash == again.hash
    assert [c.content_hash for c in first.cases] == [c.content_hash for c in again.cases]
    changed = with_cases(TWO.replace("expected: tech", "expected: billing"))
    assert changed.hash != first.hash
    assert changed.cases[0].content_hash == first.cases[0].content_hash
    assert changed.cases[1].content_hash != first.cases[1].content_hash


def test_suite_hash_ignores_description_and_follows_thresholds() -> None:
    base = with_cases(TWO)
    assert with_cases(TWO, HEAD + "description: words\n").hash == base.hash
    assert with_cases(TWO, HEAD + "thresholds: {score: 0.9}\n").hash != base.hash
    assert with_cases(TWO, HEAD.replace("prompt: router", "prompt: router@1.0.0")).hash \
        != base.hash


def test_suite_hash_changes_when_a_case_is_renamed_or_reordered() -> None:
    base = with_cases(TWO)
    assert with_cases(TWO.replace("id: b", "id: c")).hash != base.hash
    a, b = TWO.split("- id: b")
    assert with_cases("- id: b" + b + a).hash != base.hash


@pytest.mark.parametrize(
    ("old", "new"),
    [("ticket: one", "ticket: uno"), ("expected: billing", "expected: refunds"),
     ("expected: billing", "expected: billing\n  threshold: 0.5")],
)
def test_case_content_hash_changes_with_input_expected_threshold(old: str, new: str) -> None:
    base = with_cases(TWO).cases[0].content_hash
    assert with_cases(TWO.replace(old, new)).cases[0].content_hash != base


def test_case_content_hash_changes_with_default_criteria() -> None:
    base = with_cases(TWO).cases[0].content_hash
    other = with_cases(TWO, HEAD.replace("weight: 2", "weight: 3")).cases[0].content_hash
    assert other != base


def test_case_content_hash_ignores_key_order() -> None:
    a = with_cases("- {id: a, input: {x: 1, y: 2}, expected: z}\n").cases[0]
    b = with_cases("- {expected: z, input: {y: 2, x: 1}, id: a}\n").cases[0]
    assert a.content_hash == b.content_hash


# --- select_cases -----------------------------------------------------------------------------


def case(cid: str, *tags: str) -> Case:
    return Case(id=cid, input={}, tags=tags)


CASES = (
    case("billing-double", "billing", "critical"),
    case("billing-refund", "billing"),
    case("tech-crash", "tech", "critical"),
    case("tech-login", "tech"),
    case("misc", "other"),
)


def ids(selected: Sequence[Case]) -> list[str]:
    return [c.id for c in selected]


def test_no_filter_keeps_everything_in_order() -> None:
    assert select_cases(CASES) == CASES


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["tag:critical"], ["billing-double", "tech-crash"]),
        (["tag:b*"], ["billing-double", "billing-refund"]),
        (["id:tech-*"], ["tech-crash", "tech-login"]),
        (["id:*-?????"], ["tech-crash", "tech-login"]),
        (["id:*-??????"], ["billing-double", "billing-refund"]),
        (["misc"], ["misc"]),
        (["tech"], ["tech-crash", "tech-login"]),
        (["tag:other", "id:tech-login"], ["tech-login", "misc"]),
        (["!tag:billing"], ["tech-crash", "tech-login", "misc"]),
        (["tag:critical", "!id:tech-*"], ["billing-double"]),
        (["!critical", "!misc"], ["billing-refund", "tech-login"]),
    ],
)
def test_filters(filters: list[str], expected: list[str]) -> None:
    assert ids(select_cases(CASES, filters)) == expected


def test_filter_matching_nothing_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        select_cases(CASES, ["tag:nope"])
    assert info.value.what == "--filter 'tag:nope' matches no case"
    assert info.value.exit_code == 2
    with pytest.raises(ConfigError):
        select_cases(CASES, ["!tag:billing", "!tag:tech", "!misc"])


def test_unknown_filter_kind() -> None:
    with pytest.raises(ConfigError) as info:
        select_cases(CASES, ["label:x"])
    assert info.value.what == "unknown filter kind 'label' in 'label:x'"


def test_sample_is_reproducible_and_keeps_suite_order() -> None:
    many = tuple(case(f"c{i:02d}") for i in range(40))
    first = select_cases(many, sample=7, seed=3)
    assert len(first) == 7
    assert select_cases(many, sample=7, seed=3) == first
    order = [many.index(c) for c in first]
    assert order == sorted(order)
    others = {ids(select_cases(many, sample=7, seed=s)).__repr__() for s in range(5)}
    assert len(others) > 1


def test_sample_applies_after_filter() -> None:
    picked = select_cases(CASES, ["tech"], sample=1, seed=0)
    assert len(picked) == 1
    assert picked[0].id in ("tech-crash", "tech-login")


@pytest.mark.parametrize("n", [5, 6, 100])
def test_sample_at_least_n_returns_all(n: int) -> None:
    assert select_cases(CASES, sample=n, seed=9) == CASES


def test_sample_below_one_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        select_cases(CASES, sample=0)
    assert info.value.what == "--sample must be at least 1"


def test_a_critical_tag_makes_a_case_required_unless_it_says_otherwise() -> None:
    suite = with_cases("""\
        - {id: a, input: {ticket: one}, expected: billing, tags: [billing, critical]}
        - {id: b, input: {ticket: two}, expected: tech, tags: [critical], required: false}
        - {id: c, input: {ticket: three}, expected: tech, tags: [tech]}
        - {id: d, input: {ticket: four}, expected: tech, required: true}
        """)
    assert [(c.id, c.required) for c in suite.cases] == [
        ("a", True), ("b", False), ("c", False), ("d", True)]
