"""Shared text normalisation, option checks and explanation formatting for the scorers."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from promptops.core.errors import ConfigError

# Passed to validators when the criterion has neither `value` nor a case `expected`, so that an
# explicit `null` reference stays distinguishable from "no reference at all".
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

# Steps always run in this order, whatever order the suite lists them in, so results never
# depend on list order (e.g. nfkc before lower, strip last).
STEPS = ("nfkc", "lower", "strip_punctuation", "collapse_whitespace", "strip")
DEFAULT_STEPS: tuple[str, ...] = ("strip",)

_ASCII_PUNCT = str.maketrans("", "", string.punctuation)
_WS = re.compile(r"\s+")


def _strip_punctuation(text: str) -> str:
    text = text.translate(_ASCII_PUNCT)  # fast path; the category scan only for non-ASCII
    if text.isascii():
        return text
    return "".join(c for c in text if not unicodedata.category(c).startswith("P"))


_STEP_FNS: dict[str, Callable[[str], str]] = {
    "nfkc": lambda s: unicodedata.normalize("NFKC", s),
    "lower": str.casefold,  # casefold, so "Straße" matches "STRASSE"
    "strip_punctuation": _strip_punctuation,
    "collapse_whitespace": lambda s: _WS.sub(" ", s),
    "strip": str.strip,
}


@lru_cache(maxsize=64)
def normalizer(steps: tuple[str, ...]) -> Callable[[str], str]:
    """Return one function applying the given steps in canonical order (cached per step set)."""
    fns = tuple(_STEP_FNS[name] for name in STEPS if name in steps)

    def apply(text: str) -> str:
        for fn in fns:
            text = fn(text)
        return text

    return apply


def steps_from(
    options: Mapping[str, Any], default: tuple[str, ...] = DEFAULT_STEPS
) -> tuple[str, ...]:
    """The normalisation steps an (already validated) option mapping asks for."""
    raw = options.get("normalize")
    steps = default if raw is None else tuple(raw)
    if options.get("ignore_case"):
        steps = (*steps, "lower")
    return steps


def check_normalize(options: Mapping[str, Any], where: str) -> None:
    """Reject a `normalize` option that is not a list of known step names."""
    raw = options.get("normalize")
    if raw is None:
        return
    if isinstance(raw, str):  # the common slip: a lone step name
        raise config_error("`normalize` must be a list", where, fix=f"`normalize: [{raw}]`")
    if not isinstance(raw, list | tuple):
        raise config_error(
            f"`normalize` must be a list, got {type_name(raw)}",
            where,
            fix=f"use a list of: {', '.join(STEPS)}",
        )
    for step in raw:
        if step not in _STEP_FNS:
            raise config_error(
                f"unknown normalize step {step!r}", where, fix=f"use any of: {', '.join(STEPS)}"
            )


def config_error(what: str, where: str, *, fix: str, why: str | None = None) -> ConfigError:
    """Build a ConfigError located at `where`."""
    return ConfigError(what, where=where or None, why=why, fix=fix)


def type_name(value: Any) -> str:
    """A YAML-ish name for a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def check_bool(options: Mapping[str, Any], key: str, where: str) -> None:
    """Reject a non-boolean value for an optional boolean option."""
    value = options.get(key)
    if value is not None and not isinstance(value, bool):
        raise config_error(
            f"`{key}` must be true or false, got {type_name(value)}", where, fix=f"`{key}: true`"
        )


def check_choice(
    options: Mapping[str, Any], key: str, choices: tuple[str, ...], where: str
) -> None:
    """Reject an optional option whose value is not one of `choices`."""
    value = options.get(key)
    if value is not None and value not in choices:
        raise config_error(
            f"`{key}` must be one of {', '.join(choices)}, got {value!r}",
            where,
            fix=f"use `{key}: {choices[0]}`",
        )


def check_number(
    options: Mapping[str, Any],
    key: str,
    where: str,
    *,
    required: bool = False,
    positive: bool = False,
    integer: bool = False,
) -> None:
    """Reject a missing (when required), non-numeric or negative (or zero) numeric option."""
    value = options.get(key)
    if value is None:
        if required:
            raise config_error(f"`{key}` is required", where, fix=f"add `{key}: <number>`")
        return
    kind = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kind) or value != value:
        noun = "an integer" if integer else "a number"
        raise config_error(
            f"`{key}` must be {noun}, got {type_name(value)}", where, fix=f"`{key}: 1`"
        )
    if value < 0 or (positive and value == 0):
        bound = "greater than 0" if positive else "0 or more"
        raise config_error(f"`{key}` must be {bound}, got {value}", where, fix=f"`{key}: 1`")


def is_number(value: Any) -> bool:
    """True for int/float but not bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def cut(text: str, limit: int = 80) -> str:
    """`text` cut to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip(text: str, limit: int = 80) -> str:
    """repr() of `text`, cut to about `limit` characters, for explanations."""
    if len(text) > limit:
        return repr(text[: limit - 1]) + "…"
    return repr(text)


def check_text_reference(reference: Any, scorer: str, where: str) -> None:
    """Reject a reference that is not a scalar or a non-empty list of scalars."""
    if reference is MISSING:
        return
    items = reference if isinstance(reference, list | tuple) else [reference]
    if not items:
        raise config_error(
            f"`{scorer}` got an empty list as reference", where, fix="list at least one string"
        )
    for item in items:
        if item is None or isinstance(item, Mapping | list | tuple):
            raise config_error(
                f"`{scorer}` needs a string or a list of strings, got {type_name(item)}",
                where,
                fix="set `value:` (or the case's `expected:`) to a string or list of strings",
            )


def as_strings(reference: Any) -> tuple[str, ...]:
    """A scalar or list reference as a tuple of strings (non-strings via str())."""
    if isinstance(reference, list | tuple):
        return tuple(r if isinstance(r, str) else str(r) for r in reference)
    return (reference if isinstance(reference, str) else str(reference),)
