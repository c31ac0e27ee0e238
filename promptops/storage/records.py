"""Run records (schema-versioned JSON) and the per-run journal that makes --resume possible."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from promptops.core.errors import ConfigError
from promptops.core.models import CaseRun, RunMeta, ScoreResult, Usage

SCHEMA_VERSION = 1
RunKey = tuple[str, str, int]  # (case id, model, repeat)


def run_to_dict(run: CaseRun) -> dict[str, Any]:
    """A CaseRun as plain JSON data."""
    return asdict(run)


def run_from_dict(d: Mapping[str, Any]) -> CaseRun:
    """Inverse of run_to_dict."""
    data = dict(d)
    data["scores"] = tuple(ScoreResult(**s) for s in data.get("scores") or ())
    data["usage"] = Usage(**(data.get("usage") or {}))
    data["tags"] = tuple(data.get("tags") or ())
    return CaseRun(**data)


def meta_from_dict(d: Mapping[str, Any]) -> RunMeta:
    """RunMeta from a record's `meta` block."""
    data = dict(d)
    data["models"] = tuple(data.get("models") or ())
    return RunMeta(**data)


def write_record(path: Path, meta: RunMeta, summary: Mapping[str, Any],
                 runs: Iterable[CaseRun]) -> None:
    """Write the run record atomically (temp file + rename)."""
    record = {
        "schema_version": SCHEMA_VERSION,
        "meta": asdict(meta),
        "summary": summary,
        "runs": [run_to_dict(r) for r in runs],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)


def read_record(path: Path) -> tuple[RunMeta, list[CaseRun], dict[str, Any]]:
    """Load a run record; refuse unknown schema versions."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read run record: {exc}", where=str(path),
                          fix="pass a run id from .promptops/runs/ or a record file") from None
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(f"run record schema {version!r} is not supported", where=str(path),
                          fix=f"this promptops reads schema {SCHEMA_VERSION}; re-run the suite")
    return (meta_from_dict(data["meta"]), [run_from_dict(r) for r in data["runs"]],
            data.get("summary") or {})


def _ends_torn(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() == 0:
            return False
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


class Journal:
    """Append-only JSONL of finished case runs; a killed run resumes from it."""

    def __init__(self, path: Path, header: Mapping[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        new = not path.exists()
        # Unbuffered appends: each finished case is in the OS before the next one starts.
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if new:
            self._write({"header": dict(header)})
        elif _ends_torn(path):
            os.write(self._fd, b"\n")  # a killed run left half a line; start on a fresh one

    def _write(self, obj: Mapping[str, Any]) -> None:
        os.write(self._fd, (json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
                            + "\n").encode("utf-8"))

    def append(self, run: CaseRun) -> None:
        """Record one finished case run."""
        self._write({"run": run_to_dict(run)})

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def read_journal(path: Path) -> tuple[dict[str, Any], dict[RunKey, CaseRun]]:
    """Return the journal header and its finished runs (a torn last line is ignored)."""
    header: dict[str, Any] = {}
    done: dict[RunKey, CaseRun] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue  # the process died mid-write; that case simply runs again
            if "header" in obj:
                header = obj["header"]
            elif "run" in obj:
                run = run_from_dict(obj["run"])
                done[(run.case_id, run.model, run.repeat)] = run
    return header, done
