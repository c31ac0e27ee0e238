"""Environment policy for `promote`: promotion order, soak time in the previous environment,
final versions only. Read from `environments:` in promptops.yaml:

    environments: [staging, production]                      # order only
    environments:                                            # order plus policy
      staging: {}
      production: {soak_hours: 24, require_final: true}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from promptops.core.errors import ConfigError, PolicyDeniedError
from promptops.core.registry import Event
from promptops.core.versioning import parse_version
from promptops.core.yamlsource import parse_yaml, where_of

_POLICY_KEYS = {"soak_hours", "require_final"}
_FIX = ("write `environments: [staging, production]`, or a mapping such as "
        "`production: {soak_hours: 24, require_final: true}`")


@dataclass(frozen=True)
class EnvPolicy:
    """What promoting into one environment requires."""

    name: str
    soak_hours: float = 0.0  # time the version must have served in the previous environment
    require_final: bool = False  # refuse pre-releases such as 1.2.0-rc.1


def environment_policies(root: Path) -> tuple[EnvPolicy, ...]:
    """The environments of promptops.yaml in promotion order (empty when not set)."""
    path = root / "promptops.yaml"
    if not path.is_file():
        return ()
    data = parse_yaml(path.read_text(encoding="utf-8"), "promptops.yaml")
    raw = data.get("environments") if isinstance(data, Mapping) else None
    if raw is None:
        return ()
    where = where_of(data, "environments", "promptops.yaml")
    if isinstance(raw, list):
        names = [str(i.get("name")) if isinstance(i, Mapping) else i for i in raw]
        if all(isinstance(n, str) and n for n in names):
            return tuple(EnvPolicy(str(n)) for n in names)
    elif isinstance(raw, Mapping):
        return tuple(_policy(str(name), spec, raw, where) for name, spec in raw.items())
    raise ConfigError("`environments:` must list environment names in promotion order",
                      where=where, fix=_FIX)


def _policy(name: str, spec: object, parent: Mapping[str, object], where: str) -> EnvPolicy:
    spec = spec or {}
    at = where_of(parent, name, "promptops.yaml")
    if not isinstance(spec, Mapping) or set(spec) - _POLICY_KEYS:
        unknown = ", ".join(sorted(set(spec) - _POLICY_KEYS)) if isinstance(spec, Mapping) \
            else repr(spec)
        raise ConfigError(f"environment {name!r} has an unknown policy: {unknown}", where=at,
                          why=f"allowed: {', '.join(sorted(_POLICY_KEYS))}", fix=_FIX)
    soak = spec.get("soak_hours", 0)
    final = spec.get("require_final", False)
    if isinstance(soak, bool) or not isinstance(soak, int | float) or soak < 0:
        raise ConfigError(f"soak_hours of {name!r} must be a number of hours >= 0, got {soak!r}",
                          where=at, fix="e.g. `soak_hours: 24`")
    if not isinstance(final, bool):
        raise ConfigError(f"require_final of {name!r} must be true or false", where=at, fix=_FIX)
    return EnvPolicy(name, float(soak), final)


def _time(event: Event) -> datetime:
    return datetime.fromisoformat(event.when.replace("Z", "+00:00"))


def served_hours(events: Sequence[Event], version: str, now: datetime
                 ) -> tuple[float, Event | None]:
    """Hours `version` has served in one env (its events, oldest first), and the rollback that
    took it out if it is not served now. A drill's brief rollback does not interrupt it."""
    since: datetime | None = None
    total = 0.0
    rolled_back: Event | None = None
    for event in events:
        if event.kind not in ("promote", "rollback") or event.reason == "drill":
            continue
        if event.to_version == version:
            since = since or _time(event)
            rolled_back = None
        elif since is not None:
            total += (_time(event) - since).total_seconds() / 3600
            since = None
            if event.kind == "rollback" and event.from_version == version:
                rolled_back = event
    if since is not None:
        total += (now - since).total_seconds() / 3600
    return total, rolled_back


def check_promotion(policies: Sequence[EnvPolicy], events_of: Callable[[str], list[Event]],
                    name: str, version: str, to_env: str, previous: str | None,
                    now: datetime | None = None) -> None:
    """Raise PolicyDenied unless promoting name@version into to_env meets its policy.

    `events_of(env)` returns the prompt's events in that env, oldest first; `previous` is the
    environment that must have served the version first (None: no such rule).
    """
    policy = next((p for p in policies if p.name == to_env), EnvPolicy(to_env))
    if policy.require_final and parse_version(version).prerelease:
        raise PolicyDeniedError(f"{to_env} takes final versions only; {version} is a pre-release",
                                fix=f"finalize it: promptops bump {name} --finalize --note ...")
    if previous is None or previous == to_env:
        return
    events = events_of(previous)
    if not any(e.kind == "promote" and e.to_version == version for e in events):
        raise PolicyDeniedError(f"{name}@{version} has never been promoted to {previous}",
                                why=f"promotion order requires {previous} first",
                                fix=f"promote to {previous} first: promptops promote "
                                f"{name}@{version} --to {previous}")
    hours, rolled_back = served_hours(events, version, now or datetime.now(UTC))
    if rolled_back is not None:
        raise PolicyDeniedError(f"{name}@{version} was rolled back in {previous}",
                                where=f"deploy/events/{rolled_back.id}.json",
                                why=f"reason: {rolled_back.reason or 'none given'}",
                                fix=f"fix it in a new version, or promote it to {previous} "
                                "again and let it soak")
    if hours < policy.soak_hours:
        raise PolicyDeniedError(
            f"{name}@{version} has served {hours:.1f} h in {previous}; {to_env} requires "
            f"{policy.soak_hours:g} h", why=f"soak_hours of {to_env} in promptops.yaml",
            fix=f"wait {policy.soak_hours - hours:.1f} h more, or pass --override-policy "
            "\"reason\" (recorded in the event)")
