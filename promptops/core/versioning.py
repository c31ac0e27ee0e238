"""Semantic versions of prompts (semver 2.0 via the `semver` library; never git or string order).

Only the release flow imports this module; the CLI's entry point must not (keeps startup small).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import semver

from promptops.core.errors import ConfigError

LEVELS = ("patch", "minor", "major")
_FORMAT = "promptops versions are major.minor.patch[-pre], e.g. 2.3.1 or 2.4.0-rc.1"
_PRE_TOKEN = re.compile(r"^[A-Za-z][0-9A-Za-z-]*$")


def level_rank(level: str) -> int:
    """0 for patch, 1 for minor, 2 for major; ConfigError for anything else."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise ConfigError(
            f"unknown bump level {level!r}", why=f"allowed: {', '.join(LEVELS)}",
            fix="use major, minor or patch",
        ) from None


def parse_version(text: str, where: str | None = None) -> semver.Version:
    """Parse a strict semver 2.0 version; build metadata and a leading `v` are refused."""
    if not isinstance(text, str):
        raise ConfigError(f"version {text!r} must be text", where=where,
                          fix=f"quote the version; {_FORMAT}")
    if "+" in text:
        raise ConfigError(
            f"version {text!r} has build metadata", where=where,
            why="build metadata does not take part in semver precedence (2.4.0+b1 == 2.4.0+b2)",
            fix="build metadata is not allowed; promptops versions are major.minor.patch[-pre]",
        )
    if text[:1] in ("v", "V"):
        raise ConfigError(f"version {text!r} has a leading 'v'", where=where,
                          fix=f"write {text[1:]!r}; {_FORMAT}")
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError):
        raise ConfigError(f"{text!r} is not a valid semantic version", where=where,
                          fix=_FORMAT) from None


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Ascending by semver precedence: 1.0.0-rc.2 < 1.0.0-rc.10 < 1.0.0 < 1.0.1."""
    return sorted(versions, key=parse_version)


def latest(versions: Iterable[str], *, finals_only: bool = False) -> str | None:
    """The highest version (optionally ignoring pre-releases), or None when there is none."""
    pool = [v for v in versions if not (finals_only and parse_version(v).prerelease)]
    return max(pool, key=parse_version) if pool else None


def _check_pre(pre: str) -> None:
    if not _PRE_TOKEN.match(pre):
        raise ConfigError(
            f"pre-release label {pre!r} is not valid",
            fix="use a word such as rc, beta or alpha (letters, digits and '-', starting "
                "with a letter)",
        )


def next_version(
    current: str | None, level: str, *, pre: str | None = None, finalize: bool = False
) -> str:
    """The version a bump produces.

    - no current: 0.0.1 / 0.1.0 / 1.0.0 for patch / minor / major (plus `-<pre>.1`);
    - final + level: the bumped final; with `pre`, bump the level then append `-<pre>.1`
      (2.3.1 minor rc -> 2.4.0-rc.1; never `bump_prerelease` on a final);
    - pre-release + `pre`: the next pre-release number (2.4.0-rc.1 -> 2.4.0-rc.2); another
      label restarts at `.1` on the same base (2.4.0-beta.2 -> 2.4.0-rc.1) if that sorts higher;
    - pre-release + level without `pre`: the semver library's next version (2.4.0-rc.1 minor ->
      2.4.0, 2.4.1-rc.1 minor -> 2.5.0);
    - `finalize`: strip the pre-release (level is ignored); an error on a final version.
    """
    if finalize:
        if current is None:
            raise ConfigError("nothing to finalize: the prompt has no version yet",
                              fix="bump with major, minor or patch first")
        cur = parse_version(current)
        if not cur.prerelease:
            raise ConfigError(
                f"version {current} is not a pre-release, so it cannot be finalized",
                why="--finalize strips a pre-release label such as -rc.2",
                fix="bump with major, minor or patch instead of --finalize",
            )
        return str(cur.finalize_version())
    level_rank(level)
    if pre is not None:
        _check_pre(pre)
    if current is None:
        base = {"patch": "0.0.1", "minor": "0.1.0", "major": "1.0.0"}[level]
        return f"{base}-{pre}.1" if pre else base
    cur = parse_version(current)
    if pre is None:
        return str(cur.next_version(part=level))
    if not cur.prerelease:
        bumped = cur.next_version(part=level)
        return str(bumped.replace(prerelease=f"{pre}.1"))
    match = re.fullmatch(rf"{re.escape(pre)}\.(\d+)", cur.prerelease)
    if match:
        return str(cur.replace(prerelease=f"{pre}.{int(match.group(1)) + 1}"))
    candidate = cur.replace(prerelease=f"{pre}.1")
    if candidate <= cur:
        raise ConfigError(
            f"pre-release {candidate} would sort below the current {current}",
            why="semver compares pre-release labels alphabetically",
            fix=f"keep the label {cur.prerelease.split('.')[0]!r}, or finalize first",
        )
    return str(candidate)
