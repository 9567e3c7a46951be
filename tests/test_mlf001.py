"""MLF001 unchecked-artifact-path: the intraprocedural "written or checked earlier" analysis."""

from __future__ import annotations

import pytest

from preflight import engine

BAD = {
    "dir-never-created": ("import mlflow\n\nmlflow.log_artifacts('outputs')\n", "train.py:3:1", "error"),
    "file-never-written": ("import mlflow\n\nmlflow.log_artifact('model.pt')\n", "train.py:3:1", "warning"),
    "alias": ("import mlflow as mf\n\nmf.log_artifacts('outputs')\n", "train.py:3:1", "error"),
    "from-import": ("from mlflow import log_artifacts\n\nlog_artifacts('outputs')\n", "train.py:3:1", "error"),
    "keyword": ("import mlflow\n\nmlflow.log_artifacts(local_dir='outputs', artifact_path='o')\n", "train.py:3:1", "error"),
    "configured-path": ("import argparse\nimport mlflow\n\nargs = argparse.ArgumentParser().parse_args()\n"
                        "mlflow.log_artifacts(args.output_dir)\n", "train.py:5:1", "error"),
    "client-dir": ("from mlflow import MlflowClient\n\nclient = MlflowClient()\n"
                   "client.log_artifacts('run-id', 'outputs')\n", "train.py:4:1", "error"),
    "client-file": ("import mlflow\n\nmlflow.MlflowClient().log_artifact(run_id, 'metrics.json')\n", "train.py:3:1",
                    "warning"),
    "in-finally": ("import mlflow\n\ndef main():\n    try:\n        fit()\n    finally:\n"
                   "        mlflow.log_artifact('best.pt')\n", "train.py:7:9", "warning"),
    "written-later": ("import os\nimport mlflow\n\nmlflow.log_artifacts('out')\nos.makedirs('out')\n", "train.py:4:1", "error"),
    "other-dir-written": ("import os\nimport mlflow\n\nos.makedirs('plots')\nmlflow.log_artifacts('outputs')\n",
                          "train.py:5:1", "error"),
    "parent-created-not-file": ("import os\nimport mlflow\n\nos.makedirs('out', exist_ok=True)\n"
                                "mlflow.log_artifact('out/model.pt')\n", "train.py:5:1", "warning"),
    "printed-only": ("import mlflow\n\nout = 'outputs'\nprint(f'uploading {out}')\nmlflow.log_artifacts(out)\n",
                     "train.py:5:1", "error"),
}


@pytest.mark.parametrize("source, expected, severity", BAD.values(), ids=BAD.keys())
def test_unchecked_paths(project, source, expected, severity):
    assert project({"train.py": source}, select=["MLF001"]) == [f"{expected}: MLF001"]
    [finding] = engine.check(["."], select=["MLF001"]).findings
    assert finding.severity.value == severity


GOOD = {
    "makedirs": "import os, mlflow\n\nos.makedirs('out/plots', exist_ok=True)\nmlflow.log_artifacts('out/plots')\n",
    "pathlib-mkdir": "from pathlib import Path\nimport mlflow\n\nPath('out').mkdir()\nmlflow.log_artifacts('out')\n",
    "variable-and-join": ("import os, mlflow\n\nout = 'outputs'\nos.makedirs(out)\n"
                          "mlflow.log_artifacts(os.path.join(out, ''))\n"),
    "file-inside-dir-written": ("import mlflow\nimport matplotlib.pyplot as plt\n\nout = 'plots'\n"
                                "plt.savefig(f'{out}/loss.png')\nmlflow.log_artifacts(out)\n"),
    "join-forms-agree": ("import os, mlflow\nfrom pathlib import Path\n\nout = Path('runs')\n"
                         "(out / 'eval').mkdir(parents=True)\nmlflow.log_artifacts(os.path.join('runs', 'eval'))\n"),
    "open-for-writing": ("import json, mlflow\n\nwith open('metrics.json', 'w') as f:\n    json.dump({}, f)\n"
                         "mlflow.log_artifact('metrics.json')\n"),
    "save-pretrained": "import mlflow\n\nmodel.save_pretrained('model')\nmlflow.log_artifacts('model')\n",
    "torch-save": "import mlflow, torch\n\ntorch.save(state, 'ckpt.pt')\nmlflow.log_artifact('ckpt.pt')\n",
    "to-csv": "import mlflow\n\ndf.to_csv('preds.csv')\nmlflow.log_artifact('preds.csv')\n",
    "exists-guard": "import os, mlflow\n\nif os.path.exists('out'):\n    mlflow.log_artifacts('out')\n",
    "path-exists-guard": ("from pathlib import Path\nimport mlflow\n\np = Path('best.pt')\nif p.exists():\n"
                          "    mlflow.log_artifact(p)\n"),
    "try-except": "import mlflow\n\ntry:\n    mlflow.log_artifact('best.pt')\nexcept FileNotFoundError:\n    pass\n",
    "read-earlier": "import mlflow, pandas as pd\n\ndf = pd.read_csv('data.csv')\nmlflow.log_artifact('data.csv')\n",
    "temp-dir": ("import tempfile, mlflow\n\nwith tempfile.TemporaryDirectory() as tmp:\n"
                 "    mlflow.log_artifacts(tmp)\n"),
    "mkdtemp": "import tempfile, mlflow\n\nd = tempfile.mkdtemp()\nmlflow.log_artifacts(d)\n",
    "returned-path": "import mlflow\n\npath = export_onnx(model)\nmlflow.log_artifact(path)\n",
    "parameter": "import mlflow\n\ndef upload(directory):\n    mlflow.log_artifacts(directory)\n",
    "loop-variable": "import mlflow\n\nfor f in files:\n    mlflow.log_artifact(f)\n",
    "module-level-creation": ("import os, mlflow\n\nOUT = 'outputs'\nos.makedirs(OUT, exist_ok=True)\n\n"
                              "def main():\n    mlflow.log_artifacts(OUT)\n"),
    "trainer-save-model": ("import mlflow\nfrom transformers import Trainer, TrainingArguments\n\n"
                           "args = TrainingArguments(output_dir='out')\ntrainer = Trainer(model=m, args=args)\n"
                           "trainer.save_model()\nmlflow.log_artifacts('out')\n"),
    "passed-to-helper": "import mlflow\n\nout = 'reports'\nwrite_report(out)\nmlflow.log_artifacts(out)\n",
    "wandb-artifact": "import wandb\n\nrun = wandb.init(name='x')\nrun.log_artifact(artifact)\n",
    "user-client": "client = MyClient()\nclient.log_artifacts('run', 'outputs')  # log_artifact\n",
    "written-by-a-helper": ("import mlflow\n\ndef plot(X):\n    fig = draw(X)\n    fig.savefig('paths.png')\n\n"
                            "def train(X):\n    with mlflow.start_run(run_name='r'):\n        plot(X)\n"
                            "        mlflow.log_artifact('paths.png')\n"),
}


@pytest.mark.parametrize("source", GOOD.values(), ids=GOOD.keys())
def test_written_checked_or_produced(project, source):
    assert project({"train.py": source}, select=["MLF001"]) == []


def test_message_names_the_path(project):
    project({"train.py": "import mlflow\n\nmlflow.log_artifacts('outputs/plots')\n"})
    [finding] = engine.check(["."], select=["MLF001"]).findings
    assert "mlflow.log_artifacts('outputs/plots')" in finding.message and "silently uploads nothing" in finding.message


def _unsafe_fixed(project, source: str) -> str:
    from preflight import api

    project({"train.py": source})
    changes = api.plan_fixes(engine.check(["."], select=["MLF001"]), unsafe=True)
    api.write_changes([c for c in changes if c.after != c.before], project.root)
    return (project.root / "train.py").read_text()


def test_the_directory_check_goes_before_the_upload_in_its_block(project):
    source = ("import os\nimport mlflow\n\ndef main(args):\n    train(args)\n    # upload\n"
              "    mlflow.log_artifacts(args.output_dir)\n")
    assert _unsafe_fixed(project, source) == (
        "import os\nimport mlflow\nimport errno\n\ndef main(args):\n    train(args)\n    # upload\n"
        "    if not os.path.isdir(args.output_dir):\n"
        "        raise FileNotFoundError(errno.ENOENT, \"no directory to upload\", args.output_dir)\n"
        "    mlflow.log_artifacts(args.output_dir)\n")
    assert project({}, select=["MLF001"]) == []


@pytest.mark.parametrize("source", [
    "import mlflow\n\nif ready: mlflow.log_artifacts('outputs')\n",  # the check would run when not ready
    "import mlflow\n\nout = 'outputs'; mlflow.log_artifacts(out)\n",
    "import mlflow\n\nok = ready and mlflow.log_artifacts('outputs')\n",  # part of an expression
    "import mlflow\n\nmlflow.log_artifacts(CONFIG['out'])\n",  # a subscript may run code: not read twice
    "import mlflow\n\nmlflow.log_artifact('model.pt')\n",  # a missing file already raises
])
def test_no_directory_check_where_it_would_not_keep_the_program(project, source):
    assert _unsafe_fixed(project, source) == source
    assert project({}, select=["MLF001"]) == ["train.py:3:" + str(source.index("mlflow.log_") - 14) + ": MLF001"]
