"""Prompt files: the contract (inputs, output), sandboxed rendering and the behaviour hash."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from promptops.core.errors import ConfigError
from promptops.core.hashing import content_hash
from promptops.core.models import Message
from promptops.core.yamlsource import require_mapping, where_of

INPUT_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "any": (object,),
}
ROLES = ("system", "user", "assistant")
_KEYS = {
    "name", "version", "description", "model", "config", "input", "output", "messages",
    "template", "rationale", "tools", "fallback", "static_response", "tags",
}
_INPUT_KEYS = {"type", "required", "default", "description", "enum"}
# Fields that change what the model does; metadata (description, rationale, version) does not.
_CACHE_TTLS = ("5m", "1h")


def cache_control_block(value: Any) -> dict[str, str] | None:
    """The Anthropic `cache_control` marker a prompt's `config.cache_control` asks for.

    `true` caches for 5 minutes, `5m`/`1h` pick the TTL, a mapping is the API's own shape.
    OpenAI-style providers cache long prefixes by themselves and ignore the key.
    """
    if value is None or value is False:
        return None
    if value is True:
        return {"type": "ephemeral"}
    if isinstance(value, str) and value in _CACHE_TTLS:
        return {"type": "ephemeral", "ttl": value}
    if (isinstance(value, Mapping) and set(value) <= {"type", "ttl"}
            and value.get("type", "ephemeral") == "ephemeral"
            and value.get("ttl", "5m") in _CACHE_TTLS):
        return {"type": "ephemeral", **({"ttl": str(value["ttl"])} if "ttl" in value else {})}
    raise ValueError(f"cache_control {value!r} is not true, 5m, 1h or "
                     "{type: ephemeral, ttl: 5m|1h}")


BEHAVIOUR_FIELDS = ("messages", "template", "model", "config", "input", "output", "tools")


@dataclass(frozen=True)
class InputSpec:
    """One declared input variable of the prompt's contract."""

    name: str
    type: str = "string"
    required: bool = True
    default: Any = None
    enum: tuple[Any, ...] = ()


@dataclass(frozen=True)
class PromptFile:
    """A validated prompt file."""

    name: str
    path: str
    version: str | None
    description: str
    model: str | None
    config: Mapping[str, Any]
    inputs: tuple[InputSpec, ...]
    output_format: str
    output_schema: Mapping[str, Any] | None
    messages: tuple[tuple[str, str], ...]  # (role, template source)
    tools: tuple[Mapping[str, Any], ...]
    rationale: tuple[str, ...]
    behaviour_hash: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def _err(what: str, where: str, fix: str, why: str | None = None) -> ConfigError:
    return ConfigError(what, where=where, why=why, fix=fix)


def parse_prompt(data: Any, path: str) -> PromptFile:
    """Validate a parsed prompt YAML document."""
    raw = require_mapping(data, "a prompt file", path)
    for key in raw:
        if key not in _KEYS:
            raise _err(
                f"unknown key {key!r} in prompt", where_of(raw, key, path),
                "fix the spelling or remove it", why=f"allowed: {', '.join(sorted(_KEYS))}",
            )
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise _err("prompt has no `name`", where_of(raw, None, path), "add `name: my-prompt`")
    has_messages, has_template = "messages" in raw, "template" in raw
    if has_messages == has_template:
        raise _err(
            "a prompt needs exactly one of `messages` (chat) or `template` (text)",
            where_of(raw, None, path),
            "keep `messages:` for chat prompts or `template:` for a single text prompt",
        )
    messages: list[tuple[str, str]] = []
    if has_messages:
        items = raw["messages"]
        if not isinstance(items, list) or not items:
            raise _err("`messages` must be a non-empty list", where_of(raw, "messages", path),
                       "list messages as `- {role: user, content: ...}`")
        for i, msg in enumerate(items):
            where = where_of(items, i, path) if hasattr(items, "where") else path  # type: ignore[arg-type]
            if not isinstance(msg, Mapping) or set(msg) - {"role", "content"}:
                raise _err("each message needs exactly `role` and `content`", where,
                           "write `- {role: user, content: \"{{ ticket }}\"}`")
            role, content = msg.get("role"), msg.get("content")
            if role not in ROLES:
                raise _err(f"message role {role!r} is not one of {', '.join(ROLES)}", where,
                           "use system, user or assistant")
            if not isinstance(content, str):
                raise _err("message `content` must be text", where, "quote the content")
            messages.append((str(role), content))
    else:
        template = raw["template"]
        if not isinstance(template, str):
            raise _err("`template` must be text", where_of(raw, "template", path),
                       "use a YAML block scalar `template: |`")
        messages.append(("user", template))
    config = require_mapping(raw.get("config") or {}, "config", path)
    try:
        cache_control_block(config.get("cache_control"))
    except ValueError as exc:
        raise _err(str(exc), where_of(config, "cache_control", path),
                   "write `cache_control: true` (5 minutes) or `cache_control: 1h`") from None
    inputs = _parse_inputs(raw.get("input") or {}, path)
    output = require_mapping(raw.get("output") or {"format": "text"}, "output", path)
    fmt = output.get("format", "text")
    if fmt not in ("text", "json"):
        raise _err(f"output format {fmt!r} is not text or json", where_of(output, "format", path),
                   "use `output: {format: text}` or `{format: json, schema: {...}}`")
    schema = output.get("schema")
    if schema is not None:
        _check_schema(schema, where_of(output, "schema", path))
    model = raw.get("model")
    if model is not None and (not isinstance(model, str) or ":" not in model):
        raise _err(f"prompt model {model!r} must be `provider:model`", where_of(raw, "model", path),
                   "write e.g. `model: anthropic:claude-sonnet-5-5`")
    tools = raw.get("tools") or []
    rationale = raw.get("rationale") or []
    version = raw.get("version")
    behaviour = {k: raw.get(k) for k in BEHAVIOUR_FIELDS}
    return PromptFile(
        name=name,
        path=path,
        version=str(version) if version is not None else None,
        description=str(raw.get("description") or ""),
        model=model,
        config=dict(config),
        inputs=inputs,
        output_format=str(fmt),
        output_schema=schema,
        messages=tuple(messages),
        tools=tuple(tools),
        rationale=tuple(str(r) for r in rationale),
        behaviour_hash=content_hash(behaviour),
        raw=raw,
    )


def _check_schema(schema: Any, where: str) -> None:
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise _err(f"invalid JSON Schema: {exc.message}", where, "fix the schema") from None


def _parse_inputs(data: Any, path: str) -> tuple[InputSpec, ...]:
    spec = require_mapping(data, "input", path)
    out = []
    for name, item in spec.items():
        where = where_of(spec, name, path)
        if isinstance(item, str):  # shorthand `ticket: string`
            item = {"type": item}
        item = require_mapping(item, f"input {name!r}", where)
        unknown = set(item) - _INPUT_KEYS
        if unknown:
            raise _err(f"unknown key(s) {sorted(unknown)} in input {name!r}", where,
                       f"allowed: {', '.join(sorted(_INPUT_KEYS))}")
        typ = item.get("type", "string")
        if typ not in INPUT_TYPES:
            raise _err(f"input {name!r} has unknown type {typ!r}", where,
                       f"use one of: {', '.join(INPUT_TYPES)}")
        required = bool(item.get("required", "default" not in item))
        spec_ = InputSpec(str(name), str(typ), required, item.get("default"),
                          tuple(item.get("enum") or ()))
        if spec_.default is not None:
            _check_value(spec_, spec_.default, where, "default of ")
        out.append(spec_)
    return tuple(out)


def _check_value(spec: InputSpec, value: Any, where: str, what: str = "") -> None:
    """Type and enum check of one input value (or of a declared default)."""
    types = INPUT_TYPES[spec.type]
    if (spec.type in ("integer", "number") and isinstance(value, bool)) or not isinstance(
        value, types
    ):
        raise _err(
            f"{what}input {spec.name!r} must be {spec.type}, got {type(value).__name__}",
            where, f"give {spec.name!r} a {spec.type} value (quote numbers meant as text)",
        )
    if spec.enum and value not in spec.enum:
        raise _err(f"{what}input {spec.name!r}={value!r} is not one of {list(spec.enum)}",
                   where, "use one of the allowed values")


def check_inputs(prompt: PromptFile, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Apply defaults and check a case's inputs against the contract; return the variables."""
    out = dict(values)
    declared = {i.name for i in prompt.inputs}
    for spec in prompt.inputs:
        if spec.name not in out:
            if spec.required:
                raise _err(
                    f"input {spec.name!r} is required by prompt {prompt.name!r} but missing",
                    where, f"add `{spec.name}: ...` to the case's input (or give it a default)",
                )
            out[spec.name] = spec.default
            continue
        value = out[spec.name]
        if value is None and not spec.required:
            continue
        _check_value(spec, value, where)
    if prompt.inputs:
        extra = sorted(set(out) - declared)
        if extra:
            raise _err(
                f"input(s) {extra} are not declared by prompt {prompt.name!r}", where,
                "remove them from the case or declare them under `input:` in the prompt",
                why=f"declared inputs: {sorted(declared)}",
            )
    return out


class Renderer:
    """Templates compiled once per run in a sandboxed Jinja2 environment with StrictUndefined."""

    def __init__(self, prompt: PromptFile) -> None:
        from jinja2 import StrictUndefined, TemplateSyntaxError
        from jinja2.sandbox import SandboxedEnvironment

        env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True,
                                   autoescape=False)
        self.prompt = prompt
        self._templates = []
        for i, (role, source) in enumerate(prompt.messages):
            try:
                self._templates.append((role, env.from_string(source)))
            except TemplateSyntaxError as exc:
                raise _err(f"template error in message {i + 1}: {exc.message}",
                           f"{prompt.path}", "fix the Jinja2 syntax",
                           why=f"line {exc.lineno} of that message") from None

    def render(self, variables: Mapping[str, Any], where: str) -> tuple[Message, ...]:
        """Render every message; a missing variable is a ConfigError at the case."""
        from jinja2 import UndefinedError
        from jinja2.exceptions import SecurityError

        try:
            return tuple(Message(role, t.render(**variables)) for role, t in self._templates)
        except UndefinedError as exc:
            raise _err(f"template of prompt {self.prompt.name!r}: {exc.message}", where,
                       "add the variable to the case's input or to the prompt's `input:`") from None
        except SecurityError as exc:
            raise _err(f"template of prompt {self.prompt.name!r} is unsafe: {exc}", where,
                       "templates may not reach Python internals") from None
