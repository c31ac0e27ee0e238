"""Tests for the contract diff: one test per kind of change, its level and its description."""

from __future__ import annotations

import textwrap

import pytest

from promptops.core.contract import (
    ContractChange,
    check_declared_level,
    contract_changes,
    contract_table,
    required_level,
)
from promptops.core.errors import BumpTooSmallError, ConfigError
from promptops.core.prompt import PromptFile, parse_prompt
from promptops.core.yamlsource import parse_yaml

HEAD = """\
name: router
version: 2.3.1
description: Routes tickets.
model: anthropic:claude-sonnet-4-5
config: {temperature: 0, max_tokens: 20}
"""
INPUT = """\
input:
  ticket: {type: string, required: true}
  tier: {type: string, default: standard, enum: [standard, gold], description: plan}
"""
MESSAGES = """\
messages:
  - role: system
    content: Route the ticket.
  - role: user
    content: "{{ ticket }}"
"""
SCHEMA = """\
output:
  format: json
  schema:
    type: object
    required: [queue]
    properties:
      queue: {type: string, enum: [billing, tech]}
      confidence: {type: number}
      tags: {type: array, items: {type: string}}
"""


def load(text: str) -> PromptFile:
    return parse_prompt(parse_yaml(textwrap.dedent(text), "p.yaml"), "p.yaml")


def build(head: str = HEAD, inputs: str = INPUT, output: str = "output: {format: text}\n",
          body: str = MESSAGES, extra: str = "") -> PromptFile:
    return load(head + inputs + output + body + extra)


def only(old: PromptFile, new: PromptFile) -> ContractChange:
    changes = contract_changes(old, new)
    assert len(changes) == 1, changes
    return changes[0]


def test_identical_prompts_have_no_changes() -> None:
    assert contract_changes(build(), build()) == ()
    assert required_level(()) is None


def test_metadata_only_is_no_change() -> None:
    new = build(head=HEAD.replace("Routes tickets.", "Routes every ticket.").replace(
        "2.3.1", "2.4.0"))
    assert contract_changes(build(), new) == ()


# --- inputs ---------------------------------------------------------------------------------

def test_required_input_added_is_major() -> None:
    new = build(inputs=INPUT + "  lang: {type: string, required: true}\n")
    c = only(build(), new)
    assert (c.area, c.field, c.change, c.level) == ("input", "lang", "required input added",
                                                     "major")


def test_required_input_removed_is_major() -> None:
    new = build(inputs=INPUT.replace("  ticket: {type: string, required: true}\n", ""),
                body=MESSAGES.replace("{{ ticket }}", "hi"))
    changes = contract_changes(build(), new)
    assert ("input", "ticket", "required input removed", "major") in contract_table(changes)
    assert required_level(changes) == "major"


def test_optional_input_removed_is_major() -> None:
    new = build(inputs="input:\n  ticket: {type: string, required: true}\n")
    c = only(build(), new)
    assert (c.field, c.change, c.level) == ("tier", "optional input removed", "major")


def test_optional_input_added_is_minor() -> None:
    new = build(inputs=INPUT + "  lang: {type: string, default: en}\n")
    c = only(build(), new)
    assert (c.field, c.change, c.level) == ("lang", "optional input added", "minor")


def test_input_retyped_is_major() -> None:
    new = build(inputs=INPUT.replace("ticket: {type: string", "ticket: {type: integer"))
    c = only(build(), new)
    assert (c.field, c.change, c.level) == ("ticket", "retyped string -> integer", "major")
    assert (c.before, c.after) == ("string", "integer")


def test_optional_input_made_required_is_major() -> None:
    new = build(inputs=INPUT.replace("default: standard,", "required: true,"))
    changes = contract_changes(build(), new)
    assert ("input", "tier", "optional input made required", "major") in contract_table(changes)


def test_required_input_made_optional_is_minor() -> None:
    new = build(inputs=INPUT.replace("required: true}", "required: false}"))
    c = only(build(), new)
    assert (c.field, c.change, c.level) == ("ticket", "required input made optional", "minor")


def test_input_default_change_is_patch() -> None:
    new = build(inputs=INPUT.replace("default: standard", "default: gold"))
    c = only(build(), new)
    assert (c.field, c.change, c.level) == ("tier", "default 'standard' -> 'gold'", "patch")


def test_input_description_change_is_patch() -> None:
    new = build(inputs=INPUT.replace("description: plan", "description: billing plan"))
    c = only(build(), new)
    assert (c.field, c.change, c.level) == ("tier", "description changed", "patch")


def test_input_enum_values_removed_major_added_minor() -> None:
    fewer = build(inputs=INPUT.replace("[standard, gold]", "[standard]").replace(
        "default: standard, ", "default: standard, "))
    c = only(build(), fewer)
    assert (c.change, c.level) == ("enum values removed ['gold']", "major")
    more = build(inputs=INPUT.replace("[standard, gold]", "[standard, gold, vip]"))
    c = only(build(), more)
    assert (c.change, c.level) == ("enum values added ['vip']", "minor")


# --- output ---------------------------------------------------------------------------------

def test_output_format_text_to_json_is_major() -> None:
    c = only(build(), build(output="output: {format: json}\n"))
    assert (c.area, c.field, c.change, c.level) == ("format", "output.format",
                                                     "output format text -> json", "major")


def test_output_format_json_to_text_is_major() -> None:
    c = only(build(output="output: {format: json}\n"), build())
    assert (c.change, c.level) == ("output format json -> text", "major")


def test_schema_property_removed_is_major() -> None:
    new = build(output=SCHEMA.replace("      confidence: {type: number}\n", ""))
    c = only(build(output=SCHEMA), new)
    assert (c.area, c.field, c.change, c.level) == (
        "output", "output.schema.properties.confidence", "property removed", "major")


def test_schema_property_retyped_is_major() -> None:
    new = build(output=SCHEMA.replace("confidence: {type: number}", "confidence: {type: string}"))
    c = only(build(output=SCHEMA), new)
    assert (c.field, c.change, c.level) == (
        "output.schema.properties.confidence", "type changed number -> string", "major")


def test_schema_property_newly_required_is_major() -> None:
    new = build(output=SCHEMA.replace("required: [queue]", "required: [queue, confidence]"))
    c = only(build(output=SCHEMA), new)
    assert (c.field, c.change, c.level) == (
        "output.schema.properties.confidence", "property newly required", "major")


def test_schema_property_no_longer_required_is_minor() -> None:
    new = build(output=SCHEMA.replace("required: [queue]", "required: []"))
    c = only(build(output=SCHEMA), new)
    assert (c.change, c.level) == ("property no longer required", "minor")


def test_schema_enum_values_removed_is_major() -> None:
    new = build(output=SCHEMA.replace("[billing, tech]", "[billing]"))
    c = only(build(output=SCHEMA), new)
    assert (c.field, c.change, c.level) == (
        "output.schema.properties.queue", "enum values removed ['tech']", "major")


def test_schema_enum_values_added_is_minor() -> None:
    new = build(output=SCHEMA.replace("[billing, tech]", "[billing, tech, sales]"))
    c = only(build(output=SCHEMA), new)
    assert (c.change, c.level) == ("enum values added ['sales']", "minor")


def test_schema_top_level_type_changed_is_major() -> None:
    new = build(output=SCHEMA.replace("    type: object\n", "    type: array\n"))
    c = only(build(output=SCHEMA), new)
    assert (c.field, c.change, c.level) == ("output.schema", "type changed object -> array",
                                            "major")


def test_schema_optional_property_added_is_minor() -> None:
    new = build(output=SCHEMA + "      reason: {type: string}\n")
    c = only(build(output=SCHEMA), new)
    assert (c.field, c.change, c.level) == (
        "output.schema.properties.reason", "optional property added", "minor")


def test_schema_required_property_added_is_major() -> None:
    new = build(output=SCHEMA.replace("required: [queue]", "required: [queue, reason]")
                + "      reason: {type: string}\n")
    c = only(build(output=SCHEMA), new)
    assert (c.change, c.level) == ("required property added", "major")


def test_schema_items_recursed() -> None:
    new = build(output=SCHEMA.replace("items: {type: string}", "items: {type: integer}"))
    c = only(build(output=SCHEMA), new)
    assert (c.field, c.change, c.level) == (
        "output.schema.properties.tags.items", "type changed string -> integer", "major")


def test_schema_other_keywords_are_patch() -> None:
    new = build(output=SCHEMA.replace("confidence: {type: number}",
                                      "confidence: {type: number, description: 0 to 1}"))
    c = only(build(output=SCHEMA), new)
    assert (c.field, c.level) == ("output.schema", "patch")


def test_schema_added_minor_removed_major() -> None:
    plain = build(output="output: {format: json}\n")
    assert (only(plain, build(output=SCHEMA)).change,
            only(plain, build(output=SCHEMA)).level) == ("output schema added", "minor")
    c = only(build(output=SCHEMA), plain)
    assert (c.change, c.level) == ("output schema removed", "major")


# --- model, tools, config, template ----------------------------------------------------------

def test_model_change_is_minor() -> None:
    new = build(head=HEAD.replace("claude-sonnet-4-5", "claude-haiku-4-5"))
    c = only(build(), new)
    assert (c.area, c.field, c.level) == ("model", "model", "minor")
    assert c.change == "model anthropic:claude-sonnet-4-5 -> anthropic:claude-haiku-4-5"


TOOLS = """\
tools:
  - name: lookup
    description: Look up an order.
    input_schema: {type: object, properties: {id: {type: string}}, required: [id]}
"""


def test_tool_added_is_minor() -> None:
    c = only(build(), build(extra=TOOLS))
    assert (c.area, c.field, c.change, c.level) == ("tools", "tools.lookup", "tool added",
                                                     "minor")


def test_tool_removed_is_major() -> None:
    c = only(build(extra=TOOLS), build())
    assert (c.area, c.field, c.change, c.level) == ("tools", "tools.lookup", "tool removed",
                                                     "major")


def test_tool_parameter_retyped_is_major_description_patch() -> None:
    retyped = build(extra=TOOLS.replace("id: {type: string}", "id: {type: integer}"))
    c = only(build(extra=TOOLS), retyped)
    assert (c.field, c.level) == ("tools.lookup.parameters.properties.id", "major")
    reworded = build(extra=TOOLS.replace("Look up an order.", "Find an order."))
    c = only(build(extra=TOOLS), reworded)
    assert (c.change, c.level) == ("tool description changed", "patch")


def test_config_change_is_patch() -> None:
    new = build(head=HEAD.replace("temperature: 0", "temperature: 0.7"))
    c = only(build(), new)
    assert (c.area, c.field, c.change, c.level) == ("config", "config.temperature",
                                                     "config 0 -> 0.7", "patch")
    added = build(head=HEAD.replace("max_tokens: 20", "max_tokens: 20, top_p: 1"))
    assert (only(build(), added).change, only(build(), added).level) == ("config added", "patch")


def test_message_text_change_is_patch() -> None:
    new = build(body=MESSAGES.replace("Route the ticket.", "Route the ticket carefully."))
    c = only(build(), new)
    assert (c.area, c.field, c.change, c.level) == ("template", "messages[0]",
                                                     "message text changed", "patch")


def test_message_added_is_patch() -> None:
    new = build(body=MESSAGES + "  - role: assistant\n    content: ok\n")
    c = only(build(), new)
    assert (c.field, c.change, c.level) == ("messages[2]", "message added", "patch")


def test_template_text_change_is_patch() -> None:
    old = build(body='template: "Route {{ ticket }}"\n')
    new = build(body='template: "Please route {{ ticket }}"\n')
    c = only(old, new)
    assert (c.area, c.field, c.change, c.level) == ("template", "template",
                                                     "template text changed", "patch")


def test_chat_to_text_is_major() -> None:
    text = build(body='template: "{{ ticket }}"\n')
    c = only(build(), text)
    assert (c.change, c.level) == ("chat messages -> text template", "major")
    c = only(text, build())
    assert (c.change, c.level) == ("text template -> chat messages", "major")


def test_required_level_is_the_largest() -> None:
    new = build(head=HEAD.replace("temperature: 0", "temperature: 1").replace(
        "claude-sonnet-4-5", "claude-haiku-4-5"))
    changes = contract_changes(build(), new)
    assert [c.level for c in changes] == ["minor", "patch"]
    assert required_level(changes) == "minor"


# --- declared level ---------------------------------------------------------------------------

def _major_and_minor() -> tuple[ContractChange, ...]:
    new = build(inputs=INPUT + "  lang: {type: string, required: true}\n",
                head=HEAD.replace("claude-sonnet-4-5", "claude-haiku-4-5")
                .replace("temperature: 0", "temperature: 1"))
    return contract_changes(build(), new)


def test_declared_level_too_small_refused() -> None:
    with pytest.raises(BumpTooSmallError) as exc:
        check_declared_level("patch", _major_and_minor())
    err = exc.value
    assert err.exit_code == 10
    assert "'patch'" in err.what and "(major)" in err.what
    assert err.why is not None
    assert "lang: required input added (major)" in err.why
    assert "model: model" in err.why and "(minor)" in err.why
    assert "config.temperature" not in err.why  # a patch change does not need a bigger level
    assert err.fix is not None and "--force --reason" in err.fix and "`major`" in err.fix


def test_minor_declared_for_major_change_refused() -> None:
    with pytest.raises(BumpTooSmallError) as exc:
        check_declared_level("minor", _major_and_minor())
    assert exc.value.why is not None and "model" not in exc.value.why


def test_declared_level_sufficient_returns_detected() -> None:
    assert check_declared_level("major", _major_and_minor()) == "major"
    model_only = contract_changes(build(), build(head=HEAD.replace("sonnet", "opus")))
    assert check_declared_level("major", model_only) == "minor"
    assert check_declared_level("patch", ()) == "patch"


def test_force_with_reason_overrides() -> None:
    assert check_declared_level("patch", _major_and_minor(), force=True,
                                reason="no caller uses it yet") == "major"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_force_without_reason_refused(reason: str | None) -> None:
    with pytest.raises(ConfigError) as exc:
        check_declared_level("patch", _major_and_minor(), force=True, reason=reason)
    assert not isinstance(exc.value, BumpTooSmallError)
    assert "--reason" in exc.value.what


def test_unknown_declared_level_refused() -> None:
    with pytest.raises(ConfigError, match="unknown bump level"):
        check_declared_level("mega", ())


def test_contract_table_rows() -> None:
    rows = contract_table(_major_and_minor())
    assert rows[0] == ("input", "lang", "required input added", "major")
    assert all(len(r) == 4 for r in rows)
