"""The pre-commit hook, driven by the real pre-commit against this repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from identify import identify

from preflight import classify

REPO = Path(__file__).resolve().parent.parent
BAD = "import wandb\n\nwandb.init(project='p')\n"
GOOD = "import wandb\n\nwandb.init(project='p', name='baseline')\n"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is required")


def _run(args, cwd, env=None, check=False):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, check=check, timeout=600)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Git identity for commits, and a pre-commit home shared by the tests of this module."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {**os.environ, "PRE_COMMIT_HOME": str(os.environ.get("PRE_COMMIT_HOME", home)),
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


@pytest.fixture
def user_repo(tmp_path, env):
    _run(["git", "init", "-q"], tmp_path, env, check=True)
    return tmp_path


def try_repo(user_repo: Path, env, *files: str, hook: str = "preflight"):
    args = ["--files", *files] if files else ["--all-files"]
    return _run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO), hook, *args], user_repo, env)


def test_hook_blocks_a_finding(user_repo, env):
    (user_repo / "train.py").write_text(BAD)
    _run(["git", "add", "train.py"], user_repo, env, check=True)
    result = try_repo(user_repo, env, "train.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "train.py:3:1: WB001" in result.stdout


def test_hook_passes_a_clean_file(user_repo, env):
    (user_repo / "train.py").write_text(GOOD)
    _run(["git", "add", "train.py"], user_repo, env, check=True)
    result = try_repo(user_repo, env, "train.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_project_hook_checks_the_whole_project(user_repo, env):
    """A commit that touches only the README still fails while a workflow lacks the key."""
    (user_repo / "train.py").write_text(GOOD)
    (user_repo / ".github" / "workflows").mkdir(parents=True)
    (user_repo / ".github" / "workflows" / "t.yml").write_text(
        "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: python train.py\n")
    (user_repo / "README.md").write_text("hello\n")
    _run(["git", "add", "."], user_repo, env, check=True)
    result = try_repo(user_repo, env, "README.md", hook="preflight-project")
    assert result.returncode == 1, result.stdout + result.stderr
    assert ".github/workflows/t.yml:6:14: ENV001" in result.stdout


def test_force_exclude_keeps_excluded_files_out(user_repo, env):
    (user_repo / "pyproject.toml").write_text('[tool.preflight]\nextend-exclude = ["legacy"]\n')
    (user_repo / "legacy").mkdir()
    (user_repo / "legacy" / "old.py").write_text(BAD)
    _run(["git", "add", "."], user_repo, env, check=True)
    result = try_repo(user_repo, env, "legacy/old.py")
    assert result.returncode == 0, result.stdout + result.stderr


def _install_hook(user_repo: Path, env) -> None:
    """The hook as a user installs it: this repository at its committed revision, `pre-commit install`."""
    dirty = _run(["git", "status", "--porcelain", "--", "preflight", "rules", "pyproject.toml",
                  ".pre-commit-hooks.yaml"], REPO, env).stdout.strip()
    if dirty:
        pytest.skip("the hook is installed from the committed revision; commit the work tree first")
    rev = _run(["git", "rev-parse", "HEAD"], REPO, env, check=True).stdout.strip()
    config = f"repos:\n  - repo: {REPO}\n    rev: {rev}\n    hooks:\n      - id: preflight\n"
    (user_repo / ".pre-commit-config.yaml").write_text(config)
    _run([sys.executable, "-m", "pre_commit", "install"], user_repo, env, check=True)


def test_installed_hook_blocks_the_commit(user_repo, env):
    """`git commit` itself is refused while a staged file has a finding, and goes through once fixed."""
    _install_hook(user_repo, env)
    (user_repo / "train.py").write_text(BAD)
    _run(["git", "add", "."], user_repo, env, check=True)
    blocked = _run(["git", "commit", "-qm", "train"], user_repo, env)
    assert blocked.returncode != 0 and "WB001" in blocked.stdout + blocked.stderr
    (user_repo / "train.py").write_text(GOOD)
    _run(["git", "add", "."], user_repo, env, check=True)
    passed = _run(["git", "commit", "-qm", "train"], user_repo, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_hook_sees_the_files_identify_has_no_type_for(user_repo, env):
    """A committed `.env.prod` with a literal key and a non-executable sbatch script are checked too."""
    key = "wandb_v1_" + "a1b2c3d4" * 10
    (user_repo / ".env.prod").write_text(f"WANDB_API_KEY={key}\n")
    (user_repo / "train.py").write_text(GOOD)
    (user_repo / "job.sbatch").write_text("#!/bin/bash\n#SBATCH --export=NIL\nsrun python train.py\n")
    _run(["git", "add", ".env.prod", "train.py", "job.sbatch"], user_repo, env, check=True)
    result = try_repo(user_repo, env, ".env.prod", "job.sbatch")
    assert result.returncode == 1, result.stdout + result.stderr
    assert ".env.prod:1:" in result.stdout and "SEC001" in result.stdout  # a W&B key written in a file
    assert "job.sbatch:2:1: ENV007" in result.stdout
    assert key not in result.stdout


# A name of every kind preflight reads (preflight.classify.kind_by_path), in the spellings projects use.
READ_BY_PREFLIGHT = [
    "train.py", "src/pkg/train.PY", "notebooks/eda.ipynb", "Dockerfile", "docker/Dockerfile.gpu", "DOCKERFILE",
    "Containerfile", "containers/trainer.containerfile", "gpu.dockerfile", "Dockerfile-cuda12", "run.sh",
    "scripts/job.sbatch", "job.SLURM", "setup.bash", "env.zsh", "Makefile", "GNUmakefile", "GNUMakefile",
    "makefile", "rules.mk", ".env", ".env.prod", "deploy/.env.local", "prod.env", ".netrc", "_netrc",
    "requirements.txt", "requirements-dev.txt", "requirements/base.txt", "dev-requirements.in", "constraints.txt",
    "requirements.lock", "pyproject.toml", "setup.py", "setup.cfg", "uv.lock", "poetry.lock", "pdm.lock",
    "Pipfile.lock", "pylock.toml", "pylock.dev.toml", "environment.yml", "conda.yaml",
    ".github/workflows/ci.yml", ".github/workflows/release.yaml", "compose.yaml", "docker-compose.override.yml",
    ".dstack.yml", "train.dstack.yml", "configs/sft.yaml", "k8s/job.yml", "args.json",
]


def _passed_by_hook(hook: dict, path: str) -> bool:
    """pre-commit's filter for a hook: `files` searched in the path, and every tag of `types` among
    identify's tags for the file (as pre-commit's Classifier does)."""
    return bool(re.search(hook["files"], path)) and set(hook["types"]) <= identify.tags_from_path(path)


def test_the_hook_is_given_every_kind_of_file_preflight_reads(tmp_path, monkeypatch):
    hook = next(h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text()) if h["id"] == "preflight")
    for name in READ_BY_PREFLIGHT:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")  # not executable: a Slurm script is often committed so
    relative = [name for name in READ_BY_PREFLIGHT if classify.kind_by_path(name) is not None]
    assert relative == READ_BY_PREFLIGHT  # each is a kind preflight reads ...
    monkeypatch.chdir(tmp_path)  # identify looks at the file itself (a file, not a link or folder)
    missed = [name for name in READ_BY_PREFLIGHT if not _passed_by_hook(hook, name)]
    assert missed == []  # ... and pre-commit passes each to the hook
    assert not _passed_by_hook(hook, "README.md") and not _passed_by_hook(hook, "logo.png")


def test_installed_hook_stops_a_commit_of_a_key_and_an_sbatch_script(user_repo, env):
    """The commit the hook exists for: a `.env.prod` with a literal key, and a non-executable sbatch script
    whose `--export=NIL` keeps the key from its job. Neither has a type identify knows."""
    _install_hook(user_repo, env)
    (user_repo / "train.py").write_text(GOOD)
    _run(["git", "add", "."], user_repo, env, check=True)
    assert _run(["git", "commit", "-qm", "train"], user_repo, env).returncode == 0
    key = "wandb_v1_" + "f00dcafe" * 10
    (user_repo / ".env.prod").write_text(f"WANDB_API_KEY={key}\n")
    (user_repo / "job.sbatch").write_text("#!/bin/bash\n#SBATCH --export=NIL\nsrun python train.py\n")
    _run(["git", "add", ".env.prod", "job.sbatch"], user_repo, env, check=True)
    blocked = _run(["git", "commit", "-qm", "job"], user_repo, env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert ".env.prod:1:" in output and "SEC001" in output and "job.sbatch:2:1: ENV007" in output
    assert key not in output
    assert "in 2 files checked" in output  # the staged files, not the project read for context
    staged = _run(["git", "diff", "--cached", "--name-only"], user_repo, env, check=True).stdout.split()
    assert staged == [".env.prod", "job.sbatch"]  # nothing was committed
