"""Budget criteria: `latency`, `cost` and `output_tokens`, read from the observation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptops.core.models import Criterion, Observation
from promptops.core.scorers.base import ScorerSpec, Verdict
from promptops.core.scorers.normalize import check_number


def _validate_latency(options: Mapping[str, Any], reference: Any, where: str) -> None:
    check_number(options, "max_ms", where, required=True, positive=True)


def _validate_cost(options: Mapping[str, Any], reference: Any, where: str) -> None:
    check_number(options, "max_usd", where, required=True)


def _validate_tokens(options: Mapping[str, Any], reference: Any, where: str) -> None:
    check_number(options, "max", where, required=True, integer=True)


def _latency(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    limit = criterion.options["max_ms"]
    if obs.latency_ms is None:
        return None, "latency unknown"
    ok = obs.latency_ms <= limit
    sign = "<=" if ok else ">"
    return (1.0 if ok else 0.0), f"latency {obs.latency_ms:.0f} ms {sign} {limit:g} ms budget"


def _cost(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    limit = criterion.options["max_usd"]
    if obs.cost_usd is None:
        return None, "price unknown"
    ok = obs.cost_usd <= limit
    sign = "<=" if ok else ">"
    return (1.0 if ok else 0.0), f"cost ${obs.cost_usd:.4g} {sign} ${limit:.4g} budget"


def _tokens(criterion: Criterion, reference: Any, obs: Observation) -> Verdict:
    limit = criterion.options["max"]
    if obs.output_tokens is None:
        return None, "output token count unknown"
    ok = obs.output_tokens <= limit
    sign = "<=" if ok else ">"
    return (1.0 if ok else 0.0), f"{obs.output_tokens} output tokens {sign} {limit} budget"


LATENCY = ScorerSpec(
    name="latency",
    options=frozenset({"max_ms"}),
    needs_reference=False,
    validate=_validate_latency,
    score=_latency,
    doc="Call latency is at most `max_ms` milliseconds.",
)

COST = ScorerSpec(
    name="cost",
    options=frozenset({"max_usd"}),
    needs_reference=False,
    validate=_validate_cost,
    score=_cost,
    doc="Call cost is at most `max_usd` dollars (unscored when the price is unknown).",
)

OUTPUT_TOKENS = ScorerSpec(
    name="output_tokens",
    options=frozenset({"max"}),
    needs_reference=False,
    validate=_validate_tokens,
    score=_tokens,
    doc="The model wrote at most `max` output tokens.",
)
