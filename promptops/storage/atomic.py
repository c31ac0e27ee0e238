"""Crash-safe file writes (temp file + fsync + rename) and the repository lock."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from pathlib import Path
from types import TracebackType

from promptops.core.errors import ConflictError

_TMP_SUFFIX = ".tmp"
_TMP_RE = re.compile(r"(\d+)\.[0-9a-f]+\.tmp")  # after `.<name>.`: `<pid>.<random>.tmp`
_POLL_S = 0.05
_EMPTY_LOCK_GRACE_S = 2.0  # a lock file with no pid yet is being written, unless it is this old


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable; a no-op where directories cannot be opened (Windows)."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    try:
        fd = os.open(directory, os.O_RDONLY | flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_files(path: Path) -> list[Path]:
    """Leftover temp files of `path` (from writers that died mid-write or are still writing)."""
    if not path.parent.is_dir():
        return []
    return sorted(path.parent.glob(f".{path.name}.*{_TMP_SUFFIX}"))


def clean_temp_files(path: Path) -> None:
    """Delete temp files of `path` whose writer process is gone."""
    for tmp in temp_files(path):
        match = _TMP_RE.fullmatch(tmp.name[len(path.name) + 2 :])
        if match and not _pid_alive(int(match[1])):
            with contextlib.suppress(OSError):
                tmp.unlink()


def atomic_write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file, never a mix.

    With `exclusive`, never replace an existing file: raise FileExistsError instead.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_temp_files(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # atomic, and fails instead of overwriting
            tmp.unlink()
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def lock_path(root: Path) -> Path:
    """`.git/promptops.lock` in a git checkout (never committed), else `.promptops/lock`."""
    git = root / ".git"
    if git.is_file():  # worktree or submodule: `.git` names the real git directory
        text = git.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            gitdir = Path(text.split(":", 1)[1].strip())
            git = gitdir if gitdir.is_absolute() else root / gitdir
    if git.is_dir():
        return git / "promptops.lock"
    return root / ".promptops" / "lock"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _holder(content: str) -> int | None:
    """The pid written in a lock file, or None when it is empty or unreadable."""
    head = content.split(maxsplit=1)
    return int(head[0]) if head and head[0].isdigit() else None


class RepoLock:
    """Exclusive, cross-process lock on the repository's promptops state (not re-entrant)."""

    def __init__(self, root: Path, timeout_s: float = 10.0) -> None:
        self.path = lock_path(root)
        self.timeout_s = timeout_s
        self._content: str | None = None

    def __enter__(self) -> RepoLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, waiting up to timeout_s; stale locks (dead pid) are taken over."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout_s
        holder: int | None = None
        while True:
            if self._try_create():
                return
            content = _read(self.path)
            if content is not None:
                holder = _holder(content)
                if self._is_stale(content, holder):
                    self._break(content)
                    continue
            if time.monotonic() >= deadline:
                raise ConflictError(
                    f"another promptops command is running (pid {holder or '?'})",
                    where=str(self.path),
                    fix=f"wait for it, or delete {self.path} if that process is gone",
                )
            time.sleep(_POLL_S)

    def release(self) -> None:
        """Remove the lock file if it is still ours."""
        if self._content is not None and _read(self.path) == self._content:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self._content = None

    def _try_create(self) -> bool:
        content = f"{os.getpid()} {time.time():.6f}\n"
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
        self._content = content
        return True

    def _is_stale(self, content: str, holder: int | None) -> bool:
        if holder is not None:
            return not _pid_alive(holder)
        try:  # empty: its creator is between open and write, or died there
            return time.time() - self.path.stat().st_mtime > _EMPTY_LOCK_GRACE_S
        except FileNotFoundError:
            return False

    def _break(self, seen: str) -> None:
        """Delete a stale lock, unless another waiter has already replaced it."""
        breaker = self.path.with_name(self.path.name + ".break")
        try:
            os.close(os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - breaker.stat().st_mtime > _EMPTY_LOCK_GRACE_S:
                    breaker.unlink()  # its owner died while breaking
            time.sleep(_POLL_S)
            return
        try:
            if _read(self.path) == seen:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
        finally:
            breaker.unlink(missing_ok=True)
