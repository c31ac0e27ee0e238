"""Tests for GitRepo, the git CLI wrapper, against real temporary repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from promptops.core.errors import ConfigError, ConflictError, DirtyTreeError, TagExistsError
from promptops.storage.git_repo import GitRepo


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return stdout."""
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout



def make_repo(tmp_path: Path, *, identity: bool = True) -> Path:
    """A fresh repo with one commit of a.txt and b.txt (when an identity is set)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    if identity:
        git(repo, "config", "user.name", "Ada Tester")
        git(repo, "config", "user.email", "ada@example.com")
        (repo / "a.txt").write_text("a1\n")
        (repo / "b.txt").write_text("b1\n")
        git(repo, "add", "a.txt", "b.txt")
        git(repo, "commit", "-q", "-m", "init")
    return repo


def test_not_a_repo_is_config_error(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ConfigError) as info:
        GitRepo(plain)
    assert info.value.exit_code == 2
    assert info.value.fix == "git init"


def test_find_walks_up_and_head(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    sub = repo / "deep" / "er"
    sub.mkdir(parents=True)
    found = GitRepo.find(sub)
    assert found.root == repo.resolve()
    assert found.head() == git(repo, "rev-parse", "HEAD").strip()


def test_unborn_head_is_none(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, identity=False)
    assert GitRepo(repo).head() is None


def test_dirty_paths_and_allow(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    gr = GitRepo(repo)
    assert gr.dirty_paths() == []
    gr.require_clean()
    (repo / "a.txt").write_text("a2\n")  # modified
    (repo / "b.txt").write_text("b2\n")
    git(repo, "add", "b.txt")  # staged
    (repo / "prompts").mkdir()
    (repo / "prompts" / "new.md").write_text("x")  # untracked, inside a directory
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "skip.log").write_text("ignored")
    assert gr.dirty_paths() == [".gitignore", "a.txt", "b.txt", "prompts/new.md"]
    with pytest.raises(DirtyTreeError) as info:
        gr.require_clean(allow=["prompts/"])
    assert info.value.exit_code == 4
    assert "a.txt" in (info.value.why or "") and "prompts/new.md" not in (info.value.why or "")
    gr.require_clean(allow=["prompts", "a.txt", "b.txt", ".gitignore"])
    with pytest.raises(DirtyTreeError):  # prefixes match whole path components
        gr.require_clean(allow=["prompt", "a.txt", "b.txt", ".gitignore"])


def test_require_clean_lists_at_most_ten(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    for i in range(12):
        (repo / f"f{i:02}.txt").write_text("x")
    with pytest.raises(DirtyTreeError) as info:
        GitRepo(repo).require_clean()
    why = info.value.why or ""
    assert "f09.txt" in why and "f10.txt" not in why and "+2 more" in why


def test_commit_only_given_paths(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    gr = GitRepo(repo)
    (repo / "a.txt").write_text("a2\n")
    (repo / "b.txt").write_text("b2-staged\n")
    git(repo, "add", "b.txt")  # the user's own staged change
    (repo / "b.txt").write_text("b3-unstaged\n")
    (repo / "c.txt").write_text("c\n")  # untracked, not committed
    (repo / "p").mkdir()
    (repo / "p" / "new.md").write_text("new\n")
    before = git(repo, "diff", "--cached", "--name-only")
    assert before.split() == ["b.txt"]
    sha = gr.commit(["a.txt", "p/new.md"], "release router 1.0.0")
    assert sha == git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "show", "--name-only", "--format=", sha).split() == ["a.txt", "p/new.md"]
    assert git(repo, "diff", "--cached", "--name-only") == before
    assert git(repo, "show", ":b.txt") == "b2-staged\n"
    assert (repo / "b.txt").read_text() == "b3-unstaged\n"
    assert git(repo, "diff", "--name-only").split() == ["b.txt"]
    assert "c.txt" in git(repo, "status", "--porcelain")
    assert git(repo, "status", "--porcelain", "--", "a.txt", "p") == ""


def test_commit_deletion_and_trailers(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    gr = GitRepo(repo)
    (repo / "a.txt").unlink()
    gr.commit(["a.txt"], "yank router\n\nbody # not a comment",
              trailers={"Promptops-Version": "2.3.1", "Promptops-Actor": "ci"})
    assert git(repo, "ls-tree", "--name-only", "HEAD").split() == ["b.txt"]
    msg = git(repo, "log", "-1", "--format=%B")
    assert "body # not a comment" in msg
    assert "\n\nPromptops-Version: 2.3.1\nPromptops-Actor: ci" in msg
    assert gr.dirty_paths() == []
    (repo / "b.txt").write_text("b2\n")
    with pytest.raises(ConfigError):
        gr.commit(["b.txt"], "x", trailers={"bad key": "v"})
    with pytest.raises(ConfigError):
        gr.commit(["b.txt"], "x", trailers={"Key": "two\nlines"})
    assert git(repo, "log", "-1", "--format=%s").strip() == "yank router"


def test_commit_nothing_changed_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(ConfigError):
        GitRepo(repo).commit(["a.txt"], "noop")
    assert git(repo, "rev-parse", "HEAD") == head


def test_commit_without_identity_falls_back(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, identity=False)
    (repo / "a.txt").write_text("a\n")
    gr = GitRepo(repo)
    assert gr.user() == "unknown"
    sha = gr.commit(["a.txt"], "first")  # also covers committing on an unborn branch
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha).strip() == (
        "promptops <promptops@localhost>|promptops <promptops@localhost>")
    assert git(repo, "config", "--list", "--local").count("user.") == 0


def test_commit_with_index_lock_is_conflict(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "a.txt").write_text("a2\n")
    (repo / ".git" / "index.lock").write_text("")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(ConflictError) as info:
        GitRepo(repo).commit(["a.txt"], "blocked")
    assert info.value.exit_code == 6
    assert git(repo, "rev-parse", "HEAD") == head


def test_git_failure_maps_to_promptops_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    with pytest.raises(ConfigError) as info:
        GitRepo(repo).commit(["missing.txt"], "nope")
    assert "missing.txt" in (info.value.why or "")
    with pytest.raises(ConfigError):
        GitRepo(repo).commit([str(tmp_path / "outside.txt")], "nope")


def test_annotated_tags(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    gr = GitRepo(repo)
    first = gr.head()
    (repo / "a.txt").write_text("a2\n")
    second = gr.commit(["a.txt"], "second")
    record = "# release record\nversion: 2.3.1\nbehaviorHash: sha256:abc\n"
    name = "prompts/router@2.3.1"
    assert not gr.tag_exists(name) and gr.tag_message(name) is None and gr.tag_commit(name) is None
    gr.create_tag(name, record, commit=first)
    gr.create_tag("prompts/router@2.4.0-rc.1", "version: 2.4.0-rc.1\n")
    assert gr.tag_exists(name)
    assert git(repo, "cat-file", "-t", name).strip() == "tag"
    assert gr.tag_message(name) == record
    assert gr.tag_commit(name) == first
    assert gr.tag_commit("prompts/router@2.4.0-rc.1") == second
    assert gr.tags("prompts/router@") == ["prompts/router@2.3.1", "prompts/router@2.4.0-rc.1"]
    assert gr.tags("prompts/other@") == []
    git(repo, "tag", "light")
    assert gr.tag_exists("light") and gr.tag_message("light") is None


def test_second_create_tag_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    gr = GitRepo(repo)
    gr.create_tag("prompts/router@1.0.0", "version: 1.0.0\n")
    first = git(repo, "rev-parse", "prompts/router@1.0.0")
    (repo / "a.txt").write_text("a2\n")
    gr.commit(["a.txt"], "moved on")
    with pytest.raises(TagExistsError) as info:
        gr.create_tag("prompts/router@1.0.0", "version: 1.0.0\n")
    assert info.value.exit_code == 5
    assert git(repo, "rev-parse", "prompts/router@1.0.0") == first


@pytest.mark.parametrize("name", ["prompts/r@{1}", "prompts/r@1.0.0.lock", "prompts/.hidden@1.0.0",
                                  "-rf", "a b", "x*"])
def test_invalid_tag_name(tmp_path: Path, name: str) -> None:
    repo = make_repo(tmp_path)
    with pytest.raises(ConfigError):
        GitRepo(repo).create_tag(name, "m")
    assert git(repo, "tag", "-l") == ""


def test_file_at(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    gr = GitRepo(repo)
    first = gr.head()
    assert first is not None
    (repo / "a.txt").write_bytes(b"a2\r\n\x00bin")
    gr.commit(["a.txt"], "bytes")
    assert gr.file_at(first, "a.txt") == b"a1\n"
    assert gr.file_at("HEAD", "a.txt") == b"a2\r\n\x00bin"
    assert gr.file_at("HEAD", "nope.txt") is None
    assert gr.file_at("no-such-rev", "a.txt") is None
    gr.create_tag("prompts/router@1.0.0", "v")
    assert gr.file_at("prompts/router@1.0.0", "b.txt") == b"b1\n"


def test_user(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    assert GitRepo(repo).user() == "Ada Tester <ada@example.com>"
