"""MetricsWriter: non-blocking background SQLite/JSONL writer, alerts and deterministic sampling."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promptops.runtime.metrics import (
    MetricsWriter,
    RequestMetrics,
    ToolCallMetric,
    is_sampled,
)


def _row(request_id: str, **kw: Any) -> RequestMetrics:
    """A minimal valid row."""
    base: dict[str, Any] = {
        "request_id": request_id,
        "prompt": "support_reply",
        "prompt_version": "1.2.0",
        "env": "prod",
        "model": "anthropic:claude-haiku",
        "requested_model": "anthropic:claude-haiku",
        "input_tokens": 10,
        "output_tokens": 5,
        "latency_total_ms": 12.5,
        "latency_model_ms": None,
        "latency_tool_ms": 0.0,
        "latency_network_ms": None,
        "latency_wait_ms": 0.0,
    }
    base.update(kw)
    return RequestMetrics(**base)


def _rows(db: Path, sql: str = "SELECT * FROM requests") -> list[sqlite3.Row]:
    """Read rows back through a separate connection."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database path in a directory that does not exist yet."""
    return tmp_path / ".promptops" / "metrics.db"


@pytest.fixture
def writers() -> Iterator[list[MetricsWriter]]:
    """Writers created by a test, closed afterwards even if the test fails."""
    made: list[MetricsWriter] = []
    yield made
    for w in made:
        w.close()


def test_row_round_trips_every_field(db: Path, writers: list[MetricsWriter]) -> None:
    w = MetricsWriter(db)
    writers.append(w)
    row = RequestMetrics(
        request_id="req-1", prompt="support_reply", prompt_version="1.2.0", env="staging",
        model="openai:gpt-4o-mini", requested_model="anthropic:claude-haiku",
        input_tokens=123, output_tokens=45, latency_total_ms=812.5, latency_model_ms=600.0,
        latency_tool_ms=100.25, latency_network_ms=112.25, latency_wait_ms=500.0,
        tool_calls=(ToolCallMetric("lookup", 100.25), ToolCallMetric("fail", None, "boom")),
        error_type="rate_limit", tier="fallback", cost_usd=0.00123,
        timestamp="2025-01-02T03:04:05.678Z", attempts=3, degraded=True,
    )
    w.record(row)
    w.flush()
    (got,) = _rows(db)
    assert set(got.keys()) == {f.name for f in dataclasses.fields(RequestMetrics)}
    for f in dataclasses.fields(RequestMetrics):
        if f.name not in ("tool_calls", "degraded"):
            assert got[f.name] == getattr(row, f.name), f.name
    assert json.loads(got["tool_calls"]) == [
        {"name": "lookup", "duration_ms": 100.25, "error": None},
        {"name": "fail", "duration_ms": None, "error": "boom"},
    ]
    assert got["degraded"] == 1
    assert w.written == 1 and w.dropped == 0
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_missing_timestamp_is_filled_with_utc(db: Path, writers: list[MetricsWriter]) -> None:
    w = MetricsWriter(db)
    writers.append(w)
    w.record(_row("r"))
    w.flush()
    (got,) = _rows(db)
    assert got["timestamp"].endswith("Z") and got["timestamp"].startswith("20")
    assert got["degraded"] == 0 and json.loads(got["tool_calls"]) == []


def test_concurrent_threads_lose_nothing(db: Path, writers: list[MetricsWriter]) -> None:
    w = MetricsWriter(db)
    writers.append(w)
    barrier = threading.Barrier(50)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(20):
            w.record(_row(f"t{t}-{i}"))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(50)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    w.flush()
    assert _rows(db, "SELECT COUNT(DISTINCT request_id) AS n FROM requests")[0]["n"] == 1000
    assert w.written == 1000 and w.dropped == 0


def test_asyncio_gather_loses_nothing(db: Path, writers: list[MetricsWriter]) -> None:
    w = MetricsWriter(db)
    writers.append(w)

    async def one(i: int) -> None:
        await asyncio.sleep(0)
        w.record(_row(f"a{i}"))

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(1000)))

    asyncio.run(main())
    w.flush()
    assert _rows(db, "SELECT COUNT(*) AS n FROM requests")[0]["n"] == 1000
    assert w.written == 1000 and w.dropped == 0


def test_full_queue_drops_instead_of_blocking(
    db: Path, writers: list[MetricsWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = MetricsWriter._write_batch

    def slow(self: MetricsWriter, conn: sqlite3.Connection, batch: list[Any]) -> None:
        time.sleep(0.2)
        original(self, conn, batch)

    monkeypatch.setattr(MetricsWriter, "_write_batch", slow)
    w = MetricsWriter(db, queue_size=5)
    writers.append(w)
    calls = 200
    for i in range(calls):
        start = time.perf_counter()
        w.record(_row(f"q{i}"))
        assert time.perf_counter() - start < 0.05, f"record #{i} blocked"
    assert w.dropped > 0
    w.flush(timeout_s=10)
    assert w.written + w.dropped == calls
    assert len(_rows(db)) == w.written


def test_alerts_fire_and_raising_callback_does_not_stop_writer(
    db: Path, writers: list[MetricsWriter], caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, str, str]] = []
    main_thread = threading.current_thread().name

    def on_alert(row: RequestMetrics, reason: str) -> None:
        seen.append((row.request_id, reason, threading.current_thread().name))
        raise RuntimeError("callback bug")

    w = MetricsWriter(db, latency_alert_ms=1000, alert_error_types={"timeout", "rate_limit"},
                      on_alert=on_alert)
    writers.append(w)
    with caplog.at_level(logging.WARNING, logger="promptops.runtime"):
        w.record(_row("slow", latency_total_ms=1500.0))
        w.record(_row("fast", latency_total_ms=999.0))
        w.record(_row("timed-out", error_type="timeout"))
        w.record(_row("quality", error_type="quality"))
        w.flush()
        w.record(_row("after"))
        w.record(_row("slow-and-limited", latency_total_ms=5000.0, error_type="rate_limit"))
        w.flush()
    ids = [s[0] for s in seen]
    assert ids == ["slow", "timed-out", "slow-and-limited", "slow-and-limited"]
    assert "latency" in seen[0][1] and seen[1][1] == "error_type=timeout"
    assert all(s[2] != main_thread for s in seen)
    assert len(_rows(db)) == 6 and w.written == 6
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert {r.name for r in warnings} == {"promptops.runtime"} and len(warnings) == 4


@pytest.mark.parametrize("rate", [0.05, 0.1, 0.5])
def test_sampling_is_deterministic_and_near_rate(rate: float) -> None:
    ids = [f"req-{i}" for i in range(10_000)]
    decisions = [is_sampled(i, rate) for i in ids]
    assert decisions == [is_sampled(i, rate) for i in ids]
    for rid, got in zip(ids[:200], decisions[:200], strict=True):
        bucket = int(hashlib.sha256(rid.encode()).hexdigest()[:8], 16) % 10_000
        assert got == (bucket < rate * 10_000)
    assert abs(sum(decisions) / len(ids) - rate) <= 0.015
    assert not any(is_sampled(i, 0.0) for i in ids[:500])
    assert all(is_sampled(i, 1.0) for i in ids[:500])


def _content_run(db: Path, writers: list[MetricsWriter], store: bool) -> list[sqlite3.Row]:
    """Record 200 rows at a 30% sample rate; return the `samples` table."""
    w = MetricsWriter(db, sample_rate=0.3, store_content=store)
    writers.append(w)
    for i in range(200):
        w.record(_row(f"s{i}"), inputs={"name": f"user{i}", "n": i}, output=f"answer {i}")
    w.flush()
    return _rows(db, "SELECT * FROM samples ORDER BY request_id")


def test_content_stored_only_for_sampled_when_enabled(
    db: Path, writers: list[MetricsWriter]
) -> None:
    got = _content_run(db, writers, store=True)
    expected = sorted(f"s{i}" for i in range(200) if is_sampled(f"s{i}", 0.3))
    assert [r["request_id"] for r in got] == expected and 30 < len(expected) < 90
    first = got[0]
    n = int(first["request_id"][1:])
    assert json.loads(first["inputs"]) == {"name": f"user{n}", "n": n}
    assert first["output"] == f"answer {n}" and first["prompt_version"] == "1.2.0"
    assert first["created"]
    cols = {r["name"] for r in _rows(db, "PRAGMA table_info(requests)")}
    assert not cols & {"inputs", "output"}
    assert "user" not in json.dumps([tuple(r) for r in _rows(db)])


def test_content_not_stored_when_disabled(db: Path, writers: list[MetricsWriter]) -> None:
    assert _content_run(db, writers, store=False) == []
    assert len(_rows(db)) == 200


def test_jsonl_mirror(db: Path, tmp_path: Path, writers: list[MetricsWriter]) -> None:
    out = tmp_path / "metrics" / "requests.jsonl"
    w = MetricsWriter(db, jsonl_path=out)
    writers.append(w)
    rows = [_row(f"j{i}", tool_calls=(ToolCallMetric("t", 1.5),)) for i in range(25)]
    for r in rows:
        w.record(r)
    w.flush()
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [d["request_id"] for d in lines] == [r.request_id for r in rows]
    assert set(lines[0]) == {f.name for f in dataclasses.fields(RequestMetrics)}
    assert lines[0]["tool_calls"] == [{"name": "t", "duration_ms": 1.5, "error": None}]
    assert lines[0]["latency_total_ms"] == 12.5 and lines[0]["degraded"] is False


def test_close_is_idempotent_and_flushes(db: Path) -> None:
    w = MetricsWriter(db)
    for i in range(30):
        w.record(_row(f"c{i}"))
    w.close()
    assert w.written == 30 and len(_rows(db)) == 30
    assert not w._thread.is_alive()
    w.close()
    w.flush()
    w.record(_row("late"))
    assert w.dropped == 1 and len(_rows(db)) == 30


def test_flush_waits_for_a_slow_write(
    db: Path, writers: list[MetricsWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = MetricsWriter._write_batch

    def slow(self: MetricsWriter, conn: sqlite3.Connection, batch: list[Any]) -> None:
        time.sleep(0.3)
        original(self, conn, batch)

    monkeypatch.setattr(MetricsWriter, "_write_batch", slow)
    w = MetricsWriter(db)
    writers.append(w)
    w.record(_row("f1"))
    w.record(_row("f2"))
    w.flush()
    assert w.written == 2 and len(_rows(db)) == 2


def test_a_database_from_before_ttft_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE requests (request_id TEXT PRIMARY KEY, prompt TEXT NOT NULL)")
    old.commit()
    old.close()
    writer = MetricsWriter(path)
    writer.record(_row("r-1", ttft_ms=12.5))
    writer.close()
    got = sqlite3.connect(path).execute(
        "SELECT ttft_ms, prompt FROM requests WHERE request_id='r-1'").fetchone()
    assert got == (12.5, "support_reply")


def test_retention_deletes_old_rows_and_samples(db: Path, writers: list[MetricsWriter],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import promptops.runtime.metrics as metrics

    old = "2020-01-01T00:00:00.000Z"
    seed = MetricsWriter(db, sample_rate=1.0, store_content=True)  # no retention: keeps all
    writers.append(seed)
    seed.record(_row("old", timestamp=old), inputs={"who": "alice"}, output="x")
    seed.flush()
    seed.close()
    conn = sqlite3.connect(db)
    with conn:  # the sample was created "long ago" too
        conn.execute("UPDATE samples SET created = ?", (old,))
    conn.close()
    assert len(_rows(db)) == 1
    monkeypatch.setattr(metrics, "PRUNE_EVERY_S", 3600.0)
    w = MetricsWriter(db, sample_rate=1.0, store_content=True, retention_days=30)
    writers.append(w)
    w.record(_row("new"), inputs={"who": "bob"}, output="y")
    w.flush()
    assert [r["request_id"] for r in _rows(db)] == ["new"]
    assert [r["request_id"] for r in _rows(db, "SELECT * FROM samples")] == ["new"]
    assert w.pruned == 2
    w.record(_row("old-again", timestamp=old))
    w.flush()  # pruned at most once per PRUNE_EVERY_S: this one stays until the next round
    assert {r["request_id"] for r in _rows(db)} == {"new", "old-again"}
