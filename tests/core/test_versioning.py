"""Tests for semver handling: parsing, precedence, next versions and levels."""

from __future__ import annotations

import pytest

from promptops.core.errors import ConfigError
from promptops.core.versioning import (
    LEVELS,
    latest,
    level_rank,
    next_version,
    parse_version,
    sort_versions,
)


def test_parse_version_accepts_strict_semver() -> None:
    v = parse_version("2.4.0-rc.1")
    assert (v.major, v.minor, v.patch, v.prerelease) == (2, 4, 0, "rc.1")


def test_build_metadata_refused_with_fix() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_version("2.4.0+build.7", "prompts/router/prompt.yaml:2")
    assert exc.value.fix is not None and "build metadata is not allowed" in exc.value.fix
    assert exc.value.where == "prompts/router/prompt.yaml:2"


@pytest.mark.parametrize("text", ["v1.2.3", "1.2", "01.2.3", "1.2.3.4", "", "latest"])
def test_invalid_versions_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_version(text)


def test_sort_with_prereleases_by_precedence() -> None:
    wanted = ["1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-rc.10", "1.0.0", "1.0.1"]
    shuffled = ["1.0.1", "1.0.0-rc.10", "1.0.0", "1.0.0-rc.2", "1.0.0-rc.1"]
    assert sort_versions(shuffled) == wanted
    assert sorted(shuffled) != wanted  # string order would be wrong


def test_sort_numeric_not_lexical() -> None:
    assert sort_versions(["2.3.10", "2.3.2", "2.4.0-beta.2", "2.4.0"]) == [
        "2.3.2", "2.3.10", "2.4.0-beta.2", "2.4.0",
    ]


def test_latest() -> None:
    versions = ["1.0.0", "1.1.0-rc.2", "1.0.10", "1.1.0-rc.10"]
    assert latest(versions) == "1.1.0-rc.10"
    assert latest(versions, finals_only=True) == "1.0.10"
    assert latest([]) is None
    assert latest(["1.0.0-rc.1"], finals_only=True) is None


@pytest.mark.parametrize(
    ("current", "level", "pre", "expected"),
    [
        (None, "minor", None, "0.1.0"),
        (None, "major", None, "1.0.0"),
        (None, "patch", None, "0.0.1"),
        (None, "minor", "rc", "0.1.0-rc.1"),
        ("2.3.1", "patch", None, "2.3.2"),
        ("2.3.1", "minor", None, "2.4.0"),
        ("2.3.1", "major", None, "3.0.0"),
        ("2.3.1", "minor", "rc", "2.4.0-rc.1"),
        ("2.3.1", "patch", "rc", "2.3.2-rc.1"),
        ("2.3.1", "major", "rc", "3.0.0-rc.1"),
        ("2.4.0-rc.1", "minor", "rc", "2.4.0-rc.2"),
        ("2.4.0-rc.9", "major", "rc", "2.4.0-rc.10"),
        ("2.4.0-beta.2", "minor", "rc", "2.4.0-rc.1"),
        ("2.4.0-rc.1", "minor", None, "2.4.0"),
    ],
)
def test_next_version(current: str | None, level: str, pre: str | None, expected: str) -> None:
    assert next_version(current, level, pre=pre) == expected


def test_prerelease_label_that_sorts_lower_refused() -> None:
    with pytest.raises(ConfigError, match="sort below"):
        next_version("2.4.0-rc.2", "minor", pre="beta")


def test_invalid_pre_label_refused() -> None:
    with pytest.raises(ConfigError, match="pre-release label"):
        next_version("1.0.0", "minor", pre="rc.1")


def test_finalize_strips_prerelease() -> None:
    assert next_version("2.4.0-rc.3", "minor", finalize=True) == "2.4.0"


@pytest.mark.parametrize("current", ["2.4.0", None])
def test_finalize_needs_a_prerelease(current: str | None) -> None:
    with pytest.raises(ConfigError) as exc:
        next_version(current, "minor", finalize=True)
    assert exc.value.fix is not None and "bump with major, minor or patch" in exc.value.fix


def test_unknown_level_refused() -> None:
    with pytest.raises(ConfigError, match="unknown bump level 'huge'"):
        next_version("1.0.0", "huge")


def test_levels_and_rank() -> None:
    assert LEVELS == ("patch", "minor", "major")
    assert [level_rank(x) for x in ("patch", "minor", "major")] == [0, 1, 2]
    with pytest.raises(ConfigError):
        level_rank("Major")
