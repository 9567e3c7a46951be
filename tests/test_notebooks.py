"""Notebooks: code cells analysed in order as one Python source; IPython syntax skipped; positions
are the notebook file's JSON lines (SARIF, JSON) and read as cell and line in the text output."""

from __future__ import annotations

import json

from click.testing import CliRunner

from preflight.cli import main


def notebook(*cells: list[str] | tuple[str, list[str]]) -> str:
    built = []
    for cell in cells:
        kind, source = cell if isinstance(cell, tuple) else ("code", cell)
        built.append({"cell_type": kind, "metadata": {}, "source": source,
                      **({"execution_count": None, "outputs": []} if kind == "code" else {})})
    return json.dumps({"cells": built, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def test_findings_at_the_json_line_and_cell(project, monkeypatch):
    files = {"nb.ipynb": notebook(("markdown", ["# Training\n"]), ["!pip install -q wandb\n", "import wandb\n"],
                                  ["%%time\n", "run = wandb.init(project='p')\n"])}
    assert project(files, select=["WB001"]) == ["nb.ipynb:25:12: WB001"]
    monkeypatch.setenv("NO_COLOR", "1")
    out = CliRunner().invoke(main, ["check", "--select", "WB001", "--no-show-source"]).output
    assert out.startswith("nb.ipynb:25:12: (cell 3, line 2) WB001")


def test_earlier_cells_count_for_artifact_paths(project):
    files = {"nb.ipynb": notebook(["import os, mlflow\n", "os.makedirs('plots', exist_ok=True)\n"],
                                  ["mlflow.log_artifacts('plots')\n"], ["mlflow.log_artifacts('missing')\n"])}
    found = project(files, select=["MLF001"])
    assert len(found) == 1 and found[0].endswith("MLF001")


def test_other_language_cells_and_magics_are_skipped(project):
    files = {"nb.ipynb": notebook(["import wandb\n", "%load_ext autoreload\n", "wandb.init?\n"],
                                  ["%%bash\n", "python -c 'import wandb; wandb.init()'\n"],
                                  ["wandb.init(name='named')\n"])}
    assert project(files, select=["WB001", "PF001"]) == []


def test_invalid_notebook_that_names_a_tracker(project):
    assert project({"nb.ipynb": '{"cells": [ {"source": "import wandb" '}, select=["PF001"]) == ["nb.ipynb:1:1: PF001"]
