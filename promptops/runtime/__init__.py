"""Runtime for applications: load the deployed prompt version (imports stay lazy and light)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptops.runtime.store import PromptStore, ResolvedPrompt

# public name -> module that defines it; adding an export is one line here
_EXPORTS = {
    "PromptStore": "promptops.runtime.store",
    "ResolvedPrompt": "promptops.runtime.store",
    "Runtime": "promptops.runtime.client",
    "CallResult": "promptops.runtime.client",
    "PromptOpsUnavailable": "promptops.runtime.client",
    "MetricsWriter": "promptops.runtime.metrics",
    "RequestMetrics": "promptops.runtime.metrics",
    "Telemetry": "promptops.runtime.telemetry",
    "store_status": "promptops.runtime.status",
    "serve_status": "promptops.runtime.status",
}

__all__ = [  # noqa: RUF022 - grouped by module, like _EXPORTS
    "PromptStore", "ResolvedPrompt", "Runtime", "CallResult", "PromptOpsUnavailable",
    "MetricsWriter", "RequestMetrics", "Telemetry", "store_status", "serve_status",
]


def __getattr__(name: str) -> Any:
    """Import the defining module on first access (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'promptops.runtime' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Every export, loaded or not."""
    return sorted({*globals(), *_EXPORTS})
