"""Retirement dates: parsing the forms SDKs and YAML give, and what a date means today."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from promptops.core.config import parse_config
from promptops.core.errors import ConfigError
from promptops.core.lifecycle import Retirement, parse_retirement_date
from promptops.core.yamlsource import parse_yaml


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-11-30", date(2026, 11, 30)),
    ("November 30th, 2026", date(2026, 11, 30)),
    ("January 22nd, 2027", date(2027, 1, 22)),
    ("June 1st, 2026", date(2026, 6, 1)),
    (date(2026, 1, 3), date(2026, 1, 3)),
    (datetime(2026, 1, 3, 12, 0), date(2026, 1, 3)),
])
def test_dates_in_every_form(raw: object, expected: date) -> None:
    assert parse_retirement_date(raw) == expected


@pytest.mark.parametrize("raw", ["soon", "30/11/2026", 20261130, None])
def test_bad_dates_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_retirement_date(raw)


def test_retired_soon_and_the_words_for_them() -> None:
    r = Retirement("anthropic:m", date(2026, 11, 30), "anthropic SDK 2.14.0")
    assert (r.retired(date(2026, 11, 29)), r.soon(date(2026, 11, 29))) == (False, True)
    assert r.retired(date(2026, 11, 30)) and not r.soon(date(2026, 11, 30))
    assert not r.soon(date(2026, 9, 30))  # 61 days out: no warning yet
    assert r.soon(date(2026, 10, 1))
    assert r.describe(date(2026, 11, 29)) == (
        "anthropic:m retires on 2026-11-30 (in 1 day); source: anthropic SDK 2.14.0")
    assert r.describe(date(2026, 12, 2)).startswith(
        "anthropic:m was retired on 2026-11-30 (2 days ago)")
    assert "is retired from today" in r.describe(date(2026, 11, 30))


def test_config_retirements_with_their_location() -> None:
    text = 'retirements:\n  "anthropic:old": 2026-11-30\n  "openai:gpt-x": "March 3rd, 2027"\n'
    config = parse_config(parse_yaml(text, "promptops.yaml"), "promptops.yaml")
    assert config.retirements == {"anthropic:old": (date(2026, 11, 30), "promptops.yaml:2"),
                                  "openai:gpt-x": (date(2027, 3, 3), "promptops.yaml:3")}


def test_config_bad_retirement_date_is_located() -> None:
    text = 'models: {}\nretirements:\n  "anthropic:old": someday\n'
    with pytest.raises(ConfigError) as info:
        parse_config(parse_yaml(text, "promptops.yaml"), "promptops.yaml")
    assert info.value.where == "promptops.yaml:3" and "2026-11-30" in str(info.value.fix)
