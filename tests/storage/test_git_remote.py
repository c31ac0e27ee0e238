"""Tests for GitRemote against a bare repository in tmp_path (never the network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_git_repo import git, make_repo

from promptops.core.errors import ConflictError, RemoteUnreachableError
from promptops.storage.git_remote import Divergence, GitRemote
from promptops.storage.git_repo import GitRepo


def with_origin(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path)
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "-u", "origin", "main")
    return repo, bare


def commit_file(repo: Path, name: str) -> None:
    (repo / name).write_text(name)
    GitRepo(repo).commit([name], f"add {name}")


def test_no_upstream_detached_or_local_upstream_is_none(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    assert GitRemote(GitRepo(repo)).upstream() is None
    git(repo, "branch", "feature")
    git(repo, "branch", "--set-upstream-to=main", "feature")
    git(repo, "checkout", "-q", "feature")
    assert GitRemote(GitRepo(repo)).upstream() is None  # remote ".": a local branch
    git(repo, "checkout", "-q", "--detach")
    assert GitRemote(GitRepo(repo)).upstream() is None


def test_upstream_fetch_and_divergence(tmp_path: Path) -> None:
    repo, bare = with_origin(tmp_path)
    remote = GitRemote(GitRepo(repo))
    up = remote.upstream()
    assert up is not None
    assert (up.branch, up.remote, up.remote_branch, up.tracking, up.label) == (
        "main", "origin", "main", "refs/remotes/origin/main", "origin/main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    git(other, "config", "user.name", "Bob")
    git(other, "config", "user.email", "bob@example.com")
    commit_file(other, "theirs.txt")
    git(other, "push", "-q", "origin", "main")
    commit_file(repo, "mine.txt")
    assert remote.divergence(up) == Divergence(ahead=1, behind=0)  # not fetched yet
    remote.fetch(up)
    assert remote.divergence(up) == Divergence(ahead=1, behind=1)
    assert remote.changed_upstream(up) == ["theirs.txt"]


def test_push_is_atomic_and_never_forced(tmp_path: Path) -> None:
    repo, bare = with_origin(tmp_path)
    gr = GitRepo(repo)
    remote = GitRemote(gr)
    up = remote.upstream()
    assert up is not None
    commit_file(repo, "one.txt")
    gr.create_tag("v1", "release 1")
    remote.push(up, "v1")
    assert git(bare, "rev-parse", "main").strip() == gr.head()
    assert git(bare, "rev-parse", "v1^{commit}").strip() == gr.head()
    # someone else moves main: our next push is rejected, tag and all
    git(bare.parent, "clone", "-q", str(bare), str(tmp_path / "o2"))
    other = tmp_path / "o2"
    git(other, "config", "user.name", "Bob")
    git(other, "config", "user.email", "bob@example.com")
    commit_file(other, "theirs.txt")
    git(other, "push", "-q", "origin", "main")
    theirs = git(bare, "rev-parse", "main").strip()
    commit_file(repo, "two.txt")
    gr.create_tag("v2", "release 2")
    with pytest.raises(ConflictError, match="rejected"):
        remote.push(up, "v2")
    assert git(bare, "rev-parse", "main").strip() == theirs
    assert git(bare, "tag", "-l", "v2") == ""
    remote.delete_local_tag("v2")
    assert not gr.tag_exists("v2")


def test_unreachable_remote(tmp_path: Path) -> None:
    repo, _ = with_origin(tmp_path)
    git(repo, "remote", "set-url", "origin", str(tmp_path / "missing.git"))
    remote = GitRemote(GitRepo(repo))
    up = remote.upstream()
    assert up is not None
    with pytest.raises(RemoteUnreachableError, match="git fetch origin failed") as info:
        remote.fetch(up)
    assert "--no-push" in str(info.value.fix) and info.value.exit_code == 3
    commit_file(repo, "x.txt")
    with pytest.raises(RemoteUnreachableError, match="git push origin failed"):
        remote.push(up)


def test_a_hanging_remote_is_unreachable_not_a_hang(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = with_origin(tmp_path)
    git(repo, "remote", "set-url", "origin", "ssh://promptops.invalid/x.git")
    monkeypatch.setenv("GIT_SSH_COMMAND", "sleep 2; false")  # a network that swallows packets
    remote = GitRemote(GitRepo(repo))
    up = remote.upstream()
    assert up is not None
    with pytest.raises(RemoteUnreachableError, match="git fetch origin failed") as info:
        remote.fetch(up, timeout=0.5)
    assert "timed out" in str(info.value.why)
