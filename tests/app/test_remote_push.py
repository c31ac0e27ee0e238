"""Remote compare-and-swap (registry.md §6.6): fetch first, refuse a stale branch, push atomically.

Every remote is a bare repository in tmp_path; nothing touches the network.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Project
from test_deploy import NAME, Proj
from test_release import edit_prompt, git, head, init_repo

from promptops.app.bump import bump
from promptops.app.deploy import promote, rollback
from promptops.app.drill import drill
from promptops.app.release import release
from promptops.core.errors import ConflictError, RemoteUnreachableError
from promptops.storage.git_remote import GitRemote, Upstream
from promptops.storage.git_repo import GitRepo

TAG = "prompts/router@0.0.1"



def add_origin(root: Path) -> Path:
    """A bare `origin` beside `root`, with `main` pushed and set as upstream."""
    bare = root.parent / f"{root.name}-origin.git"
    git(root.parent, "init", "-q", "--bare", "-b", "main", str(bare))
    git(root, "remote", "add", "origin", str(bare))
    git(root, "push", "-q", "-u", "origin", "main")
    return bare


def remote_ref(bare: Path, ref: str) -> str | None:
    """The commit a ref of the bare repo points to (peeled), or None."""
    out = git(bare, "for-each-ref", "--format=%(objectname) %(*objectname)", ref).split()
    return out[-1] if out else None


def someone_else_pushes(bare: Path, path: str = "NOTES.md") -> str:
    """Another clone commits `path` and pushes it to main; its commit sha."""
    other = bare.parent / f"other-{len(list(bare.parent.glob('other-*')))}"
    git(bare.parent, "clone", "-q", str(bare), str(other))
    git(other, "config", "user.name", "Bob")
    git(other, "config", "user.email", "bob@example.com")
    target = other / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(target.read_text() + "# edited\n" if target.exists() else "hello\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", f"bob edits {path}")
    git(other, "push", "-q", "origin", "main")
    return git(other, "rev-parse", "HEAD").strip()


def race(monkeypatch: pytest.MonkeyPatch, bare: Path, path: str = "NOTES.md") -> list[str]:
    """Make another clone push right before our next push (after our fetch)."""
    original: Callable[..., None] = GitRemote.push
    pushed: list[str] = []

    def push(self: GitRemote, up: Upstream, tag: str | None = None) -> None:
        if not pushed:
            pushed.append(someone_else_pushes(bare, path))
        original(self, up, tag)

    monkeypatch.setattr(GitRemote, "push", push)
    return pushed


def unreachable(root: Path) -> None:
    """Point origin at a path that does not exist."""
    git(root, "remote", "set-url", "origin", str(root.parent / "gone.git"))


@pytest.fixture
def repo(project: Project) -> Path:
    """The conftest project as a git repo with router@0.0.1 as a candidate."""
    return init_repo(project.root)


# -- release / bump ---------------------------------------------------------------------------

def test_release_pushes_commit_and_tag_atomically(repo: Path, project: Project) -> None:
    bare = add_origin(repo)
    result = project.run("release", "router")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "pushed to origin/main" in result.output  # type: ignore[attr-defined]
    assert remote_ref(bare, "refs/heads/main") == head(repo)
    assert remote_ref(bare, f"refs/tags/{TAG}") == head(repo)
    edit_prompt(repo, "Be brief.")
    bumped = bump(repo, "router", "patch", "shorter")
    assert bumped.pushed and bumped.upstream == "origin/main"
    assert remote_ref(bare, "refs/heads/main") == head(repo) == bumped.commit
    out = project.run("release", "router", "--json")  # type: ignore[attr-defined]
    assert '"pushed": true' in out.output  # type: ignore[attr-defined]
    assert remote_ref(bare, "refs/tags/prompts/router@0.0.2") == head(repo)


def test_rejected_release_keeps_commit_drops_tag_then_retags(
        repo: Path, project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = add_origin(repo)
    before = head(repo)
    theirs = race(monkeypatch, bare)
    result = project.run("release", "router")
    assert result.exit_code == 6, result.output  # type: ignore[attr-defined]
    out = result.output  # type: ignore[attr-defined]
    assert "origin/main moved: the push was rejected" in out and "git pull --rebase" in out
    assert "promptops release router@0.0.1" in out
    assert not GitRepo(repo).tag_exists(TAG)  # the unpushed tag is gone
    assert git(repo, "log", "-1", "--format=%s").strip() == "release(router): 0.0.1"
    assert git(repo, "rev-parse", "HEAD~1").strip() == before  # the local commit stays
    assert remote_ref(bare, "refs/heads/main") == theirs[0]  # theirs, untouched
    assert remote_ref(bare, f"refs/tags/{TAG}") is None  # atomic: no tag without the branch
    monkeypatch.undo()
    git(repo, "pull", "-q", "--rebase")
    again = release(repo, "router", "0.0.1")
    assert again.pushed and "tagged it now" in again.notes[0]
    assert GitRepo(repo).tag_commit(TAG) == head(repo) == again.commit
    assert git(repo, "rev-parse", "HEAD~1").strip() == theirs[0]
    assert remote_ref(bare, "refs/heads/main") == head(repo)
    assert remote_ref(bare, f"refs/tags/{TAG}") == head(repo)


def test_behind_upstream_bump_and_release_refuse_writing_nothing(
        repo: Path, project: Project) -> None:
    bare = add_origin(repo)
    someone_else_pushes(bare)
    before = head(repo)
    with pytest.raises(ConflictError, match="1 commit\\(s\\) behind origin/main") as info:
        release(repo, "router")
    assert "git pull --ff-only" in str(info.value.fix)
    assert project.run("release", "router").exit_code == 6  # type: ignore[attr-defined]
    assert project.run("release", "router", "--dry-run").exit_code == 6  # type: ignore
    edit_prompt(repo, "Be brief.")
    with pytest.raises(ConflictError, match="behind"):
        bump(repo, "router", "patch", "shorter")
    out = project.run("bump", "router", "patch", "--note", "x")
    assert out.exit_code == 6  # type: ignore[attr-defined]
    assert head(repo) == before and not GitRepo(repo).tag_exists(TAG)
    assert GitRepo(repo).dirty_paths() == ["prompts/router/prompt.yaml"]  # only the user's edit
    assert not (repo / "suites/scorecards").exists()
    assert "0.0.2" not in (repo / "prompts/registry.yaml").read_text()


def test_diverged_branch_says_rebase(repo: Path, project: Project) -> None:
    bare = add_origin(repo)
    someone_else_pushes(bare)
    (repo / "LOCAL.md").write_text("mine\n")
    GitRepo(repo).commit(["LOCAL.md"], "a local commit")
    with pytest.raises(ConflictError, match="diverged from origin/main") as info:
        release(repo, "router")
    assert "git pull --rebase" in str(info.value.fix)


def test_no_push_leaves_origin_untouched_and_never_fetches(repo: Path, project: Project) -> None:
    bare = add_origin(repo)
    pushed = head(repo)
    unreachable(repo)  # --no-push must not even fetch
    result = project.run("release", "router", "--no-push")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "not pushed (--no-push)" in result.output  # type: ignore[attr-defined]
    assert GitRepo(repo).tag_exists(TAG) and head(repo) != pushed
    assert remote_ref(bare, "refs/heads/main") == pushed
    assert remote_ref(bare, f"refs/tags/{TAG}") is None
    edit_prompt(repo, "Be brief.")
    assert not bump(repo, "router", "patch", "x", push=False).pushed
    assert remote_ref(bare, "refs/heads/main") == pushed


def test_unreachable_remote_fails_release_before_writing(repo: Path, project: Project) -> None:
    add_origin(repo)
    unreachable(repo)
    before = head(repo)
    with pytest.raises(RemoteUnreachableError, match="git fetch origin failed"):
        release(repo, "router")
    assert project.run("release", "router").exit_code == 3  # type: ignore[attr-defined]
    assert head(repo) == before and not GitRepo(repo).tag_exists(TAG)


def test_dry_run_pushes_nothing(repo: Path, project: Project) -> None:
    bare = add_origin(repo)
    pushed = head(repo)
    result = release(repo, "router", dry_run=True)
    assert result.dry_run and not result.pushed and result.upstream == "origin/main"
    assert head(repo) == pushed and remote_ref(bare, f"refs/tags/{TAG}") is None


def test_without_upstream_nothing_changes(repo: Path, project: Project) -> None:
    result = release(repo, "router")
    assert result.commit and not result.pushed and result.upstream is None
    assert GitRepo(repo).tag_exists(TAG)


# -- promote / rollback -----------------------------------------------------------------------

@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    root = tmp_path / "repo"
    root.mkdir()
    proj = Proj(root)
    proj.release("1.0.0", "1.1.0")
    return proj


def test_promote_pushes_and_refuses_when_behind(proj: Proj) -> None:
    bare = add_origin(proj.root)
    result = promote(proj.root, NAME, "1.0.0", "staging")
    assert result.pushed and remote_ref(bare, "refs/heads/main") == result.commit
    someone_else_pushes(bare)
    before = head(proj.root)
    with pytest.raises(ConflictError, match="behind origin/main"):
        promote(proj.root, NAME, "1.1.0", "staging")
    assert head(proj.root) == before and git(proj.root, "status", "--porcelain") == ""
    entry = proj.store.load_pointer("staging").get(NAME)
    assert entry is not None and entry.prompt_version == "1.0.0"


def test_promote_rebases_and_pushes_when_the_remote_moved_elsewhere(
        proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = add_origin(proj.root)
    theirs = race(monkeypatch, bare)  # another clone pushes NOTES.md right before our push
    result = promote(proj.root, NAME, "1.0.0", "staging")
    assert result.pushed and result.commit == head(proj.root)
    assert remote_ref(bare, "refs/heads/main") == result.commit
    assert git(proj.root, "rev-parse", "HEAD~1").strip() == theirs[0]  # built on theirs
    assert any("rebased" in w for w in result.warnings), result.warnings
    assert git(proj.root, "status", "--porcelain") == ""


def bob_moves_the_pointer(bare: Path) -> str:
    """Another clone changes router's entry in deploy/staging.yaml and pushes."""
    other = bare.parent / "bob"
    git(bare.parent, "clone", "-q", str(bare), str(other))
    git(other, "config", "user.name", "Bob")
    git(other, "config", "user.email", "bob@example.com")
    pointer = other / "deploy" / "staging.yaml"
    pointer.write_text(pointer.read_text().replace("enabled: true", "enabled: false"))
    git(other, "commit", "-qam", "bob disables router in staging")
    git(other, "push", "-q", "origin", "main")
    return git(other, "rev-parse", "HEAD").strip()


def test_promote_rejected_when_the_remote_moved_the_same_pointer(
        proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = add_origin(proj.root)
    promote(proj.root, NAME, "1.0.0", "staging")
    original = GitRemote.push
    theirs: list[str] = []

    def push(self: GitRemote, up: Upstream, tag: str | None = None) -> None:
        if not theirs:
            theirs.append(bob_moves_the_pointer(bare))
        original(self, up, tag)

    monkeypatch.setattr(GitRemote, "push", push)
    with pytest.raises(ConflictError, match="the push was rejected") as info:
        promote(proj.root, NAME, "1.1.0", "staging")
    assert info.value.why == "the upstream changed router in deploy/staging.yaml"
    assert "git pull --rebase" in str(info.value.fix)
    assert git(proj.root, "log", "-1", "--format=%s").startswith("deploy(staging)")
    assert remote_ref(bare, "refs/heads/main") == theirs[0]


def test_rollback_offline_commits_locally_with_a_warning(
        proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = add_origin(proj.root)
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    pushed = remote_ref(bare, "refs/heads/main")
    unreachable(proj.root)
    with pytest.raises(RemoteUnreachableError):
        promote(proj.root, NAME, "1.0.0", "production")  # the others need the remote
    result = rollback(proj.root, NAME, "staging", reason="bad")
    assert result.commit == head(proj.root) and not result.pushed
    assert result.to_version == "1.0.0"
    assert any("git fetch origin failed" in w for w in result.warnings), result.warnings
    assert remote_ref(bare, "refs/heads/main") == pushed
    from typer.testing import CliRunner

    from promptops.cli.main import app
    monkeypatch.chdir(proj.root)
    out = CliRunner().invoke(app, ["rollback", NAME, "--env", "staging", "--to", "1.1.0",
                                   "--reason", "back"])
    assert out.exit_code == 0, out.output
    assert "warning: git fetch origin failed" in out.output and "not pushed" in out.output


def test_rollback_behind_upstream(proj: Proj) -> None:
    bare = add_origin(proj.root)
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    someone_else_pushes(bare)  # unrelated: roll back locally, do not push
    result = rollback(proj.root, NAME, "staging", reason="bad")
    assert result.commit == head(proj.root) and not result.pushed
    assert any("did not change deploy/staging.yaml" in w for w in result.warnings)
    git(proj.root, "pull", "-q", "--rebase")
    promote(proj.root, NAME, "1.1.0", "staging")
    theirs = someone_else_pushes(bare, "deploy/staging.yaml")  # the pointer moved upstream
    before = head(proj.root)
    with pytest.raises(ConflictError, match=r"changed deploy/staging\.yaml"):
        rollback(proj.root, NAME, "staging", reason="bad")
    assert head(proj.root) == before and remote_ref(bare, "refs/heads/main") == theirs


def test_rollback_pushes_when_up_to_date(proj: Proj) -> None:
    bare = add_origin(proj.root)
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    result = rollback(proj.root, NAME, "staging", reason="bad")
    assert result.pushed and result.warnings == ()
    assert remote_ref(bare, "refs/heads/main") == result.commit


def test_drill_stays_local(proj: Proj) -> None:
    bare = add_origin(proj.root)
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    pushed = remote_ref(bare, "refs/heads/main")
    assert drill(proj.root, NAME, "staging", check=False).verdict == "pass"
    assert remote_ref(bare, "refs/heads/main") == pushed != head(proj.root)


def test_rollback_with_local_edits_rebases_and_keeps_them(
        proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = add_origin(proj.root)
    promote(proj.root, NAME, "1.0.0", "staging")
    promote(proj.root, NAME, "1.1.0", "staging")
    (proj.root / "scratch.txt").write_text("work in progress\n")
    git(proj.root, "add", "scratch.txt")  # staged, not committed: must survive the rebase
    theirs = race(monkeypatch, bare)
    result = rollback(proj.root, NAME, "staging", reason="bad")
    assert result.pushed and remote_ref(bare, "refs/heads/main") == result.commit
    assert git(proj.root, "rev-parse", "HEAD~1").strip() == theirs[0]
    assert (proj.root / "scratch.txt").read_text() == "work in progress\n"
    assert "scratch.txt" in git(proj.root, "status", "--porcelain")
    assert "scratch.txt" not in git(proj.root, "show", "--name-only", "HEAD")


def test_a_tag_already_on_the_remote_refuses_before_the_eval(repo: Path,
                                                             project: Project) -> None:
    bare = add_origin(repo)
    other = bare.parent / "carol"
    git(bare.parent, "clone", "-q", str(bare), str(other))
    git(other, "config", "user.name", "Carol")
    git(other, "config", "user.email", "carol@example.com")
    git(other, "commit", "-q", "--allow-empty", "-m", "never on a branch")
    git(other, "tag", TAG)
    git(other, "push", "-q", "origin", f"refs/tags/{TAG}")  # the tag only, not the commit's branch
    before = head(repo)
    out = project.run("release", "router")
    assert out.exit_code == 5, out.output  # type: ignore[attr-defined]
    assert "already released on origin/main" in out.output  # type: ignore[attr-defined]
    assert project.server.requests == [] and head(repo) == before
