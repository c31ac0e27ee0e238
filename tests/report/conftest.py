"""Fixtures for the report renderer tests (the data lives in report_samples.py)."""

from __future__ import annotations

import pytest
from report_samples import make_card, make_meta, make_runs

from promptops.core.models import CaseRun, RunMeta
from promptops.core.scorecard import Scorecard


@pytest.fixture
def meta() -> RunMeta:
    """Run metadata with a dirty git tree and a pinned prompt version."""
    return make_meta()


@pytest.fixture
def runs() -> list[CaseRun]:
    """The case runs of both models."""
    return make_runs()


@pytest.fixture
def card() -> Scorecard:
    """Error budget 50%: the Sonnet card fails on thresholds (exit 1), not on errors."""
    return make_card(error_budget=0.5)


@pytest.fixture
def error_card() -> Scorecard:
    """Error budget 0: the provider error pushes the run to exit 3."""
    return make_card(error_budget=0.0)
