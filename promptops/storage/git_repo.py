"""A thin, safe wrapper over the git CLI: argument lists, no shell, no prompts, timeouts."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from promptops.core.errors import (
    ConfigError,
    ConflictError,
    DirtyTreeError,
    PromptopsError,
    TagExistsError,
)

TIMEOUT_S = 30.0
COMMIT_TIMEOUT_S = 300.0  # commit hooks may run
MAX_LISTED = 10
_TRAILER_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_LOCK_HINTS = ("index.lock", "cannot lock ref", ".lock': file exists")


def trim_output(text: str, limit: int = 500) -> str:
    """Git's stderr squeezed onto one short line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class GitRepo:
    """One git work tree, driven through the git command line."""

    def __init__(self, root: Path) -> None:
        """Open the work tree containing `root`; ConfigError if there is none."""
        self.root = Path(root).resolve()
        try:
            out = self.git("rev-parse", "--show-toplevel", error=ConfigError)
        except ConfigError as exc:
            raise ConfigError(
                "not inside a git work tree", where=str(root), why=exc.why, fix="git init"
            ) from None
        self.root = Path(out.decode().strip()).resolve()

    @classmethod
    def find(cls, start: Path) -> GitRepo:
        """The repository whose work tree contains `start` (walks up like git does)."""
        return cls(start)

    # -- plumbing -------------------------------------------------------------------------------

    def run(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None,
        timeout: float = TIMEOUT_S,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run git in the repo root and return the finished process, whatever its status."""
        full_env = {k: v for k, v in os.environ.items() if k != "GIT_INDEX_FILE"}
        full_env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_LITERAL_PATHSPECS="1")
        full_env.update(env or {})
        try:
            return subprocess.run(
                ["git", *args], cwd=self.root, input=stdin, capture_output=True,
                env=full_env, timeout=timeout, check=False,
                stdin=None if stdin is not None else subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise ConfigError("git is not installed or not on PATH", fix="install git") from None
        except subprocess.TimeoutExpired:
            raise ConflictError(
                f"git {args[0]} did not finish", where=str(self.root),
                why=f"timed out after {timeout:.0f}s", fix="check for a hung git process or hook",
            ) from None

    def git(
        self, *args: str, error: type[PromptopsError] = ConflictError, stdin: bytes | None = None,
        env: Mapping[str, str] | None = None, timeout: float = TIMEOUT_S,
    ) -> bytes:
        """Run git and return stdout; a failure becomes `error` (ConflictError for locks)."""
        proc = self.run(*args, stdin=stdin, env=env, timeout=timeout)
        if proc.returncode == 0:
            return proc.stdout
        why = trim_output(proc.stderr.decode(errors="replace")
                          or proc.stdout.decode(errors="replace"))
        if any(h in why.lower() for h in _LOCK_HINTS):
            raise ConflictError(
                f"git {args[0]} refused: a lock is held", where=str(self.root), why=why,
                fix="wait for the other git process; if none is running, remove the stale .lock",
            )
        raise error(f"git {args[0]} failed", where=str(self.root), why=why)

    def _ok(self, *args: str, env: Mapping[str, str] | None = None) -> bool:
        """True when git exits 0."""
        return self.run(*args, env=env).returncode == 0

    def _git_path(self, name: str) -> Path:
        """Absolute path of a file inside the git dir (`git rev-parse --git-path`)."""
        out = self.git("rev-parse", "--git-path", name).decode().strip()
        return (self.root / out).resolve()

    # -- state ----------------------------------------------------------------------------------

    def head(self) -> str | None:
        """The HEAD commit sha, or None on an unborn branch."""
        proc = self.run("rev-parse", "-q", "--verify", "HEAD^{commit}")
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def dirty_paths(self) -> list[str]:
        """Modified, staged and untracked (not ignored) paths, repo-relative."""
        out = self.git(
            "status", "--porcelain", "-z", "--untracked-files=all",
            env={"GIT_OPTIONAL_LOCKS": "0"},
        )
        paths: list[str] = []
        fields = out.decode("utf-8", errors="surrogateescape").split("\0")
        i = 0
        while i < len(fields):
            entry = fields[i]
            i += 1
            if len(entry) < 4:
                continue
            paths.append(entry[3:])
            if entry[0] in "RC":  # renames and copies are followed by their source path
                paths.append(fields[i])
                i += 1
        return sorted(set(paths))

    def require_clean(self, *, allow: Iterable[str] = ()) -> None:
        """DirtyTreeError unless every dirty path is under an allowed prefix."""
        prefixes = [a.strip("/") for a in allow if a.strip("/")]

        def allowed(path: str) -> bool:
            return any(path == p or path.startswith(p + "/") for p in prefixes)

        bad = [p for p in self.dirty_paths() if not allowed(p)]
        if not bad:
            return
        shown = ", ".join(bad[:MAX_LISTED]) + (f" (+{len(bad) - MAX_LISTED} more)"
                                               if len(bad) > MAX_LISTED else "")
        raise DirtyTreeError(
            f"the working tree has {len(bad)} uncommitted change(s)", where=str(self.root),
            why=shown, fix="commit or stash them, or pass --allow-dirty where offered",
        )

    # -- commits --------------------------------------------------------------------------------

    def _identity_config(self) -> list[str]:
        """`-c user.*=promptops…` only for the identity parts git has no value for."""
        # GIT_AUTHOR_*/GIT_COMMITTER_* still win over -c; EMAIL counts when user.email is unset.
        args: list[str] = []
        if not self._config("user.name"):
            args += ["-c", "user.name=promptops"]
        if not self._config("user.email") and not os.environ.get("EMAIL"):
            args += ["-c", "user.email=promptops@localhost"]
        return args

    def _config(self, key: str) -> str:
        """A git config value, or '' when unset."""
        proc = self.run("config", "--get", key)
        return proc.stdout.decode(errors="replace").strip() if proc.returncode == 0 else ""

    def _relpath(self, path: str) -> str:
        """A repo-relative path; ConfigError for paths outside the work tree."""
        full = Path(os.path.normpath(self.root / path))  # an absolute `path` replaces root
        try:
            return (full.parent.resolve() / full.name).relative_to(self.root).as_posix()
        except ValueError:
            raise ConfigError("path is outside the repository", where=path) from None

    def commit(
        self, paths: Sequence[str], message: str, *, trailers: Mapping[str, str] = {}
    ) -> str:
        """Commit exactly `paths` (adds, edits, deletions); other staged work is untouched."""
        if not paths:
            raise ConfigError("nothing to commit: no paths given")
        rel = [self._relpath(p) for p in paths]
        args: list[str] = []
        for key, value in trailers.items():
            if not _TRAILER_KEY.match(key) or "\n" in value:
                raise ConfigError("invalid commit trailer", where=key, why=repr(value))
            args += ["--trailer", f"{key}: {value}"]
        if self._git_path("index.lock").exists():
            raise ConflictError(
                "git index is locked", where=str(self._git_path("index.lock")),
                why="another git process is running, or one crashed and left index.lock",
                fix="wait for it; if none is running, remove the index.lock file",
            )
        head = self.head()
        with tempfile.TemporaryDirectory(prefix="promptops-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if head is not None:
                self.git("read-tree", head, env=env)
            self.git("add", "-A", "--", *rel, error=ConfigError, env=env)
            if head is not None and self._ok("diff", "--cached", "--quiet", head, env=env):
                raise ConfigError("nothing to commit: the paths match HEAD", why=", ".join(rel))
            self.git(
                *self._identity_config(), "commit", "-q", "--cleanup=whitespace", "-F", "-",
                *args, stdin=message.encode(), env=env, timeout=COMMIT_TIMEOUT_S,
            )
        sha = self.head()
        assert sha is not None
        # Make the real index agree with the new commit for these paths only.
        self.git("reset", "-q", sha, "--", *rel)
        return sha

    # -- tags -----------------------------------------------------------------------------------

    def tag_exists(self, name: str) -> bool:
        """True if refs/tags/<name> exists."""
        return self._ok("show-ref", "--verify", "-q", f"refs/tags/{name}")

    def create_tag(
        self, name: str, message: str, *, commit: str | None = None, sign: bool = False
    ) -> None:
        """Create an annotated tag; never moves an existing one."""
        if name.startswith("-") or not self._ok("check-ref-format", f"refs/tags/{name}"):
            raise ConfigError("invalid tag name", where=name, fix="see git check-ref-format")
        if self.tag_exists(name):
            raise TagExistsError(
                "tag already exists; release tags are never moved", where=name,
                fix="release the next version instead",
            )
        target = commit or self.head()
        if target is None:
            raise ConfigError("cannot tag: the branch has no commits yet", where=str(self.root))
        proc = self.run("rev-parse", "-q", "--verify", f"{target}^{{commit}}")
        if proc.returncode != 0:
            raise ConfigError("cannot tag: no such commit", where=target)
        sha = proc.stdout.decode().strip()
        mode = "-s" if sign else "-a"
        try:
            self.git(*self._identity_config(), "tag", mode, "--cleanup=verbatim", "-F", "-",
                      name, sha, stdin=message.encode())
        except ConflictError as exc:
            if "already exists" in (exc.why or ""):
                raise TagExistsError("tag already exists", where=name, why=exc.why) from None
            raise

    def tag_message(self, name: str) -> str | None:
        """The annotation body of an annotated tag (signature removed), or None."""
        if not self.tag_exists(name):  # valid names contain no globs: the pattern is exact
            return None
        fmt = "%(objecttype)%00%(contents:signature)%00%(contents)"
        out = self.git("for-each-ref", f"--format={fmt}", f"refs/tags/{name}").decode()
        kind, sig, body = [*out.removesuffix("\n").split("\0", 2), "", ""][:3]
        if kind != "tag":  # a lightweight tag has no annotation
            return None
        return body.removesuffix(sig) if sig else body

    def tags(self, prefix: str = "") -> list[str]:
        """Tag names starting with `prefix`, sorted as strings (sort versions with semver)."""
        out = self.git("for-each-ref", "--format=%(refname:lstrip=2)", "refs/tags/")
        return sorted(t for t in out.decode().splitlines() if t.startswith(prefix))

    def commit_with_subject(self, subject: str) -> str | None:
        """The newest commit whose subject line is exactly `subject`, or None."""
        out = self.git("log", "--format=%H%x00%s", "-n", "500")
        for line in out.decode(errors="replace").splitlines():
            sha, _, subj = line.partition("\0")
            if subj == subject:
                return sha
        return None

    def tag_commit(self, name: str) -> str | None:
        """The commit a tag points to, or None if the tag is missing."""
        proc = self.run("rev-parse", "-q", "--verify", f"refs/tags/{name}^{{commit}}")
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    # -- content & identity ---------------------------------------------------------------------

    def file_at(self, rev: str, path: str) -> bytes | None:
        """The bytes of `path` at `rev`, or None when either is absent."""
        if rev.startswith("-"):
            raise ConfigError("invalid revision", where=rev)
        proc = self.run("cat-file", "blob", f"{rev}:{path}")
        return proc.stdout if proc.returncode == 0 else None

    def user(self) -> str:
        """'Name <email>' from git config, or 'unknown'."""
        name, email = self._config("user.name"), self._config("user.email")
        if name and email:
            return f"{name} <{email}>"
        return name or (f"<{email}>" if email else "unknown")
