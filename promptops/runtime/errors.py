"""Errors the runtime raises: one structured error when every tier failed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from promptops.core.errors import PromptopsError
from promptops.runtime.result import Attempt


class PromptOpsUnavailable(PromptopsError):
    """Every model in the chain failed and no cached or static answer exists."""

    code = "ALL_MODELS_UNAVAILABLE"
    exit_code = 3

    def __init__(
        self,
        what: str,
        *,
        request_id: str,
        attempts: tuple[Attempt, ...],
        last_error_type: str | None,
        fix: str | None = None,
    ) -> None:
        self.request_id = request_id
        self.attempts = attempts
        self.last_error_type = last_error_type
        super().__init__(what, fix=fix)

    def payload(self) -> Mapping[str, Any]:
        """The error as a value: {code, message, attempts, request_id}."""
        return {
            "code": self.code,
            "message": self.what,
            "attempts": [asdict(a) for a in self.attempts],
            "request_id": self.request_id,
        }


class PromptDisabledError(PromptOpsUnavailable):
    """The prompt is switched off (`enabled: false`) and its non-AI fallback failed or is absent."""

    code = "PROMPT_DISABLED"


class RuntimeUsageError(PromptopsError):
    """The runtime was used the wrong way, e.g. the sync `call` inside a running event loop."""

    exit_code = 2
