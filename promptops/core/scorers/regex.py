"""`regex`: the (normalised) output matches, or does not match, a regular expression."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from promptops.core.models import Criterion, Observation
from promptops.core.scorers.base import ScorerSpec, Verdict
from promptops.core.scorers.normalize import (
    MISSING,
    check_choice,
    check_normalize,
    clip,
    config_error,
    cut,
    normalizer,
    steps_from,
    type_name,
)

FLAGS = {"IGNORECASE": re.IGNORECASE, "MULTILINE": re.MULTILINE, "DOTALL": re.DOTALL}


@lru_cache(maxsize=1024)
def _compile(pattern: str, flags: tuple[str, ...]) -> re.Pattern[str]:
    value = 0
    for name in flags:
        value |= FLAGS[name]
    return re.compile(pattern, value)


def _pattern(options: Mapping[str, Any], reference: Any) -> Any:
    # An explicit `pattern` wins, so a case's `expected` meant for other criteria is ignored.
    pattern = options.get("pattern")
    return reference if pattern is None else pattern


def _validate(options: Mapping[str, Any], reference: Any, where: str) -> None:
    check_choice(options, "mode", ("search", "fullmatch"), where)
    check_choice(options, "expect", ("match", "no_match"), where)
    check_normalize(options, where)
    flags = options.get("flags", [])
    if isinstance(flags, str):
        flags = [flags]  # a lone flag name is unambiguous; accept it
    if not isinstance(flags, list | tuple) or any(f not in FLAGS for f in flags):
        raise config_error(
            f"bad `flags` {flags!r}", where, fix=f"use a list of: {', '.join(FLAGS)}"
        )
    pattern = _pattern(options, reference)
    if pattern is MISSING or pattern is None:
        raise config_error(
            "`regex` needs a `pattern`", where, fix="add `pattern: '<regex>'` to the criterion"
        )
    if not isinstance(pattern, str):
        raise config_error(
            f"the regex pattern must be a string, got {type_name(pattern)}",
            where,
            fix="quote the pattern, e.g. `pattern: '^\\d+$'`",
        )
    try:
        _compile(pattern, tuple(flags))
    except re.error as exc:
        raise config_error(
            f"regex {pattern!r} does not compile",
            where,
            why=str(exc),
            fix="fix the pattern (in YAML, single-quote it so backslashes stay literal)",
        ) from None


def _score(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    opts = criterion.options
    flags = opts.get("flags", ())
    flags = (flags,) if isinstance(flags, str) else tuple(flags)
    rx = _compile(_pattern(opts, reference), flags)
    text = normalizer(steps_from(opts))(obs.output)
    match = rx.fullmatch(text) if opts.get("mode") == "fullmatch" else rx.search(text)
    if opts.get("expect", "match") == "no_match":
        if match is None:
            return 1.0, f"no match for /{cut(rx.pattern, 40)}/"
        return 0.0, f"/{cut(rx.pattern, 40)}/ matched {clip(match.group(0), 40)} in {clip(text)}"
    if match is not None:
        return 1.0, f"matched {clip(match.group(0))}"
    return 0.0, f"/{cut(rx.pattern, 40)}/ did not match {clip(text)}"


SPEC = ScorerSpec(
    name="regex",
    options=frozenset({"pattern", "mode", "expect", "flags", "normalize"}),
    needs_reference=False,
    validate=_validate,
    score=_score,
    doc="Output matches (or, with expect: no_match, does not match) a regex; search or fullmatch.",
)
