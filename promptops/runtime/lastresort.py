"""Tier 3: the stale cached answer to the same request (stale-if-error), then static_response."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from promptops.core.hashing import content_hash
from promptops.core.models import Completion, ModelRequest
from promptops.storage.cache import ResponseCache

_FLUSH_S = 5.0  # batch the cache's disk writes; a crash loses at most this much history


class LastResort:
    """Remembers good answers and hands them back when every model is down."""

    def __init__(self, cache: ResponseCache | None, clock: Callable[[], float] = time.monotonic,
                 lock: threading.Lock | None = None) -> None:
        self.cache = cache
        self.clock = clock
        self.lock = lock or threading.Lock()  # the cache's one SQLite connection is shared
        self._flushed_at = clock()

    @staticmethod
    def key(prompt: str, version: str | None, request: ModelRequest) -> str:
        """Model-independent on purpose: any chain entry's answer to this request will do."""
        return content_hash({
            "runtime": 1, "prompt": prompt, "version": version,
            "messages": [(m.role, m.content) for m in request.messages],
            "params": dict(request.params), "tools": list(request.tools),
            "output_format": request.output_format,
        })

    def remember(self, key: str, provider: str, model: str, completion: Completion) -> None:
        """Store a successful answer (flushed to disk in batches)."""
        if self.cache is None:
            return
        with self.lock:
            self.cache.put(key, provider, model, completion)
            if self.clock() - self._flushed_at >= _FLUSH_S:
                self.cache.flush()
                self._flushed_at = self.clock()

    def cached(self, key: str) -> Completion | None:
        """The last good answer for this key, however old (stale-if-error)."""
        if self.cache is None:
            return None
        with self.lock:
            return self.cache.get(key)

    @staticmethod
    def static(raw_prompt: Any) -> str | None:
        """The prompt's `static_response`, as text."""
        static = raw_prompt.get("static_response") if hasattr(raw_prompt, "get") else None
        if static is None:
            return None
        return static if isinstance(static, str) else json.dumps(static)

    def flush(self) -> None:
        """Write pending cache entries."""
        if self.cache is not None:
            with self.lock:
                self.cache.flush()
