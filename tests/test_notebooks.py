"""Notebooks: code cells analysed in order as one Python source, IPython syntax read as IPython reads it,
a cell with a syntax error reported and left out; positions are the notebook file's JSON lines (SARIF,
JSON) and read as cell and line in the text output."""

from __future__ import annotations

import json

import pytest

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


# IPython's own syntax (IPython/core/inputtransformer2.py): each case is valid in a notebook, so it gives
# no PF001, and the Python around it is still analysed. In a notebook of one cell, its first source line
# is on file line 7 from column 6, and each further line one file line down.

def test_a_shell_command_continues_over_backslashed_lines(project):
    files = {"nb.ipynb": notebook(["!pip install -q wandb \\\n", "    transformers datasets\n", "import wandb\n",
                                   "wandb.init()\n"])}
    assert project(files, select=["WB001", "PF001"]) == ["nb.ipynb:10:6: WB001"]


def test_a_command_indented_in_a_block_keeps_the_block(project):
    files = {"nb.ipynb": notebook(["import wandb\n", "if True:\n", "    !nvidia-smi\n", "run = wandb.init()\n"]),
             "setup.ipynb": notebook(["import wandb\n", "def setup():\n", "    %pip install wandb\n", "\n",
                                      "for attempt in range(3):\n", "    %time setup()\n", "wandb.init()\n"])}
    assert project(files, select=["WB001", "PF001"]) == ["nb.ipynb:10:12: WB001", "setup.ipynb:13:6: WB001"]


def test_the_value_of_a_command_is_unknown_not_missing(project):
    files = {"nb.ipynb": notebook(["import wandb\n", "host = !hostname\n", "path = %env PATH\n",
                                   "wandb.init(name=host[0])\n", "run = wandb.init(project='p')\n"])}
    assert project(files, select=["WB001", "PF001"]) == ["nb.ipynb:11:12: WB001"]


def test_cell_magics_with_and_without_a_python_body(project):
    files = {"nb.ipynb": notebook(["import wandb\n"], ["%%bash\n", "for f in *.py; do python $f; done\n"],
                                  ["%%writefile train.py\n", "import wandb\n", "wandb.init()\n"],
                                  ["\n", "%%capture output\n", "run = wandb.init()\n"])}
    assert project(files, select=["WB001", "PF001"]) == ["nb.ipynb:39:12: WB001"]


def test_help_is_not_code_and_a_question_in_a_comment_or_string_is(project):
    files = {"nb.ipynb": notebook(["import wandb\n", "wandb.init?\n", "??wandb.init\n", "wandb.Run.log??\n",
                                   "%timeit?\n", "prompt = '''Why?\n", "'''\n", "wandb.init()  # named later?\n"])}
    assert project(files, select=["WB001", "PF001"]) == ["nb.ipynb:14:6: WB001"]


def test_a_line_magic_alone_in_its_cell_needs_no_percent(project):
    files = {"nb.ipynb": notebook(["cd repo\n"], ["pip install wandb"], ["import wandb\n", "cd repo\n"])}
    assert project(files, select=["PF001"]) == ["nb.ipynb:26:9: PF001"]


def test_an_indented_cell_runs_dedented(project):
    files = {"nb.ipynb": notebook(["    import wandb\n", "    run = wandb.init()\n"])}
    assert project(files, select=["WB001", "PF001"]) == ["nb.ipynb:8:16: WB001"]


def test_a_broken_cell_is_reported_and_the_others_are_checked(project, monkeypatch):
    files = {"nb.ipynb": notebook(["import wandb\n"], ["def train(:\n", "    pass\n"], ["run = wandb.init()\n"])}
    assert project(files, select=["WB001", "PF001"]) == ["nb.ipynb:16:16: PF001", "nb.ipynb:26:12: WB001"]
    monkeypatch.setenv("NO_COLOR", "1")
    out = CliRunner().invoke(main, ["check", "--select", "PF001", "--no-show-source"]).output
    assert out.startswith("nb.ipynb:16:16: (cell 2, line 1) PF001")


def test_a_missing_comma_is_still_a_syntax_error(project):
    files = {"nb.ipynb": notebook(["import wandb\n"], ["config = dict(\n", "    lr=1e-4\n", "    epochs=3,\n", ")\n",
                                                       "wandb.init(config=config)\n"], ["wandb.init()\n"])}
    assert project(files, select=["WB001", "PF001"]) == ["nb.ipynb:17:13: PF001", "nb.ipynb:29:6: WB001"]


def test_columns_count_the_json_escapes_before_them(project):
    files = {"nb.ipynb": notebook(["import wandb\n", "print(\"é\\t\"); wandb.init()\n"])}
    assert project(files, select=["WB001"]) == ["nb.ipynb:8:28: WB001"]


def test_a_code_line_repeated_in_markdown_or_an_output_is_found_in_its_cell(project):
    cells = json.loads(notebook(("markdown", ["import wandb\n"]), ["import wandb\n", "wandb.init()\n"]))
    cells["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["wandb.init()\n"]}]
    cells["cells"][1] = dict(sorted(cells["cells"][1].items()))  # nbformat's order: the outputs before the source
    assert project({"nb.ipynb": json.dumps(cells, indent=1)}, select=["WB001"]) == ["nb.ipynb:25:6: WB001"]


def test_a_cell_source_that_is_not_text(project):
    files = {"nb.ipynb": '{"cells": [{"cell_type": "code", "source": ["import wandb\\n", 1]}]}'}
    assert project(files, select=["PF001"]) == ["nb.ipynb:1:1: PF001"]


DATABRICKS = ("# Databricks notebook source\n!pip install -U mlflow-skinny\ndbutils.library.restartPython()\n\n"
              "# COMMAND ----------\n\n# MAGIC %run ./Common\n\n# COMMAND ----------\n\n import mlflow\n\n"
              "# COMMAND ----------\n\nimport wandb\nwandb.init(project='p')\n")


def test_a_databricks_source_file_is_a_notebook(project):
    """A notebook exported as `.py` runs in Databricks' IPython kernel: `!pip` is a shell command, a cell's
    common indentation is removed, and one broken cell is one PF001 while the others are still checked."""
    assert project({"Train.py": DATABRICKS}, select=["PF001", "WB001"]) == ["Train.py:16:1: WB001"]
    broken = DATABRICKS.replace(" import mlflow\n", "x = (1,\n")
    assert project({"Train.py": broken}, select=["PF001", "WB001"]) == ["Train.py:11:5: PF001", "Train.py:16:1: WB001"]


TRAINING_CELL = ["from transformers import Trainer, TrainingArguments\n",
                 "args = TrainingArguments(output_dir='o', evaluation_strategy='epoch')\n",
                 "Trainer(model=None, args=args)\n"]


@pytest.mark.parametrize("install, expected", [
    ("!pip install -q transformers==4.46.3 datasets\n", []),
    ("%pip install \"transformers==4.46.3\"\n", []),
    ("!pip install -q -U transformers\n", ["HF007"]),  # the newest release, whatever the project pins
    ("# !pip install transformers==4.46.3\n", ["HF007"]),  # a comment installs nothing
], ids=["bang-pin", "percent-pin", "upgrade", "commented"])
def test_a_notebook_runs_with_what_it_installs(project, install, expected):
    """A notebook's own `!pip install` decides the versions of its code (Colab and the like start from
    nothing), not the project's declarations, which still decide the other files."""
    files = {"nb.ipynb": notebook([install], TRAINING_CELL), "requirements.txt": "transformers>=4.40\n"}
    assert [f.split(": ")[1] for f in project(files, select=["HF007"])] == expected
    files = {"nb.ipynb": notebook(["!pip install -q transformers==4.46.3\n"], TRAINING_CELL),
             "train.py": "".join(TRAINING_CELL), "requirements.txt": "transformers>=4.40\n"}
    assert [f.split(":")[0] for f in project(files, select=["HF007"])] == ["train.py"]
