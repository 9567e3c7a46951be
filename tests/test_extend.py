"""`extend`: a configuration inherits another's settings (ruff's semantics), each file validated alone, and
path patterns keep the meaning they have in the file that wrote them."""

from __future__ import annotations

import re
import subprocess

import pytest
from click.testing import CliRunner

from preflight import config
from preflight.cli import main

BAD = 'import wandb\nwandb.init(project="p")\n'  # WB001
ARTIFACT = 'import mlflow\nmlflow.log_artifacts("nope")\n'  # MLF001
ROOT = """[tool.preflight]
ignore = ["MLF001"]
extend-exclude = ["svc/legacy/old.py", "generated"]
fail-on = "warning"
[tool.preflight.severity]
WB001 = "error"
[tool.preflight.per-file-ignores]
"other/*" = ["WB001"]
[tool.preflight.rules.HF001]
strict = true
"""


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    files = {"pyproject.toml": ROOT, "svc/train.py": BAD, "svc/m.py": ARTIFACT, "svc/legacy/old.py": BAD,
             "svc/legacy/keep.py": BAD, "svc/build/gen.py": BAD, "svc/generated/g.py": BAD, "other/x.py": BAD,
             "svc/pyproject.toml": '[tool.preflight]\nextend = "../pyproject.toml"\nextend-exclude = ["legacy/keep.py"]\n'}
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    return tmp_path


def _check(cwd, *args, monkeypatch):
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, ["check", "--no-cache", "--no-show-source", *args], catch_exceptions=False)


def _located(result) -> list[str]:
    return [" ".join(line.split(" ")[:3]) for line in result.stdout.splitlines()
            if re.match(r"\S+:\d+:\d+: [A-Z]+\d+ ", line)]  # the findings' lines, not the summary's


def test_settings_are_inherited_and_patterns_keep_their_files_meaning(tree, monkeypatch):
    """From svc/: the root's ignore (MLF001), severity, fail-on and its exclude anchored at the root
    (svc/legacy/old.py) apply; svc's own extend-exclude (legacy/keep.py) is anchored at svc; `generated` and
    the default `build` match at any depth below svc."""
    result = _check(tree / "svc", ".", monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert _located(result) == ["train.py:2:1: WB001 [error]"]
    loaded = config.load(None, tree / "svc", tree)
    assert loaded.path == tree / "svc" / "pyproject.toml" and loaded.extends == (tree / "pyproject.toml",)
    assert loaded.base == tree and loaded.home == "svc" and loaded.folder == tree / "svc"
    assert loaded.settings.extend_exclude == ["svc/legacy/old.py", "generated", "svc/legacy/keep.py"]
    assert loaded.settings.rules == {"HF001": {"strict": True}}
    assert loaded.origins["ignore"] == (tree / "pyproject.toml",)
    assert loaded.origins["extend-exclude"] == (tree / "pyproject.toml", tree / "svc" / "pyproject.toml")
    assert loaded.origins["severity.WB001"] == (tree / "pyproject.toml",)
    # the root's per-file-ignores apply to a file named with `..` as to one named from the root
    assert _check(tree / "svc", "../other/x.py", monkeypatch=monkeypatch).exit_code == 0
    assert _check(tree, "other/x.py", monkeypatch=monkeypatch).exit_code == 0


def test_the_extending_file_overrides(tree, monkeypatch):
    (tree / "svc" / "pyproject.toml").write_text(
        '[tool.preflight]\nextend = "../pyproject.toml"\nfail-on = "error"\nextend-select = ["MLF006"]\n'
        '[tool.preflight.severity]\nWB001 = "warning"\n[tool.preflight.rules.HF001]\nstrict = false\n')
    loaded = config.load(None, tree / "svc", tree)
    assert loaded.settings.fail_on == "error" and loaded.settings.severity == {"WB001": "warning"}
    assert loaded.settings.ignore == ["MLF001"] and loaded.settings.extend_select == ["MLF006"]
    assert loaded.settings.rules == {"HF001": {"strict": False}}
    assert loaded.origins["fail-on"] == loaded.origins["rules.HF001.strict"] == (tree / "svc" / "pyproject.toml",)
    result = _check(tree / "svc", ".", monkeypatch=monkeypatch)
    assert result.exit_code == 0 and "WB001 [warning]" in result.stdout  # fails on errors only


def test_a_select_of_its_own_starts_the_selection_afresh(tree, monkeypatch):
    (tree / "svc" / "pyproject.toml").write_text('[tool.preflight]\nextend = "../pyproject.toml"\nselect = ["MLF"]\n')
    loaded = config.load(None, tree / "svc", tree)
    assert loaded.settings.select == ["MLF"] and loaded.settings.ignore == [] and "ignore" not in loaded.origins
    assert _located(_check(tree / "svc", ".", monkeypatch=monkeypatch)) == ["m.py:2:1: MLF001 [error]"]


def test_a_chain_of_three_and_a_base_beside_the_project(tree, monkeypatch):
    """A shared base in a sibling folder: its anchored patterns stay its folder's (they name nothing of the
    project), those that match at any depth apply at any depth of the project."""
    (tree / "shared").mkdir()
    (tree / "shared" / "base.toml").write_text('extend = "../pyproject.toml"\nextend-exclude = ["m.py", "src/x"]\n')
    (tree / "svc" / "pyproject.toml").write_text('[tool.preflight]\nextend = "../shared/base.toml"\n'
                                                 'ignore = []\n')
    loaded = config.load(None, tree / "svc", tree)
    assert loaded.extends == (tree / "pyproject.toml", tree / "shared" / "base.toml")
    assert loaded.settings.extend_exclude == ["svc/legacy/old.py", "generated", "svc/**/m.py", "shared/src/x"]
    assert loaded.settings.ignore == ["MLF001"]
    assert _located(_check(tree / "svc", ".", monkeypatch=monkeypatch)) == [
        "legacy/keep.py:2:1: WB001 [error]", "train.py:2:1: WB001 [error]"]


@pytest.mark.parametrize("svc, base, message", [
    ('extend = "../missing.toml"', None, "svc/pyproject.toml: [tool.preflight].extend = '../missing.toml': no such file"),
    ("extend = 3", None, "[tool.preflight].extend: expected the path of a pyproject.toml or preflight.toml, got the "
                         "integer 3"),
    ('extend = "../pyproject.toml"', "[tool.black]\n", "pyproject.toml: has no [tool.preflight] table (extended by "),
    ('extend = "../pyproject.toml"', '[tool.preflight]\nextend = "svc/pyproject.toml"\n', "(a cycle)"),
    ('extend = "../pyproject.toml"', '[tool.preflight]\nfail-on = "warn"\n',
     'error: pyproject.toml: invalid configuration\n  [tool.preflight].fail-on: expected one of "error"'),
    ('extend = "../pyproject.toml"\nselec = []', None, "svc/pyproject.toml: invalid configuration\n  [tool.preflight]"
                                                      ".selec: unknown setting (did you mean 'select'?)"),
])
def test_a_broken_chain_is_a_usage_error_naming_the_file(tree, monkeypatch, svc, base, message):
    (tree / "svc" / "pyproject.toml").write_text(f"[tool.preflight]\n{svc}\n")
    if base is not None:
        (tree / "pyproject.toml").write_text(base)
    result = _check(tree / "svc", ".", monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert message in result.stderr.replace(str(tree) + "/", "")


def test_a_base_not_named_pyproject_toml_is_read_from_its_top_level(tree, monkeypatch):
    (tree / "svc" / "pyproject.toml").write_text('[tool.preflight]\nextend = "../base.toml"\n')
    (tree / "base.toml").write_text('[tool.preflight]\nignore = ["WB001"]\n')
    result = _check(tree / "svc", ".", monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert ("base.toml: invalid configuration\n  tool: unknown setting: only a file named pyproject.toml is read "
            "from its [tool.preflight] table") in result.stderr.replace(str(tree) + "/", "")
    (tree / "base.toml").write_text('ignore = ["WB001"]\n')
    assert _check(tree / "svc", ".", "--show-settings", monkeypatch=monkeypatch).exit_code == 0


def test_home_and_variables_are_expanded(tree, monkeypatch):
    monkeypatch.setenv("PREFLIGHT_BASE", str(tree))
    (tree / "svc" / "pyproject.toml").write_text('[tool.preflight]\nextend = "$PREFLIGHT_BASE/pyproject.toml"\n')
    assert config.load(None, tree / "svc", tree).settings.ignore == ["MLF001"]


def test_show_settings_says_where_each_setting_came_from(tree, monkeypatch):
    """--show-settings prints TOML that reads back as the resolved settings, each line with its origin,
    the library versions the rules assume and why, and the rules that run; it checks nothing (exit 0)."""
    import json
    import tomllib

    (tree / "svc" / "requirements.txt").write_text("transformers==4.57.1\n")
    (tree / "svc" / "pyproject.toml").write_text('[tool.preflight]\nextend = "../pyproject.toml"\n'
                                                 'extend-exclude = ["legacy/keep.py"]\n'
                                                 '[tool.preflight.versions]\ntrl = "0.20.0"\n')
    result = _check(tree / "svc", "--show-settings", "--ignore", "WB002", "--fail-on", "error",
                    monkeypatch=monkeypatch)
    assert result.exit_code == 0 and "WB001 [" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[:3] == ["# configuration: pyproject.toml", f"#   extends {tree}/pyproject.toml",
                         f"# patterns are relative to {tree}"]
    root, svc = f"{tree}/pyproject.toml", "pyproject.toml"
    assert f'ignore = ["MLF001", "WB002"]  # {root} + --ignore' in lines
    assert f'extend-exclude = ["svc/legacy/old.py", "generated", "svc/legacy/keep.py"]  # {root} + {svc}' in lines
    assert f'severity.WB001 = "error"  # {root}' in lines and f"rules.HF001.strict = true  # {root}" in lines
    assert 'fail-on = "error"  # --fail-on (command line)' in lines and f'versions.trl = "0.20.0"  # {svc}' in lines
    assert "# select is not set: every error and warning rule runs  # default" in lines
    assert "#   transformers 4.57.1: pinned ==4.57.1 in requirements.txt:1" in lines
    assert "#   trl 0.20.0: [tool.preflight.versions] in pyproject.toml" in lines
    assert any(line.startswith("#   accelerate ") and line.endswith(": the newest version preflight knows")
               for line in lines)
    [rules] = [line for line in lines if line.startswith("# the rules that run")]
    assert "WB001" in rules and "MLF001" not in rules and "WB002" not in rules
    table = tomllib.loads(result.stdout)["tool"]["preflight"]
    assert table["per-file-ignores"] == {"other/*": ["WB001"]} and table["fail-on"] == "error"
    assert "svc/**/build" in table["exclude"]  # the defaults, below the project's folder
    document = json.loads(_check(tree / "svc", "--show-settings", "--format", "json", monkeypatch=monkeypatch).stdout)
    assert document["extends"] == [root] and document["configuration"] == svc
    assert {"key": "severity.WB001", "value": "error", "origin": root} in document["settings"]
    assert {"library": "transformers", "version": "4.57.1", "why": "pinned ==4.57.1 in requirements.txt:1"} in (
        document["versions"])


def test_show_settings_without_configuration_and_with_a_bad_one(tmp_path, monkeypatch):
    result = _check(tmp_path, "--show-settings", monkeypatch=monkeypatch)
    assert result.exit_code == 0
    assert result.stdout.startswith("# no configuration file: every setting is the default\n")
    (tmp_path / "preflight.toml").write_text('select = ["WBB"]\n')
    result = _check(tmp_path, "--show-settings", monkeypatch=monkeypatch)
    assert result.exit_code == 2 and "unknown rule selector 'WBB'" in result.stderr


def test_show_settings_of_a_preflight_toml_read_as_one(tmp_path, monkeypatch):
    """What --show-settings prints is a file of the configuration's own form: a preflight.toml's settings
    stand at its top level, where a [tool.preflight] header would make them unknown settings."""
    import tomllib

    (tmp_path / "preflight.toml").write_text('ignore = ["WB001"]\n')
    shown = _check(tmp_path, "--show-settings", monkeypatch=monkeypatch).stdout
    assert "[tool.preflight]" not in shown and tomllib.loads(shown)["ignore"] == ["WB001"]
    (tmp_path / "preflight.toml").write_text(shown)
    again = _check(tmp_path, "--show-settings", monkeypatch=monkeypatch)  # every setting now from the file
    assert again.exit_code == 0 and tomllib.loads(again.stdout) == tomllib.loads(shown)
