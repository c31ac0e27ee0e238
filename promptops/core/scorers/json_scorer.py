"""`json`: the output is JSON, optionally valid against a schema and with expected values."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from promptops.core.models import Criterion, Observation
from promptops.core.scorers.base import ScorerSpec, Verdict

if TYPE_CHECKING:
    from jsonschema.protocols import Validator as SchemaValidator

from promptops.core.scorers.normalize import (
    MISSING,
    check_choice,
    clip,
    config_error,
    cut,
    type_name,
)

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n(.*?)```", re.DOTALL)
_START = re.compile(r"[{\[]")
_DECODER = json.JSONDecoder()
_MAX_SPAN_TRIES = 64  # bounds the cost of scanning long prose full of stray brackets
_SEGMENT = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]|\[(['\"])(.*?)\3\]")
_NOT_FOUND: Any = object()


def _explain_decode(exc: json.JSONDecodeError, text: str) -> str:
    return f"invalid JSON ({exc.msg} at line {exc.lineno} col {exc.colno}): {clip(text)}"


def extract(text: str, mode: str) -> tuple[Any, str | None]:
    """Parse JSON out of `text`: (document, None) or (None, why it failed)."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        first_error = _explain_decode(exc, text)
    if mode == "strict":
        return None, first_error
    fence = _FENCE.search(text)
    if fence is not None:
        try:
            return json.loads(fence.group(1)), None
        except json.JSONDecodeError as exc:
            return None, "fenced block: " + _explain_decode(exc, fence.group(1))
    for i, start in enumerate(_START.finditer(text)):
        if i >= _MAX_SPAN_TRIES:
            break
        try:
            return _DECODER.raw_decode(text, start.start())[0], None
        except json.JSONDecodeError:
            continue
    return None, first_error


@lru_cache(maxsize=1024)
def parse_path(path: str) -> tuple[str | int, ...]:
    """`items[0].name` -> ('items', 0, 'name'); a leading `$` is the root. ValueError if bad."""
    rest = path[1:] if path.startswith("$") else path
    out: list[str | int] = []
    pos = 0
    while pos < len(rest):
        m = _SEGMENT.match(rest, pos)
        if m is None or (m.group(1) is not None and pos > 0 and rest[pos] != "."):
            raise ValueError(f"cannot parse {path!r} at {rest[pos:]!r}")
        name, index, _, key = m.groups()
        out.append(name if name is not None else int(index) if index is not None else key)
        pos = m.end()
    return tuple(out)


def _lookup(doc: Any, path: tuple[str | int, ...]) -> Any:
    for seg in path:
        if isinstance(doc, list):
            if isinstance(seg, str):
                if not seg.lstrip("-").isdigit():  # `items.0` works like `items[0]`
                    return _NOT_FOUND
                seg = int(seg)
            if not -len(doc) <= seg < len(doc):
                return _NOT_FOUND
            doc = doc[seg]
        elif isinstance(doc, dict) and str(seg) in doc:
            doc = doc[str(seg)]
        else:
            return _NOT_FOUND
    return doc


def _equal(got: Any, want: Any) -> bool:
    # JSON semantics: 1 == 1.0, but true != 1 and "1" != 1.
    if isinstance(got, bool) or isinstance(want, bool):
        return isinstance(got, bool) and isinstance(want, bool) and got == want
    if isinstance(got, dict) and isinstance(want, Mapping):
        return got.keys() == want.keys() and all(_equal(got[k], want[k]) for k in got)
    if isinstance(got, list) and isinstance(want, list | tuple):
        return len(got) == len(want) and all(_equal(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(got, int | float) and isinstance(want, int | float):
        return got == want
    return type(got) is type(want) and bool(got == want)


def _dump(value: Any) -> str:
    return cut(json.dumps(value, ensure_ascii=False, default=str), 40)


@lru_cache(maxsize=256)
def _validator_from_canonical(canonical: str) -> SchemaValidator:
    schema = json.loads(canonical)
    from jsonschema.validators import validator_for  # lazy: only suites that use schemas pay

    cls = validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


# id(schema) -> (schema, validator): skips re-serialising the schema on every call. Holding the
# schema keeps its id from being reused while the entry lives.
_BY_ID: dict[int, tuple[Any, SchemaValidator]] = {}


def _schema_validator(schema: Any) -> SchemaValidator:
    hit = _BY_ID.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    validator = _validator_from_canonical(json.dumps(schema, sort_keys=True, default=str))
    if len(_BY_ID) >= 256:
        _BY_ID.clear()
    _BY_ID[id(schema)] = (schema, validator)
    return validator


def _check_path(path: Any, key: str, where: str) -> None:
    try:
        if not isinstance(path, str) or not path:
            raise ValueError(f"expected a non-empty string, got {type_name(path)}")
        parse_path(path)
    except ValueError as exc:
        raise config_error(
            f"bad `{key}` path {path!r}", where, why=str(exc), fix="write it like `items[0].name`"
        ) from None


def _validate(options: Mapping[str, Any], reference: Any, where: str) -> None:
    check_choice(options, "extract", ("auto", "strict"), where)
    schema = options.get("schema")
    if schema is not None:
        if not isinstance(schema, Mapping):
            raise config_error(
                f"`schema` must be a mapping, got {type_name(schema)}",
                where,
                fix="write the JSON Schema inline as a YAML mapping",
            )
        try:
            from jsonschema.exceptions import SchemaError
            from jsonschema.validators import validator_for

            validator_for(schema).check_schema(dict(schema))
        except SchemaError as exc:
            raise config_error(
                "`schema` is not a valid JSON Schema",
                where,
                why=f"{exc.message} at {exc.json_path}",
                fix="fix the schema (see https://json-schema.org/understanding-json-schema/)",
            ) from None
    if "path" in options:
        _check_path(options["path"], "path", where)
        if reference is MISSING:
            raise config_error(
                "`json` with `path` needs the expected value at that path",
                where,
                fix="add `value:` to the criterion (or `expected:` to the case)",
            )
    fields = options.get("fields")
    if fields is not None:
        if not isinstance(fields, Mapping) or not fields:
            raise config_error(
                f"`fields` must be a non-empty mapping of path -> value, got {type_name(fields)}",
                where,
                fix="e.g. `fields: {queue: billing, 'items[0].sku': A1}`",
            )
        for path in fields:
            _check_path(path, "fields", where)


def _score(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    opts = criterion.options
    doc, error = extract(obs.output, opts.get("extract", "auto"))
    if error is not None:
        return 0.0, error
    schema = opts.get("schema")
    if schema is not None:
        from jsonschema.exceptions import best_match

        err = best_match(_schema_validator(schema).iter_errors(doc))
        if err is not None:
            return 0.0, f"schema: {cut(err.message, 100)} at {err.json_path}"
    checks: list[tuple[str, Any]] = [(opts["path"], reference)] if "path" in opts else []
    checks.extend((opts.get("fields") or {}).items())
    if not checks:
        return 1.0, "valid JSON" + (", matches schema" if schema is not None else "")
    failures: list[str] = []
    for path, want in checks:
        got = _lookup(doc, parse_path(path))
        if got is _NOT_FOUND:
            failures.append(f"{path}: missing")
        elif not _equal(got, want):
            failures.append(f"{path}: expected {_dump(want)}, got {_dump(got)}")
    if not failures:
        return 1.0, f"{checks[0][0]} == {_dump(checks[0][1])}" if len(checks) == 1 else (
            f"all {len(checks)} fields match"
        )
    more = f" (+{len(failures) - 3} more)" if len(failures) > 3 else ""
    return (len(checks) - len(failures)) / len(checks), "; ".join(failures[:3]) + more


SPEC = ScorerSpec(
    name="json",
    options=frozenset({"extract", "schema", "path", "fields"}),
    needs_reference=False,
    validate=_validate,
    score=_score,
    doc="Output parses as JSON; optional schema, expected value at `path`, or `fields` to compare.",
)
