"""Contract diff between two prompt versions: what changed and the minimum bump level it needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptops.core.errors import BumpTooSmallError, ConfigError
from promptops.core.hashing import canonical_json
from promptops.core.prompt import InputSpec, PromptFile
from promptops.core.versioning import LEVELS, level_rank


@dataclass(frozen=True)
class ContractChange:
    """One detected change and the bump level it requires."""

    area: str  # "input" | "output" | "model" | "tools" | "config" | "template" | "format"
    field: str  # e.g. "ticket", "output.schema.properties.queue", "model"
    change: str  # human text, e.g. "required input added", "retyped string -> integer"
    level: str  # "major" | "minor" | "patch"
    before: Any = None
    after: Any = None


def _same(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


def _kind(p: PromptFile) -> str:
    return "text template" if "template" in p.raw else "chat messages"


def contract_changes(old: PromptFile, new: PromptFile) -> tuple[ContractChange, ...]:
    """Every contract and behaviour change from `old` to `new`, each with its level."""
    out: list[ContractChange] = []
    out += _input_changes(old, new)
    if old.output_format != new.output_format:
        out.append(ContractChange("format", "output.format",
                                  f"output format {old.output_format} -> {new.output_format}",
                                  "major", old.output_format, new.output_format))
    out += _output_schema_changes(old.output_schema, new.output_schema)
    if old.model != new.model:
        out.append(ContractChange("model", "model", f"model {old.model} -> {new.model}",
                                  "minor", old.model, new.model))
    out += _tool_changes(old.tools, new.tools)
    for key in sorted(set(old.config) | set(new.config)):
        a, b = old.config.get(key), new.config.get(key)
        what = ("config added" if key not in old.config else
                "config removed" if key not in new.config else f"config {a!r} -> {b!r}")
        if key not in old.config or key not in new.config or not _same(a, b):
            out.append(ContractChange("config", f"config.{key}", what, "patch", a, b))
    out += _template_changes(old, new)
    return tuple(out)


def _input_description(p: PromptFile, name: str) -> Any:
    item = (p.raw.get("input") or {}).get(name)
    return item.get("description") if isinstance(item, Mapping) else None


def _input_changes(old: PromptFile, new: PromptFile) -> list[ContractChange]:
    out: list[ContractChange] = []
    before: dict[str, InputSpec] = {i.name: i for i in old.inputs}
    after: dict[str, InputSpec] = {i.name: i for i in new.inputs}
    for name, a in before.items():
        if name not in after:
            what = "required input removed" if a.required else "optional input removed"
            out.append(ContractChange("input", name, what, "major", a, None))
    for name, b in after.items():
        a_ = before.get(name)
        if a_ is None:
            what, lvl = ("required", "major") if b.required else ("optional", "minor")
            out.append(ContractChange("input", name, f"{what} input added", lvl, None, b))
            continue
        if a_.type != b.type:
            out.append(ContractChange("input", name, f"retyped {a_.type} -> {b.type}", "major",
                                      a_.type, b.type))
        if a_.required != b.required:
            what = "optional input made required" if b.required else "required input made optional"
            out.append(ContractChange("input", name, what, "major" if b.required else "minor",
                                      a_.required, b.required))
        out += _enum_changes("input", name, list(a_.enum) or None, list(b.enum) or None,
                             "input")
        if not _same(a_.default, b.default):
            out.append(ContractChange("input", name, f"default {a_.default!r} -> {b.default!r}",
                                      "patch", a_.default, b.default))
        da, db = _input_description(old, name), _input_description(new, name)
        if not _same(da, db):
            out.append(ContractChange("input", name, "description changed", "patch", da, db))
    return out


def _enum_changes(area: str, field: str, a: list[Any] | None, b: list[Any] | None,
                  noun: str) -> list[ContractChange]:
    """An enum is a set of allowed values: fewer values is major, more is minor."""
    if a is None and b is None:
        return []
    if a is None:
        return [ContractChange(area, field, f"{noun} enum constraint added", "major", None, b)]
    if b is None:
        return [ContractChange(area, field, f"{noun} enum constraint removed", "minor", a, None)]
    keys_a, keys_b = {canonical_json(v) for v in a}, {canonical_json(v) for v in b}
    out = []
    removed = [v for v in a if canonical_json(v) not in keys_b]
    added = [v for v in b if canonical_json(v) not in keys_a]
    if removed:
        out.append(ContractChange(area, field, f"enum values removed {removed}", "major", a, b))
    if added:
        out.append(ContractChange(area, field, f"enum values added {added}", "minor", a, b))
    return out


def _output_schema_changes(a: Mapping[str, Any] | None,
                           b: Mapping[str, Any] | None) -> list[ContractChange]:
    if a is None and b is None:
        return []
    if a is None:
        return [ContractChange("output", "output.schema", "output schema added", "minor", None, b)]
    if b is None:
        return [ContractChange("output", "output.schema", "output schema removed", "major", a,
                               None)]
    out = _schema_diff("output", "output.schema", a, b)
    if not out and not _same(a, b):
        out.append(ContractChange("output", "output.schema",
                                  "schema changed outside type/properties/required/enum/items",
                                  "patch", a, b))
    return out


def _schema_diff(area: str, path: str, a: Mapping[str, Any],
                 b: Mapping[str, Any]) -> list[ContractChange]:
    """Structural diff on type, enum, properties, required and items (recursively), only."""
    out: list[ContractChange] = []
    if not _same(a.get("type"), b.get("type")):
        out.append(ContractChange(area, path, f"type changed {a.get('type')} -> {b.get('type')}",
                                  "major", a.get("type"), b.get("type")))
    out += _enum_changes(area, path, a.get("enum"), b.get("enum"), "schema")
    props_a: Mapping[str, Any] = a.get("properties") or {}
    props_b: Mapping[str, Any] = b.get("properties") or {}
    req_a, req_b = set(a.get("required") or ()), set(b.get("required") or ())
    for name in props_a:
        if name not in props_b:
            out.append(ContractChange(area, f"{path}.properties.{name}", "property removed",
                                      "major", props_a[name], None))
    for name, sub_b in props_b.items():
        field = f"{path}.properties.{name}"
        if name not in props_a:
            what, lvl = ("required", "major") if name in req_b else ("optional", "minor")
            out.append(ContractChange(area, field, f"{what} property added", lvl, None, sub_b))
            continue
        if name in req_b and name not in req_a:
            out.append(ContractChange(area, field, "property newly required", "major"))
        elif name in req_a and name not in req_b:
            out.append(ContractChange(area, field, "property no longer required", "minor"))
        sub_a = props_a[name]
        if isinstance(sub_a, Mapping) and isinstance(sub_b, Mapping):
            out += _schema_diff(area, field, sub_a, sub_b)
        elif not _same(sub_a, sub_b):
            out.append(ContractChange(area, field, "property schema changed", "major",
                                      sub_a, sub_b))
    items_a, items_b = a.get("items"), b.get("items")
    if isinstance(items_a, Mapping) and isinstance(items_b, Mapping):
        out += _schema_diff(area, f"{path}.items", items_a, items_b)
    elif not _same(items_a, items_b):
        out.append(ContractChange(area, f"{path}.items", "items changed", "major",
                                  items_a, items_b))
    return out


def _tool_name(tool: Mapping[str, Any]) -> str:
    fn = tool.get("function")
    name = tool.get("name") or (fn.get("name") if isinstance(fn, Mapping) else None)
    return str(name) if name else canonical_json(tool)


def _tool_params(tool: Mapping[str, Any]) -> Any:
    fn = tool.get("function")
    fn = fn if isinstance(fn, Mapping) else {}
    return tool.get("parameters") or tool.get("input_schema") or fn.get("parameters")


def _tool_changes(a: Sequence[Mapping[str, Any]],
                  b: Sequence[Mapping[str, Any]]) -> list[ContractChange]:
    before = {_tool_name(t): t for t in a}
    after = {_tool_name(t): t for t in b}
    out = [ContractChange("tools", f"tools.{n}", "tool removed", "major", t, None)
           for n, t in before.items() if n not in after]
    for name, tb in after.items():
        ta = before.get(name)
        if ta is None:
            out.append(ContractChange("tools", f"tools.{name}", "tool added", "minor", None, tb))
            continue
        pa, pb = _tool_params(ta), _tool_params(tb)
        found: list[ContractChange] = []
        if isinstance(pa, Mapping) and isinstance(pb, Mapping):
            found = _schema_diff("tools", f"tools.{name}.parameters", pa, pb)
        elif not _same(pa, pb):
            found = [ContractChange("tools", f"tools.{name}.parameters", "parameters changed",
                                    "major", pa, pb)]
        if not found and not _same(ta, tb):
            found = [ContractChange("tools", f"tools.{name}", "tool description changed",
                                    "patch", ta, tb)]
        out += found
    return out


def _template_changes(old: PromptFile, new: PromptFile) -> list[ContractChange]:
    ka, kb = _kind(old), _kind(new)
    if ka != kb:
        return [ContractChange("template", "messages" if kb == "chat messages" else "template",
                               f"{ka} -> {kb}", "major", ka, kb)]
    if ka == "text template":
        if old.messages != new.messages:
            return [ContractChange("template", "template", "template text changed", "patch",
                                   old.messages[0][1], new.messages[0][1])]
        return []
    out: list[ContractChange] = []
    for i in range(max(len(old.messages), len(new.messages))):
        a = old.messages[i] if i < len(old.messages) else None
        b = new.messages[i] if i < len(new.messages) else None
        field = f"messages[{i}]"
        if a is None:
            out.append(ContractChange("template", field, "message added", "patch", None, b))
        elif b is None:
            out.append(ContractChange("template", field, "message removed", "patch", a, None))
        elif a[0] != b[0]:
            out.append(ContractChange("template", field, f"role {a[0]} -> {b[0]}", "patch", a, b))
        elif a[1] != b[1]:
            out.append(ContractChange("template", field, "message text changed", "patch",
                                      a[1], b[1]))
    return out


def required_level(changes: Sequence[ContractChange]) -> str | None:
    """The largest level among the changes; None when nothing changed."""
    if not changes:
        return None
    return LEVELS[max(level_rank(c.level) for c in changes)]


def check_declared_level(declared: str, changes: Sequence[ContractChange], *,
                         force: bool = False, reason: str | None = None) -> str:
    """Refuse a declared level below the detected one; return the detected level.

    With no changes the detected level is "patch" (any bump is at least a patch).
    """
    rank = level_rank(declared)
    if force and not (reason and reason.strip()):
        raise ConfigError("--force needs --reason", fix='add --reason "why the smaller bump is '
                          'safe"; the reason is recorded in the changelog')
    detected = required_level(changes) or "patch"
    if rank < level_rank(detected) and not force:
        bigger = [c for c in changes if level_rank(c.level) > rank]
        listed = "; ".join(f"{c.field}: {c.change} ({c.level})" for c in bigger)
        raise BumpTooSmallError(
            f"bump level {declared!r} is smaller than the contract change requires ({detected})",
            why=f"changes that need more than {declared}: {listed}",
            fix=f"bump with `{detected}`, or override with `--force --reason \"...\"` "
                "(the override and reason are recorded)",
        )
    return detected


def contract_table(changes: Sequence[ContractChange]) -> list[tuple[str, str, str, str]]:
    """Rows (area, field, change, level) for `promptops diff`."""
    return [(c.area, c.field, c.change, c.level) for c in changes]
