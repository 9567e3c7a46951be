"""preflight.api, the layer the command line, `preflight run` and the language server share: the same findings
as the command line, per file, for an unsaved buffer, and the fixes and comments it plans without writing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from preflight import api, cli
from conftest import write_files

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


def test_a_warm_workspace_resolves_again_the_imports_an_edit_changes(tmp_path):
    """A warm check reuses the imports the last one resolved, but not those of an edited file, nor any once
    the set of files changed: the workflow's finding follows the module the script imports."""
    write_files(tmp_path, {"launch.py": "import helper\n\nhelper.main()\n", "quiet.py": "def main():\n    pass\n",
                           "helper.py": "import wandb\n\ndef main():\n    wandb.init(project='p', name='n')\n",
                           ".github/workflows/t.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
                                                     "    steps:\n      - run: python launch.py\n"})
    project = api.Workspace(tmp_path, use_cache=False)
    project.load()
    assert [f.code for f in project.check()[".github/workflows/t.yml"]] == ["ENV001"]
    project.set_buffer("launch.py", "import quiet\n\nquiet.main()\n")
    assert project.check()[".github/workflows/t.yml"] == []
    project.set_buffer("launch.py", "import helper\n\nhelper.main()\n")
    assert [f.code for f in project.check()[".github/workflows/t.yml"]] == ["ENV001"]
    (tmp_path / "helper.py").unlink()
    project.file_changed("helper.py")  # gone: the set of files changed, every import is resolved again
    assert project.check()[".github/workflows/t.yml"] == []


def test_a_warm_workspace_rebuilds_who_imports_a_module_when_an_edit_changes_it(tmp_path):
    """REP001 trusts the program that imports the loop: the reverse index of imports is reused from the last
    check only while no edited module imports anything else."""
    loop = ("import wandb\n\ndef train_one_epoch(model, loader, optimizer):\n    for batch in loader:\n"
            "        loss = model(batch)\n        loss.backward()\n        optimizer.step()\n"
            "        wandb.log({'loss': loss})\n")
    seeding = ("import random\nrandom.seed(0)\nimport wandb\nfrom train import train_one_epoch\n\n"
               "wandb.init(project='p', name='r')\ntrain_one_epoch(model, loader, optimizer)\n")
    write_files(tmp_path, {"train.py": loop, "main.py": seeding, "other.py": "x = 1\n"})
    project = api.Workspace(tmp_path, use_cache=False)
    project.load()
    assert not any(f.code == "REP001" for f in project.check().get("train.py", []))
    project.set_buffer("main.py", seeding.replace("from train import", "from other import"))
    assert [f.code for f in project.check()["train.py"] if f.code == "REP001"] == ["REP001"]
    project.set_buffer("main.py", seeding)
    assert not any(f.code == "REP001" for f in project.check()["train.py"])


def test_a_warm_workspace_rechecks_what_an_edit_changes(tmp_path):
    write_files(tmp_path, {**FILES, "launch.py": "import os\nimport wandb\n\nwandb.init(project='p', name=os.environ['R'])\n",
                           ".github/workflows/t.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                                                     "      - run: python launch.py\n"})
    project = api.Workspace(tmp_path, use_cache=False)
    project.load()
    first = project.check()
    assert [f.code for f in first["train.py"]] == ["WB001"] and "clean.py" not in first
    assert [f.code for f in first[".github/workflows/t.yml"]] == ["ENV001"]
    project.set_buffer("train.py", FILES["train.py"] + "# a comment\n")
    assert project.check() == {}  # the same facts: nothing to check again, nothing to republish
    project.set_buffer("train.py", "import wandb\n\nwandb.init(project='q', name='a')\n")
    assert project.check() == {"train.py": []}
    project.set_buffer("launch.py", "x = 1\n")  # the workflow no longer runs a W&B script
    assert project.check() == {".github/workflows/t.yml": []}  # launch.py had no findings and has none
    assert (tmp_path / "train.py").read_text() == FILES["train.py"]


def test_a_warm_workspace_reports_a_suppression_that_suppresses_nothing_from_the_load(tmp_path):
    """PF002 comes from the filter, which a check gives the files whose findings changed: a file with no
    rule's finding but an unused suppression is one of them at the load too, open or not."""
    write_files(tmp_path, {"train.py": "import wandb\n\nrun = wandb.init(name='baseline')  # preflight: ignore[WB001]\n"})
    project = api.Workspace(tmp_path, use_cache=False)
    project.load()
    assert [(f.code, f.location.line) for f in project.check()["train.py"]] == [("PF002", 3)]
