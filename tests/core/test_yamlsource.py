"""Tests for the line-tracking YAML loader: file:line of keys and items, duplicates, errors."""

from __future__ import annotations

import pytest

from promptops.core.errors import ConfigError
from promptops.core.yamlsource import (
    LocatedDict,
    LocatedList,
    parse_yaml,
    require_mapping,
    where_of,
)

SRC = "suites/s.yaml"

DOC = """\
suite: triage
prompt: router

cases:
  - id: a
    input: {ticket: hi}
  - id: b
    input:
      ticket: bye
"""


def test_keys_and_mappings_know_their_lines() -> None:
    data = parse_yaml(DOC, SRC)
    assert isinstance(data, LocatedDict)
    assert data.source == SRC
    assert data.line == 1
    assert data.key_lines == {"suite": 1, "prompt": 2, "cases": 4}
    assert data.where("cases") == "suites/s.yaml:4"
    assert data.where() == "suites/s.yaml:1"


def test_unknown_key_falls_back_to_the_mappings_own_line() -> None:
    data = parse_yaml(DOC, SRC)
    second = data["cases"][1]
    assert second.where("nope") == "suites/s.yaml:7"


def test_list_items_know_their_lines() -> None:
    cases = parse_yaml(DOC, SRC)["cases"]
    assert isinstance(cases, LocatedList)
    assert cases.item_lines == [5, 7]
    assert cases.where(0) == "suites/s.yaml:5"
    assert cases.where(1) == "suites/s.yaml:7"
    assert cases.where() == "suites/s.yaml:5"
    assert cases.where(5) == "suites/s.yaml:5"  # out of range: the list itself
    nested = cases[1]["input"]
    assert nested.where("ticket") == "suites/s.yaml:9"
    assert cases[0]["input"].where("ticket") == "suites/s.yaml:6"


def test_located_values_are_still_plain_dicts_and_lists() -> None:
    data = parse_yaml(DOC, SRC)
    assert data["cases"][0] == {"id": "a", "input": {"ticket": "hi"}}
    assert isinstance(data["cases"], list)


def test_non_string_keys_are_stringified() -> None:
    data = parse_yaml("1: one\ntrue: yes\n", SRC)
    assert list(data) == ["1", "True"]
    assert data.where("1") == "suites/s.yaml:1"
    assert data.where("True") == "suites/s.yaml:2"


def test_duplicate_key_names_both_lines() -> None:
    text = "suite: a\nprompt: p\nsuite: b\n"
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, SRC)
    err = info.value
    assert err.what == "duplicate key 'suite'"
    assert err.where == "suites/s.yaml:3"
    assert err.why == "it is already set on line 1"
    assert err.exit_code == 2


def test_duplicate_key_in_a_nested_mapping() -> None:
    text = "cases:\n  - id: a\n    input: {}\n    id: b\n"
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, SRC)
    assert info.value.where == "suites/s.yaml:4"
    assert info.value.why == "it is already set on line 2"


def test_complex_key_is_rejected_with_its_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml("a: 1\n? [x, y]\n: 2\n", SRC)
    assert info.value.what == "mapping keys must be plain scalars"
    assert info.value.where == "suites/s.yaml:2"


def test_syntax_error_carries_the_line() -> None:
    text = "suite: a\nprompt: p\ncases:\n  - id: a\n   bad: [unclosed\n"
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, SRC)
    err = info.value
    assert err.what == "invalid YAML: did not find expected '-' indicator"
    assert err.where == "suites/s.yaml:5"
    assert err.why == "while parsing a block collection"
    assert err.fix == "check indentation and quoting on that line"
    assert err.exit_code == 2


def test_mapping_value_in_wrong_place_names_the_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml("a: 1\n  b: 2\n", SRC)
    assert info.value.what == "invalid YAML: mapping values are not allowed in this context"
    assert info.value.where == "suites/s.yaml:2"


def test_tab_indentation_error_points_at_the_tab_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml("a: 1\nb:\n\t- x\n", SRC)
    assert info.value.where == "suites/s.yaml:3"
    assert "invalid YAML" in info.value.message


def test_empty_document_is_none_and_scalars_pass_through() -> None:
    assert parse_yaml("", SRC) is None
    assert parse_yaml("42\n", SRC) == 42


def test_where_of_uses_location_or_default() -> None:
    data = parse_yaml(DOC, SRC)
    assert where_of(data, "prompt") == "suites/s.yaml:2"
    assert where_of(data["cases"]) == "suites/s.yaml:5"
    assert where_of({"a": 1}, "a") == "<unknown>"
    assert where_of("text", default="x.yaml") == "x.yaml"


def test_require_mapping_returns_the_mapping() -> None:
    data = parse_yaml(DOC, SRC)
    assert require_mapping(data, "a suite", "x") is data
    plain = {"a": 1}
    assert require_mapping(plain, "a thing", "x") is plain


def test_require_mapping_rejects_a_list_at_its_own_line() -> None:
    data = parse_yaml("thresholds:\n  - 0.9\n", SRC)
    with pytest.raises(ConfigError) as info:
        require_mapping(data["thresholds"], "thresholds", "fallback.yaml")
    err = info.value
    assert err.what == "thresholds must be a mapping, got LocatedList"
    assert err.where == "suites/s.yaml:2"
    assert err.fix == "write thresholds as `key: value` lines"


def test_require_mapping_rejects_a_scalar_at_the_default_where() -> None:
    with pytest.raises(ConfigError) as info:
        require_mapping("oops", "defaults", "suites/s.yaml:7")
    assert info.value.what == "defaults must be a mapping, got str"
    assert info.value.where == "suites/s.yaml:7"
    assert info.value.message.startswith("suites/s.yaml:7: defaults must be a mapping")
