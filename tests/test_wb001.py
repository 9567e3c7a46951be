"""WB001 unnamed-wandb-run: every trigger and every false-positive trap."""

from __future__ import annotations

import pytest

BAD = {
    "alias": ("import wandb as wb\n\nwb.init(project='p')\n", "train.py:3:1"),
    "from-import": ("from wandb import init\n\ninit(project='p')\n", "train.py:3:1"),
    "inside-function": ("import wandb\n\ndef main():\n    run = wandb.init(project='p')\n", "train.py:4:11"),
    "datetime-now": ("from datetime import datetime\nimport wandb\n\n"
                     "wandb.init(name=datetime.now().strftime('%Y%m%d-%H%M'))\n", "train.py:4:12"),
    "uuid-via-variable": ("import uuid\nimport wandb\n\nname = f'run-{uuid.uuid4().hex[:6]}'\nwandb.init(name=name)\n",
                          "train.py:5:12"),
    "random": ("import random\nimport wandb\n\nwandb.init(name=f'trial-{random.randint(0, 999)}')\n", "train.py:4:12"),
    "generated-id": ("import wandb\n\nwandb.init(id=wandb.util.generate_id())\n", "train.py:3:12"),
    "lightning-logger": ("from lightning.pytorch.loggers import WandbLogger\n\nlogger = WandbLogger(project='p')\n",
                         "train.py:3:10"),
    "pl-logger": ("import pytorch_lightning as pl\n\nlogger = pl.loggers.WandbLogger(project='p')\n", "train.py:3:10"),
    "init-trackers": ("from accelerate import Accelerator\n\nacc = Accelerator(log_with='wandb')\n"
                      "acc.init_trackers('proj', config={'lr': 1})\n", "train.py:4:1"),
    "init-trackers-without-wandb-name": (
        "from accelerate import Accelerator\n\nacc = Accelerator(log_with=['wandb', 'tensorboard'])\n"
        "acc.init_trackers('proj', init_kwargs={'wandb': {'tags': ['x']}})\n", "train.py:4:1"),
    "report-to-list": ("from transformers import TrainingArguments\n\n"
                       "TrainingArguments(output_dir='o', report_to=['wandb', 'mlflow'])\n", "train.py:3:35"),
    "report-to-dict-splat": ("from transformers import TrainingArguments\n\ncfg = {'output_dir': 'o', 'report_to': 'wandb'}\n"
                             "args = TrainingArguments(**cfg)\n", "train.py:3:27"),
    "trl-config": ("from trl import SFTConfig\n\nSFTConfig(output_dir='o', report_to='wandb')\n", "train.py:3:27"),
    "wandb-disabled-is-not-a-name": ("import os\nimport wandb\n\nos.environ['WANDB_DISABLED'] = 'true'\nwandb.init()\n",
                                     "train.py:5:1"),
}


@pytest.mark.parametrize("source, expected", BAD.values(), ids=BAD.keys())
def test_python_runs_without_a_deterministic_name(project, source, expected):
    assert project({"train.py": source}, select=["WB001"]) == [f"{expected}: WB001"]


GOOD = {
    "named": "import wandb\n\nwandb.init(project='p', name='baseline')\n",
    "id-only": "import wandb\n\nwandb.init(project='p', id='exp-42', resume='allow')\n",
    "name-from-args": "import wandb\n\ndef main(args):\n    wandb.init(name=args.run_name)\n",
    "trackio-as-wandb": "import trackio as wandb\n\nwandb.init(project='p')\n",
    "own-init": "def init(**kw):\n    pass\n\ninit(project='p')\n",
    "disabled": "import wandb\n\nwandb.init(mode='disabled')\n",
    "offline": "import wandb\n\nwandb.init(project='p', mode='offline')\n",
    "unresolved-kwargs": "import wandb\n\ndef main(**kwargs):\n    wandb.init(**kwargs)\n",
    "settings-run-name": "import wandb\n\nwandb.init(settings=wandb.Settings(run_name='x'))\n",
    "env-name-in-file": "import os\nimport wandb\n\nos.environ['WANDB_NAME'] = 'baseline'\nwandb.init()\n",
    "env-run-id-setdefault": "import os\nimport wandb\n\nos.environ.setdefault('WANDB_RUN_ID', 'run-1')\nwandb.init()\n",
    "agent-function": "import wandb\n\ndef train():\n    wandb.init()\n\nwandb.agent('s', function=train)\n",
    "agent-positional": "import wandb\n\ndef train():\n    wandb.init()\n\nwandb.agent('s', train, count=5)\n",
    "agent-indirect": ("import wandb\n\ndef fit(cfg):\n    wandb.init(config=cfg)\n\ndef trial():\n    fit({})\n\n"
                       "wandb.agent('sweep-id', function=trial)\n"),
    "agent-lambda": "import wandb\n\ndef fit(c):\n    wandb.init()\n\nwandb.agent('s', function=lambda: fit(1))\n",
    "logger-named": "from lightning.pytorch.loggers import WandbLogger\n\nWandbLogger(name='baseline', project='p')\n",
    "logger-positional-name": "from lightning.pytorch.loggers import WandbLogger\n\nWandbLogger('baseline')\n",
    "init-trackers-named": ("from accelerate import Accelerator\n\nacc = Accelerator(log_with='wandb')\n"
                            "acc.init_trackers('p', init_kwargs={'wandb': {'name': 'baseline'}})\n"),
    "init-trackers-no-wandb": ("from accelerate import Accelerator\n\nacc = Accelerator(log_with='tensorboard')\n"
                               "acc.init_trackers('p')\n"),
    "report-to-named": ("from transformers import TrainingArguments\n\n"
                        "TrainingArguments(output_dir='o', report_to='wandb', run_name='sft-r16')\n"),
    "report-to-none": "from transformers import TrainingArguments\n\nTrainingArguments(output_dir='o', report_to='none')\n",
    "report-to-vars": "from transformers import TrainingArguments\n\ndef f(args):\n    TrainingArguments(**vars(args))\n",
    "user-dataclass": ("from dataclasses import dataclass\n\n@dataclass\nclass TrainingArguments:\n    report_to: str = ''\n\n"
                       "TrainingArguments(report_to='wandb')\n"),
    "hash-name": ("import hashlib\nimport wandb\n\ncfg = {'lr': 1}\nname = hashlib.sha1(repr(cfg).encode()).hexdigest()[:8]\n"
                  "wandb.init(name=name)\n"),
}


@pytest.mark.parametrize("source", GOOD.values(), ids=GOOD.keys())
def test_python_traps_stay_silent(project, source):
    assert project({"train.py": source}, select=["WB001"]) == []


def test_yaml_training_arguments(project):
    files = {
        "bad.yaml": "output_dir: out\nper_device_train_batch_size: 4\nreport_to: wandb\n",
        "good.yaml": "output_dir: out\nper_device_train_batch_size: 4\nreport_to: [wandb]\nrun_name: sft\n",
        "trl-env.yaml": "output_dir: out\nlogging_steps: 5\nreport_to: wandb\nenv:\n  WANDB_NAME: sft-baseline\n",
    }
    assert project(files, select=["WB001"]) == ["bad.yaml:3:1: WB001"]


def test_axolotl(project):
    files = {
        "unnamed.yml": "base_model: m\ndatasets: []\nwandb_project: p\n",
        "named.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_name: lora-r16\n",
        "id.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_run_id: lora-r16\n",
        "empty-project.yml": "base_model: m\ndatasets: []\nwandb_project:\n",
        "disabled.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_mode: disabled\n",
    }
    assert project(files, select=["WB001"]) == ["unnamed.yml:3:1: WB001"]


def test_hydra_logger(project):
    files = {
        "conf/logger/wandb.yaml": "_target_: lightning.pytorch.loggers.WandbLogger\nproject: p\n",
        "conf/logger/timed.yaml": "_target_: lightning.pytorch.loggers.WandbLogger\nname: run-${now:%H-%M-%S}\n",
        "conf/logger/named.yaml": "_target_: lightning.pytorch.loggers.WandbLogger\nname: ${model.name}-${data.name}\n",
    }
    assert project(files, select=["WB001"]) == ["conf/logger/timed.yaml:2:1: WB001", "conf/logger/wandb.yaml:1:1: WB001"]


def test_name_from_the_launcher(project):
    script = "import wandb\n\nwandb.init(project='p')\n"
    workflow = """on: push
jobs:
  train:
    runs-on: ubuntu-latest
    env:
      WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}
      WANDB_NAME: nightly-${{ github.run_number }}
    steps:
      - run: python train.py
"""
    assert project({"train.py": script, ".github/workflows/t.yml": workflow}, select=["WB001"]) == []


def test_run_name_on_the_command_line(project):
    files = {
        "sft.yaml": "output_dir: out\nlogging_steps: 5\nreport_to: wandb\n",
        "docker-compose.yml": "services:\n  t:\n    command: trl sft --config sft.yaml --run_name sft-1\n",
    }
    assert project(files, select=["WB001"]) == []


def test_sweep_program_is_named_by_the_sweep(project):
    files = {
        "train.py": "import wandb\n\nwandb.init()\n",
        "sweep.yaml": "program: train.py\nmethod: random\nparameters:\n  lr: {values: [1, 2]}\n",
    }
    assert project(files, select=["WB001"]) == []


PARSED = ("from transformers import HfArgumentParser, Trainer, TrainingArguments\n\n"
          "(args,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n"
          "Trainer(model=None, args=args)\n")


@pytest.mark.parametrize("files, expected", [
    ({"scripts/launch.sh": "cd \"$(dirname \"$0\")\"\ntorchrun --nproc_per_node 8 train.py --report_to wandb\n",
      "scripts/train.py": PARSED}, ["scripts/launch.sh:2:38: WB001"]),
    ({".github/workflows/t.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                                 "      - run: accelerate launch train.py --report_to wandb --output_dir o\n",
      "train.py": PARSED}, [".github/workflows/t.yml:6:41: WB001"]),
    ({"run.sh": "python train.py --report_to wandb --run_name sft-baseline\n", "train.py": PARSED}, []),
    ({"run.sh": "WANDB_NAME=sft python train.py --report_to wandb\n", "train.py": PARSED}, []),
    ({"run.sh": "python train.py --report_to wandb\n",
      "train.py": PARSED.replace("Trainer(", "args.run_name = 'sft'\nTrainer(")}, []),
    ({"run.sh": "python train.py --report_to wandb\n", "train.py": PARSED, "requirements.txt": "transformers==4.46.3\n"},
     []),  # before 4.55 the run is named after output_dir
], ids=["shell-script-in-a-folder", "workflow", "run-name-flag", "wandb-name-env", "set-in-the-script", "v4.46"])
def test_report_to_wandb_on_a_command_line(project, files, expected):
    assert project(files, select=["WB001"]) == expected


def test_a_trainer_logs_into_a_run_already_started(project):
    source = ("import wandb\nfrom transformers import TrainingArguments\n\n"
              "run = wandb.init(project='p', id=last_run_id, resume='must')\n"
              "args = TrainingArguments(output_dir='o', report_to='wandb')\n")
    assert project({"train.py": source}, select=["WB001"]) == []


@pytest.mark.parametrize("files", [
    {"sweep.yaml": "method: random\nprogram: train.py\ncommand: [python, '${program}', --report_to=wandb, '${args}']\n"
                   "parameters:\n  learning_rate: {values: [1, 2]}\n"},
    {"sweeps/lr.yaml": "method: grid\ncommand: [trl, sft, --config, sft.yaml, '${args}']\n"
                        "parameters:\n  learning_rate: {values: [1, 2]}\n",
     "sft.yaml": "model_name_or_path: m\ndataset_name: d\noutput_dir: out\nreport_to: wandb\n"},
], ids=["script", "trl-recipe"])
def test_a_trial_of_a_sweep_command_is_named_by_the_sweep(project, files):
    assert project({"train.py": PARSED, **files}, select=["WB001"]) == []


TRIAL_LIB = "import wandb\n\n\ndef train(epochs=1):\n    wandb.init(project='p')\n\n\ndef evaluate():\n    wandb.init(project='p')\n"


@pytest.mark.parametrize("files", [
    {"sweep.py": "import wandb\nfrom train_lib import train\n\nwandb.agent('sweep-id', function=train)\n",
     "train_lib.py": TRIAL_LIB},
    {"sweep.py": "import functools\nimport wandb\nfrom train_lib import train\n\n"
                 "wandb.agent('sweep-id', function=functools.partial(train, epochs=3), count=10)\n",
     "train_lib.py": TRIAL_LIB},
    {"pkg/__init__.py": "", "pkg/sweep.py": "import wandb\nfrom .train_lib import train\n\n"
                                           "wandb.agent('sweep-id', function=train)\n",
     "pkg/train_lib.py": TRIAL_LIB},
    {"sweep.py": "import wandb\nimport train_lib\n\nwandb.agent('sweep-id', train_lib.train)\n",
     "train_lib.py": TRIAL_LIB},
], ids=["imported", "partial", "relative-import", "module-attribute"])
def test_runs_of_an_agent_function_from_another_module_are_trials(project, files):
    """Only the function the agent runs: another function of the module still starts an unnamed run."""
    lib = next(path for path in files if path.endswith("train_lib.py"))
    assert project(files, select=["WB001"]) == [f"{lib}:9:5: WB001"]
