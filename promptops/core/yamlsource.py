"""YAML parsing that remembers where each value came from, for file:line errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from promptops.core.errors import ConfigError

try:  # libyaml is 5-10x faster on large suites; fall back to pure Python when absent
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader


class LocatedDict(dict[str, Any]):
    """A YAML mapping that knows its file, its own line and the line of each key."""

    source: str = "<unknown>"
    line: int = 0
    key_lines: dict[str, int]

    def where(self, key: str | None = None) -> str:
        """Return `file:line` for a key (or for the mapping itself)."""
        line = self.key_lines.get(key, self.line) if key is not None else self.line
        return f"{self.source}:{line}"


class LocatedList(list[Any]):
    """A YAML sequence that knows its file, its line and each item's line."""

    source: str = "<unknown>"
    line: int = 0
    item_lines: list[int]

    def where(self, index: int | None = None) -> str:
        """Return `file:line` for an item (or for the list itself)."""
        if index is not None and 0 <= index < len(self.item_lines):
            return f"{self.source}:{self.item_lines[index]}"
        return f"{self.source}:{self.line}"


def _make_loader(source: str) -> type:
    class Loader(_Base):  # type: ignore[misc,valid-type]
        pass

    def construct_mapping(loader: Any, node: yaml.MappingNode) -> LocatedDict:
        loader.flatten_mapping(node)
        out = LocatedDict()
        out.source, out.line, out.key_lines = source, node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool):
                raise ConfigError(
                    "mapping keys must be plain scalars",
                    where=f"{source}:{key_node.start_mark.line + 1}",
                    fix="quote the key",
                )
            skey = str(key)
            if skey in out:
                raise ConfigError(
                    f"duplicate key {skey!r}",
                    where=f"{source}:{key_node.start_mark.line + 1}",
                    why=f"it is already set on line {out.key_lines[skey]}",
                    fix="remove one of them",
                )
            out[skey] = loader.construct_object(value_node, deep=True)
            out.key_lines[skey] = key_node.start_mark.line + 1
        return out

    def construct_sequence(loader: Any, node: yaml.SequenceNode) -> LocatedList:
        out = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
        out.source, out.line = source, node.start_mark.line + 1
        out.item_lines = [child.start_mark.line + 1 for child in node.value]
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; syntax errors become ConfigError with file:line."""
    try:
        return yaml.load(text, Loader=_make_loader(source))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc}",
            where=f"{source}:{line}",
            why=str(exc.context or "the parser could not read this line"),
            fix="check indentation and quoting on that line",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where=source) from None


def where_of(obj: Any, key: str | None = None, default: str = "<unknown>") -> str:
    """Best-effort `file:line` of a parsed value."""
    if isinstance(obj, LocatedDict | LocatedList):
        return obj.where(key)  # type: ignore[arg-type]
    return default


def require_mapping(obj: Any, what: str, where: str) -> Mapping[str, Any]:
    """Ensure a YAML value is a mapping."""
    if not isinstance(obj, Mapping):
        raise ConfigError(
            f"{what} must be a mapping, got {type(obj).__name__}",
            where=where_of(obj, default=where),
            fix=f"write {what} as `key: value` lines",
        )
    return obj
