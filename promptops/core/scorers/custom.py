"""`custom`: a trusted `package.module:function` from the repo scores the output."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from promptops.core.models import Criterion, Observation
from promptops.core.scorers.base import ScorerSpec, Verdict
from promptops.core.scorers.normalize import config_error, cut, is_number, type_name

CustomFn = Callable[[str, Any, Mapping[str, Any]], Any]
_EMPTY: Mapping[str, Any] = {}


@lru_cache(maxsize=256)
def resolve(target: str) -> CustomFn:
    """Import `package.module:function` (dotted attributes allowed after the colon), cached."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name.strip() or not attr.strip():
        raise ValueError(f"{target!r} is not of the form 'package.module:function'")
    obj: Any = importlib.import_module(module_name.strip())
    for part in attr.strip().split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{target} is {type_name(obj)}, not a function")
    fn: CustomFn = obj
    return fn


def _validate(options: Mapping[str, Any], reference: Any, where: str) -> None:
    target = options.get("function")
    if not isinstance(target, str) or not target:
        raise config_error(
            "`custom` needs `function: package.module:function`",
            where,
            fix="add e.g. `function: evals.checks:is_polite` (a module importable from the repo)",
        )
    params = options.get("params")
    if params is not None and not isinstance(params, Mapping):
        raise config_error(
            f"`params` must be a mapping, got {type_name(params)}",
            where,
            fix="write `params: {key: value}`",
        )
    try:
        resolve(target)
    except Exception as exc:  # import runs arbitrary module code: report whatever it raises
        raise config_error(
            f"cannot load custom scorer {target!r}",
            where,
            why=f"{type(exc).__name__}: {exc}",
            fix="check the module path and function name; the module must be importable "
            "(run from the project root or add it to PYTHONPATH)",
        ) from None


def _from_score(value: Any, explanation: str | None, target: str) -> Verdict:
    if value is None:
        return None, explanation or f"{target} returned no score"
    if isinstance(value, bool):
        return (1.0 if value else 0.0), explanation or f"{target} returned {value}"
    if is_number(value):
        if math.isfinite(value) and 0.0 <= value <= 1.0:
            return float(value), explanation or f"{target} returned {value:g}"
        return None, f"{target} returned {value!r}, outside [0, 1]"
    return None, f"{target} returned a score of type {type(value).__name__}"


def interpret(result: Any, target: str) -> Verdict:
    """Turn a custom function's return value into a verdict; anything odd becomes unscored."""
    if isinstance(result, tuple) and len(result) == 2:
        score, explanation = result
        return _from_score(score, cut(str(explanation), 200), target)
    if isinstance(result, Mapping):
        if "score" not in result:
            return None, f"{target} returned a mapping without 'score'"
        explanation = result.get("explanation")
        text = None if explanation is None else cut(str(explanation), 200)
        return _from_score(result["score"], text, target)
    if result is None:
        return None, f"{target} returned None (missing return?)"
    return _from_score(result, None, target)


def _score(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    target = criterion.options["function"]
    params = criterion.options.get("params")
    result = resolve(target)(obs.output, reference, _EMPTY if params is None else params)
    return interpret(result, target.rpartition(":")[2] + "()")


SPEC = ScorerSpec(
    name="custom",
    options=frozenset({"function", "params"}),
    needs_reference=False,
    validate=_validate,
    score=_score,
    doc="A repo function fn(output, reference, params) returns bool, score, (score, why) or dict.",
)
