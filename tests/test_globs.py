"""exclude and per-file-ignores patterns follow git's rules: held to `git ls-files` on generated pattern
lists (negation, folders only, anchoring, `**`), and a pattern git cannot use is a configuration error."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from preflight import globs
from preflight.cli import main

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is the reference")

FOLDERS = ["", "a", "b", "data", "build", "a/sub", "a/build", "b/a", "data/a", "build/sub", "build/a/sub"]
FILES = ["x.py", "keep.py", "c.txt", "ab", ".env", "b.b"]
ATOMS = ["a", "b", "build", "data", "sub", "keep.py", "c.txt", "*.py", "*.txt", "*", "?", "**", "[ab]", "[!a]*",
         "[a-c]*", "x*", "a*b", "?b", "*.*", "**/a/**"]


def _pattern(rng: random.Random) -> str:
    pattern = "/".join(rng.choice(ATOMS) for _ in range(rng.choice([1, 1, 2, 3])))
    if rng.random() < 0.2:
        pattern = "/" + pattern
    if rng.random() < 0.2:
        pattern += "/"
    return "!" + pattern if rng.random() < 0.3 else pattern


def _git_keeps(root, lists: list[list[str]]) -> list[set[str]]:
    """The files git lists in each folder t<i>/ whose .gitignore holds lists[i] (one git run for all)."""
    for index, patterns in enumerate(lists):
        (root / f"t{index}" / ".gitignore").write_text("\n".join(patterns) + "\n")
    out = subprocess.run(["git", "-c", f"core.excludesFile={os.devnull}", "ls-files", "-z", "--others",
                          "--exclude-standard"], cwd=root, capture_output=True, check=True,
                         env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}).stdout
    kept: list[set[str]] = [set() for _ in lists]
    for name in out.decode().split("\0"):
        folder, _, rest = name.partition("/")
        if rest and rest != ".gitignore":
            kept[int(folder[1:])].add(rest)
    return kept


def test_decisions_equal_gits_on_generated_patterns(tmp_path):
    """800 lists of one to four patterns, from a fixed seed, over a tree of 66 files: preflight excludes
    exactly the files `git ls-files --others --exclude-standard` leaves out for the same .gitignore."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    files = sorted({f"{folder}/{name}".lstrip("/") for folder in FOLDERS for name in FILES})
    batch = 100  # trees side by side, each with its own .gitignore
    for index in range(batch):
        for name in files:
            (tmp_path / f"t{index}" / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / f"t{index}" / name).write_text("")
    rng = random.Random(20240611)
    compared = 0
    for _ in range(8):
        lists = []
        while len(lists) < batch:
            patterns = [_pattern(rng) for _ in range(rng.choice([1, 2, 3, 4]))]
            try:
                lists.append((patterns, globs.PatternSet(patterns)))
            except globs.PatternError:
                continue
        for (patterns, spec), git_kept in zip(lists, _git_keeps(tmp_path, [p for p, _ in lists])):
            assert {name for name in files if not spec.matches(name)} == git_kept, patterns
            compared += 1
    assert compared == 800


@pytest.mark.parametrize("patterns, excluded, kept", [
    (["build"], ["build/x.py", "a/build/x.py", "build"], ["builder/x.py"]),
    (["build/"], ["build/x.py", "a/build/c.txt"], ["build", "a/build.py"]),  # a file named build is no folder
    (["/build", "./data"], ["build/x.py", "data/x.py"], ["a/build/x.py", "a/data/x.py"]),
    (["a/b"], ["a/b/x.py"], ["c/a/b/x.py"]),  # a slash inside anchors
    (["*.ipynb", "!keep.ipynb"], ["n.ipynb", "a/n.ipynb"], ["keep.ipynb", "a/keep.ipynb"]),
    (["build/", "!build/keep.py"], ["build/keep.py"], []),  # git never looks inside an excluded folder
    (["build/*", "!build/keep.py"], ["build/x.py"], ["build/keep.py"]),
    (["data/**", "!data/keep.py"], ["data/x.py", "data/a/keep.py"], ["data/keep.py"]),
    (["src/**/legacy_*.py"], ["src/legacy_a.py", "src/a/b/legacy_b.py"], ["src/a/new.py", "legacy_c.py"]),
    (["a/**/"], ["a/b/x.py", "a/b/c/x.py"], ["a/x.py"]),  # the folders below a/, not a/'s own files
])
def test_git_rules(patterns, excluded, kept):
    spec = globs.PatternSet(patterns)
    assert [p for p in excluded if not spec.matches(p)] == []
    assert [p for p in kept if spec.matches(p)] == []


def test_a_negated_per_file_ignores_key_means_the_other_files():
    assert globs.matches("!tests/**", "src/train.py") and not globs.matches("!tests/**", "tests/test_a.py")
    assert globs.matches("notebooks/**", "notebooks/a/b.ipynb") and not globs.matches("notebooks/**", "a.ipynb")


@pytest.mark.parametrize("pattern, says", [
    ("[z-a]", "upward ranges"), ("[!]", "git discards it"), ("src/[", "git discards it"), ("!", "lone !"),
    ("#notes", "comment"), ("", "comment"), ("a\\", "trailing \\"),
])
def test_a_pattern_git_cannot_use_is_a_configuration_error(tmp_path, monkeypatch, pattern, says):
    with pytest.raises(globs.PatternError) as raised:
        globs.PatternSet([pattern])
    assert says in str(raised.value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text("import wandb\nwandb.init(project='p')\n")
    for table in (f"[tool.preflight]\nextend-exclude = [{json.dumps(pattern)}]\n",
                  f"[tool.preflight.per-file-ignores]\n{json.dumps(pattern)} = ['WB001']\n"):
        (tmp_path / "pyproject.toml").write_text(table)
        result = CliRunner().invoke(main, ["check", "--no-cache"])
        assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output, result.output


def test_excluded_folders_outside_git_are_not_entered_and_negation_works(tmp_path, monkeypatch):
    from conftest import run_check

    monkeypatch.chdir(tmp_path)
    bad = "import wandb\n\nwandb.init(project='p')\n"
    for name in ("train.py", "data/prep.py", "data/configs/sweep.py", "build/keep.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(bad)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.preflight]\nextend-exclude = ["data/*", "!data/configs/", "build/", "!build/keep.py"]\n')
    assert run_check(tmp_path, select=["WB001"]) == ["data/configs/sweep.py:3:1: WB001", "train.py:3:1: WB001"]
