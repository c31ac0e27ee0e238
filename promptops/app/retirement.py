"""Use-case helper: is the model a version runs on retired, or retiring soon?

Dates come from `retirements:` in promptops.yaml (which wins) and from the deprecation tables
the provider SDKs ship. A retired model makes a release pointless and a rollback target useless.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from promptops.core.config import ProjectConfig
from promptops.core.errors import ConfigError, PolicyDeniedError
from promptops.core.lifecycle import Retirement
from promptops.providers.lifecycle import sdk_retirements


def today_utc() -> date:
    """Today's date in UTC (retirement dates are calendar days)."""
    return datetime.now(UTC).date()


def retirement_of(spec: str, config: ProjectConfig) -> Retirement | None:
    """The retirement of model `spec` (alias or provider:model), or None when none is known."""
    target = config.models.get(spec, spec)
    for key in (spec, target):
        if key in config.retirements:
            when, where = config.retirements[key]
            return Retirement(spec, when, where)
    provider, _, model_id = target.partition(":")
    try:
        kind = config.provider(provider).kind
    except ConfigError:
        return None
    hit = sdk_retirements().get((kind, model_id))
    return Retirement(spec, hit[0], hit[1]) if hit else None


def model_warning(what: str, spec: str | None, config: ProjectConfig, today: date) -> str | None:
    """A warning line when `spec` is retired or retires within WARN_DAYS; else None."""
    found = retirement_of(spec, config) if spec else None
    if found is None or not (found.retired(today) or found.soon(today)):
        return None
    return f"{what}: model {found.describe(today)}"


def refuse_retired(what: str, spec: str | None, config: ProjectConfig, today: date,
                   fix: str) -> str | None:
    """Raise PolicyDenied when `spec` is retired; return a warning when it retires soon."""
    found = retirement_of(spec, config) if spec else None
    if found is None:
        return None
    if found.retired(today):
        raise PolicyDeniedError(f"{what} runs on a retired model", why=found.describe(today),
                                fix=fix)
    return f"{what}: model {found.describe(today)}" if found.soon(today) else None
