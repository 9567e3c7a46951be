"""Which files a check sees: git-aware listing, excludes, explicit files in their project, symlinks."""

from __future__ import annotations

import os
import subprocess

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
