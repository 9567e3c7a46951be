"""Which files a check sees: git-aware listing, excludes, explicit files in their project, symlinks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

BAD = "import wandb\n\nwandb.init(project='p')\n"
SCRIPT = "import wandb\n\nwandb.init(project='p', name='baseline')\n"
WORKFLOW = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: python train.py\n"


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


def test_git_ignored_files_are_skipped_untracked_ones_are_not(project):
    root = project.root
    git(root, "init", "-q")
    files = {".gitignore": "generated/\n", "tracked.py": BAD, "untracked.py": BAD, "generated/out.py": BAD}
    from conftest import write_files, run_check

    write_files(root, files)
    git(root, "add", "tracked.py", ".gitignore")
    assert run_check(root, select=["WB001"]) == ["tracked.py:3:1: WB001", "untracked.py:3:1: WB001"]


def test_default_excludes_outside_git(project):
    files = {"train.py": BAD, ".venv/lib/site.py": BAD, "node_modules/x/y.py": BAD, "build/lib/t.py": BAD}
    assert project(files, select=["WB001"]) == ["train.py:3:1: WB001"]


def test_exclude_does_not_apply_to_what_the_user_names(project):
    files = {"pyproject.toml": '[tool.preflight]\nextend-exclude = ["examples"]\n', "examples/train.py": BAD}
    assert project(files, select=["WB001"]) == []
    assert project({}, select=["WB001"], paths=["examples"]) == ["examples/train.py:3:1: WB001"]
    assert project({}, select=["WB001"], paths=["examples/train.py"]) == ["examples/train.py:3:1: WB001"]


def test_exclude_replaces_the_defaults(project):
    files = {"pyproject.toml": '[tool.preflight]\nexclude = ["legacy/*.py"]\n', "build/t.py": BAD, "legacy/a.py": BAD}
    assert project(files, select=["WB001"]) == ["build/t.py:3:1: WB001"]


def test_an_explicit_file_is_checked_in_its_project(project):
    """pre-commit passes only the changed file; the cross-file rule still sees the other side."""
    root = project.root
    git(root, "init", "-q")
    files = {"train.py": SCRIPT, ".github/workflows/t.yml": WORKFLOW, "other.py": BAD}
    project(files)
    # the workflow changed: its ENV001 is found although train.py was not passed
    assert project({}, paths=[".github/workflows/t.yml"]) == [".github/workflows/t.yml:6:14: ENV001"]
    # the script changed: the finding it causes in the workflow is reported, unrelated files are not
    assert project({}, paths=["train.py"]) == [".github/workflows/t.yml:6:14: ENV001"]


def test_symlinks_never_lead_out_of_the_tree(tmp_path, monkeypatch):
    from conftest import run_check, write_files

    outside = tmp_path / "outside"
    inside = tmp_path / "project"
    write_files(outside, {"secret.py": BAD})
    write_files(inside, {"train.py": BAD})
    (inside / "linked.py").symlink_to(outside / "secret.py")
    (inside / "linked_dir").symlink_to(outside, target_is_directory=True)
    (inside / "loop").symlink_to(inside / "loop")
    (inside / "alias.py").symlink_to(inside / "train.py")
    monkeypatch.chdir(inside)
    assert run_check(inside, select=["WB001"]) == ["alias.py:3:1: WB001", "train.py:3:1: WB001"]


def test_paths_with_spaces_and_non_ascii_names(project):
    assert project({"my exp/träin.py": BAD}, select=["WB001"]) == ["my exp/träin.py:3:1: WB001"]


def test_non_ascii_columns_are_characters(project):
    source = "import wandb\n\nrun = wandb.init(project='é')  ;  x = wandb.init()\n"
    assert project({"train.py": source}, select=["WB001"]) == ["train.py:3:7: WB001", "train.py:3:39: WB001"]


@pytest.mark.parametrize("name", ["compose.yaml", "docker-compose.yml", "docker-compose.prod.yml"])
def test_compose_file_names(project, name):
    files = {"train.py": SCRIPT, name: "services:\n  t:\n    command: python train.py\n"}
    assert project(files, select=["ENV001"]) == [f"{name}:3:14: ENV001"]


# Every git configuration key that names a program, or a hook, set to a script that records its name.
_TRAPPED_KEYS = ("core.fsmonitor", "core.sshCommand", "core.askPass", "core.editor", "core.pager", "core.gitProxy",
                 "core.alternateRefsCommand", "pager.ls-files", "pager.rev-parse", "pager.check-ignore",
                 "credential.helper", "diff.external", "diff.trap.textconv", "diff.trap.command",
                 "filter.trap.clean", "filter.trap.smudge", "filter.trap.process", "merge.trap.driver",
                 "gpg.program", "sequence.editor", "uploadpack.packObjectsHook")
_HOOKS = ("post-index-change", "post-checkout", "pre-commit", "post-commit", "reference-transaction",
          "pre-auto-gc", "fsmonitor-watchman", "post-rewrite", "push-to-checkout")


def _booby_trapped(tmp_path):
    """A repository whose .git/config (and hooks folder) would run `trap-NAME` scripts, which leave a
    marker file named after what ran; plus a core.worktree that points outside the repository."""
    markers, bin_dir, hooks = tmp_path / "markers", tmp_path / "bin", tmp_path / "hooks"
    for folder in (markers, bin_dir, hooks):
        folder.mkdir()

    def trap(name, folder=bin_dir):
        script = folder / name
        script.write_text(f"#!/bin/sh\ntouch '{markers}/{name}'\ncat >/dev/null 2>&1 </dev/null\nexit 1\n")
        script.chmod(0o755)
        return script

    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    (elsewhere / "outside.py").write_text(BAD)
    git(repo, "init", "-q")
    (repo / "train.py").write_text(BAD)
    (repo / ".gitattributes").write_text("* filter=trap diff=trap merge=trap\n")
    (repo / ".gitignore").write_text("ignored.py\n")
    (repo / "ignored.py").write_text(BAD)
    git(repo, "add", "train.py", ".gitattributes", ".gitignore")
    for hook in _HOOKS:
        trap(hook, hooks)
    for key in _TRAPPED_KEYS:
        git(repo, "config", key, str(trap("trap-" + key.replace(".", "-"))))
    git(repo, "config", "core.hooksPath", str(hooks))
    git(repo, "config", "protocol.ext.allow", "always")
    git(repo, "config", "remote.origin.url", f"ext::{trap('trap-ext-transport')}")
    return repo, elsewhere, markers


def test_git_runs_nothing_the_scanned_repository_configures(tmp_path, monkeypatch):
    """A repository from an archive or a pull request can name programs in its .git/config; preflight's
    git commands run none of them, and a core.worktree elsewhere lists nothing from there."""
    from conftest import run_check

    repo, _, markers = _booby_trapped(tmp_path)
    # the trap is live: plain git runs the repository's fsmonitor when it lists files
    subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=repo, capture_output=True, check=False)
    assert (markers / "trap-core-fsmonitor").exists()
    (markers / "trap-core-fsmonitor").unlink()

    monkeypatch.chdir(repo)
    assert run_check(repo, select=["WB001"]) == ["train.py:3:1: WB001"]
    assert run_check(repo, select=["WB001"], paths=["train.py"]) == ["train.py:3:1: WB001"]
    assert run_check(repo, select=["WB001"], paths=["train.py"], force_exclude=True) == ["train.py:3:1: WB001"]
    assert sorted(p.name for p in markers.iterdir()) == []


def test_a_work_tree_elsewhere_lists_nothing_from_there(tmp_path, monkeypatch):
    """core.worktree pointing out of the repository: the folder is read as plain files (ignored ones too),
    never the other folder's."""
    from conftest import run_check

    repo, elsewhere, markers = _booby_trapped(tmp_path)
    git(repo, "config", "core.worktree", str(elsewhere))
    monkeypatch.chdir(repo)
    assert run_check(repo, select=["WB001"]) == ["ignored.py:3:1: WB001", "train.py:3:1: WB001"]
    assert run_check(repo, select=["WB001"], paths=["train.py"]) == ["train.py:3:1: WB001"]
    assert sorted(p.name for p in markers.iterdir()) == []


def test_an_embedded_bare_repository_is_not_used(tmp_path, monkeypatch):
    """A folder of the scanned tree laid out as a bare repository (HEAD, objects/, refs/, a config naming a
    work tree and an fsmonitor) is read as plain files, never as a repository."""
    from conftest import run_check

    markers = tmp_path / "markers"
    markers.mkdir()
    vendor = tmp_path / "project" / "vendor"
    subprocess.run(["git", "init", "-q", "--bare", str(vendor)], check=True, capture_output=True)
    trap = tmp_path / "trap"
    trap.write_text(f"#!/bin/sh\ntouch '{markers}/fsmonitor'\nexit 1\n")
    trap.chmod(0o755)
    git(vendor, "config", "core.bare", "false")
    git(vendor, "config", "core.worktree", str(vendor))
    git(vendor, "config", "core.fsmonitor", str(trap))
    (vendor / "train.py").write_text(BAD)
    monkeypatch.chdir(vendor)
    assert run_check(vendor, select=["WB001"]) == ["train.py:3:1: WB001"]
    assert not list(markers.iterdir())


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to hand the repository over")
def test_a_repository_owned_by_another_user_is_still_listed_by_git(tmp_path, monkeypatch):
    """A CI container's checkout is often owned by another user; git refuses to read such a repository
    unless told it is safe, and preflight (which lets git run nothing it configures) tells it so: its
    ignored files stay ignored."""
    from conftest import run_check

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("generated/\n")
    (repo / "train.py").write_text(BAD)
    (repo / "generated").mkdir()
    (repo / "generated" / "out.py").write_text(BAD)
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, 65534, 65534)
    monkeypatch.chdir(repo)
    assert run_check(repo, select=["WB001"]) == ["train.py:3:1: WB001"]


def test_the_users_global_ignore_file_still_applies(tmp_path, monkeypatch):
    """preflight's git reads no global configuration, but the user's global ignore file is passed on: a
    scratch file ignored there is not checked."""
    from conftest import run_check

    home, repo = tmp_path / "home", tmp_path / "repo"
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "ignore").write_text("scratch_*.py\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "train.py").write_text(BAD)
    (repo / "scratch_1.py").write_text(BAD)
    monkeypatch.chdir(repo)
    assert run_check(repo, select=["WB001"]) == ["train.py:3:1: WB001"]


def test_an_ignore_file_named_in_the_users_global_configuration_applies(tmp_path, monkeypatch):
    from conftest import run_check

    home, repo = tmp_path / "home", tmp_path / "repo"
    home.mkdir()
    (home / "my-ignores").write_text("scratch_*.py\n")
    (home / ".gitconfig").write_text("[core]\n\texcludesFile = ~/my-ignores\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "train.py").write_text(BAD)
    (repo / "scratch_1.py").write_text(BAD)
    monkeypatch.chdir(repo)
    assert run_check(repo, select=["WB001"]) == ["train.py:3:1: WB001"]


def test_the_git_root_of_each_folder_is_gits_own_answer(tmp_path):
    """git is asked once per repository, and the shortcut for the folders below gives git's answer
    everywhere: nested repositories, a linked work tree (a `.git` file), links into another repository,
    folders outside any repository."""
    from preflight import discover

    outer, inner, other, plain = tmp_path / "outer", tmp_path / "outer" / "vendor" / "inner", tmp_path / "other", \
        tmp_path / "plain"
    for repo in (outer, inner, other):
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q")
    (outer / "a.py").write_text("x = 1\n")
    git(outer, "add", "a.py")
    git(outer, "commit", "-qm", "a")
    git(outer, "worktree", "add", "-q", str(outer / "wt" / "linked"))
    for folder in ("src/pkg/deep", "vendor/inner/src/x", "wt/linked/src"):
        (outer / folder).mkdir(parents=True, exist_ok=True)
    (other / "lib" / "y").mkdir(parents=True)
    (outer / "src" / "to-other").symlink_to(other / "lib")
    (plain / "a" / "b").mkdir(parents=True)
    folders = [outer / "src" / "pkg" / "deep", outer / "src" / "pkg", outer / "vendor" / "inner" / "src" / "x",
               outer / "vendor", outer / "wt" / "linked" / "src", outer / "wt", outer / "src" / "to-other" / "y",
               outer / "src" / "to-other", plain / "a" / "b", plain]
    for folder in folders:
        answer = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True)
        expected = Path(answer.stdout.strip()).resolve() if answer.returncode == 0 else None
        assert discover.git_root(folder) == expected, folder
