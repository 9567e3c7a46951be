"""The text a person reads: `[*]` on what --fix fixes and the fixable count (also in --statistics and the JSON
report), repeated findings summarised after the first few (never in a machine format), counted nouns in the
singular for one, and `preflight rules --format json` with each rule's fix and docs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from preflight.cli import main
from preflight.plural import counted

LEAKY = "docker run -e WANDB_API_KEY=$KEY img python t.py\n"
CONFIG = "base_model: x\nwandb_project: p\nval_set_size: 0.1\neval_steps: {steps}\nlogging_steps: 7\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")

    def write(files):
        for name, content in files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(content)
    return write


def _check(*args):
    return CliRunner().invoke(main, ["check", "--no-cache", "--no-show-source", *args], catch_exceptions=False)


def test_fixable_findings_are_marked_and_counted(project):
    project({"run.sh": LEAKY, "run2.sh": LEAKY, "configs/c.yml": CONFIG.format(steps=10)})
    result = _check(".")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("configs/c.yml:2:1: WB001 [warning] ")  # no fix, no marker
    assert lines[2].startswith("run.sh:1:15: SEC005 [*] [warning] `-e WANDB_API_KEY=...` puts the key")
    assert lines[3].startswith("run2.sh:1:15: SEC005 [*] [warning] ")
    assert lines[-2:] == ["Found 4 findings (4 warnings) in 3 files checked.", "[*] 2 fixable with --fix."]
    statistics = _check("--statistics", ".").stdout.splitlines()
    assert statistics == ["2  SEC005  [*] secret-on-command-line", "1  HF001   [ ] eval-logging-cadence-mismatch",
                          "1  WB001   [ ] unnamed-wandb-run", "Found 4 findings (4 warnings) in 3 files checked.",
                          "[*] 2 fixable with --fix."]
    report = json.loads(_check("--format", "json", ".").stdout)
    assert report["summary"]["fixable"] == 2
    fixes = {f["location"]["path"]: f["fix"] for f in report["findings"]}
    assert fixes["configs/c.yml"] is None
    assert fixes["run.sh"]["safe"] is True and fixes["run.sh"]["description"] == "pass WANDB_API_KEY without a value"
    fixed = CliRunner().invoke(main, ["check", "--no-cache", "--fix", "run.sh"], catch_exceptions=False)
    assert "preflight: fixed 1 finding in 1 file\n" in fixed.stderr
    assert "fixable" not in _check("run.sh").stdout and _check("run.sh").exit_code == 0


def test_a_check_without_fixable_findings_says_nothing_of_fixes(project):
    project({"configs/c.yml": CONFIG.format(steps=10)})
    result = _check(".")
    assert result.stdout.splitlines()[-1] == "Found 2 findings (2 warnings) in 1 file checked."
    assert _check("--statistics", ".").stdout.splitlines()[:2] == ["1  HF001   eval-logging-cadence-mismatch",
                                                                     "1  WB001   unnamed-wandb-run"]


def test_repeated_findings_of_one_cause_are_summarised_in_text_only(project):
    """Seven configs with no run name and six with eval_steps off the logging cadence (other numbers in each
    message, one cause): three of each are shown, then one line for the rest and where they are."""
    project({f"configs/sft/c{i}.yml": CONFIG.format(steps=i * 10) for i in range(1, 8)} | {"run.sh": LEAKY})
    result = _check(".")
    lines = result.stdout.splitlines()
    shown = [line.split(" ")[:2] for line in lines if not line.startswith(("...", "Found", "[*]"))]
    assert shown == [["configs/sft/c1.yml:2:1:", "WB001"], ["configs/sft/c1.yml:4:1:", "HF001"],
                     ["configs/sft/c2.yml:2:1:", "WB001"], ["configs/sft/c2.yml:4:1:", "HF001"],
                     ["configs/sft/c3.yml:2:1:", "WB001"], ["configs/sft/c3.yml:4:1:", "HF001"],
                     ["run.sh:1:15:", "SEC005"]]
    assert lines[5] == "... and 4 more WB001 like this in configs/sft/** (--all-findings shows each)"
    assert lines[7] == "... and 3 more HF001 like this in configs/sft/** (--all-findings shows each)"
    assert lines[-2:] == ["Found 14 findings (14 warnings) in 8 files checked.", "[*] 1 fixable with --fix."]
    every = _check("--all-findings", ".").stdout.splitlines()
    assert len(every) == 14 + 2 and not any(line.startswith("...") for line in every)
    assert len(json.loads(_check("--format", "json", ".").stdout)["findings"]) == 14
    assert len(_check("--format", "json-lines", ".").stdout.splitlines()) == 14
    assert _check("--statistics", ".").stdout.splitlines()[:2] == ["7  WB001   [ ] unnamed-wandb-run",
                                                                     "6  HF001   [ ] eval-logging-cadence-mismatch"]


def test_a_small_group_is_not_summarised(project):
    """Five findings of one cause are all shown: a summary line never stands for one or two findings."""
    project({f"c{i}.yml": CONFIG.format(steps=i * 10) for i in range(1, 6)})
    lines = _check("--select", "WB001", ".").stdout.splitlines()
    assert len(lines) == 6 and lines[-1] == "Found 5 findings (5 warnings) in 5 files checked."


def test_the_rest_of_a_group_in_one_file_or_in_no_common_folder(project):
    from preflight.findings import Finding, Location, Severity
    from preflight.report import repeated

    def finding(path, line):
        return Finding("WB001", "unnamed-wandb-run", Severity.WARNING, f"run at {path}:{line} 'x{line}'",
                       Location(path, line, 1))

    one_file = [finding("train.py", n) for n in range(1, 8)]
    arranged = list(repeated.arrange(one_file))
    assert arranged[:3] == one_file[:3] and arranged[3] == repeated.More("WB001", 4, "train.py") and len(arranged) == 4
    spread = [finding(f"{name}.py", 1) for name in "abcdefg"]
    assert list(repeated.arrange(spread))[3] == repeated.More("WB001", 4, "4 files")


@pytest.mark.parametrize(("number", "noun", "words"), [
    (0, "file", "0 files"), (1, "file", "1 file"), (2, "finding", "2 findings"), (1, "fix", "1 fix"),
    (3, "fix", "3 fixes"), (1, "ignore comment", "1 ignore comment"), (2, "entry", "2 entries")])
def test_counted(number, noun, words):
    assert counted(number, noun) == words


def test_one_of_each_is_said_in_the_singular(project):
    project({"train.py": "import wandb\nwandb.init(project='p')\n"})
    assert _check(".").stdout.splitlines()[-1] == "Found 1 finding (1 warning) in 1 file checked."
    project({"train.py": "import wandb\nwandb.init(project='p', name='r')\n"})
    assert _check(".").stdout == "All checks passed (1 file checked).\n"


def test_rules_json_says_which_rules_fix_and_where_their_docs_are():
    rules = {r["code"]: r for r in json.loads(CliRunner().invoke(main, ["rules", "--format", "json"]).stdout)}
    assert rules["SEC005"]["fixable"] is True and "-e NAME" in rules["SEC005"]["fix"]
    assert rules["HF001"]["fixable"] is False and rules["HF001"]["fix"] is None
    assert {code for code, rule in rules.items() if rule["fixable"]} >= {"HF007", "PF002", "SEC005", "MLF003"}
    assert rules["SEC005"]["fixes"] == ["safe"] and rules["MLF003"]["fixes"] == ["safe", "unsafe"]
    assert rules["HF004"]["fixes"] == ["unsafe"] and rules["HF004"]["fix_safety"].startswith("Unsafe")
    assert all(rule["fixes"] and rule["fix_safety"] for rule in rules.values() if rule["fixable"])
    assert all(not rule["fixes"] and rule["fix_safety"] is None for rule in rules.values() if not rule["fixable"])
    assert rules["HF001"]["docs_url"].endswith("/blob/main/docs/rules.md#hf001")
    from preflight.report.sarif import INFORMATION_URI

    assert all(rule["docs_url"] == f"{INFORMATION_URI}/blob/main/docs/rules.md#{code.lower()}"
               for code, rule in rules.items())
