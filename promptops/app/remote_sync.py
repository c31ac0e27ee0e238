"""Remote compare-and-swap for the commands that commit (registry.md §6.6).

`prepare` runs before anything is written: when the branch has an upstream it fetches and
refuses a branch that is behind or has diverged. `publish` runs after the local commit (and tag):
one `git push --atomic`, never forced. A rejected push keeps the local commit and removes the
tag it could not push, so nothing is lost and a re-run can finish the job. `publish_pointer`
(promote, rollback) retries once, rebased, when the upstream left those prompts' pointer
entries alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptops.core.errors import ConfigError, ConflictError, RemoteUnreachableError
from promptops.core.yamlsource import parse_yaml
from promptops.storage.git_remote import (
    NETWORK_TIMEOUT_S,
    QUICK_FETCH_TIMEOUT_S,
    GitRemote,
    Upstream,
)
from promptops.storage.git_repo import GitRepo


@dataclass(frozen=True)
class RemoteSync:
    """What `prepare` found: the upstream (None: local only), whether to push, and warnings."""

    upstream: Upstream | None
    push: bool
    warnings: tuple[str, ...] = ()

    @property
    def label(self) -> str | None:
        """origin/main, or None without an upstream."""
        return self.upstream.label if self.upstream else None


LOCAL = RemoteSync(None, False)


def prepare(repo: GitRepo, command: str, *, push: bool = True, dry_run: bool = False,
            pointer: str | None = None) -> RemoteSync:
    """Fetch the upstream and refuse a stale branch, before the command writes anything.

    No upstream, or `push=False` (--no-push): local only, nothing fetched. `pointer` marks the
    rollback mode (the pointer file it will write): a failed fetch only warns, and a branch
    that is behind is refused only when the upstream commits changed that pointer file;
    otherwise the rollback is committed locally and not pushed (a push would be rejected).
    """
    remote = GitRemote(repo)
    up = remote.upstream() if push else None
    if up is None:
        return LOCAL
    try:
        remote.fetch(up, QUICK_FETCH_TIMEOUT_S if pointer is not None else NETWORK_TIMEOUT_S)
    except RemoteUnreachableError as exc:
        if pointer is None:
            raise
        return RemoteSync(up, False, (
            f"{exc.what} ({exc.why}); rolling back locally only: push the commit with "
            f"`git push` once {up.remote} is reachable",))
    div = remote.divergence(up)
    if not div.behind:
        return RemoteSync(up, not dry_run)
    state = (f"{div.behind} commit(s) behind {up.label}" if not div.ahead else
             f"diverged from {up.label} ({div.ahead} local, {div.behind} upstream commit(s))")
    fix = ("git pull --ff-only" if not div.ahead else "git pull --rebase") + \
        f", then re-run `promptops {command}`"
    if pointer is not None:
        if pointer not in remote.changed_upstream(up):
            return RemoteSync(up, False, (
                f"{up.branch} is {state}, which did not change {pointer}: rolled back locally "
                f"only, not pushed (it would be rejected); publish it with `git pull --rebase` "
                "then `git push`",))
        raise ConflictError(
            f"{up.branch} is {state}, and they changed {pointer}", where=up.label,
            why="a rollback computed from the stale pointer could undo someone else's "
            "deployment; nothing was written", fix=fix)
    raise ConflictError(
        f"{up.branch} is {state}", where=up.label,
        why="the commit must build on the upstream or its push would be rejected; nothing "
        "was written", fix=fix)


def publish(repo: GitRepo, sync: RemoteSync, commit: str, *, tag: str | None = None,
            retry: str = "git push", offline_ok: bool = False) -> tuple[bool, tuple[str, ...]]:
    """Push HEAD (and `tag`) atomically; (pushed, warnings). Errors keep the local commit.

    On failure the local `tag` is deleted (a re-run of `retry` re-creates and pushes it). A
    rejection (the remote moved) is a ConflictError; an unreachable remote is a
    RemoteUnreachableError, or only a warning with `offline_ok`.
    """
    if not sync.push or sync.upstream is None:
        return False, sync.warnings
    up = sync.upstream
    remote = GitRemote(repo)
    try:
        remote.push(up, tag)
    except (ConflictError, RemoteUnreachableError) as exc:
        kept = f"nothing is lost: the local commit {commit[:12]} stays"
        if tag:
            remote.delete_local_tag(tag)
            kept += f" and the unpushed tag {tag} was removed"
        if isinstance(exc, ConflictError):
            raise ConflictError(
                f"committed {commit[:12]} locally, but {up.label} moved: the push was rejected",
                where=up.label, why=exc.why,
                fix=f"{kept}; run `git pull --rebase`, then `{retry}`") from None
        if offline_ok:
            return False, (*sync.warnings, f"{exc.what} ({exc.why}); committed "
                           f"{commit[:12]} locally only: `git push` once {up.remote} is "
                           "reachable")
        raise RemoteUnreachableError(
            f"committed {commit[:12]} locally, but {exc.what}", where=up.label, why=exc.why,
            fix=f"{kept}; once {up.remote} is reachable run `{retry}`") from None
    return True, sync.warnings


def _entry_at(repo: GitRepo, rev: str, pointer: str, name: str) -> object:
    raw = repo.file_at(rev, pointer)
    try:
        data = parse_yaml(raw.decode("utf-8"), pointer) if raw else None
    except (ConfigError, UnicodeDecodeError):
        return "unreadable"
    prompts = data.get("prompts") if isinstance(data, dict) else None
    return prompts.get(name) if isinstance(prompts, dict) else None


def publish_pointer(repo: GitRepo, sync: RemoteSync, commit: str, pointer: str,
                    names: Sequence[str], *, offline_ok: bool = False
                    ) -> tuple[bool, tuple[str, ...], str]:
    """`publish` for promote and rollback, with one automatic retry: (pushed, warnings, commit).

    When the push is rejected because someone pushed in between, and the upstream commits left
    these prompts' entries in `pointer` alone, the local commit is rebased onto the upstream
    and pushed again (registry.md: retry only when the pointer block is unchanged). Otherwise,
    or when the rebase does not apply cleanly, the ConflictError stands and the commit stays.
    """
    try:
        pushed, warnings = publish(repo, sync, commit, offline_ok=offline_ok)
        return pushed, warnings, commit
    except ConflictError as rejected:
        up = sync.upstream
        if up is None:
            raise
        remote = GitRemote(repo)
        try:
            remote.fetch(up)
        except (ConflictError, RemoteUnreachableError):
            raise rejected from None
        base = repo.run("merge-base", "HEAD", up.tracking).stdout.decode().strip()
        moved = [n for n in names if base and _entry_at(repo, base, pointer, n)
                 != _entry_at(repo, up.tracking, pointer, n)]
        if not base or moved:
            why = (f"the upstream changed {', '.join(moved)} in {pointer}" if moved
                   else rejected.why)
            raise ConflictError(rejected.what, where=rejected.where, why=why,
                                fix=rejected.fix) from None
        if not remote.rebase(up):
            raise ConflictError(rejected.what, where=rejected.where,
                                why=f"{rejected.why}; the automatic rebase did not apply "
                                "cleanly", fix=rejected.fix) from None
        new = repo.head() or commit
        pushed, warnings = publish(repo, sync, new, offline_ok=offline_ok)
        note = (f"{up.label} moved during the push (not {pointer} for {', '.join(names)}): "
                f"rebased {commit[:12]} onto it as {new[:12]}")
        return pushed, (*warnings, note), new
