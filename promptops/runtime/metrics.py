"""Per-request metrics: a non-blocking background writer to SQLite (WAL) and optional JSONL."""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

__all__ = ["MetricsWriter", "RequestMetrics", "ToolCallMetric", "is_sampled"]

log = logging.getLogger("promptops.runtime")

BATCH_MAX_ROWS = 500
BATCH_WINDOW_S = 0.05
PRUNE_EVERY_S = 60.0  # with retention set: delete expired rows at most once a minute
SCHEMA_VERSION = 2  # 2: ttft_ms


@dataclass(frozen=True)
class ToolCallMetric:
    """One tool execution run by the runtime's tool loop."""

    name: str
    duration_ms: float | None
    error: str | None = None


@dataclass(frozen=True)
class RequestMetrics:
    """One metrics row per request (no API keys, no rendered prompt text)."""

    request_id: str
    prompt: str
    prompt_version: str | None
    env: str
    model: str | None
    requested_model: str | None
    input_tokens: int | None
    output_tokens: int | None
    latency_total_ms: float
    latency_model_ms: float | None
    latency_tool_ms: float | None
    latency_network_ms: float | None
    latency_wait_ms: float
    tool_calls: tuple[ToolCallMetric, ...] = ()
    error_type: str = "none"
    tier: str = "primary"
    cost_usd: float | None = None
    timestamp: str = ""
    attempts: int = 1
    degraded: bool = False
    ttft_ms: float | None = None  # streams: time to the first chunk


COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RequestMetrics))

_SQL_TYPES = {
    "input_tokens": "INTEGER", "output_tokens": "INTEGER", "attempts": "INTEGER NOT NULL",
    "degraded": "INTEGER NOT NULL", "latency_total_ms": "REAL NOT NULL",
    "latency_wait_ms": "REAL NOT NULL", "latency_model_ms": "REAL", "latency_tool_ms": "REAL",
    "latency_network_ms": "REAL", "ttft_ms": "REAL", "cost_usd": "REAL",
    "prompt_version": "TEXT", "model": "TEXT", "requested_model": "TEXT",
    "request_id": "TEXT PRIMARY KEY",
}
_REQUESTS_DDL = "CREATE TABLE IF NOT EXISTS requests ({})".format(
    ", ".join(f"{c} {_SQL_TYPES.get(c, 'TEXT NOT NULL')}" for c in COLUMNS)
)
_SAMPLES_DDL = """
CREATE TABLE IF NOT EXISTS samples (
    request_id TEXT PRIMARY KEY,
    prompt TEXT NOT NULL,
    prompt_version TEXT,
    inputs TEXT,
    output TEXT,
    created TEXT NOT NULL
)"""
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS requests_prompt_ts ON requests (prompt, timestamp)",
    "CREATE INDEX IF NOT EXISTS requests_model_ts ON requests (model, timestamp)",
    "CREATE INDEX IF NOT EXISTS requests_error_ts ON requests (error_type, timestamp)",
    "CREATE INDEX IF NOT EXISTS requests_ts ON requests (timestamp)",  # retention pruning
)
_INSERT_REQUEST = (
    f"INSERT OR REPLACE INTO requests ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)
_INSERT_SAMPLE = (
    "INSERT OR REPLACE INTO samples (request_id, prompt, prompt_version, inputs, output, created) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def is_sampled(request_id: str, rate: float) -> bool:
    """Deterministic sampling decision: the same request id always gets the same answer."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    bucket = int(hashlib.sha256(request_id.encode("utf-8")).hexdigest()[:8], 16) % 10_000
    return bucket < rate * 10_000


def _utc_now() -> str:
    """The current time as ISO 8601 UTC."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _row_dict(row: RequestMetrics) -> dict[str, Any]:
    """A JSON-ready mapping of the row's fields (tool calls as a list of objects)."""
    data = dataclasses.asdict(row)
    data["tool_calls"] = [dataclasses.asdict(t) for t in row.tool_calls]
    return data


def _row_values(row: RequestMetrics) -> tuple[Any, ...]:
    """SQL parameters for one `requests` row, in COLUMNS order."""
    data = _row_dict(row)
    data["tool_calls"] = json.dumps(data["tool_calls"], ensure_ascii=False)
    data["degraded"] = int(row.degraded)
    return tuple(data[c] for c in COLUMNS)


@dataclass(frozen=True)
class _Entry:
    """A queued row with its sampled content (only present when content storage is on)."""

    row: RequestMetrics
    sampled: bool
    inputs: Mapping[str, Any] | None
    output: str | None


class _Stop:
    """Queue sentinel telling the writer thread to exit."""


_Item = _Entry | threading.Event | _Stop


class MetricsWriter:
    """Background writer: `record` never blocks; one thread batches rows into SQLite (+ JSONL)."""

    def __init__(
        self,
        path: str | Path = ".promptops/metrics.db",
        *,
        jsonl_path: str | Path | None = None,
        queue_size: int = 10_000,
        latency_alert_ms: float | None = None,
        alert_error_types: Iterable[str] = (),
        on_alert: Callable[[RequestMetrics, str], None] | None = None,
        sample_rate: float = 0.0,
        store_content: bool = False,
        retention_days: float | None = None,
    ) -> None:
        self.path = str(path)
        # rows (and content samples) older than this are deleted by the writer thread
        self.retention_days = retention_days
        self._next_prune = 0.0
        self._pruned = 0
        self.jsonl_path = Path(jsonl_path) if jsonl_path is not None else None
        self.latency_alert_ms = latency_alert_ms
        self.alert_error_types = frozenset(alert_error_types)
        self.on_alert = on_alert
        self.sample_rate = sample_rate
        self.store_content = store_content
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=max(1, queue_size))
        self._lock = threading.Lock()
        self._dropped = 0
        self._written = 0
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="promptops-metrics-writer", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    @property
    def dropped(self) -> int:
        """Rows discarded because the queue was full (or the writer was closed)."""
        with self._lock:
            return self._dropped

    @property
    def pruned(self) -> int:
        """Rows (requests and samples) deleted for being older than `retention_days`."""
        with self._lock:
            return self._pruned

    @property
    def written(self) -> int:
        """Rows committed to the `requests` table."""
        with self._lock:
            return self._written

    def record(
        self,
        row: RequestMetrics,
        *,
        inputs: Mapping[str, Any] | None = None,
        output: str | None = None,
    ) -> None:
        """Queue one row without ever blocking; count it as dropped when the queue is full."""
        if not row.timestamp:
            row = dataclasses.replace(row, timestamp=_utc_now())
        sampled = self.store_content and is_sampled(row.request_id, self.sample_rate)
        entry = _Entry(row, sampled, dict(inputs or {}) if sampled else None,
                       output if sampled else None)
        if self._closed:
            self._drop()
            return
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self._drop()

    def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until everything queued so far is written (at most `timeout_s`)."""
        if not self._thread.is_alive():
            return
        marker = threading.Event()
        deadline = time.monotonic() + timeout_s
        try:
            self._queue.put(marker, timeout=timeout_s)
        except queue.Full:
            return
        marker.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Flush, stop the writer thread and release the database; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        if self._thread.is_alive():
            try:
                self._queue.put(_Stop(), timeout=5.0)
            except queue.Full:
                log.warning("metrics writer stuck; %d rows may be lost", self._queue.qsize())
                return
            self._thread.join(timeout=10.0)

    def _drop(self) -> None:
        """Count one discarded row."""
        with self._lock:
            self._dropped += 1

    # --- writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        """Writer loop: gather a batch (≤500 rows or 50 ms), write it, release flush markers."""
        conn = self._connect()
        jsonl: IO[str] | None = None
        try:
            if self.jsonl_path is not None:
                try:
                    self.jsonl_path.parent.mkdir(parents=True, exist_ok=True)
                    jsonl = self.jsonl_path.open("a", encoding="utf-8")
                except OSError:
                    log.exception("cannot open metrics JSONL file %s", self.jsonl_path)
            stop = False
            while not stop:
                batch: list[_Entry] = []
                markers: list[threading.Event] = []
                item = self._queue.get()
                deadline = time.monotonic() + BATCH_WINDOW_S
                while True:
                    if isinstance(item, _Stop):
                        stop = True
                        break
                    if isinstance(item, threading.Event):
                        markers.append(item)
                        break
                    batch.append(item)
                    remaining = deadline - time.monotonic()
                    if len(batch) >= BATCH_MAX_ROWS or remaining <= 0:
                        break
                    try:
                        item = self._queue.get(timeout=remaining)
                    except queue.Empty:
                        break
                if batch:
                    self._process(conn, jsonl, batch)
                    self._prune(conn)
                for marker in markers:
                    marker.set()
        finally:
            if jsonl is not None:
                jsonl.close()
            if conn is not None:
                conn.close()

    def _connect(self) -> sqlite3.Connection | None:
        """Open the database in WAL mode and create the tables (None when that fails)."""
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            with conn:
                conn.execute(_REQUESTS_DDL)
                have = {r[1] for r in conn.execute("PRAGMA table_info(requests)")}
                for column in COLUMNS:  # a database from an older promptops gains new columns
                    if column not in have:
                        conn.execute(f"ALTER TABLE requests ADD COLUMN {column} "
                                     f"{_SQL_TYPES.get(column, 'TEXT').replace(' NOT NULL', '')}")
                conn.execute(_SAMPLES_DDL)
                for ddl in _INDEXES:
                    conn.execute(ddl)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            return conn
        except (OSError, sqlite3.Error):
            log.exception("cannot open metrics database %s; metrics will not be stored", self.path)
            return None

    def _process(
        self, conn: sqlite3.Connection | None, jsonl: IO[str] | None, batch: list[_Entry]
    ) -> None:
        """Write one batch to SQLite and JSONL, then run the per-request alert rules."""
        if conn is not None:
            try:
                self._write_batch(conn, batch)
                with self._lock:
                    self._written += len(batch)
            except Exception:
                log.exception("failed to write %d metrics rows", len(batch))
        if jsonl is not None:
            try:
                for entry in batch:
                    jsonl.write(json.dumps(_row_dict(entry.row), ensure_ascii=False) + "\n")
                jsonl.flush()
            except (OSError, TypeError, ValueError):
                log.exception("failed to append metrics JSONL")
        for entry in batch:
            self._check_alerts(entry.row)

    def _prune(self, conn: sqlite3.Connection | None) -> None:
        """Delete rows older than `retention_days` (at most every PRUNE_EVERY_S)."""
        if conn is None or self.retention_days is None or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_EVERY_S
        cutoff = (datetime.now(UTC) - timedelta(days=self.retention_days)).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        try:
            with conn:
                gone = conn.execute("DELETE FROM requests WHERE timestamp < ?", (cutoff,)).rowcount
                gone += conn.execute("DELETE FROM samples WHERE created < ?", (cutoff,)).rowcount
            with self._lock:
                self._pruned += gone
        except sqlite3.Error:
            log.exception("failed to prune metrics older than %s", cutoff)

    def _write_batch(self, conn: sqlite3.Connection, batch: list[_Entry]) -> None:
        """Insert the batch's rows (and opted-in samples) inside one transaction."""
        samples = [
            (
                e.row.request_id,
                e.row.prompt,
                e.row.prompt_version,
                json.dumps(e.inputs, ensure_ascii=False, default=str),
                e.output,
                _utc_now(),
            )
            for e in batch
            if e.sampled
        ]
        with conn:
            conn.executemany(_INSERT_REQUEST, [_row_values(e.row) for e in batch])
            if samples:
                conn.executemany(_INSERT_SAMPLE, samples)

    def _check_alerts(self, row: RequestMetrics) -> None:
        """Log and call back for each alert rule the row trips; a raising callback is contained."""
        reasons: list[str] = []
        if self.latency_alert_ms is not None and row.latency_total_ms > self.latency_alert_ms:
            reasons.append(
                f"latency {row.latency_total_ms:.0f} ms > {self.latency_alert_ms:.0f} ms"
            )
        if row.error_type in self.alert_error_types:
            reasons.append(f"error_type={row.error_type}")
        for reason in reasons:
            log.warning("alert for %s (%s): %s", row.prompt, row.request_id, reason)
            if self.on_alert is not None:
                try:
                    self.on_alert(row, reason)
                except Exception:
                    log.exception("metrics alert callback failed")
