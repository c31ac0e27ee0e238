"""Test helpers: a fake OpenAI/Anthropic HTTP server and pytest fixtures.

Names are loaded lazily so ``python -m promptops.testing.fake_server`` does not import the
module twice (runpy warns when a package ``__init__`` pre-imports the module being run).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptops.testing.fake_server import FakeServer
    from promptops.testing.fake_wire import FakeReply, FakeRequest
    from promptops.testing.faults import Fault

__all__ = ["FakeReply", "FakeRequest", "FakeServer", "Fault"]

_HOMES = {
    "FakeServer": "promptops.testing.fake_server",
    "Fault": "promptops.testing.faults",
    "FakeReply": "promptops.testing.fake_wire",
    "FakeRequest": "promptops.testing.fake_wire",
}


def __getattr__(name: str) -> Any:
    """Import public names on first access."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
