"""The command line contract: exit codes, formats, selection, configuration errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from preflight.cli import main
from preflight.report.json import JsonReport

BAD = "import wandb\n\nwandb.init(project='p')\n"
GOOD = "import wandb\n\nwandb.init(project='p', name='baseline')\n"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()

    def invoke(*args: str, files: dict[str, str] | None = None):
        for name, content in (files or {}).items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_exit_codes(cli):
    assert cli("check", files={"train.py": GOOD}).exit_code == 0
    assert cli("check", files={"train.py": BAD}).exit_code == 1
    assert cli("check", "--exit-zero").exit_code == 0
    assert cli("check", "missing-dir").exit_code == 2
    assert cli("check", "--select", "NOPE1").exit_code == 2
    assert cli("check", "--format", "xml").exit_code == 2
    assert cli("explain", "XX999").exit_code == 2


def test_text_output(cli):
    result = cli("check", files={"train.py": BAD})
    lines = result.output.splitlines()
    assert lines[0].startswith("train.py:3:1: WB001 [warning] wandb.init() starts a run with neither name= nor id=")
    assert lines[1:4] == ["  |", "3 | wandb.init(project='p')", "  | ^^^^^^^^^^^^^^^^^^^^^^^"]
    assert lines[-1] == "Found 1 finding (1 warning) in 1 file checked."
    assert "\x1b[" not in result.output


def test_clean_output(cli):
    assert cli("check", files={"train.py": GOOD}).output == "All checks passed (1 file checked).\n"


def test_the_summary_counts_the_named_files_and_says_what_else_was_read(cli):
    """A one-file commit checks one file; the project around it is read for context, and says so."""
    workflow = "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: python train.py\n"
    files = {"train.py": GOOD, ".github/workflows/t.yml": workflow, "configs/a.yml": "base_model: m\n",
             "other.py": "import os\n"}
    named = cli("check", "--no-cache", "train.py", files=files)
    assert named.output.splitlines()[-1] == \
        "Found 1 finding (1 error) in 1 file checked, 2 more read for context."  # ENV001 names train.py
    # the workflow runs train.py, so it is read too
    assert cli("check", "--no-cache", "other.py").output == "All checks passed (1 file checked, 3 more read for context).\n"
    assert cli("check", "--no-cache").output.splitlines()[-1] == "Found 1 finding (1 error) in 4 files checked."


def test_json_output_matches_the_published_schema(cli):
    import jsonschema

    from preflight import docgen

    result = cli("check", "--format", "json", files={"train.py": BAD})
    document = json.loads(result.output)
    jsonschema.validate(document, docgen.json_schema())
    report = JsonReport.model_validate(document)
    assert [(f.code, f.location.line, f.location.column) for f in report.findings] == [("WB001", 3, 1)]
    assert report.summary.warnings == 1 and report.summary.files == 1


def test_select_ignore_and_prefixes(cli):
    files = {"train.py": BAD, "mlf.py": "import mlflow\nmlflow.log_artifacts('out')\n"}

    def codes(*a):
        lines = cli("check", "--no-show-source", *a, files=files).output.splitlines()
        return sorted({line.split()[1] for line in lines
                       if ": " in line and line.split()[1][:2].isalpha() and line.split()[1][-1].isdigit()})

    assert codes() == ["MLF001", "WB001"]
    assert codes("--select", "WB") == ["WB001"]
    assert codes("--select", "MLF0,WB001") == ["MLF001", "WB001"]
    assert codes("--ignore", "WB") == ["MLF001"]
    assert codes("--select", "ALL", "--ignore", "unchecked-artifact-path") == ["WB001"]
    assert codes("--select", "WB", "--ignore", "W", "--extend-select", "WB001") == ["WB001"]


def test_statistics(cli):
    result = cli("check", "--statistics", files={"a.py": BAD, "b.py": BAD})
    assert result.output.splitlines()[0] == "2  WB001   unnamed-wandb-run"


def test_configuration(cli):
    files = {
        "pyproject.toml": '[tool.preflight]\nignore = ["WB001"]\n',
        "train.py": BAD,
    }
    assert cli("check", files=files).exit_code == 0
    files["pyproject.toml"] = '[tool.preflight]\nextend-exclude = ["legacy"]\n[tool.preflight.per-file-ignores]\n"scripts/*.py" = ["WB"]\n'
    files["scripts/run.py"] = BAD
    files["legacy/old.py"] = BAD
    result = cli("check", "--no-show-source", files=files)
    assert [line.split(":")[0] for line in result.output.splitlines()[:-1]] == ["train.py"]


def test_severity_overrides_and_fail_on(cli):
    """A CI owner decides what fails the job: WB001 is a warning, so `fail-on = "error"` passes it until
    [tool.preflight.severity] makes it an error (by code or by name); --fail-on overrides the setting."""
    files = {"pyproject.toml": '[tool.preflight]\nfail-on = "error"\n', "train.py": BAD}
    result = cli("check", "--no-show-source", files=files)
    assert result.exit_code == 0 and "WB001 [warning]" in result.output
    assert cli("check", "--fail-on", "warning").exit_code == 1
    for key in ("WB001", "unnamed-wandb-run"):
        files["pyproject.toml"] = f'[tool.preflight]\nfail-on = "error"\n[tool.preflight.severity]\n{key} = "error"\n'
        result = cli("check", "--no-show-source", "--format", "json", files=files)
        assert result.exit_code == 1
        assert [f["severity"] for f in json.loads(result.output)["findings"]] == ["error"]
    files["pyproject.toml"] = '[tool.preflight.severity]\nWB001 = "info"\n'
    result = cli("check", "--no-show-source", files=files)  # still reported (the rule runs), and fails by default
    assert result.exit_code == 1 and "WB001 [info]" in result.output
    assert cli("check", "--fail-on", "warning").exit_code == 0


@pytest.mark.parametrize("toml, message", [
    ('[tool.preflight]\nselec = ["WB"]\n', "selec: unknown setting (did you mean 'select'?)"),
    ('[tool.preflight]\nextend_selec = ["WB"]\n', "unknown setting (did you mean 'extend-select'?)"),
    ('[tool.preflight]\nfail-on = "warn"\n', 'fail-on: expected one of "error", "warning" or "info", got the string "warn"'),
    ('[tool.preflight.severity]\nWB001 = "fatal"\n', 'severity.WB001: expected one of "error", "warning" or "info"'),
    ('[tool.preflight.severity]\nunnamed-wandb-rn = "error"\n', "unknown rule (did you mean 'unnamed-wandb-run'?)"),
    ('[tool.preflight]\nselect = ["HFF008"]\n', "unknown rule selector 'HFF008' (did you mean 'HF008'?)"),
    ('[tool.preflight]\nselect = "WB"\n', 'select: expected an array, got the string "WB"'),
    ('[tool.preflight]\nignore = ["WB001", 8]\n', "ignore.1: expected a string, got the integer 8"),
    ('[tool.preflight]\nfail-on = 1\n', "fail-on: expected one of"),
    # strict: TOML's types are the user's; "yes", "on" and 1 are not true
    ('[tool.preflight.rules.HF001]\nstrict = "yes"\n',
     '[tool.preflight.rules.HF001]: strict: expected a boolean (true or false), got the string "yes"'),
    ('[tool.preflight.rules.HF001]\nstrict = 1\n', "strict: expected a boolean (true or false), got the integer 1"),
    ('[tool.preflight.versions]\ntransformers = 4.57\n', "versions.transformers: expected a string, got the number 4.57"),
    ('[tool.preflight]\nselect = ["QQ"]\n', "unknown rule selector 'QQ'"),
    ('[tool.preflight.rules.HF001]\nstrictt = true\n', "strictt: unknown option (did you mean 'strict'?)"),
    ('[tool.preflight.rules.WB001]\nstrict = true\n', "strict: unknown option (the rule has no options)"),
    ('[tool.preflight.rules.XX001]\nstrict = true\n', "XX001]: unknown rule"),
    ('[tool.preflight.rules.HF01]\nstrict = true\n', "HF01]: unknown rule ('HF01' selects 5 rules, HF010, HF011, "
                                                     "HF012, HF013, HF014: this table takes one rule's code or name)"),
    ('[tool.preflight.severity]\nWB0O1 = "error"\n', "WB0O1: unknown rule (did you mean 'WB001'?)"),
    ('[tool.preflight.versions]\ntransformers = "latest"\n', "not a version number"),
    ('[tool.preflight.versions]\ntorchvision = "1.0"\n', "versions.torchvision: unknown library; the libraries whose "
                                                         "version the rules ask are transformers, trl, axolotl, accelerate"),
    ('[tool.preflight.versions]\ntransformer = "4.57.1"\n', "versions.transformer: unknown library (did you mean "
                                                             "'transformers'?)"),
    ('[tool.preflight.versions]\ntransformers = "3.0.0"\n', "outside the releases preflight knows (4.36.2 to "),
    ('[tool.preflight.versions]\naccelerate = "0.20.0"\n', "accelerate = '0.20.0' is outside the releases"),
    ('[tool.preflight\n', "invalid TOML"),
])
def test_bad_configuration_is_a_usage_error(cli, toml, message):
    result = cli("check", files={"pyproject.toml": toml, "train.py": GOOD})
    assert result.exit_code == 2
    assert message in result.output


def test_every_library_the_rules_ask_takes_a_version(cli):
    files = {"pyproject.toml": '[tool.preflight.versions]\naccelerate = "1.10.0"\nneptune = "1.14.0"\naim = "3.29.1"\n'
             'transformers = "4.57.1"\nwandb = "0.31.0"\n', "train.py": GOOD}
    assert cli("check", files=files).exit_code == 0


def test_which_configuration_wins_is_said(cli):
    """preflight.toml outranks [tool.preflight] in the pyproject.toml beside it: the other table is not
    read, and the run says so rather than leaving its settings silently unused."""
    files = {"preflight.toml": 'ignore = ["WB001"]\n', "pyproject.toml": '[tool.preflight]\nselect = ["MLF"]\n',
             "train.py": BAD}
    result = cli("check", files=files)
    assert result.exit_code == 0
    assert "preflight.toml is the configuration; [tool.preflight] in pyproject.toml beside it is not read" in (
        result.stderr)
    result = cli("check", "--config", "preflight.toml")
    assert "is not read" not in result.stderr


def test_explicit_config_file(cli):
    files = {"ci/preflight.toml": 'select = ["MLF"]\n', "train.py": BAD}
    assert cli("check", "--config", "ci/preflight.toml", files=files).exit_code == 0
    assert cli("check", "--config", "nope.toml").exit_code == 2


def test_rules_and_explain(cli):
    listing = cli("rules").output
    assert "WB001   W  unnamed-wandb-run" in listing
    rules = json.loads(cli("rules", "--format", "json").output)
    hf001 = next(r for r in rules if r["code"] == "HF001")
    assert hf001["options"]["strict"]["default"] is False
    text = cli("explain", "hf001").output
    assert text.startswith("HF001 eval-logging-cadence-mismatch (warning)")
    for part in ("Why it matters", "Bad", "Good", "strict (default false)", "[tool.preflight.rules.HF001]"):
        assert part in text
    assert cli("explain", "unnamed-wandb-run").output.startswith("WB001")


def test_module_entry_point_and_version(tmp_path):
    out = subprocess.run([sys.executable, "-m", "preflight", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("preflight, version")
