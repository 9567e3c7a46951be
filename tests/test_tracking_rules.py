"""NEP001, WB010, WB012, MLF005, MLF006, SWP002: triggers and traps."""

from __future__ import annotations

import pytest

NEP = {
    "import": ("import neptune\nrun = neptune.init_run()\n", ["train.py:1:1: NEP001"]),
    "neptune-scale": ("from neptune_scale import Run\nRun(experiment_name='x')\n", ["train.py:1:1: NEP001"]),
    "lightning-logger": ("from lightning.pytorch.loggers import NeptuneLogger\n", ["train.py:1:1: NEP001"]),
    "hf-callback": ("from transformers.integrations import NeptuneCallback\n", ["train.py:1:1: NEP001"]),
    "report-to": ("from transformers import TrainingArguments\nTrainingArguments(output_dir='o', report_to=['neptune'], "
                  "run_name='r')\n", ["train.py:2:35: NEP001"]),
    "choice-list": ("import argparse\np = argparse.ArgumentParser()\np.add_argument('--tracker', "
                    "choices=['wandb', 'neptune'])\n", []),
    "cluster-name": ("import wandb\nwandb.init(project='neptune', name='on-neptune-cluster')\n", []),
    "aws-neptune": ("import neptune_python_utils\nfrom gremlin_python import statics\n", []),
}


@pytest.mark.parametrize("source, expected", NEP.values(), ids=NEP.keys())
def test_neptune(project, source, expected):
    assert project({"train.py": source}, select=["NEP001"]) == expected


@pytest.mark.parametrize("path, text, expected", [
    ("configs/logger/neptune.yaml", "neptune:\n  _target_: lightning.pytorch.loggers.neptune.NeptuneLogger\n"
                                    "  project: team/llm\n", ["configs/logger/neptune.yaml:2:13: NEP001"]),
    ("conf/trainer.yaml", "trainer:\n  logger:\n    - _target_: pytorch_lightning.loggers.NeptuneLogger\n",
     ["conf/trainer.yaml:3:17: NEP001"]),
    ("configs/logger/csv.yaml", "csv:\n  _target_: lightning.pytorch.loggers.csv_logs.CSVLogger\n"
                                "  name: neptune\n", []),
], ids=["logger-config", "in-a-list", "another-logger-named-neptune"])
def test_neptune_through_a_hydra_target(project, path, text, expected):
    """hydra.utils.instantiate imports what `_target_` names."""
    assert project({path: text}, select=["NEP001"]) == expected


def test_neptune_environment(project):
    files = {"docker-compose.yml": "services:\n  t:\n    image: x\n    environment:\n      NEPTUNE_API_TOKEN: ${TOKEN}\n"
                                   "      NEPTUNE_ENDPOINT: db.cluster.neptune.amazonaws.com\n"}
    assert project(files, select=["NEP001"]) == ["docker-compose.yml:5:7: NEP001"]


@pytest.mark.parametrize("files, expected", [
    ({"train.py": "import os, wandb\nos.environ['WANDB_DISABLED'] = 'true'\nwandb.init(name='x')\n"},
     ["train.py:2:12: WB010"]),
    ({"train.py": "import os, wandb\nos.environ['WANDB_DISABLED'] = 'false'\nwandb.init(name='x')\n"}, []),
    ({"run.sh": "export WANDB_DISABLED=1\npython train.py\n"}, ["run.sh:1:1: WB010"]),
    ({"run.sh": "WANDB_DISABLED=true python train.py\n"}, ["run.sh:1:1: WB010"]),
    ({"run.sh": "export WANDB_MODE=disabled\npython train.py\n"}, []),
], ids=["python", "python-false", "export", "prefix", "wandb-mode"])
def test_wandb_disabled(project, files, expected):
    assert project(files, select=["WB010"]) == expected


def test_wandb_silent_is_info(project):
    files = {"run.sh": "export WANDB_SILENT=true\npython train.py\n"}
    assert project(files) == []
    assert project({}, select=["WB012"]) == ["run.sh:1:1: WB012"]


@pytest.mark.parametrize("source, expected", [
    ("from mlflow import MlflowClient\nc = MlflowClient()\nc.get_latest_versions('m', stages=['Production'])\n",
     ["r.py:3:1: MLF005"]),
    ("from mlflow import MlflowClient\nc = MlflowClient()\nc.get_latest_versions('m')\n", []),
    ("import mlflow\nmlflow.pyfunc.load_model('models:/m@champion')\n", []),
    ("import mlflow\nmlflow.pyfunc.load_model('models:/m/3')\n", []),
    ("client.transition_model_version_stage('m', 1, 'Staging')\n", []),  # no MLflow in the file
    ("import mlflow\nstage = 'x'\nm = mlflow.pyfunc.load_model(f'models:/{name}/Production')\n",
     ["r.py:3:32: MLF005"]),
    ("import mlflow\nURI = 'models:/m/' 'Production'\n", []),  # a concatenation, not a URI written whole
    ("import mlflow\n# not models:/m/Production any more: aliases\nmlflow.pyfunc.load_model('models:/m@champion')\n",
     []),
], ids=["get-latest-with-stages", "get-latest", "alias-uri", "version-uri", "not-mlflow", "f-string", "concatenated",
        "comment"])
def test_registry_stages(project, source, expected):
    assert project({"r.py": source}, select=["MLF005"]) == expected


@pytest.mark.parametrize("source, expected", [
    ("import mlflow\nmlflow.start_run()\n", ["t.py:2:1: MLF006"]),
    ("import mlflow\nmlflow.start_run(run_name='x')\n", []),
    ("import mlflow\nmlflow.start_run(run_id=previous)\n", []),
    ("import mlflow\nmlflow.start_run(**options)\n", []),
], ids=["unnamed", "named", "resumed", "opaque"])
def test_unnamed_mlflow_run(project, source, expected):
    assert project({"t.py": source}, select=["MLF006"]) == expected


@pytest.mark.parametrize("metric, expected", [
    ("name: eval/accuracy", ["sweep.yaml:3:1: SWP002"]),
    ("name: train/reward_mean", ["sweep.yaml:3:1: SWP002"]),
    ("name: eval/f1\n  goal: maximize", []),
    ("name: eval/rouge1\n  goal: minimize", []),  # an explicit choice is respected
    ("name: eval/loss", []),
    ("name: val_error", []),
    ("name: eval/accuracy_loss", []),
], ids=["accuracy", "reward", "maximize", "explicit-minimize", "loss", "error", "mixed"])
def test_sweep_goal(project, metric, expected):
    files = {"sweep.yaml": f"program: train.py\nmethod: bayes\nmetric:\n  {metric}\nparameters:\n  lr: {{values: [1, 2]}}\n"}
    assert project(files, select=["SWP002"]) == expected


@pytest.mark.parametrize("source, expected", [
    ("import wandb\nwandb.init(name='r', resume='must')\n", ["t.py:2:1: WB002"]),
    ("import wandb\nwandb.init(name='r', resume=True)\n", ["t.py:2:1: WB002"]),
    ("import wandb\nwandb.init(name='r', id='fixed', resume='allow')\n", []),
    ("import wandb\nwandb.init(name='r', resume='never')\n", []),
    ("import os, wandb\nos.environ['WANDB_RUN_ID'] = 'x'\nwandb.init(name='r', resume='allow')\n", []),
    ("import wandb\nwandb.init(name='r', resume=args.resume)\n", []),
], ids=["must", "true", "with-id", "never", "id-from-env", "non-literal"])
def test_resume_without_id(project, source, expected):
    assert project({"t.py": source}, select=["WB002"]) == expected


RESUMED = "import wandb\n\nwandb.init(project='p', name='sft')\n"
TRAINER_RESUMED = ("from transformers import HfArgumentParser, Trainer, TrainingArguments\n\n"
                   "(args,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n"
                   "Trainer(model=None, args=args).train()\n")


@pytest.mark.parametrize("files, expected", [
    ({"jobs/train.sbatch": "#!/bin/bash\n#SBATCH -N 1\nexport WANDB_RESUME=must\nsrun python train.py\n",
      "jobs/train.py": RESUMED}, ["jobs/train.sbatch:3:1"]),
    ({"run.sh": "set -e\nexport WANDB_RESUME=allow\npython src/train.py\n", "src/train.py": RESUMED}, ["run.sh:2:1"]),
    ({"run.sh": "WANDB_RESUME=auto python train.py\n", "train.py": RESUMED}, ["run.sh:1:1"]),
    ({".github/workflows/t.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    env:\n"
      "      WANDB_RESUME: allow\n      WANDB_API_KEY: ${{ secrets.K }}\n    steps:\n      - run: python train.py\n",
      "train.py": RESUMED}, [".github/workflows/t.yml:6:7"]),
    ({"run.sh": "export WANDB_RESUME=must\npython train.py --report_to wandb --run_name sft\n",
      "train.py": TRAINER_RESUMED}, ["run.sh:1:1"]),
    ({"run.sh": "export WANDB_RESUME=must\nexport WANDB_RUN_ID=sft-$1\npython train.py\n", "train.py": RESUMED}, []),
    ({"run.sh": "export WANDB_RESUME=must\npython train.py\n",
      "train.py": "import wandb\n\nwandb.init(project='p', id='sft-1')\n"}, []),
    ({"run.sh": "export WANDB_RESUME=must\npython train.py\n",
      "train.py": "import wandb\n\nwandb.init(project='p', resume='never')\n"}, []),
    ({"run.sh": "export WANDB_RESUME=never\npython train.py\n", "train.py": RESUMED}, []),
    ({"run.sh": "export WANDB_RESUME=must\npython train.py\n", "train.py": RESUMED,
      "sweep.yaml": "program: train.py\nmethod: random\nparameters:\n  lr: {values: [1, 2]}\n"}, []),
    ({"run.sh": "export WANDB_RESUME=must\npython train.py\n",
      "train.py": "import wandb\n\nif False:\n    wandb.init(project='p')\n"}, []),
], ids=["sbatch-in-a-folder", "shell-export", "command-prefix", "workflow-env", "trainer-integration",
        "with-run-id", "id-in-code", "resume-in-code", "never", "sweep-trial", "run-never-starts"])
def test_resume_from_the_launch_environment(project, files, expected):
    """WANDB_RESUME is the `resume` setting of every wandb.init that passes no resume= of its own."""
    assert project(files, select=["WB002"]) == [f"{e}: WB002" for e in expected]


def test_resume_with_id_from_the_launcher(project):
    files = {"t.py": "import wandb\nwandb.init(name='r', resume='allow')\n",
             "docker-compose.yml": "services:\n  t:\n    command: python t.py\n    environment:\n"
                                   "      WANDB_RUN_ID: ft-1\n      WANDB_API_KEY: ${K:?}\n"}
    assert project(files, select=["WB002"]) == []


@pytest.mark.parametrize("source, expected", [
    ("import wandb\nwandb.init(name='r', id='run:1')\n", ["t.py:2:22: WB006"]),
    ("import wandb\nwandb.init(name='r', id='  ')\n", ["t.py:2:22: WB006"]),
    ("import wandb\nwandb.init(project='a' * 1, name='r')\n", []),
    ("import wandb\nwandb.init(project='p' + 'q', name='r')\n", []),
    ("import wandb\nwandb.init(project='team-llm_v2.1', name='r', id='sft-2026-11-26T10-00')\n", []),
], ids=["colon-id", "blank-id", "non-literal", "expression", "valid"])
def test_invalid_identifiers(project, source, expected):
    assert project({"t.py": source}, select=["WB006"]) == expected


def test_invalid_identifiers_in_configs_and_env(project):
    files = {"ax.yml": "base_model: m\ndatasets: []\nwandb_project: team/llm\nwandb_name: n\n",
             "run.sh": "export WANDB_RUN_ID='run#1'\nexport WANDB_PROJECT=${PROJECT}\npython t.py\n"}
    assert project(files, select=["WB006"]) == ["ax.yml:3:1: WB006", "run.sh:1:1: WB006"]


@pytest.mark.parametrize("source, expected", [
    ("import wandb\nrun = wandb.init(name='r')\nrun.save('model.pt')\n", ["t.py:3:1: WB008"]),
    ("import wandb\nwandb.init(name='r')\nwandb.save('checkpoints/*.pt')\n", []),
    ("import torch, wandb\nwandb.init(name='r')\ntorch.save(m, 'model.pt')\nwandb.save('model.pt')\n", []),
    ("import wandb\nwandb.init(name='r')\nwandb.save(path)\n", []),
    ("import mlflow, wandb\nwandb.init(name='r')\nwandb.save('model.pt')\n", ["t.py:3:1: WB008"]),
    ("import numpy as np, wandb\nwandb.init(name='r')\nnp.save('weights', w)\nwandb.save('weights.npy')\n", []),
    ("import numpy as np, wandb\nwandb.init(name='r')\nnp.save('weights', w)\nwandb.save('weights')\n",
     ["t.py:4:1: WB008"]),  # numpy wrote weights.npy
], ids=["run-save", "glob", "written", "unknown-path", "not-mlf001", "numpy-adds-npy", "numpy-name-without-npy"])
def test_unchecked_wandb_save(project, source, expected):
    found = project({"t.py": source}, select=["WB008", "MLF001"])
    assert found == expected


@pytest.mark.parametrize("source, expected", [
    ("import wandb\nwandb.init(project='p')\n", ["t.py:2:12: WB011"]),
    ("import wandb\nwandb.init(id='fixed')\n", ["t.py:2:12: WB011"]),
    ("import wandb\nwandb.init(config={'a': 1})\n", []),
], ids=["project", "id", "nothing-fixed"])
def test_fixed_identity_in_sweep(project, source, expected):
    files = {"t.py": source, "sweep.yaml": "program: t.py\nmethod: grid\nparameters:\n  a: {values: [1, 2]}\n"}
    assert project(files, select=["WB011"]) == expected


def test_fixed_identity_outside_a_sweep_is_fine(project):
    assert project({"t.py": "import wandb\nwandb.init(project='p', name='n')\n"}, select=["WB011"]) == []


def test_a_run_outside_the_agents_function_is_not_a_trial(project):
    """A script that prepares data in a run of its own and then calls wandb.agent: only the agent's function
    runs trials."""
    source = ("import wandb\n\nwith wandb.init(project='p', name='prepare-data') as run:\n    run.log({'rows': 1})\n\n"
              "def train():\n    wandb.init(project='p', name='trial')\n\n"
              "sweep_id = wandb.sweep({'method': 'grid', 'parameters': {'lr': {'values': [1, 2]}}}, project='p')\n"
              "wandb.agent(sweep_id, function=train)\n")
    assert project({"t.py": source}, select=["WB011"]) == ["t.py:7:16: WB011"]


@pytest.mark.parametrize("source, expected", [
    ("import wandb\nwhile True:\n    wandb.init(name='x')\n", ["t.py:3:5: WB004"]),
    ("import wandb\nfor s in seeds:\n    r = wandb.init(name='x', reinit='finish_previous')\n", []),
    ("import wandb\nfor s in seeds:\n    r = wandb.init(name='x', reinit=True)\n", []),
    ("import wandb\nfor s in seeds:\n    r = wandb.init(name='x')\n    wandb.finish()\n", []),
    ("import wandb\ndef train():\n    wandb.init(name='x')\nfor s in seeds:\n    train()\n", []),
    ("import wandb\nfor s in seeds:\n    pass\nwandb.init(name='x')\n", []),
], ids=["while", "reinit-finish", "reinit-true", "wandb-finish", "in-called-function", "after-loop"])
def test_init_in_loop(project, source, expected):
    assert project({"t.py": source}, select=["WB004"]) == expected


@pytest.mark.parametrize("source, expected", [
    ("import mlflow\nwith mlflow.start_run():\n    mlflow.start_run(run_name='x')\n", ["t.py:3:5: MLF003"]),
    ("import mlflow\nwith mlflow.start_run():\n    pass\nwith mlflow.start_run(run_name='b'):\n    pass\n", []),
    ("import mlflow\nwith mlflow.start_run():\n    def child():\n        mlflow.start_run()\n", []),
    ("import mlflow\nwith mlflow.start_run():\n    mlflow.start_run(run_id=existing)\n", []),
    # two runs started at module level, nothing ending the first
    ("import mlflow\nrun = mlflow.start_run(run_name='a')\nmlflow.log_param('x', 1)\n"
     "mlflow.start_run(run_name='b')\n", ["t.py:4:1: MLF003"]),
    ("import mlflow\nmlflow.start_run(run_name='a')\nmlflow.end_run()\nmlflow.start_run(run_name='b')\n", []),
    ("import mlflow\nrun = mlflow.start_run(run_name='a')\nwith run:\n    pass\nmlflow.start_run(run_name='b')\n", []),
    ("import mlflow\nif train:\n    mlflow.start_run(run_name='a')\nelse:\n    mlflow.start_run(run_name='b')\n", []),
    # a function that starts a run, called while a `with` run is active
    ("import mlflow\n\ndef fold(k):\n    with mlflow.start_run(run_name=f'fold{k}'):\n        pass\n\n"
     "with mlflow.start_run(run_name='cv'):\n    for k in range(5):\n        fold(k)\n", ["t.py:4:10: MLF003"]),
    ("import mlflow\n\ndef fold(k):\n    with mlflow.start_run(run_name=f'fold{k}', nested=True):\n        pass\n\n"
     "with mlflow.start_run(run_name='cv'):\n    fold(1)\n", []),
    ("import mlflow\n\ndef fold(k):\n    with mlflow.start_run(run_name=f'fold{k}'):\n        pass\n\n"
     "for k in range(5):\n    fold(k)\n", []),
], ids=["nested", "sequential", "in-function", "resume-by-id", "module-level-twice", "module-level-ended",
        "module-level-ended-by-with", "module-level-branches", "function-called-inside-a-run",
        "function-nested-flag", "function-called-outside-a-run"])
def test_nested_mlflow_run(project, source, expected):
    assert project({"t.py": source}, select=["MLF003"]) == expected


def test_a_single_with_start_run_is_not_nested(project):
    assert project({"t.py": "import mlflow\nwith mlflow.start_run(run_name='a'):\n    pass\n"}, select=["MLF003"]) == []


@pytest.mark.parametrize("source, expected", [
    ("import mlflow\nfor e in range(3):\n    mlflow.log_metrics({'l': 1})\n", ["t.py:3:5: MLF002"]),
    ("import mlflow\nfor e in range(3):\n    mlflow.log_metric('l', 1, e)\n", []),
    ("import mlflow\nfor e in range(3):\n    mlflow.log_metrics({'l': 1}, step=e)\n", []),
    ("import mlflow\nmlflow.log_metric('final_accuracy', 0.9)\n", []),
    ("import mlflow\nfor name in ['rmse', 'r2']:\n    mlflow.log_metric(name, score(name))\n", []),
    ("import mlflow\nfor fold in range(3):\n    mlflow.log_metrics({f'acc_{fold}': 0.9})\n", []),
], ids=["no-step", "positional-step", "keyword-step", "outside-loop", "one-key-per-iteration", "key-per-fold"])
def test_metric_without_step(project, source, expected):
    assert project({"t.py": source}, select=["MLF002"]) == expected


def test_shared_mlflow_run_id(project):
    files = {"a.sbatch": "#!/bin/bash\n#SBATCH --array=1-3\nexport MLFLOW_RUN_ID=r-$SLURM_ARRAY_TASK_ID\npython t.py\n",
             "b.sh": "export MLFLOW_RUN_ID=abc\npython t.py\n"}
    assert project(files, select=["MLF004"]) == []


@pytest.mark.parametrize("version, expected", [(None, ["run.sh:1:1: WB009"]), ("4.57.1", []), ("5.2", ["run.sh:1:1: WB009"])])
def test_log_model_true_depends_on_the_version(project, version, expected):
    files = {"run.sh": "export WANDB_LOG_MODEL=true\npython t.py\n"}
    if version:
        files["pyproject.toml"] = f'[tool.preflight.versions]\ntransformers = "{version}"\n'
    assert project(files, select=["WB009"]) == expected


def test_log_model_true_in_axolotl(project):
    files = {"ax.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_name: n\nwandb_log_model: 'true'\n"}
    assert project(files, select=["WB009"]) == ["ax.yml:5:1: WB009"]


@pytest.mark.parametrize("body, expected", [
    ("method: bayesian\nparameters:\n  lr: {values: [1, 2]}\n", ["sweep.yaml:2:1: SWP004"]),
    ("method: random\nmetric: {name: x, goal: up}\nparameters:\n  lr: {values: [1, 2]}\n", ["sweep.yaml:3:19: SWP004"]),
    ("method: bayes\nparameters:\n  lr: {min: 0.1, max: 1.0}\n", ["sweep.yaml:2:1: SWP004"]),
    ("method: grid\nparameters:\n  lr: {distribution: uniform}\n", ["sweep.yaml:4:3: SWP004"]),
    ("method: random\nparameters:\n  lr: {values: [1, 2]}\nearly_terminate: {type: hyperband, min_iter: 3}\n", []),
    ("method: grid\nmetric: {name: eval/loss}\nparameters:\n  lr: {values: [0.1, 0.01]}\n  layers: {value: 2}\n", []),
    ("method: grid\njob: team/jobs/train:latest\nparameters:\n  lr: {values: [0.1]}\nscheduler:\n  num_workers: 8\n",
     []),  # `wandb launch-sweep` takes its scheduler section out before it validates
    ("method: grid\njob: team/jobs/train:latest\nparameters:\n  lr: {values: [0.1]}\nscheduler:\n  num_workers: 8\n"
     "metric: {name: loss, goal: down}\n", ["sweep.yaml:8:22: SWP004"]),
], ids=["method-typo", "goal-typo", "bayes-without-metric", "distribution-without-bounds", "hyperband", "valid",
        "launch-sweep", "launch-sweep-typo"])
def test_sweep_schema(project, body, expected):
    assert project({"sweep.yaml": "program: train.py\n" + body}, select=["SWP004"]) == expected


SWEEP = "program: train.py\nmethod: random\nmetric:\n  name: {metric}\n  goal: minimize\nparameters:\n  lr: {{values: [1, 2]}}\n"


@pytest.mark.parametrize("script, metric, expected", [
    ("import wandb\nrun = wandb.init()\nrun.log({'loss': 1.0})\n", "val_loss", ["sweep.yaml:4:9: SWP001"]),
    ("import wandb\nwandb.init()\nwandb.log({'val/loss': 1.0, 'epoch': 2})\n", "val/loss", []),
    ("import wandb\nwandb.init()\nwandb.log(metrics)\n", "anything", []),
    ("import wandb\nwandb.init()\nwandb.log({f'{split}_loss': 1.0})\n", "val_loss", []),
    ("from trl import SFTConfig\nSFTConfig(output_dir='o', report_to='wandb', run_name='r')\n", "eval_loss",
     ["sweep.yaml:4:9: SWP001"]),  # the metric's name, as written
    ("from trl import SFTConfig\nSFTConfig(output_dir='o', report_to='wandb', run_name='r')\n", "train/loss", []),
    ("import lightning as L\nclass M(L.LightningModule):\n    def validation_step(self, b, i):\n"
     "        self.log('val_loss', 1.0)\n", "val_loss", []),
    ("print('no tracking')\n", "val_loss", []),
], ids=["custom-miss", "custom-hit", "opaque-dict", "opaque-key", "trainer-eval_loss", "trainer-train-loss",
        "lightning", "program-logs-nothing-known"])
def test_sweep_metric_logged(project, script, metric, expected):
    files = {"train.py": script, "sweep.yaml": SWEEP.format(metric=metric)}
    assert project(files, select=["SWP001"]) == expected


def test_sweep_metric_for_an_axolotl_config(project):
    files = {"cfg.yml": "base_model: m\ndatasets: []\nval_set_size: 0.1\nwandb_project: p\nwandb_name: n\n",
             "sweep.yaml": "method: random\nmetric:\n  name: eval_loss\ncommand: [axolotl, train, cfg.yml]\n"
                           "parameters:\n  learning_rate: {values: [0.1]}\n"}
    assert project(files, select=["SWP001"]) == ["sweep.yaml:3:9: SWP001"]


LOOP = "import wandb\nrun = wandb.init(name='r')\n{before}for i in range(10):\n{body}{after}"


@pytest.mark.parametrize("source, expected", [
    # the Trainer logs without step=; whether its log comes first in a step is not known statically
    ("import wandb\nfrom transformers import TrainingArguments\nTrainingArguments(output_dir='o', report_to='wandb', "
     "run_name='r')\nwandb.log({'extra': 1}, step=3)\n", []),
    ("import wandb\nwandb.init(name='r')\nwandb.log({'a': 1}, step=1)\nwandb.log({'b': 2}, step=2)\n", []),
    ("import wandb\nwandb.init(name='r')\nwandb.log({'a': 1})\nwandb.log({'b': 2})\n", []),
    (LOOP.format(before="run.log({'config': 1})\n", body="    run.log({'loss': 1}, step=i)\n", after=""),
     ["t.py:5:5: WB005"]),
    (LOOP.format(before="", body="    run.log({'loss': 1}, step=i)\n", after="run.log({'final': 1})\n"), []),
    (LOOP.format(before="", body="    run.log({'loss': 1}, step=i)\n    run.log({'lr': 1}, commit=False)\n"
                                 "    run.log({'m': 1})\n", after=""), []),
    ("import wandb\nfor i in range(3):\n    a = wandb.init(name='a', reinit='create_new')\n"
     "    b = wandb.init(name='b', reinit='create_new')\n    for s in range(5):\n        a.log({'x': 1})\n"
     "        b.log({'y': 1}, step=s)\n", []),
], ids=["with-trainer", "all-explicit", "all-implicit", "implicit-before-the-loop", "implicit-after-the-loop",
        "commit-false-does-not-advance", "another-run"])
def test_mixed_explicit_step(project, source, expected):
    assert project({"t.py": source}, select=["WB005"]) == expected


@pytest.mark.parametrize("source, expected", [
    ("import argparse, wandb\np = argparse.ArgumentParser()\np.add_argument('--lr')\na = p.parse_args()\n"
     "run = wandb.init(name='x')\nrun.config.update(vars(a))\n", []),
    ("import wandb\nwandb.init(name='x')\n", []),
    ("import click, wandb\n@click.command()\n@click.option('--lr')\ndef main(lr):\n    wandb.init(name='x')\n",
     ["t.py:5:5: REP002"]),
    ("import argparse, wandb\np = argparse.ArgumentParser()\np.add_argument('--lr')\nwandb.init(name='x', **opts)\n", []),
    ("from omegaconf import OmegaConf as om\nimport wandb\ncfg = om.load('c.yaml')\nwandb.init(name='x')\n",
     ["t.py:4:1: REP002"]),
    ("from typing import Annotated\nimport typer, wandb\n\n"
     "def main(lr: Annotated[float, typer.Option()] = 1e-4):\n    wandb.init(name='x')\n", ["t.py:5:5: REP002"]),
    ("from dataclasses import dataclass\nimport wandb\n\n@dataclass\nclass Args:\n    lr: float = 1e-4\n\n"
     "wandb.init(name='x')\n", ["t.py:8:1: REP002"]),
    ("import wandb\n# with an HfArgumentParser this would record its arguments\nwandb.init(name='x')\n", []),
    ("import click, wandb\n@click.command()\n@click.option('--lr')\ndef main(lr):\n    run = wandb.init(name='x')\n"
     "    run.config.lr = lr\n", []),
    ("import click, wandb\n@click.command()\n@click.option('--lr')\ndef main(lr):\n    run = wandb.init(name='x')\n"
     "    assert run.config['lr'] == lr  # run.config.update(...) comes later\n", ["t.py:5:11: REP002"]),
], ids=["config-updated", "no-hyperparameters", "click", "opaque-kwargs", "omegaconf-alias", "typer-annotation",
        "dataclass", "named-in-a-comment", "config-attribute-set", "config-compared"])
def test_untracked_hyperparameters(project, source, expected):
    assert project({"t.py": source}, select=["REP002"]) == expected


def test_resume_auto_in_a_matrix(project):
    files = {"train.py": "import wandb\nwandb.init(name='x', resume=True)\n",
             ".github/workflows/t.yml": "on: push\njobs:\n  t:\n    runs-on: x\n    strategy:\n      matrix:\n"
                                        "        seed: [1, 2]\n    env:\n      WANDB_API_KEY: ${{ secrets.K }}\n"
                                        "    steps:\n      - run: python train.py\n",
             "single.sh": "python train.py\n"}
    assert project(files, select=["WB007"]) == ["train.py:2:1: WB007"]


@pytest.mark.parametrize("script, expected", [
    ("import wandb\nrun = wandb.init()\nlr = wandb.config['lr']\nbs = wandb.config.get('batch_size')\n", []),
    ("import wandb\nrun = wandb.init()\nlr = wandb.config.lr\n", ["sweep.yaml:5:3: SWP005"]),
    ("import wandb\nrun = wandb.init()\ntrain(**wandb.config)\n", []),
    ("import argparse, wandb\np = argparse.ArgumentParser()\np.add_argument('--lr')\np.add_argument('--batch-size')\n"
     "wandb.init()\n", []),
    ("from transformers import HfArgumentParser, TrainingArguments\n"
     "HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n", []),
    ("import hydra, wandb\n\n@hydra.main(config_path='conf', config_name='c')\ndef main(cfg):\n"
     "    wandb.init()\n\nmain()\n", []),  # the sweep passes Hydra overrides (${args_no_hyphens})
], ids=["key-and-get", "one-unused", "whole-config", "argparse", "hf-parser", "hydra"])
def test_swept_parameter_unused(project, script, expected):
    files = {"train.py": script, "sweep.yaml": "program: train.py\nmethod: grid\nparameters:\n  lr: {values: [1, 2]}\n"
                                               "  batch_size: {values: [8, 16]}\n"}
    assert project(files, select=["SWP005"]) == expected


def test_hyperband_with_a_swept_cadence(project):
    files = {"sweep.yaml": "program: train.py\nmethod: random\nmetric: {name: eval/loss}\n"
                           "early_terminate: {type: hyperband, min_iter: 2}\nparameters:\n  eval_steps: {values: [50, 100]}\n",
             "train.py": "import wandb\nwandb.init()\n"}
    assert project(files, select=["SWP003"]) == ["sweep.yaml:4:1: SWP003"]


def test_hyperband_on_a_train_metric_is_fine(project):
    files = {"sweep.yaml": "program: train.py\nmethod: random\nmetric: {name: train/loss}\n"
                           "early_terminate: {type: hyperband, min_iter: 2}\nparameters:\n  lr: {values: [1, 2]}\n",
             "train.py": "from transformers import TrainingArguments\nTrainingArguments(output_dir='o', "
                         "eval_strategy='epoch', report_to='wandb', run_name='r')\n"}
    assert project(files, select=["SWP003"]) == []


NEP002_ARGS = "from transformers import TrainingArguments\nargs = TrainingArguments(output_dir='o', run_name='r'{})\n"


@pytest.mark.parametrize("extra, requirements, expected", [
    ("", "transformers==4.57.1\nneptune==1.14.0\n", ["train.py:2:8: NEP002"]),
    (", report_to='all'", "transformers==4.57.1\nneptune-client\n", ["train.py:2:56: NEP002"]),
    (", report_to=None", "transformers>=4.40,<5\nneptune-client\n", ["train.py:2:56: NEP002"]),
    (", report_to='none'", "transformers==4.57.1\nneptune==1.14.0\n", []),
    ("", "transformers==4.57.1\nwandb\n", []),
    ("", "transformers==4.57.1\nneptune-scale\n", []),  # not what is_neptune_available looks for
    (", **extra", "transformers==4.57.1\nneptune\n", []),  # report_to may be in **extra
], ids=["unset", "all", "none-literal", "explicit", "no-neptune", "neptune-scale", "unknown-kwargs"])
def test_neptune_auto_enabled(project, extra, requirements, expected):
    files = {"train.py": NEP002_ARGS.format(extra), "requirements.txt": requirements}
    assert project(files, select=["NEP002"]) == expected


def test_neptune_auto_enabled_not_for_axolotl(project):
    files = {"axolotl.yaml": "base_model: m\ndatasets: []\nsequence_len: 512\nnum_epochs: 1\n",
             "requirements.txt": "transformers==4.57.1\nneptune\n"}
    assert project(files, select=["NEP002"]) == []


def test_neptune_requirement_is_neptune_use(project):
    assert project({"requirements.txt": "torch\nneptune-client==1.14\n"}, select=["NEP001"]) == [
        "requirements.txt:2:1: NEP001"]


LOOP = "import torch\nimport wandb\n{setup}\nrun = wandb.init(project='p', name='r', config={{}})\n" \
       "for batch in loader:\n    loss = model(batch)\n    loss.backward()\n    optimizer.step()\n"


@pytest.mark.parametrize("setup, expected", [
    ("", ["train.py:7:5: REP001"]),
    ("torch.manual_seed(0)", []),
    ("import lightning as L\nL.seed_everything(1)", []),
    ("from utils import fix_seed\nfix_seed()", []),
    ("import argparse\np = argparse.ArgumentParser()\np.add_argument('--seed', type=int, default=None)\n"
     "args = p.parse_args()\nif args.seed is not None:\n    torch.manual_seed(args.seed)", ["train.py:5:1: REP001"]),
    ("import argparse\np = argparse.ArgumentParser()\np.add_argument('--seed', type=int, default=7)\n"
     "args = p.parse_args()\nif args.seed is not None:\n    torch.manual_seed(args.seed)", []),
    ("import argparse\ndef set_seed(s):\n    torch.manual_seed(s)\np = argparse.ArgumentParser()\n"
     "p.add_argument('--seed', type=int)\nargs = p.parse_args()\nif args.seed:\n    set_seed(args.seed)",
     ["train.py:7:1: REP001"]),
], ids=["never", "torch", "lightning", "helper", "conditional", "default-seed", "conditional-helper"])
def test_unseeded_training(project, setup, expected):
    assert project({"train.py": LOOP.format(setup=setup)}, select=["REP001"]) == expected


@pytest.mark.parametrize("setup, expected", [
    ("g = torch.Generator()\ng.manual_seed(0)", ["train.py:8:5: REP001"]),
    ("val_gen = torch.Generator().manual_seed(0) if split == 'val' else None", ["train.py:7:5: REP001"]),
    ("torch.manual_seed(0) if deterministic else None", ["train.py:7:5: REP001"]),
], ids=["generator-object", "generator-in-a-conditional-expression", "seed-in-a-conditional-expression"])
def test_a_seed_that_is_not_the_training_s(project, setup, expected):
    """Seeding one generator object (a loader's, a split's) or only in one branch of an expression leaves the
    training's own draws (initialisation, dropout) unseeded."""
    assert project({"train.py": LOOP.format(setup=setup)}, select=["REP001"]) == expected


LIGHTNING = ("import lightning as L\nfrom lightning.pytorch.loggers import {logger}\n{setup}\n"
             "trainer = L.Trainer(max_epochs=3, logger={logger}(project='p'))\ntrainer.fit(model, datamodule=dm)\n")
KERAS = ("import wandb\nfrom tensorflow import keras\n{setup}\nrun = wandb.init(project='p', name='r')\n"
         "model = keras.Sequential([keras.layers.Dense(1)])\nmodel.compile(optimizer='adam', loss='mse')\n"
         "model.fit(x, y, epochs=3)\n")
SKLEARN = ("import mlflow\nimport numpy as np\nfrom sklearn.ensemble import RandomForestClassifier\n"
           "from sklearn.linear_model import LogisticRegression\nfrom sklearn.model_selection import train_test_split\n"
           "{setup}\nwith mlflow.start_run(run_name='rf'):\n    {fit}\n")


@pytest.mark.parametrize("source, expected", [
    (LIGHTNING.format(logger="WandbLogger", setup=""), ["train.py:5:1: REP001"]),
    (LIGHTNING.format(logger="MLFlowLogger", setup="L.seed_everything(7)"), []),
    (LIGHTNING.format(logger="WandbLogger", setup="").replace("trainer = L.Trainer", "L.Trainer").replace(
        "))\ntrainer.fit(", ")).fit("), ["train.py:4:1: REP001"]),
    (LIGHTNING.format(logger="CSVLogger", setup="").replace("(project='p')", "('logs')"), []),
    (KERAS.format(setup=""), ["train.py:7:1: REP001"]),
    (KERAS.format(setup="keras.utils.set_random_seed(1)"), []),
    (KERAS.replace("model = keras.Sequential([keras.layers.Dense(1)])", "model = build_model()").format(setup=""),
     ["train.py:7:1: REP001"]),
    (SKLEARN.format(setup="", fit="RandomForestClassifier(n_estimators=100).fit(X, y)"), ["train.py:8:5: REP001"]),
    (SKLEARN.format(setup="", fit="x_tr, x_te, y_tr, y_te = train_test_split(X, y)"), ["train.py:8:30: REP001"]),
    (SKLEARN.format(setup="", fit="RandomForestClassifier(random_state=0).fit(X, y)"), []),
    (SKLEARN.format(setup="np.random.seed(0)", fit="RandomForestClassifier().fit(X, y)"), []),
    (SKLEARN.format(setup="", fit="LogisticRegression().fit(X, y)"), []),
    # the forest is what to seed, not the split before it (which may be seeded, unused or only evaluate)
    (SKLEARN.format(setup="x_tr, x_te, y_tr, y_te = train_test_split(X, y)",
                    fit="RandomForestClassifier().fit(X, y)"), ["train.py:8:5: REP001"]),
], ids=["lightning", "lightning-seeded", "lightning-inline", "lightning-untracked", "keras", "keras-seeded",
        "keras-model-from-a-function", "sklearn-forest", "sklearn-split", "sklearn-random-state", "sklearn-numpy-seed",
        "sklearn-deterministic", "sklearn-forest-after-a-split"])
def test_unseeded_training_in_frameworks(project, source, expected):
    assert project({"train.py": source}, select=["REP001"]) == expected


@pytest.mark.parametrize("source", [
    "from transformers import Trainer, TrainingArguments\nimport wandb\nargs = TrainingArguments(output_dir='o')\n"
    "Trainer(model=m, args=args).train()\nloss.backward()\n",
    "import torch\nfor batch in loader:\n    model(batch).backward()\n    optimizer.step()\n",
], ids=["hf-trainer-seeds", "not-tracked"])
def test_unseeded_training_traps(project, source):
    assert project({"train.py": source}, select=["REP001"]) == []


AIM = "from aim.hugging_face import AimCallback\n\ncallback = AimCallback({})\n"
K8S = ("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: t\nspec:\n  template:\n    spec:\n      containers:\n"
       "        - name: t\n          image: x\n          command: [python, train.py]\n{}")


@pytest.mark.parametrize("argument, launcher, expected", [
    ("", {"run.sh": "docker run --rm img python train.py\n"}, ["train.py:3:12: AIM001"]),
    ("", {"run.sh": "docker run --rm -v $PWD/aim:/workspace img python train.py\n"}, []),
    ("", {"run.sh": "python train.py\n"}, []),
    ("repo='/data/aim'", {"run.sh": "docker run img python train.py\n"}, []),
    ("repo=None", {"run.sh": "docker run img python train.py\n"}, ["train.py:3:12: AIM001"]),
    ("", {"run.sh": "docker run -e __AIM_REPO_NAME__=/mnt/aim img python train.py\n"}, []),
    ("", {"job.yaml": K8S.format("")}, ["train.py:3:12: AIM001"]),
    ("", {"job.yaml": K8S.format("          volumeMounts:\n            - name: runs\n              mountPath: /app\n")},
     []),
    ("", {"Dockerfile": "FROM python\nCMD [\"python\", \"train.py\"]\n"}, []),  # who runs the image decides
    ("", {"Dockerfile": "FROM python\nCMD [\"python\", \"train.py\"]\n",
          "docker-compose.yml": "services:\n  t:\n    build: .\n"}, ["train.py:3:12: AIM001"]),
    ("", {"Dockerfile": "FROM python\nCMD [\"python\", \"train.py\"]\n",
          "docker-compose.yml": "services:\n  t:\n    build: .\n    volumes:\n      - type: volume\n"
                                "        source: runs\n        target: /app\n"}, []),
], ids=["docker-run", "docker-run-volume", "not-in-container", "explicit-repo", "repo-none", "repo-env", "k8s",
        "k8s-volume", "image-alone", "compose-image-cmd", "compose-long-volume"])
def test_aim_repo_in_container(project, argument, launcher, expected):
    assert project({"train.py": AIM.format(argument), **launcher}, select=["AIM001"]) == expected


DICT_SWEEP = ("import wandb\n\nconfig = {{\n    'method': {method!r},\n    'metric': {{'name': {metric!r}}},\n"
              "    'parameters': {{'lr': {{'values': [0.1, 0.01]}}, 'dropout': {{'values': [0.1]}}}},\n}}\n{after}\n\n"
              "def train():\n    run = wandb.init()\n    lr = run.config.lr\n    run.log({{'val/acc': 0.9, 'loss': 0.1}})\n\n\n"
              "sweep_id = wandb.sweep(sweep=config, project='p')\nwandb.agent(sweep_id, function=train)\n")


@pytest.mark.parametrize("method, metric, after, select, expected", [
    ("random", "val_acc", "", ["SWP001"], ["tune.py:5:24: SWP001"]),
    ("random", "val/acc", "", ["SWP001"], []),
    ("random", "val/acc", "", ["SWP002"], ["tune.py:5:5: SWP002"]),
    ("random", "loss", "", ["SWP002"], []),
    ("randm", "loss", "", ["SWP004"], ["tune.py:4:5: SWP004"]),
    ("random", "loss", "", ["SWP005"], ["tune.py:6:51: SWP005"]),
    ("random", "val_acc", "config['metric']['name'] = 'val/acc'", ["SWP001", "SWP002"], []),
    ("random", "val_acc", "config.update(metric={'name': 'val/acc'})", ["SWP001"], []),
], ids=["metric-not-logged", "metric-logged", "goal", "goal-loss", "schema", "unused-parameter", "mutated",
        "updated"])
def test_dict_sweeps(project, method, metric, after, select, expected):
    source = DICT_SWEEP.format(method=method, metric=metric, after=after)
    assert project({"tune.py": source}, select=select) == expected


def test_dict_sweep_running_another_program(project):
    files = {"launch.py": "import wandb\n\nwandb.sweep({'program': 'train.py', 'method': 'grid', "
                          "'metric': {'name': 'eval_loss', 'goal': 'minimize'}, 'parameters': {'lr': {'values': [1]}}})\n",
             "train.py": "import wandb\nrun = wandb.init()\nrun.log({'eval/loss': 1.0})\n"}
    assert project(files, select=["SWP001"]) == ["launch.py:3:74: SWP001"]


def test_dict_sweep_built_from_unknown_values_is_not_judged(project):
    source = "import wandb\nfrom settings import METRIC\n\nwandb.sweep({'method': 'rand', 'metric': {'name': METRIC}})\n"
    assert project({"tune.py": source}, select=["SWP001", "SWP002", "SWP004"]) == []


@pytest.mark.parametrize("requirements, expected", [
    ("mlflow==2.8.1\n", []),
    ("mlflow-skinny>=2.9\n", ["promote.py:3:1: MLF005"]),
    ("", ["promote.py:3:1: MLF005"]),
], ids=["before-deprecation", "range", "newest"])
def test_registry_stages_depend_on_mlflow_version(project, requirements, expected):
    files = {"promote.py": "from mlflow import MlflowClient\nclient = MlflowClient()\n"
                           "client.transition_model_version_stage('llm', 3, 'Production')\n"}
    if requirements:
        files["requirements.txt"] = requirements
    assert project(files, select=["MLF005"]) == expected


MLFLOW_SCRIPT = "import mlflow\n\nwith mlflow.start_run(run_name='r'):\n    mlflow.log_param('lr', 1)\n"


@pytest.mark.parametrize("files, expected", [
    ({"run.sh": "docker run --rm img python train.py\n"}, ["run.sh:1:1: ENV009"]),
    ({"run.sh": "docker run --rm -v /data:/app img python train.py\n"}, []),
    ({"run.sh": "docker run --rm -e MLFLOW_TRACKING_URI=http://mlflow:5000 img python train.py\n"}, []),
    ({"run.sh": "python train.py\n"}, []),
    ({"Dockerfile": "FROM python\nENV MLFLOW_TRACKING_URI=http://mlflow:5000\nCMD [\"python\", \"train.py\"]\n",
      "docker-compose.yml": "services:\n  t:\n    build: .\n"}, []),
    ({"run.sh": "docker run img python train.py\n",
      "train.py": "import mlflow\nmlflow.set_tracking_uri('http://mlflow:5000')\n" + MLFLOW_SCRIPT}, []),
    ({"run.sh": "docker run img python train.py\n",
      "train.py": "from transformers import TrainingArguments\nTrainingArguments(output_dir='o', report_to=['mlflow'], "
                  "run_name='r')\n"}, ["run.sh:1:1: ENV009"]),
    ({"run.sh": "docker run img python train.py\n", "train.py": "import wandb\nwandb.init(name='r')\n"}, []),
], ids=["container", "volume", "uri-passed", "not-container", "image-env", "set-in-script", "trainer-reports",
        "no-mlflow"])
def test_mlflow_store_in_container(project, files, expected):
    files = {"train.py": MLFLOW_SCRIPT, **files}
    assert project(files, select=["ENV009"]) == expected


@pytest.mark.parametrize("files, expected", [
    ({"docker-compose.yml": "services:\n  t:\n    image: x\n    environment:\n      MLFLOW_TRACKING_URI: ./mlruns\n"},
     ["docker-compose.yml:5:7: ENV010"]),
    ({"run.sh": "export MLFLOW_TRACKING_URI=file:///data/mlruns\npython train.py\n"}, ["run.sh:1:1: ENV010"]),
    ({"run.sh": "export MLFLOW_TRACKING_URI=sqlite:///mlflow.db\n"}, []),
    ({"run.sh": "export MLFLOW_TRACKING_URI=databricks\n"}, []),
    ({"run.sh": "export MLFLOW_TRACKING_URI=./mlruns\nexport MLFLOW_ALLOW_FILE_STORE=true\n"}, []),
    ({"run.sh": "export MLFLOW_TRACKING_URI=./mlruns\n", "requirements.txt": "mlflow==3.12.0\n"}, []),
    ({"a.yaml": "base_model: m\ndatasets: []\nmlflow_tracking_uri: ./mlruns\nmlflow_experiment_name: e\n"},
     ["a.yaml:3:1: ENV010"]),
], ids=["compose-path", "file-scheme", "sqlite", "databricks", "allowed", "old-mlflow", "axolotl"])
def test_mlflow_file_store(project, files, expected):
    assert project(files, select=["ENV010"]) == expected


PROXY = "services:\n  t:\n    image: x\n    environment:\n      NO_PROXY: localhost,api.wandb.ai\n{}"


@pytest.mark.parametrize("extra, files, expected", [
    ("", {}, ["docker-compose.yml:5:27: ENV011"]),
    ("      WANDB_BASE_URL: https://api.wandb.ai\n", {}, []),
    ("", {"requirements.txt": "wandb==0.30.0\n"}, []),
    ("      # egress: api.forge.coreweave.com is not allowed yet\n", {}, ["docker-compose.yml:5:27: ENV011"]),
    ("      HTTPS_PROXY_BYPASS: api.forge.coreweave.com\n", {}, []),
], ids=["proxy-bypass", "base-url-pinned", "old-wandb", "comment-does-not-count", "new-host-allowed"])
def test_wandb_host_changed(project, extra, files, expected):
    assert project({"docker-compose.yml": PROXY.format(extra), **files}, select=["ENV011"]) == expected


def test_unseeded_training_trusts_a_project_module_that_seeds(project):
    files = {"train.py": LOOP.format(setup="from common import setup\nsetup()"),
             "common.py": "import random\n\ndef setup():\n    random.seed(0)\n"}
    assert project(files, select=["REP001"]) == []
    files["common.py"] = "def setup():\n    print('hello')\n"
    assert project(files, select=["REP001"]) == ["train.py:8:5: REP001"]


EPOCH = ("import wandb\n\ndef train_one_epoch(model, loader, optimizer):\n    for batch in loader:\n"
         "        loss = model(batch)\n        loss.backward()\n        optimizer.step()\n        wandb.log({'loss': loss})\n")


@pytest.mark.parametrize("layout", ["flat", "package"])
@pytest.mark.parametrize("main_seeds, expected", [(True, []), (False, ["REP001"])])
def test_unseeded_training_trusts_the_program_that_imports_the_loop(project, layout, main_seeds, expected):
    """open_clip's shape: `main.py` seeds and starts the run, then calls the loop `train.py` defines."""
    seed = "import random\nrandom.seed(0)\n" if main_seeds else ""
    if layout == "flat":
        files = {"train.py": EPOCH, "main.py": f"{seed}import wandb\nfrom train import train_one_epoch\n\n"
                 "wandb.init(project='p', name='r')\ntrain_one_epoch(model, loader, optimizer)\n"}
    else:
        files = {"src/pkg/__init__.py": "", "src/pkg/train.py": EPOCH,
                 "src/pkg/main.py": f"{seed}import wandb\nfrom .train import train_one_epoch\n\n"
                 "wandb.init(project='p', name='r')\ntrain_one_epoch(model, loader, optimizer)\n"}
    assert [f.split(": ")[1] for f in project(files, select=["REP001"])] == expected


# -- WB013 weave ops without an init ----------------------------------------------------------

OP_APP = "import weave\n{imports}\n\n@weave.op{call}\ndef answer(q):\n    return q\n\n\nif __name__ == '__main__':\n{main}"


@pytest.mark.parametrize("files, expected", [
    ({"app.py": OP_APP.format(imports="", call="", main="    answer('x')\n")}, ["app.py:4:2: WB013"]),
    ({"app.py": OP_APP.format(imports="", call="(name='a')", main="    answer('x')\n")}, ["app.py:4:2: WB013"]),
    ({"app.py": OP_APP.format(imports="", call="", main="    weave.init('t/p')\n    answer('x')\n")}, []),
    ({"app.py": OP_APP.format(imports="from tracing import start", call="", main="    start()\n    answer('x')\n"),
      "tracing.py": "import weave\n\ndef start():\n    weave.init('t/p')\n"}, []),
    ({"app.py": OP_APP.format(imports="from transformers import TrainingArguments", call="",
                              main="    TrainingArguments(output_dir='o', report_to=['wandb'])\n")}, []),
    ({"tests/test_app.py": OP_APP.format(imports="", call="", main="    answer('x')\n")}, []),
    ({"lib/ops.py": "import weave\n\n@weave.op\ndef f():\n    pass\n",
      "app.py": "import weave\nfrom lib.ops import f\n\nif __name__ == '__main__':\n    weave.init('t/p')\n    f()\n",
      "demo.py": "from lib.ops import f\n\nif __name__ == '__main__':\n    f()\n"}, []),
    ({"app.py": "import weave as w\n\n@w.op()\nasync def f():\n    pass\n\nif __name__ == '__main__':\n    f()\n"},
     ["app.py:3:2: WB013"]),
    ({"app.py": "import functools\n\n@functools.cache\ndef op():\n    pass\n\nif __name__ == '__main__':\n    op()\n"}, []),
], ids=["bare-decorator", "decorator-call", "init-in-main", "init-in-imported-module", "report-to-wandb", "test-code",
        "op-module-loaded-by-an-initialising-program", "aliased-async", "other-decorator"])
def test_weave_op_without_init(project, files, expected):
    assert project(files, select=["WB013"]) == expected


# -- WB014 checkpoint artifacts ----------------------------------------------------------------

AX_WANDB = "base_model: m\ndatasets:\n  - path: d.jsonl\n    type: alpaca\nwandb_project: p\n"
HF_WANDB = ("from transformers import Trainer, TrainingArguments\nargs = TrainingArguments(output_dir='o', "
            "report_to='wandb'{})\nTrainer(model=m, args=args, train_dataset=d).train()\n")


@pytest.mark.parametrize("files, expected", [
    ({"ax.yaml": AX_WANDB + "wandb_log_model: checkpoint\nsave_steps: 50\n"}, ["ax.yaml:6:1: WB014"]),
    ({"ax.yaml": AX_WANDB + "wandb_log_model: checkpoint\nsave_steps: 50\nmax_steps: 2000\n"}, ["ax.yaml:6:1: WB014"]),
    ({"ax.yaml": AX_WANDB + "wandb_log_model: checkpoint\nsave_steps: 50\nmax_steps: 200\n"}, []),
    ({"ax.yaml": AX_WANDB + "wandb_log_model: checkpoint\n"}, []),
    ({"ax.yaml": AX_WANDB + "wandb_log_model: checkpoint\nsave_steps: 0.1\n"}, []),
    ({"ax.yaml": AX_WANDB + "wandb_log_model: checkpoint\nsave_steps: 50\nwandb_mode: disabled\n"}, []),
    ({"ax.yaml": AX_WANDB + "wandb_log_model:\nsave_steps: 50\n"}, []),
    ({"train.py": "import os\nos.environ['WANDB_LOG_MODEL'] = 'checkpoint'\n" + HF_WANDB.format("")},
     ["train.py:2:12: WB014"]),
    ({"train.py": "import os\nos.environ['WANDB_LOG_MODEL'] = 'checkpoint'\n" + HF_WANDB.format(", save_strategy='epoch'")},
     []),
    ({"train.py": HF_WANDB.format(""), "other.py": "import os\nos.environ['WANDB_LOG_MODEL'] = 'checkpoint'\n"}, []),
    ({"train.py": HF_WANDB.format(""),
      "run.sh": "#!/bin/bash\nWANDB_LOG_MODEL=checkpoint python train.py\n"}, ["run.sh:2:1: WB014"]),
    ({"train.py": HF_WANDB.format(""), "run.sh": "#!/bin/bash\nWANDB_LOG_MODEL=end python train.py\n"}, []),
], ids=["axolotl-steps", "axolotl-many-saves", "axolotl-few-saves", "axolotl-epoch-saves", "axolotl-ratio",
        "axolotl-disabled", "axolotl-empty", "environ-in-script", "epoch-saves", "environ-in-another-program",
        "launcher-prefix", "end"])
def test_checkpoint_artifacts_unbounded(project, files, expected):
    assert project(files, select=["WB014"]) == expected


def _aliases_fixed(project, files: dict[str, str]) -> dict[str, str]:
    from preflight import api, engine

    project(files)
    for _ in range(2):  # two fixes of one line: the second applies in the next round, as --fix does
        result = engine.check(["."], select=["MLF005"])
        api.write_changes([c for c in api.plan_fixes(result, unsafe=True) if c.after != c.before], project.root)
    return {path: (project.root / path).read_text() for path in files}


PROMOTE = "from mlflow import MlflowClient\nclient = MlflowClient()\n"


@pytest.mark.parametrize("line, fixed", [
    ("client.transition_model_version_stage(name='llm', version=v, stage='staging')  # nightly\n",
     "client.set_registered_model_alias('llm', 'staging', v)  # nightly\n"),
    ("MlflowClient().transition_model_version_stage('llm', 3, \"Production\", archive_existing_versions=True)\n",
     "MlflowClient().set_registered_model_alias('llm', \"production\", 3)\n"),
    ("client.transition_model_version_stage('llm', 3, 'Archived')\n", None),  # no alias means archived
    ("client.transition_model_version_stage('llm', 3, STAGE)\n", None),  # the stage is not known
    ("client.transition_model_version_stage(\n    'llm', 3, 'Production')\n", None),  # not on one line
    ("client.transition_model_version_stage(*promotion)\n", None),
    ("mv = client.transition_model_version_stage('llm', 3, 'Production')\n", None),  # its result is used
    ("load('models:/llm/Staging')  # eval\n", "load('models:/llm@staging')  # eval\n"),
    ("load(f'models:/{name}/Production')\n", None),  # an f-string
    ("load('models:/llm/Production', 'models:/llm/Production')\n",
     "load('models:/llm@production', 'models:/llm@production')\n"),
], ids=["keywords", "archive", "archived", "variable", "multi-line", "starred", "result-used", "uri", "f-string",
        "two-uris"])
def test_registry_stages_become_aliases(project, line, fixed):
    [finding, *_] = project({"promote.py": PROMOTE + line}, select=["MLF005"])
    assert finding.startswith("promote.py:3:")
    assert _aliases_fixed(project, {"promote.py": PROMOTE + line})["promote.py"] == PROMOTE + (fixed or line)


def test_no_alias_fix_where_an_mlflow_without_aliases_is_admitted(project):
    files = {"promote.py": PROMOTE + "client.transition_model_version_stage('llm', 3, 'Production')\n",
             "requirements.txt": "mlflow>=2.0\n"}
    assert project(files, select=["MLF005"]) == ["promote.py:3:1: MLF005"]
    assert _aliases_fixed(project, files) == files
