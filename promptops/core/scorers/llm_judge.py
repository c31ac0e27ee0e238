"""`llm_judge`: a model grades the output against a rubric with labelled choices.

The call itself runs in the eval engine (it needs a provider); this module validates the
criterion so a bad rubric or choice map fails at load, before any model is called.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from promptops.core.models import Criterion, Observation
from promptops.core.scorers.base import ScorerSpec, Verdict
from promptops.core.scorers.normalize import config_error

_LABEL = re.compile(r"^[A-Za-z0-9_-]+$")


def _validate(options: Mapping[str, Any], reference: Any, where: str) -> None:
    rubric = options.get("rubric")
    if not isinstance(rubric, str) or not rubric.strip():
        raise config_error("`llm_judge` needs a `rubric`", where,
                           fix='add e.g. `rubric: "Is the reply polite and free of blame?"`')
    choices = options.get("choices")
    if not isinstance(choices, Mapping) or len(choices) < 2:
        raise config_error("`llm_judge` needs at least two `choices`", where,
                           fix="map labels to scores, e.g. `choices: {A: 1.0, B: 0.5, C: 0.0}`")
    seen: set[str] = set()
    for label, score in choices.items():
        if not _LABEL.match(str(label)) or str(label).upper() in seen:
            raise config_error(f"choice label {label!r} is not a distinct plain word", where,
                               fix="use labels such as A, B, C or pass, fail")
        seen.add(str(label).upper())
        if isinstance(score, bool) or not isinstance(score, int | float) or not (
            0.0 <= float(score) <= 1.0) or math.isnan(float(score)):
            raise config_error(f"choice {label!r} must map to a score between 0 and 1", where,
                               fix=f"write e.g. `{label}: 1.0`")
    judge = options.get("judge")
    if judge is not None and (not isinstance(judge, str) or ":" not in judge):
        raise config_error(f"judge {judge!r} must be `provider:model` or an alias", where,
                           fix="write e.g. `judge: openai:gpt-4o-mini`")
    for flag in ("allow_self_judge", "include_input"):
        if flag in options and not isinstance(options[flag], bool):
            raise config_error(f"`{flag}` must be true or false", where, fix=f"`{flag}: true`")


def _score(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    # Reached only when something scores outside the engine, which owns the judge calls.
    return None, "the LLM judge runs inside `promptops eval`"


SPEC = ScorerSpec(
    name="llm_judge",
    options=frozenset({"rubric", "choices", "judge", "allow_self_judge", "include_input"}),
    needs_reference=False,
    validate=_validate,
    score=_score,
    doc="a judge model picks a labelled choice for the output; the choice maps to a score",
)
