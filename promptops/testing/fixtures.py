"""pytest fixtures providing a running FakeServer.

Enable them in a ``conftest.py`` (or a test module)::

    pytest_plugins = ["promptops.testing.fixtures"]

    def test_chat(fake_server):
        client = openai.OpenAI(base_url=fake_server.openai_base_url, api_key="sk-test")
        ...

``fake_server`` is fresh per test; ``fake_server_session`` is shared by the whole session,
so call ``fake_server_session.reset()`` (and restore any responder/latency you changed)
where tests need a clean slate.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from promptops.testing.fake_server import FakeServer

__all__ = ["fake_server", "fake_server_session"]


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A started FakeServer, stopped after the test."""
    with FakeServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def fake_server_session() -> Iterator[FakeServer]:
    """A started FakeServer shared by the whole test session."""
    with FakeServer() as srv:
        yield srv
