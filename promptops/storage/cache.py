"""SQLite response cache under .promptops/: a re-run of an unchanged suite is instant and free."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from promptops.core.models import Completion, ToolCall, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    created REAL NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    completion TEXT NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class CacheStats:
    """Size and use of the cache."""

    path: str
    entries: int
    hits: int
    bytes: int
    by_model: tuple[tuple[str, int], ...]


def completion_to_json(c: Completion) -> str:
    """Serialise a completion (no secrets: completions never hold keys)."""
    return json.dumps(asdict(c), separators=(",", ":"))


def completion_from_json(text: str) -> Completion:
    """Inverse of completion_to_json."""
    d: dict[str, Any] = json.loads(text)
    d["usage"] = Usage(**d.get("usage") or {})
    d["tool_calls"] = tuple(ToolCall(t["name"], t["arguments"]) for t in d.get("tool_calls") or ())
    return Completion(**d)


class ResponseCache:
    """Key -> Completion in SQLite (WAL); one connection, used from the event loop thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # survives a killed process, cheap commits
        self._db.executescript(_SCHEMA)
        self._pending_hits: list[str] = []
        self._pending_puts: dict[str, tuple[str, float, str, str, str]] = {}

    def get(self, key: str) -> Completion | None:
        """Return the cached completion for a key, if any."""
        pending = self._pending_puts.get(key)
        if pending is not None:
            return completion_from_json(pending[4])
        row = self._db.execute("SELECT completion FROM responses WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        self._pending_hits.append(key)
        return completion_from_json(row[0])

    def put(self, key: str, provider: str, model: str, completion: Completion) -> None:
        """Store (or replace) a completion; written in batches (the journal covers a crash)."""
        self._pending_puts[key] = (key, time.time(), provider, model,
                                   completion_to_json(completion))
        if len(self._pending_puts) >= 200:
            self.flush()

    def stats(self) -> CacheStats:
        """Entries, hits and size on disk."""
        self.flush()
        n, hits = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(hits), 0) FROM responses").fetchone()
        rows = self._db.execute(
            "SELECT provider || ':' || model, COUNT(*) FROM responses GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        by_model = tuple((r[0], r[1]) for r in rows)
        return CacheStats(str(self.path), int(n), int(hits), size, by_model)

    def clear(self, older_than_s: float | None = None) -> int:
        """Delete entries (all, or older than N seconds); return how many."""
        self.flush()
        if older_than_s is None:
            cur = self._db.execute("DELETE FROM responses")
        else:
            cur = self._db.execute("DELETE FROM responses WHERE created < ?",
                                   (time.time() - older_than_s,))
        self._db.execute("VACUUM")
        return int(cur.rowcount)

    def flush(self) -> None:
        """Write pending entries and hit counters in one transaction."""
        if not (self._pending_hits or self._pending_puts):
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO responses(key, created, provider, model, completion, hits)"
                " VALUES (?, ?, ?, ?, ?, 0)", list(self._pending_puts.values()))
            self._db.executemany("UPDATE responses SET hits = hits + 1 WHERE key=?",
                                 [(k,) for k in self._pending_hits])
        self._pending_puts.clear()
        self._pending_hits.clear()

    def close(self) -> None:
        """Flush and close."""
        self.flush()
        self._db.close()
