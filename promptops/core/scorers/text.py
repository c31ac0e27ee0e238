"""`contains` / `not_contains`: substrings that must (or must not) appear in the output."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from promptops.core.models import Criterion, Observation
from promptops.core.scorers.base import ScorerSpec, Validator, Verdict
from promptops.core.scorers.normalize import (
    MISSING,
    as_strings,
    check_bool,
    check_choice,
    check_text_reference,
    clip,
    config_error,
)

MODES = ("all", "any")


def _validator(scorer: str) -> Validator:
    def validate(options: Mapping[str, Any], reference: Any, where: str) -> None:
        check_bool(options, "ignore_case", where)
        check_choice(options, "mode", MODES, where)
        check_text_reference(reference, scorer, where)
        if reference is not MISSING and "" in as_strings(reference):
            # An empty needle is in every output: the check would silently always pass/fail.
            raise config_error(
                f"`{scorer}` got an empty string to look for", where, fix="remove the empty string"
            )

    return validate


@lru_cache(maxsize=4096)
def _folded(needles: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n.casefold() for n in needles)


def _find(
    criterion: Criterion, reference: Any, obs: Observation
) -> tuple[tuple[str, ...], list[str], list[str]]:
    """(needles, found, missing) for the output."""
    needles = as_strings(reference)
    hay = obs.output
    probes = needles
    if criterion.options.get("ignore_case"):
        hay, probes = hay.casefold(), _folded(needles)
    found: list[str] = []
    missing: list[str] = []
    for needle, probe in zip(needles, probes, strict=True):
        (found if probe in hay else missing).append(needle)
    return needles, found, missing


def _names(items: list[str]) -> str:
    shown = ", ".join(clip(i, 40) for i in items[:5])
    return shown + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")


def _contains(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    _, found, missing = _find(criterion, reference, obs)
    if criterion.options.get("mode", "all") == "any":
        if found:
            return 1.0, f"found {_names(found)}"
        return 0.0, f"none of {_names(missing)} in {clip(obs.output)}"
    if not missing:
        return 1.0, f"found {_names(found)}"
    return 0.0, f"missing {_names(missing)} in {clip(obs.output)}"


def _not_contains(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    needles, found, missing = _find(criterion, reference, obs)
    # any (default): none may appear; all: fail only when every one of them appears.
    if criterion.options.get("mode", "any") == "all":
        if missing:
            return 1.0, f"absent: {_names(missing)}"
        return 0.0, f"all forbidden strings found: {_names(found)}"
    if not found:
        return 1.0, f"none of {_names(list(needles))} found"
    return 0.0, f"found forbidden {_names(found)} in {clip(obs.output)}"


CONTAINS = ScorerSpec(
    name="contains",
    options=frozenset({"ignore_case", "mode"}),
    needs_reference=True,
    validate=_validator("contains"),
    score=_contains,
    doc="Output contains the reference string(s); mode all (default) or any.",
)

NOT_CONTAINS = ScorerSpec(
    name="not_contains",
    options=frozenset({"ignore_case", "mode"}),
    needs_reference=True,
    validate=_validator("not_contains"),
    score=_not_contains,
    doc="Output contains none of the reference strings (mode any, default) or not all (mode all).",
)
