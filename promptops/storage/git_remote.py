"""The remote half of git as the system of record: upstream, fetch, ahead/behind, atomic push.

Never force-pushes. A push is `git push --atomic`, so the branch and the release tag land together
or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from promptops.core.errors import ConflictError, RemoteUnreachableError
from promptops.storage.git_repo import GitRepo, trim_output

NETWORK_TIMEOUT_S = 120.0
QUICK_FETCH_TIMEOUT_S = 15.0  # rollback: an emergency does not wait long for the network
_REJECTED = ("[rejected]", "[remote rejected]", "non-fast-forward", "fetch first",
             "atomic push failed", "stale info")


@dataclass(frozen=True)
class Upstream:
    """The branch's upstream: `remote`'s `remote_branch`, mirrored locally at `tracking`."""

    branch: str  # the local branch, e.g. main
    remote: str  # e.g. origin
    remote_branch: str  # e.g. main (from branch.<name>.merge)
    tracking: str  # e.g. refs/remotes/origin/main

    @property
    def label(self) -> str:
        """How git shows it: origin/main."""
        return f"{self.remote}/{self.remote_branch}"


@dataclass(frozen=True)
class Divergence:
    """Commits only on the local branch (ahead) and only on its upstream (behind)."""

    ahead: int
    behind: int


class GitRemote:
    """Remote operations on one GitRepo's current branch."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo

    def upstream(self) -> Upstream | None:
        """The current branch's remote upstream; None when detached, unset or a local branch."""
        proc = self.repo.run("symbolic-ref", "-q", "HEAD")
        if proc.returncode != 0:
            return None
        ref = proc.stdout.decode().strip()
        fmt = "%(upstream)%00%(upstream:remotename)%00%(upstream:remoteref)"
        out = self.repo.git("for-each-ref", f"--format={fmt}", ref).decode().strip()
        tracking, remote, merge = [*out.split("\0"), "", ""][:3]
        if not remote or remote == "." or not merge.startswith("refs/heads/"):
            return None
        return Upstream(branch=ref.removeprefix("refs/heads/"), remote=remote,
                        remote_branch=merge.removeprefix("refs/heads/"),
                        tracking=tracking or f"refs/remotes/{remote}/"
                        f"{merge.removeprefix('refs/heads/')}")

    def fetch(self, up: Upstream, timeout: float = NETWORK_TIMEOUT_S) -> None:
        """`git fetch <remote>`; RemoteUnreachableError when it fails or hangs."""
        try:
            proc = self.repo.run("fetch", "--quiet", up.remote, timeout=timeout)
        except ConflictError as exc:  # run()'s timeout
            raise RemoteUnreachableError(f"git fetch {up.remote} failed", where=up.label,
                                         why=exc.why, fix=f"check that {up.remote} is "
                                         "reachable, or pass --no-push") from None
        if proc.returncode == 0:
            return
        why = trim_output(proc.stderr.decode(errors="replace")) or f"exit {proc.returncode}"
        if "[rejected]" in why:  # e.g. a local tag that differs from the remote's
            raise ConflictError(f"git fetch {up.remote} refused to update a local ref",
                                where=up.label, why=why,
                                fix="compare the local and remote refs named above; delete "
                                "the stale local one (git tag -d NAME) and re-run")
        raise RemoteUnreachableError(
            f"git fetch {up.remote} failed", where=str(self.repo.root), why=why,
            fix=f"check that {up.remote} is reachable (git fetch {up.remote}), or pass "
            "--no-push to work locally only")

    def divergence(self, up: Upstream) -> Divergence:
        """Ahead/behind of HEAD against the (fetched) upstream; behind 0 if it does not exist."""
        if self.repo.run("rev-parse", "-q", "--verify", f"{up.tracking}^{{commit}}"
                          ).returncode != 0:
            return Divergence(ahead=0, behind=0)
        if self.repo.head() is None:
            return Divergence(ahead=0, behind=int(self.repo.git(
                "rev-list", "--count", up.tracking).decode().strip() or 0))
        out = self.repo.git("rev-list", "--left-right", "--count", f"HEAD...{up.tracking}")
        ahead, behind = (int(n) for n in out.decode().split())
        return Divergence(ahead=ahead, behind=behind)

    def changed_upstream(self, up: Upstream) -> list[str]:
        """Paths the upstream commits (those not in HEAD) changed since the merge base."""
        base = self.repo.run("merge-base", "HEAD", up.tracking)
        if base.returncode != 0:
            return []
        out = self.repo.git("diff", "--name-only", "-z", base.stdout.decode().strip(),
                             up.tracking)
        return sorted(p for p in out.decode(errors="surrogateescape").split("\0") if p)

    def push(self, up: Upstream, tag: str | None = None) -> None:
        """Push HEAD (and `tag`) atomically; ConflictError on rejection, never a force-push."""
        refs = [f"HEAD:refs/heads/{up.remote_branch}"] + ([f"refs/tags/{tag}"] if tag else [])
        try:
            proc = self.repo.run("push", "--atomic", "--porcelain", up.remote, *refs,
                                  timeout=NETWORK_TIMEOUT_S)
        except ConflictError as exc:  # run()'s timeout: it may or may not have landed
            raise RemoteUnreachableError(f"git push {up.remote} did not finish", where=up.label,
                                         why=exc.why, fix=f"git fetch {up.remote} shows whether "
                                         "it landed") from None
        if proc.returncode == 0:
            return
        text = (proc.stdout + b"\n" + proc.stderr).decode(errors="replace")
        why = trim_output(text) or f"exit {proc.returncode}"
        if any(marker in text for marker in _REJECTED):
            raise ConflictError(f"the push to {up.label} was rejected", where=up.label, why=why)
        raise RemoteUnreachableError(f"git push {up.remote} failed", where=up.label, why=why)

    def tag_exists(self, up: Upstream, tag: str, timeout: float = NETWORK_TIMEOUT_S) -> bool:
        """Whether `remote` has refs/tags/<tag> (asked directly: a fetch may not bring it)."""
        try:
            proc = self.repo.run("ls-remote", "--tags", up.remote, f"refs/tags/{tag}",
                                 timeout=timeout)
        except ConflictError as exc:  # run()'s timeout
            raise RemoteUnreachableError(f"git ls-remote {up.remote} did not finish",
                                         where=up.label, why=exc.why) from None
        if proc.returncode != 0:
            raise RemoteUnreachableError(
                f"git ls-remote {up.remote} failed", where=up.label,
                why=trim_output(proc.stderr.decode(errors="replace")) or "no answer")
        return bool(proc.stdout.strip())

    def rebase(self, up: Upstream) -> bool:
        """Replay the local commits on the fetched upstream (local edits stashed and restored);
        False, with everything as it was, when git cannot do it cleanly."""
        proc = self.repo.run("rebase", "--autostash", "--quiet", up.tracking)
        if proc.returncode == 0:
            return True
        self.repo.run("rebase", "--abort")
        return False

    def delete_local_tag(self, tag: str) -> None:
        """Delete a local tag (one this command created and could not push)."""
        self.repo.git("tag", "-d", tag)
