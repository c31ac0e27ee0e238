"""Tests for prompt files: validation, input contract, behaviour hash and sandboxed rendering."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from promptops.core.errors import ConfigError
from promptops.core.models import Message
from promptops.core.prompt import InputSpec, PromptFile, Renderer, check_inputs, parse_prompt
from promptops.core.yamlsource import parse_yaml

PATH = "prompts/router/prompt.yaml"
CASE = "suites/router.yaml:12"

BASE = """\
name: router
version: 1.2.0
description: Routes tickets.
model: anthropic:claude-sonnet-4-5
config: {temperature: 0, max_tokens: 20}
input:
  ticket: {type: string, required: true}
  tier: {type: string, default: standard, enum: [standard, gold]}
output: {format: text}
messages:
  - role: system
    content: Route the ticket.
  - role: user
    content: "{{ ticket }} ({{ tier }})"
rationale:
  - closed list
"""


def load(text: str) -> PromptFile:
    return parse_prompt(parse_yaml(textwrap.dedent(text), PATH), PATH)


def bad(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text)
    assert info.value.exit_code == 2
    assert info.value.fix
    return info.value


def contract(inputs: str) -> PromptFile:
    return load(f"name: p\ninput:\n{textwrap.indent(textwrap.dedent(inputs), '  ')}"
                "template: hi\n")


# --- parsing ----------------------------------------------------------------------------------


def test_full_prompt_is_parsed() -> None:
    p = load(BASE)
    assert p.name == "router"
    assert p.path == PATH
    assert p.version == "1.2.0"
    assert p.description == "Routes tickets."
    assert p.model == "anthropic:claude-sonnet-4-5"
    assert p.config == {"temperature": 0, "max_tokens": 20}
    assert p.inputs == (
        InputSpec("ticket", "string", True, None, ()),
        InputSpec("tier", "string", False, "standard", ("standard", "gold")),
    )
    assert p.output_format == "text"
    assert p.output_schema is None
    assert p.messages == (("system", "Route the ticket."), ("user", "{{ ticket }} ({{ tier }})"))
    assert p.rationale == ("closed list",)
    assert len(p.behaviour_hash) == 64


def test_template_prompt_becomes_one_user_message() -> None:
    p = load("name: t\ntemplate: |\n  Say {{ x }}\n")
    assert p.messages == (("user", "Say {{ x }}\n"),)
    assert p.inputs == ()
    assert p.model is None
    assert p.version is None


def test_numeric_version_is_kept_as_text() -> None:
    assert load("name: t\nversion: 2\ntemplate: x\n").version == "2"


@pytest.mark.parametrize(
    "text",
    ["name: t\n", "name: t\ntemplate: a\nmessages:\n  - {role: user, content: b}\n"],
)
def test_exactly_one_of_messages_or_template(text: str) -> None:
    err = bad(text)
    assert err.what == "a prompt needs exactly one of `messages` (chat) or `template` (text)"
    assert err.where == f"{PATH}:1"


def test_missing_name() -> None:
    err = bad("description: x\ntemplate: a\n")
    assert err.what == "prompt has no `name`"
    assert err.where == f"{PATH}:1"


def test_unknown_key_is_located() -> None:
    err = bad("name: t\ntemplate: a\ntemprature: 0\n")
    assert err.what == "unknown key 'temprature' in prompt"
    assert err.where == f"{PATH}:3"


def test_bad_role_points_at_the_message() -> None:
    err = bad("name: t\nmessages:\n  - role: user\n    content: a\n  - role: bot\n    content: b\n")
    assert err.what == "message role 'bot' is not one of system, user, assistant"
    assert err.where == f"{PATH}:5"


EXACTLY = "each message needs exactly `role` and `content`"


@pytest.mark.parametrize(
    ("messages", "what"),
    [
        ("  - {role: user, content: a, name: x}", EXACTLY),
        ("  - just text", EXACTLY),
        ("  - {role: user, content: [a]}", "message `content` must be text"),
    ],
)
def test_bad_messages(messages: str, what: str) -> None:
    err = bad(f"name: t\nmessages:\n{messages}\n")
    assert err.what == what
    assert err.where == f"{PATH}:3"


def test_messages_must_be_a_non_empty_list() -> None:
    err = bad("name: t\nmessages: []\n")
    assert err.what == "`messages` must be a non-empty list"
    assert err.where == f"{PATH}:2"


def test_template_must_be_text() -> None:
    err = bad("name: t\ntemplate: [a]\n")
    assert err.what == "`template` must be text"
    assert err.where == f"{PATH}:2"


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "42"])
def test_model_must_be_provider_colon_model(model: str) -> None:
    err = bad(f"name: t\ntemplate: a\nmodel: {model}\n")
    assert err.what.startswith("prompt model ")
    assert err.what.endswith(" must be `provider:model`")
    assert err.where == f"{PATH}:3"


def test_output_json_schema_is_validated() -> None:
    p = load("name: t\ntemplate: a\noutput:\n  format: json\n  schema: {type: object}\n")
    assert p.output_format == "json"
    assert p.output_schema == {"type": "object"}
    err = bad("name: t\ntemplate: a\noutput:\n  format: json\n  schema: {type: 12}\n")
    assert err.what.startswith("invalid JSON Schema: 12 is not valid")
    assert err.where == f"{PATH}:5"


def test_output_format_must_be_text_or_json() -> None:
    err = bad("name: t\ntemplate: a\noutput:\n  format: xml\n")
    assert err.what == "output format 'xml' is not text or json"
    assert err.where == f"{PATH}:4"


def test_input_shorthand_and_required_default_rule() -> None:
    p = contract("""\
        a: integer
        b: {type: number, default: 1.5}
        c: {type: boolean, required: false}
    """)
    assert p.inputs == (
        InputSpec("a", "integer", True),
        InputSpec("b", "number", False, 1.5),
        InputSpec("c", "boolean", False),
    )


def test_input_with_unknown_type_or_key() -> None:
    err = bad("name: t\ntemplate: a\ninput:\n  x: {type: str}\n")
    assert err.what == "input 'x' has unknown type 'str'"
    assert err.where == f"{PATH}:4"
    err = bad("name: t\ntemplate: a\ninput:\n  x: {type: string, optional: true}\n")
    assert err.what == "unknown key(s) ['optional'] in input 'x'"


# --- check_inputs -----------------------------------------------------------------------------


def test_check_inputs_applies_defaults() -> None:
    p = load(BASE)
    assert check_inputs(p, {"ticket": "hi"}, CASE) == {"ticket": "hi", "tier": "standard"}
    assert check_inputs(p, {"ticket": "hi", "tier": "gold"}, CASE) == {
        "ticket": "hi", "tier": "gold",
    }


def test_check_inputs_missing_required() -> None:
    with pytest.raises(ConfigError) as info:
        check_inputs(load(BASE), {"tier": "gold"}, CASE)
    assert info.value.what == "input 'ticket' is required by prompt 'router' but missing"
    assert info.value.where == CASE


@pytest.mark.parametrize(
    ("typ", "value", "got"),
    [
        ("integer", True, "bool"),
        ("integer", 1.5, "float"),
        ("integer", "3", "str"),
        ("number", False, "bool"),
        ("string", 3, "int"),
        ("boolean", "yes", "str"),
        ("array", "a,b", "str"),
        ("object", [1], "list"),
    ],
)
def test_check_inputs_wrong_type(typ: str, value: Any, got: str) -> None:
    p = contract(f"x: {typ}\n")
    with pytest.raises(ConfigError) as info:
        check_inputs(p, {"x": value}, CASE)
    assert info.value.what == f"input 'x' must be {typ}, got {got}"
    assert info.value.where == CASE


@pytest.mark.parametrize(
    ("typ", "value"),
    [("integer", 3), ("number", 3), ("number", 2.5), ("boolean", False), ("array", [1]),
     ("object", {"a": 1}), ("any", None), ("any", 1)],
)
def test_check_inputs_accepts_right_types(typ: str, value: Any) -> None:
    p = contract(f"x: {typ}\n")
    assert check_inputs(p, {"x": value}, CASE) == {"x": value}


def test_check_inputs_enum() -> None:
    with pytest.raises(ConfigError) as info:
        check_inputs(load(BASE), {"ticket": "a", "tier": "platinum"}, CASE)
    assert info.value.what == "input 'tier'='platinum' is not one of ['standard', 'gold']"


def test_check_inputs_optional_none_is_allowed() -> None:
    p = load(BASE)
    assert check_inputs(p, {"ticket": "a", "tier": None}, CASE)["tier"] is None


def test_check_inputs_rejects_undeclared_extra_input() -> None:
    with pytest.raises(ConfigError) as info:
        check_inputs(load(BASE), {"ticket": "a", "tikcet": "b"}, CASE)
    err = info.value
    assert err.what == "input(s) ['tikcet'] are not declared by prompt 'router'"
    assert err.why == "declared inputs: ['ticket', 'tier']"
    assert err.where == CASE


def test_check_inputs_without_a_contract_passes_everything_through() -> None:
    p = load("name: t\ntemplate: '{{ a }}'\n")
    assert check_inputs(p, {"a": 1, "b": 2}, CASE) == {"a": 1, "b": 2}


# --- behaviour hash ---------------------------------------------------------------------------


def hash_of(text: str) -> str:
    return load(text).behaviour_hash


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("description: Routes tickets.", "description: Something else entirely."),
        ("version: 1.2.0", "version: 9.9.9"),
        ("  - closed list", "  - a different reason"),
        ("name: router", "name: router\ntags: [x]"),
    ],
)
def test_behaviour_hash_ignores_metadata(old: str, new: str) -> None:
    assert old in BASE
    assert hash_of(BASE.replace(old, new)) == hash_of(BASE)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("content: Route the ticket.", "content: Route the ticket!"),
        ("role: system", "role: assistant"),
        ("temperature: 0", "temperature: 0.2"),
        ("model: anthropic:claude-sonnet-4-5", "model: openai:gpt-4o"),
        ("{type: string, required: true}", "{type: string, required: false}"),
        ("default: standard", "default: gold"),
        ("output: {format: text}", "output: {format: json}"),
        ("name: router", "name: router\ntools: [{name: lookup}]"),
    ],
)
def test_behaviour_hash_changes_with_behaviour(old: str, new: str) -> None:
    assert old in BASE
    assert hash_of(BASE.replace(old, new)) != hash_of(BASE)


def test_behaviour_hash_ignores_yaml_key_order() -> None:
    reordered = """\
messages:
  - content: Route the ticket.
    role: system
  - {content: "{{ ticket }} ({{ tier }})", role: user}
output: {format: text}
input:
  ticket: {required: true, type: string}
  tier: {enum: [standard, gold], default: standard, type: string}
config: {max_tokens: 20, temperature: 0}
model: anthropic:claude-sonnet-4-5
name: router
"""
    assert hash_of(reordered) == hash_of(BASE)


def test_behaviour_hash_is_stable() -> None:
    assert hash_of("name: t\ntemplate: hi\n") == hash_of("name: t\ntemplate: hi\n")
    assert hash_of("name: t\ntemplate: hi\n") != hash_of("name: t\ntemplate: 'hi '\n")


# --- rendering --------------------------------------------------------------------------------


def test_renderer_renders_every_message() -> None:
    p = load(BASE)
    out = Renderer(p).render({"ticket": "charged twice", "tier": "gold"}, CASE)
    assert out == (
        Message("system", "Route the ticket."),
        Message("user", "charged twice (gold)"),
    )


def test_renderer_keeps_trailing_newline_and_does_not_escape() -> None:
    p = load("name: t\ntemplate: |\n  <b>{{ x }}</b>\n")
    assert Renderer(p).render({"x": "a & b"}, CASE) == (Message("user", "<b>a & b</b>\n"),)


def test_missing_variable_names_it_and_points_at_the_case() -> None:
    p = load(BASE)
    with pytest.raises(ConfigError) as info:
        Renderer(p).render({"tier": "gold"}, CASE)
    err = info.value
    assert err.what == "template of prompt 'router': 'ticket' is undefined"
    assert err.where == CASE
    assert err.exit_code == 2


def test_missing_attribute_is_strict_too() -> None:
    p = load("name: t\ntemplate: '{{ user.name }}'\n")
    with pytest.raises(ConfigError) as info:
        Renderer(p).render({"user": {}}, CASE)
    assert "'dict object' has no attribute 'name'" in info.value.what


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_sandbox_blocks_python_internals(template: str) -> None:
    p = load(f'name: t\ntemplate: "{template}"\n')
    with pytest.raises(ConfigError) as info:
        Renderer(p).render({"x": "a"}, CASE)
    err = info.value
    assert err.what.startswith("template of prompt 't' is unsafe: ")
    assert "access to attribute '__" in err.what
    assert err.what.endswith("object is unsafe.")
    assert err.where == CASE


def test_template_syntax_error_is_a_config_error_at_load() -> None:
    p = load("name: t\nmessages:\n  - {role: system, content: ok}\n"
             "  - {role: user, content: 'line\n\n    {{ ticket '}\n")
    with pytest.raises(ConfigError) as info:
        Renderer(p)
    err = info.value
    assert err.what.startswith("template error in message 2: ")
    assert err.where == PATH
    assert err.why == "line 2 of that message"


@pytest.mark.parametrize(("spec", "says"), [
    ("{type: string, enum: [standard, gold], default: platinum}", "is not one of"),
    ("{type: integer, default: many}", "must be integer"),
])
def test_input_default_is_checked_against_its_contract(spec: str, says: str) -> None:
    text = f"name: p\ninput:\n  tier: {spec}\ntemplate: '{{{{ tier }}}}'\n"
    with pytest.raises(ConfigError) as info:
        parse_prompt(parse_yaml(text, "p.yaml"), "p.yaml")
    assert says in info.value.what and "default of" in info.value.what
    assert info.value.where == "p.yaml:3"


# --- prompt caching -------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "block"), [
    ("true", {"type": "ephemeral"}),
    ("1h", {"type": "ephemeral", "ttl": "1h"}),
    ("{type: ephemeral, ttl: 5m}", {"type": "ephemeral", "ttl": "5m"}),
    ("false", None),
])
def test_cache_control_forms(value: str, block: dict[str, str] | None) -> None:
    from promptops.core.prompt import cache_control_block

    prompt = load(BASE.replace("max_tokens: 20}", f"max_tokens: 20, cache_control: {value}}}"))
    assert cache_control_block(prompt.config["cache_control"]) == block


@pytest.mark.parametrize("value", ["2h", "{type: persistent}", "{ttl: 1h, extra: 1}", "3"])
def test_bad_cache_control_is_located(value: str) -> None:
    err = bad(BASE.replace("max_tokens: 20}", f"max_tokens: 20, cache_control: {value}}}"))
    assert "cache_control" in str(err) and f"{PATH}:5" in str(err)
