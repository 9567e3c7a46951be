"""HF001 eval-logging-cadence-mismatch: effective defaults, frameworks, sweeps, strict mode, traps."""

from __future__ import annotations

import pytest

from preflight import engine

# The runs report to W&B (at the end, so that columns stay put): a mismatch matters only for curves a
# tracker shows (see test_reported_only_where_logs_reach_a_tracker).
HF = "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='o', {}, report_to='wandb')\n"
TRL = "from trl import SFTConfig\n\nargs = SFTConfig(output_dir='o', {}, report_to='wandb')\n"


def hf(arguments: str) -> str:
    return HF.format(arguments)


CASES = {
    "not-a-multiple": (hf("eval_strategy='steps', eval_steps=250, logging_steps=100"), ["train.py:3:65"]),
    "multiple": (hf("eval_strategy='steps', eval_steps=500, logging_steps=100"), []),
    "eval-follows-logging": (hf("eval_strategy='steps', logging_steps=30"), []),
    "hf-default-500": (hf("eval_strategy='steps', eval_steps=300"), ["train.py:3:65"]),
    "hf-default-multiple": (hf("eval_strategy='steps', eval_steps=1000"), []),
    "legacy-evaluation-strategy": (hf("evaluation_strategy='steps', eval_steps=300"), ["train.py:3:71"]),
    "no-eval": (hf("eval_steps=250, logging_steps=100"), []),
    "eval-strategy-no": (hf("eval_strategy='no', eval_steps=250, logging_steps=100"), []),
    "epoch-without-sweep": (hf("eval_strategy='epoch', logging_steps=10"), []),
    "eval-finer-than-logging": (hf("eval_strategy='steps', eval_steps=50, logging_steps=100"), ["train.py:3:65"]),
    "ratios-compatible": (hf("eval_strategy='steps', eval_steps=0.1, logging_steps=0.05"), []),
    "ratios-incompatible": (hf("eval_strategy='steps', eval_steps=0.1, logging_steps=0.03"), ["train.py:3:65"]),
    "ratio-vs-absolute": (hf("eval_strategy='steps', eval_steps=0.1, logging_steps=100"), []),
    "non-literal": (hf("eval_strategy='steps', eval_steps=cfg.eval_steps, logging_steps=100"), []),
    "logging-epoch": (hf("eval_strategy='steps', eval_steps=100, logging_strategy='epoch'"), []),
    "trl-default-10": (TRL.format("eval_strategy='steps', eval_steps=25"), ["train.py:3:57"]),
    "trl-default-multiple": (TRL.format("eval_strategy='steps', eval_steps=50"), []),
    "opaque-kwargs": ("from transformers import TrainingArguments\n\ndef f(extra):\n"
                      "    TrainingArguments(eval_strategy='steps', eval_steps=300, report_to='wandb', **extra)\n", []),
    "user-dataclass": ("from dataclasses import dataclass\n\n@dataclass\nclass TrainingArguments:\n    eval_steps: int = 0\n\n"
                       "TrainingArguments(eval_strategy='steps', eval_steps=250, logging_steps=100, report_to='wandb')\n",
                       []),
    "dict-splat": ("from transformers import TrainingArguments\n\nkw = dict(eval_strategy='steps', eval_steps=250, "
                   "logging_steps=100)\nTrainingArguments(output_dir='o', report_to='wandb', **kw)\n", ["train.py:3:34"]),
}


@pytest.mark.parametrize("source, expected", CASES.values(), ids=CASES.keys())
def test_python(project, source, expected):
    assert project({"train.py": source}, select=["HF001"]) == [f"{e}: HF001" for e in expected]


def test_message_names_the_default(project):
    from preflight import engine

    project({"train.py": hf("eval_strategy='steps', eval_steps=300")})
    [finding] = engine.check(["."], select=["HF001"]).findings
    assert "logging_steps=500 (the TrainingArguments default)" in finding.message
    assert "eval_steps=500" in finding.message


AXOLOTL = "base_model: m\ndatasets: []\n{}wandb_project: p\n"


@pytest.mark.parametrize("body, expected", [
    ("val_set_size: 0.05\neval_steps: 50\nlogging_steps: 20\n", ["ax.yml:4:1"]),
    ("val_set_size: 0.05\neval_steps: 60\nlogging_steps: 20\n", []),
    ("val_set_size: 0.05\neval_steps: 50\n", []),  # logging_steps computed by Axolotl: unknowable
    ("val_set_size: 0\neval_steps: 50\nlogging_steps: 20\n", []),  # no eval set: no evaluation (AXO001)
    ("val_set_size: 0.05\nevals_per_epoch: 4\nlogging_steps: 20\n", []),  # ratio of an epoch
    ("val_set_size: 0.05\neval_steps:\nlogging_steps: 20\n", []),  # an empty value means unset
], ids=["mismatch", "multiple", "logging-computed", "no-eval-set", "evals-per-epoch", "empty-value"])
def test_axolotl(project, body, expected):
    assert project({"ax.yml": AXOLOTL.format(body)}, select=["HF001"]) == [f"{e}: HF001" for e in expected]


SWEEP = """program: train.py
method: bayes
metric: {name: eval/loss, goal: minimize}
parameters:
  learning_rate: {min: 0.00001, max: 0.001}
"""


def test_sweep_program_with_epoch_eval(project):
    files = {"train.py": hf("eval_strategy='epoch', logging_steps=50"), "sweep.yaml": SWEEP}
    assert project(files, select=["HF001"]) == ["train.py:3:42: HF001"]


def test_sweep_driver_in_the_script(project):
    source = ("import wandb\nfrom transformers import TrainingArguments\n\ndef train():\n"
              "    TrainingArguments(output_dir='o', eval_strategy='steps', eval_steps=100, logging_steps=50)\n\n"
              "wandb.agent('sweep', function=train)\n")
    assert project({"train.py": source}, select=["HF001"]) == ["train.py:5:62: HF001"]


def test_sweep_with_equal_cadences_is_clean(project):
    files = {"train.py": hf("eval_strategy='steps', eval_steps=50, logging_steps=50"), "sweep.yaml": SWEEP}
    assert project(files, select=["HF001"]) == []


def test_sweep_config_file_run_through_the_command(project):
    files = {
        "sft.yaml": "output_dir: o\npacking: true\neval_strategy: epoch\nlogging_steps: 10\n",
        "sweep.yaml": SWEEP + "command: [python, train.py, --config, sft.yaml, '${args}']\n",
    }
    assert project(files, select=["HF001"]) == ["sft.yaml:3:1: HF001"]


def test_strict_option(project):
    files = {
        "train.py": hf("eval_strategy='epoch', logging_steps=50"),
        "pyproject.toml": "[tool.preflight.rules.HF001]\nstrict = true\n",
    }
    assert project(files, select=["HF001"]) == ["train.py:3:42: HF001"]


def test_unknown_framework_file_without_logging_steps_is_skipped(project):
    files = {"args.yaml": "output_dir: o\neval_strategy: steps\neval_steps: 300\nreport_to: wandb\n"}
    assert project(files, select=["HF001"]) == []


def test_trl_launcher_decides_the_defaults(project):
    files = {
        "args.yaml": "output_dir: o\neval_strategy: steps\neval_steps: 25\nreport_to: wandb\n",
        ".github/workflows/t.yml": "on: push\njobs:\n  t:\n    steps:\n      - run: trl sft --config args.yaml\n",
    }
    assert project(files, select=["HF001"]) == ["args.yaml:3:1: HF001"]


def test_script_parser_decides_the_defaults(project):
    files = {
        "args.yaml": "output_dir: o\neval_strategy: steps\neval_steps: 25\nreport_to: wandb\n",
        "sft.py": "from trl import SFTConfig, TrlParser\n\nTrlParser((SFTConfig,)).parse_args_and_config()\n",
        "docker-compose.yml": "services:\n  t:\n    command: python sft.py --config args.yaml\n",
    }
    assert project(files, select=["HF001"]) == ["args.yaml:3:1: HF001"]


def test_command_line_flags(project):
    files = {
        "train.py": "from transformers import HfArgumentParser, TrainingArguments\n\n"
                    "HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n",
        ".github/workflows/t.yml": "on: push\njobs:\n  t:\n    steps:\n      - run: >-\n          python train.py "
                                   "--eval_strategy steps --eval_steps 250 --logging_steps 100 --report_to wandb\n",
    }
    assert project(files, select=["HF001"]) == [".github/workflows/t.yml:6:49: HF001"]


@pytest.mark.parametrize("files, expected", [
    ({"train.py": HF.replace(", report_to='wandb'", ", report_to='none'")}, []),
    ({"train.py": HF.replace(", report_to='wandb'", "")}, []),  # transformers 5: unset reports to none
    ({"train.py": HF.replace(", report_to='wandb'", ""), "requirements.txt": "transformers==4.57.1\n"},
     ["train.py:3:65"]),  # 4.x: every installed integration
    ({"tests/test_train.py": HF}, []),  # a test's curves are nobody's record
], ids=["report-to-none", "unset-v5", "unset-v4", "test-code"])
def test_reported_only_where_logs_reach_a_tracker(project, files, expected):
    files = {path: text.format("eval_strategy='steps', eval_steps=250, logging_steps=100")
             for path, text in files.items()}
    found = project(files, select=["HF001"])
    assert found == [f"{next(iter(files))}:{e.split(':', 1)[1]}: HF001" for e in expected]


PARSED_TRAINER = ("from transformers import HfArgumentParser, Trainer, TrainingArguments\n\n"
                  "(args,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n"
                  "Trainer(model=None, args=args).train()\n")
SWEEP_COMMAND = ("method: random\nmetric: {{name: eval/loss, goal: minimize}}\nprogram: train.py\n"
                 "command: [python, '${{program}}', --report_to=wandb, {flags}, '${{args}}']\n"
                 "parameters:\n  {swept}: {{values: [1, 2]}}\n")


@pytest.mark.parametrize("sweep_path, flags, swept, expected", [
    ("sweep.yaml", "--eval_strategy=epoch, --logging_steps=10", "learning_rate", ["sweep.yaml:4:52"]),
    ("sweep.yaml", "--eval_strategy, epoch, --logging_steps, '10'", "learning_rate", ["sweep.yaml:4:52"]),
    ("sweeps/lr.yaml", "--eval_strategy=epoch, --logging_steps=10", "learning_rate", ["sweeps/lr.yaml:4:52"]),
    ("sweep.yaml", "--eval_strategy=steps, --eval_steps=10, --logging_steps=10", "learning_rate", []),
    ("sweep.yaml", "--eval_strategy=epoch, --logging_steps=10", "logging_steps", []),
], ids=["equals-form", "space-form", "sweep-in-a-subfolder", "equal-cadences", "cadence-swept"])
def test_flags_in_a_sweep_command(project, sweep_path, flags, swept, expected):
    """The agent runs the sweep's command for every trial: its flags are the trial's arguments, and a swept
    parameter (passed by ${args}, after them) has a value that changes from trial to trial."""
    files = {"train.py": PARSED_TRAINER, sweep_path: SWEEP_COMMAND.format(flags=flags, swept=swept)}
    assert project(files, select=["HF001"]) == [f"{e}: HF001" for e in expected]


def test_flags_in_the_command_of_a_sweep_written_in_python(project):
    files = {"train.py": PARSED_TRAINER,
             "launch.py": "import wandb\n\nwandb.sweep({'method': 'random', 'program': 'train.py',\n"
                          "             'command': ['python', '${program}', '--report_to', 'wandb',\n"
                          "                         '--eval_strategy', 'epoch', '--logging_steps=10', '${args}'],\n"
                          "             'parameters': {'lr': {'values': [1, 2]}}})\n"}
    assert project(files, select=["HF001"]) == ["launch.py:5:27: HF001"]


def test_a_trl_recipe_run_by_a_sweep_is_a_trial(project):
    """Keys TrainingArguments shares with TRL only: the sweep's `trl sft --config` says who reads the file."""
    files = {"recipe.yaml": "output_dir: out\nreport_to: wandb\neval_strategy: epoch\nlogging_steps: 10\n",
             "sweeps/lr.yaml": "method: random\nmetric: {name: eval_loss, goal: minimize}\n"
                               "command: [trl, sft, --config, recipe.yaml, '${args}']\n"
                               "parameters:\n  learning_rate: {values: [1, 2]}\n"}
    assert project(files, select=["HF001", "SWP001"]) == ["recipe.yaml:3:1: HF001", "sweeps/lr.yaml:2:16: SWP001"]


def test_training_arguments_of_an_agent_function_imported_from_another_module(project):
    files = {"sweep.py": "import wandb\nfrom lib import train\n\nwandb.agent('sweep-id', function=train)\n",
             "lib.py": "from transformers import TrainingArguments\n\n\ndef train():\n"
                       "    TrainingArguments(output_dir='o', eval_strategy='epoch', logging_steps=50)\n"}
    assert project(files, select=["HF001"]) == ["lib.py:5:39: HF001"]
    [finding] = engine.check(["."], select=["HF001"], cwd=project.root).findings
    assert "wandb.agent at sweep.py:4 runs its train()" in finding.message
