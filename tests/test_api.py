"""preflight.api, the layer the command line, `preflight run` and the language server share: the same findings
as the command line, per file, for an unsaved buffer, and the fixes and comments it plans without writing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from preflight import api, cli
from tests.conftest import write_files

FILES = {
    "train.py": "import wandb\nwandb.init(project='q')\n",
    "clean.py": "x = 1\n",
    "run.sh": "docker run -e \"WANDB_API_KEY=$KEY\" -e WANDB_PROJECT=p img\n",
}


def test_results_yield_every_checked_file_with_its_findings(tmp_path):
    write_files(tmp_path, FILES)
    files = {f.path: [x.code for x in f.findings] for f in api.results(["."], cwd=tmp_path)}
    assert files["clean.py"] == []
    assert files["train.py"] == ["WB001"]
    assert list(files) == sorted(files)


def test_render_is_what_the_command_line_prints(tmp_path, monkeypatch):
    write_files(tmp_path, FILES)
    monkeypatch.chdir(tmp_path)
    printed = CliRunner().invoke(cli.main, ["check", "--format", "json", "."]).output
    assert json.loads(api.render(api.check(["."]), output_format="json")) == json.loads(printed)


def test_check_source_checks_the_buffer_not_the_file_in_its_project(tmp_path):
    write_files(tmp_path, FILES)
    result = api.check_source("clean.py", "import wandb\nwandb.init()\n", cwd=tmp_path)
    assert [(f.location.path, f.location.line, f.code) for f in result.findings] == [("clean.py", 2, "WB001")]
    assert (tmp_path / "clean.py").read_text() == "x = 1\n"
    fixed = api.check_source("train.py", "import wandb\nwandb.init(project='q', name='a')\n", cwd=tmp_path)
    assert fixed.findings == []


def test_plans_change_nothing_until_written(tmp_path):
    write_files(tmp_path, FILES)
    result = api.check(["."], cwd=tmp_path)
    fixes = api.plan_fixes(result)
    assert [(c.path, c.after) for c in fixes] == [("run.sh", "docker run -e \"WANDB_API_KEY\" -e WANDB_PROJECT=p img\n")]
    ignores = api.plan_ignores(result, "legacy", [f for f in result.findings if f.code == "WB001"])
    assert (ignores.comments, ignores.skipped) == (1, 0)
    assert ignores.changes[0].after == "import wandb\nwandb.init(project='q')  # preflight: ignore[WB001] legacy\n"
    assert (tmp_path / "train.py").read_text() == FILES["train.py"]
    api.write_changes(ignores.changes, result.cwd)
    assert [f.code for f in api.check(["train.py"], cwd=tmp_path).findings] == []
