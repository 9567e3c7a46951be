"""HF002-HF012, TRL001-TRL003, AXO001-AXO006: triggers, version awareness and the false-positive traps."""

from __future__ import annotations

import pytest

from preflight import engine
from conftest import write_files

TA = "from transformers import TrainingArguments\nargs = TrainingArguments(output_dir='o', report_to='none'{})\n"
BASE = "base_model: m\ndatasets:\n  - path: d.jsonl\n    type: alpaca\n"
PARSER_SCRIPT = ("from dataclasses import dataclass\nfrom transformers import HfArgumentParser, TrainingArguments\n\n"
                 "@dataclass\nclass ScriptArguments:\n    logging_dir: str = 'tb'\n    model: str = 'gpt2'\n\n"
                 "script, args = HfArgumentParser((ScriptArguments, TrainingArguments)).parse_yaml_file('args.yaml')\n")


def pins(transformers: str = "", trl: str = "") -> dict[str, str]:
    lines = [f"transformers=={transformers}"] * bool(transformers) + [f"trl=={trl}"] * bool(trl)
    return {"requirements.txt": "\n".join(lines) + "\n"} if lines else {}


# -- HF007 removed keys --------------------------------------------------------------------------

@pytest.mark.parametrize("files, expected", [
    ({"train.py": TA.format(", evaluation_strategy='epoch'")}, ["train.py:2:60: HF007"]),
    ({"train.py": TA.format(", evaluation_strategy='epoch'"), **pins("4.50.3")}, []),
    ({"train.py": TA.format(", logging_dir='tb'"), **pins("5.14.1")}, []),
    ({"train.py": TA.format(", logging_dir='tb'"), **pins("5.15.0")}, ["train.py:2:60: HF007"]),
    ({"train.py": PARSER_SCRIPT, "args.yaml": "output_dir: o\nlogging_dir: tb\nper_device_train_batch_size: 2\n"}, []),
    ({"train.py": PARSER_SCRIPT, "args.yaml": "output_dir: o\nwarmup_ratio: 0.1\nper_device_train_batch_size: 2\n"},
     ["args.yaml:2:1: HF007"]),
    ({"train.py": PARSER_SCRIPT.replace("parse_yaml_file('args.yaml')", "parse_args_into_dataclasses()"),
      "run.sh": "python train.py --output_dir o --evaluation_strategy steps\n"}, ["run.sh:1:32: HF007"]),
], ids=["python", "still-there-in-4.50", "logging-dir-5.14", "logging-dir-5.15", "user-dataclass-field",
        "yaml-through-parser", "command-line"])
def test_removed_training_argument(project, files, expected):
    assert project(files, select=["HF007"]) == expected


CLI_PARSER = PARSER_SCRIPT.replace("parse_yaml_file('args.yaml')", "parse_args_into_dataclasses({})")


@pytest.mark.parametrize("files, outcome", [
    ({"train.py": TA.format(", evaluation_strategy='epoch'")},
     "TrainingArguments rejects it at start-up (TypeError: unexpected keyword argument)"),
    ({"train.py": PARSER_SCRIPT, "args.yaml": "output_dir: o\nwarmup_ratio: 0.1\nper_device_train_batch_size: 2\n"},
     "HfArgumentParser rejects it at start-up (ValueError: Some keys are not used by the HfArgumentParser)"),
    ({"train.py": CLI_PARSER.format(""),
      "scripts/train.sh": "torchrun --nproc_per_node 8 train.py --output_dir o --evaluation_strategy steps\n"},
     "HfArgumentParser rejects the flag at start-up (ValueError: Some specified arguments are not used by the "
     "HfArgumentParser: ['--evaluation_strategy', ...])"),
    ({"train.py": CLI_PARSER.format("return_remaining_strings=True"),
      "run.sh": "accelerate launch train.py --output_dir o --evaluation_strategy steps\n"}, "drops it silently"),
], ids=["constructor", "argument-file", "flag-in-a-launcher-line", "flag-returned-as-remaining"])
def test_what_happens_to_a_removed_key_depends_on_who_hands_it_over(project, files, outcome):
    project(files, select=["HF007"])
    [finding] = engine.check(["."], select=["HF007"], cwd=project.root).findings
    assert outcome in finding.message, finding.message


def test_removed_argument_fix_renames_python_and_yaml(project):
    from click.testing import CliRunner

    from preflight.cli import main

    files = {"train.py": TA.format(", evaluation_strategy='epoch'"), "train_args.py": PARSER_SCRIPT,
             "args.yaml": "output_dir: o\nevaluation_strategy: epoch  # keep\nper_device_train_batch_size: 2\n"}
    assert project(files, select=["HF007"]) == ["args.yaml:2:1: HF007", "train.py:2:60: HF007"]
    result = CliRunner().invoke(main, ["check", "--select", "HF007", "--fix", "--no-cache", "."])
    assert result.exit_code == 0, result.output
    root = project.root
    assert "eval_strategy='epoch'" in (root / "train.py").read_text()
    assert (root / "args.yaml").read_text() == "output_dir: o\neval_strategy: epoch  # keep\n" \
                                               "per_device_train_batch_size: 2\n"
    assert project({}, select=["HF007"]) == []


# -- HF002 / HF003 / HF004 / HF010 / HF011 / HF012 ------------------------------------------------

@pytest.mark.parametrize("extra, expected", [
    (", eval_steps=100", ["train.py:2:60: HF002"]),
    (", eval_steps=100, eval_strategy='no'", []),  # turned off on purpose
    (", eval_steps=100, eval_strategy='steps'", []),
    (", eval_steps=1000, eval_strategy='steps', max_steps=500", ["train.py:2:60: HF002"]),
    (", eval_steps=100, eval_strategy='steps', max_steps=-1", []),
    (", eval_steps=100, **more", []),
], ids=["unset", "no", "steps", "beyond-max-steps", "max-steps-unset", "unknown-kwargs"])
def test_eval_never_runs(project, extra, expected):
    assert project({"train.py": TA.format(extra)}, select=["HF002"]) == expected


def test_eval_never_runs_not_for_axolotl(project):
    assert project({"a.yaml": BASE + "val_set_size: 0.1\neval_steps: 100\n"}, select=["HF002"]) == []


def test_legacy_evaluation_strategy_counts_before_4_51(project):
    files = {"train.py": TA.format(", evaluation_strategy='steps', eval_steps=100"), **pins("4.46.3")}
    assert project(files, select=["HF002", "HF007"]) == []


TRAINER = ("from transformers import Trainer, TrainingArguments\n"
           "args = TrainingArguments(output_dir='o', eval_strategy={strategy!r})\n"
           "trainer = Trainer({call})\n")


@pytest.mark.parametrize("strategy, call, expected", [
    ("steps", "model=m, args=args, train_dataset=t", ["train.py:3:11: HF003"]),
    ("steps", "model=m, args=args, train_dataset=t, eval_dataset=None", ["train.py:3:11: HF003"]),
    ("steps", "m, args, None, t, e", []),
    ("steps", "model=m, args=args, train_dataset=t, eval_dataset=e", []),
    ("steps", "model=m, args=args, **datasets", []),
    ("no", "model=m, args=args, train_dataset=t", []),
], ids=["missing", "none", "positional", "given", "kwargs", "eval-off"])
def test_eval_without_dataset(project, strategy, call, expected):
    assert project({"train.py": TRAINER.format(strategy=strategy, call=call)}, select=["HF003"]) == expected


@pytest.mark.parametrize("extra, expected", [
    (", load_best_model_at_end=True, eval_strategy='epoch'", ["train.py:2:60: HF004"]),  # save is steps
    (", load_best_model_at_end=True, eval_strategy='epoch', save_strategy='epoch'", []),
    (", load_best_model_at_end=True, eval_strategy='steps', save_strategy='best'", []),
    (", load_best_model_at_end=True, eval_strategy='steps', eval_steps=0.1, save_steps=500", ["train.py:2:128: HF004"]),
    (", load_best_model_at_end=True, eval_strategy='steps', logging_steps=100", []),  # eval follows logging: 500 % 100
    (", load_best_model_at_end=True, eval_strategy='steps', logging_steps=300", ["train.py:2:60: HF004"]),
], ids=["strategies", "epoch", "best", "ratio-with-absolute", "derived-eval-steps", "derived-not-multiple"])
def test_load_best_constraints(project, extra, expected):
    assert project({"train.py": TA.format(extra)}, select=["HF004"]) == expected


@pytest.mark.parametrize("strategy, expected", [("steps", []), ("epoch", ["train.py:2:60: HF004"])])
def test_load_best_before_eval_strategy_was_named(tmp_path, strategy, expected):
    """Before 4.41 the evaluation strategy is `evaluation_strategy` (there is no `eval_strategy` field)."""
    extra = f", load_best_model_at_end=True, evaluation_strategy={strategy!r}"
    write_files(tmp_path, {"train.py": TA.format(extra), "requirements.txt": "transformers==4.36.2\n"})
    result = engine.check(["."], select=["HF004", "HF010"], cwd=tmp_path)
    assert not result.internal_errors
    assert [f"{f.location.path}:{f.location.line}:{f.location.column}: {f.code}" for f in result.findings] == expected


@pytest.mark.parametrize("extra, requirements, expected", [
    (", save_strategy='best', metric_for_best_model='eval_loss'", "5.24.0", []),
    (", save_strategy='best', metric_for_best_model='eval_loss'", "4.46.3", ["train.py:2:60: HF010"]),
    (", lr_scheduler_type='greedy', eval_strategy='epoch'", "4.57.1", ["train.py:2:60: HF010"]),
    (", lr_scheduler_type='greedy', eval_strategy='epoch'", "5.24.0", []),
    (", lr_scheduler_type='greedy'", "5.24.0", ["train.py:2:60: HF010"]),
    (", warmup_steps=0.1", "4.57.1", ["train.py:2:60: HF010"]),
    (", warmup_steps=0.1", "5.24.0", []),
    (", eval_strategy=IntervalStrategy.STEPS, eval_steps=12.5", "5.24.0", []),
], ids=["best-5.x", "best-before-4.47", "greedy-4.x", "greedy-5.x", "greedy-without-eval", "float-warmup-4.x",
        "float-warmup-5.x", "enum-object-unknown"])
def test_invalid_values_per_version(project, extra, requirements, expected):
    files = {"train.py": TA.format(extra), "requirements.txt": f"transformers=={requirements}\n"}
    assert project(files, select=["HF010"]) == expected


@pytest.mark.parametrize("extra, expected", [
    (", save_strategy='best', eval_strategy='epoch'", ["train.py:2:60: HF011"]),
    (", save_strategy='best', eval_strategy='epoch', load_best_model_at_end=True", []),
    (", save_strategy='best', eval_strategy='epoch', metric_for_best_model='f1'", []),
], ids=["missing", "load-best-defaults-to-loss", "given"])
def test_save_best_without_metric(project, extra, expected):
    assert project({"train.py": TA.format(extra)}, select=["HF011"]) == expected


def test_implicit_eval_cadence_names_the_effective_default(project):
    files = {"a.yaml": "output_dir: o\neval_strategy: steps\nper_device_train_batch_size: 2\n",
             "run.sh": "trl sft --config a.yaml\n"}
    assert project(files, select=["HF012"]) == ["a.yaml:2:1: HF012"]
    result = engine.check(["."], select=["HF012"], cwd=project.root)
    assert [f.message for f in result.findings] == [
        "eval_steps is unset: evaluation runs every logging_steps = 10 steps (the TRL default); set eval_steps "
        "explicitly"]


def test_implicit_eval_cadence_silent_when_defaults_unknown(project):
    assert project({"a.yaml": "output_dir: o\neval_strategy: steps\nper_device_train_batch_size: 2\n"},
                   select=["HF012"]) == []


# -- HF005 / HF006 / HF008 / HF009 ------------------------------------------------------------------

@pytest.mark.parametrize("metric, extra, expected", [
    ("eval_perplexity", "", ["a.yaml:2:1: HF005"]),
    ("eval_wer", "", ["a.yaml:2:1: HF005"]),
    ("eval_loss", "", []),
    ("eval_accuracy", "", []),
    ("eval_perplexity", "greater_is_better: false\n", []),
    ("eval_error_free_rate", "greater_is_better: true\n", []),
], ids=["perplexity", "wer", "loss", "accuracy", "explicit", "explicit-true"])
def test_inverted_best_metric(project, metric, extra, expected):
    text = f"output_dir: o\nmetric_for_best_model: {metric}\nper_device_train_batch_size: 2\n{extra}"
    assert project({"a.yaml": text}, select=["HF005"]) == expected


def test_wandb_style_metric_in_axolotl(project):
    assert project({"a.yaml": BASE + "metric_for_best_model: eval/loss\n"}, select=["HF006"]) == ["a.yaml:5:1: HF006"]


UNSET = TA.replace("report_to='none'", "run_name='r'")
TRAINS = "from transformers import Trainer\ntrainer = Trainer(model=m, args=args, train_dataset=d)\n"


@pytest.mark.parametrize("files, expected", [
    ({"train.py": UNSET.format("") + TRAINS}, ["train.py:2:8: HF008"]),
    ({"train.py": TA.format("") + TRAINS}, []),
    ({"train.py": UNSET.format(", **extra") + TRAINS}, []),
    ({"a.yaml": BASE + "wandb_project: p\n"}, []),
    ({"train.py": UNSET.format("") + TRAINS, "requirements.txt": "transformers==4.57.1\nneptune\n"}, []),  # NEP002
    ({"train.py": UNSET.format("")}, []),  # built only to hand a config on: no Trainer, nothing logs
    ({"tests/test_train.py": UNSET.format("") + TRAINS}, []),  # transformers 5: a test that logs nowhere
    ({"tests/test_train.py": UNSET.format("") + TRAINS, **pins("4.57.1")},
     ["tests/test_train.py:2:8: HF008"]),  # 4.x: the test reports to every installed tracker
], ids=["unset", "set", "kwargs", "axolotl", "neptune-case", "no-trainer", "test-v5", "test-v4"])
def test_implicit_report_to(project, files, expected):
    assert project(files, select=["HF008"]) == expected


def test_implicit_report_to_message_depends_on_version(project):
    files = {"train.py": UNSET.format("") + TRAINS, **pins("4.57.1")}
    project(files)
    result = engine.check(["."], select=["HF008"], cwd=project.root)
    assert "transformers 4.57.1 (pinned ==4.57.1 in requirements.txt:1) reports to every integration installed" \
        in result.findings[0].message


@pytest.mark.parametrize("value, requirements, expected", [
    ("[wandb, mlflow]", "", []),
    ("all", "", []),
    ("none", "", []),
    ("[wandb, weights_and_biases]", "", ["a.yaml:2:1: HF009"]),
    ("'wandb,mlflow'", "", ["a.yaml:2:1: HF009"]),
    ("[trackio]", "4.53.3", ["a.yaml:2:1: HF009"]),
    ("[trackio]", "4.54.1", []),
    ("${TRACKERS}", "", []),
], ids=["known", "all", "none", "unknown", "comma-string", "trackio-too-early", "trackio", "interpolated"])
def test_unknown_report_to(project, value, requirements, expected):
    files = {"a.yaml": f"output_dir: o\nreport_to: {value}\nper_device_train_batch_size: 2\n"}
    if requirements:
        files["requirements.txt"] = f"transformers=={requirements}\n"
    assert project(files, select=["HF009"]) == expected


# -- TRL -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("files, expected", [
    ({"a.yaml": "output_dir: o\neval_step: 100\nper_device_train_batch_size: 2\n", "train.py": PARSER_SCRIPT},
     ["a.yaml:2:1: TRL001"]),
    ({"args.yaml": "output_dir: o\nmodel: gpt2\nper_device_train_batch_size: 2\n", "train.py": PARSER_SCRIPT}, []),
    ({"args.yaml": "output_dir: o\nlr: 0.1\nper_device_train_batch_size: 2\n",
      "train.py": PARSER_SCRIPT.replace("class ScriptArguments:", "class ScriptArguments(Base):")}, []),
    ({"args.yaml": "output_dir: o\nlr: 0.1\nper_device_train_batch_size: 2\n"}, []),
    ({"train.py": "from trl import SFTConfig\nSFTConfig(output_dir='o', max_seq_length=1024)\n"},
     ["train.py:2:27: TRL001"]),
    ({"train.py": "from trl import SFTConfig\nSFTConfig(output_dir='o', max_seq_length=1024)\n", **pins(trl="0.19.1")},
     []),
    ({"sft.yaml": "model_name_or_path: m\nper_device_train_batch_size: 2\nlearning_rate: 1e-5\n",
      "run.sh": "trl sft --config sft.yaml --max_seq_len 10\n"}, []),
    # which keys a release outside the examined ones takes is not known: a key added after it is no typo
    ({"train.py": "from trl import SFTConfig\nSFTConfig(output_dir='o', eval_step=10)\n", **pins(trl="0.9.6")}, []),
    ({"train.py": "from trl import SFTConfig\nSFTConfig(output_dir='o', eval_step=10)\n", **pins(trl="0.12.2")},
     ["train.py:2:27: TRL001"]),
    ({"a.yaml": "output_dir: o\neval_step: 100\nper_device_train_batch_size: 2\n", "train.py": PARSER_SCRIPT,
      **pins(transformers="4.30.2")}, []),
], ids=["typo", "user-field", "unknown-base-class", "no-parser", "python-constructor", "older-trl",
        "command-line-flags-not-judged", "trl-older-than-the-data", "trl-oldest-in-the-data",
        "transformers-older-than-the-data"])
def test_unknown_trl_key(project, files, expected):
    if "a.yaml" in files:
        files["train.py"] = files["train.py"].replace("args.yaml", "a.yaml")
    assert project(files, select=["TRL001"]) == expected


def test_unknown_trl_key_message_suggests(project):
    project({"sft.yaml": "model_name_or_path: m\nper_device_train_batch_size: 2\nlerning_rate: 1e-5\n",
             "run.sh": "trl sft --config sft.yaml\n"})
    result = engine.check(["."], select=["TRL001"], cwd=project.root)
    assert "the training script never receives it" in result.findings[0].message
    assert result.findings[0].message.endswith("(did you mean `learning_rate`?)")


GRPO = "from trl import GRPOConfig\nGRPOConfig(output_dir='o'{})\n"


@pytest.mark.parametrize("extra, expected", [
    (", num_generations=1", ["train.py:2:28: TRL002"]),
    (", generation_batch_size=64, steps_per_generation=4", ["train.py:2:54: TRL002"]),
    (", steps_per_generation=4", []),
    (", generation_batch_size=64", []),
    (", auto_find_batch_size=True", ["train.py:2:28: TRL002"]),
    (", log_completions_hub_repo='me/c'", ["train.py:2:28: TRL002"]),
    (", log_completions_hub_repo='me/c', log_completions=True", []),
], ids=["one-generation", "both-batch-settings", "steps-only", "divisible", "auto-batch", "hub-without-log",
        "hub-with-log"])
def test_grpo_invariants(project, extra, expected):
    assert project({"train.py": GRPO.format(extra)}, select=["TRL002"]) == expected


@pytest.mark.parametrize("yaml, expected", [
    ("loss_type: sigmoid\nloss_weights: [0.5, 0.5]\n", ["dpo.yaml:3:1: TRL003"]),
    ("loss_weights: [1.0]\n", []),
    ("loss_type: [sigmoid, sft]\nloss_weights: [0.5, 0.5]\n", []),
], ids=["string-type", "default-type", "same-length"])
def test_dpo_loss_weights(project, yaml, expected):
    files = {"dpo.yaml": "model_name_or_path: m\n" + yaml, "run.sh": "trl dpo --config dpo.yaml\n"}
    assert project(files, select=["TRL003"]) == expected


# -- Axolotl --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, expected", [
    ("save_strategy: epoch\nsave_steps: 100\n", ["a.yaml:6:1: AXO001"]),
    ("save_strategy: steps\nsave_steps: 100\n", []),
    ("val_set_size: 0\neval_steps: 50\n", ["a.yaml:5:1: AXO001"]),
    ("val_set_size: 0\neval_strategy: 'no'\n", []),
    ("eval_steps: 50\n", []),  # val_set_size absent: the "before" validator sees None, not 0
    ("warmup_steps: 10\nwarmup_ratio: 0.1\n", ["a.yaml:6:1: AXO001"]),
    ("warmup_steps: 0\nwarmup_ratio: 0.1\n", []),
    ("save_strategy: best\n", ["a.yaml:5:1: AXO001"]),
    ("test_datasets:\n  - path: t.jsonl\nval_set_size: 0.1\n", ["a.yaml:7:1: AXO001"]),
], ids=["save-mismatch", "save-steps", "no-val-set", "no-val-set-eval-off", "val-set-absent", "warmup-both",
        "warmup-zero", "best-without-metric", "val-with-test-datasets"])
def test_axolotl_validators(project, extra, expected):
    assert project({"a.yaml": BASE + extra}, select=["AXO001"]) == expected


@pytest.mark.parametrize("extra, expected", [
    ("val_set_size: 0.1\nevals_per_epoch: 1\n", ["a.yaml:6:1: AXO002"]),
    ("val_set_size: 0.1\nevals_per_epoch: 2\nnum_epochs: 0.5\n", ["a.yaml:6:1: AXO002"]),
    ("val_set_size: 0.1\nevals_per_epoch: 1\neval_strategy: epoch\n", []),
    ("evals_per_epoch: 1\n", []),
    ("val_set_size: 0.1\nevals_per_epoch: 1\nnum_epochs: 3\n", []),
], ids=["one-by-one", "two-by-half", "strategy-set", "no-eval-set", "three-epochs"])
def test_axolotl_evaluation_silently_off(project, extra, expected):
    assert project({"a.yaml": BASE + extra}, select=["AXO002"]) == expected


@pytest.mark.parametrize("extra, expected", [
    ("val_set_size: 0.1\nevals_per_epoch: 4\nsaves_per_epoch: 2\nload_best_model_at_end: true\n", []),
    ("val_set_size: 0.1\nevals_per_epoch: 2\nsaves_per_epoch: 4\nload_best_model_at_end: true\n",
     ["a.yaml:8:1: AXO003"]),
    ("evals_per_epoch: 4\nsaves_per_epoch: 2\nearly_stopping_patience: 3\n", ["a.yaml:7:1: AXO003"]),
    ("val_set_size: 0.1\neval_steps: 50\nsave_steps: 100\nload_best_model_at_end: true\n", []),
    ("val_set_size: 0.1\neval_steps: 50\nsave_steps: 100\n", []),
], ids=["multiple", "not-multiple", "no-eval-set", "numeric", "not-wanted"])
def test_axolotl_load_best_dropped(project, extra, expected):
    assert project({"a.yaml": BASE + extra}, select=["AXO003"]) == expected


def test_axolotl_tracker_flags(project):
    text = BASE + "use_wandb: false\nwandb_project: ''\nuse_mlflow: false\nmlflow_experiment_name: exp\n"
    assert project({"a.yaml": text}, select=["AXO004"]) == ["a.yaml:7:1: AXO004"]


@pytest.mark.parametrize("files, expected", [
    ({"a.yaml": BASE + "use_wandb: true\n"}, ["a.yaml:5:1: AXO005"]),
    ({"a.yaml": BASE + "use_wandb: true\n", "run.sh": "export WANDB_PROJECT=llm\naxolotl train a.yaml\n"}, []),
], ids=["unset", "from-launcher"])
def test_axolotl_wandb_without_project(project, files, expected):
    assert project(files, select=["AXO005"]) == expected


@pytest.mark.parametrize("extra, expected", [
    ("wandb_projetc: x\n", ["a.yaml:5:1: AXO006"]),
    ("wandb_project: x\n", []),
    ("plugins:\n  - axolotl.integrations.liger.LigerPlugin\nliger_rope: true\n", []),
    ("liger_rope: true\n", ["a.yaml:5:1: AXO006"]),
    ("plugins:\n  - my_company.plugins.Custom\nanything_goes: 1\n", []),
], ids=["typo", "known", "plugin-key", "plugin-key-without-plugin", "third-party-plugin"])
def test_unknown_axolotl_key(project, extra, expected):
    assert project({"a.yaml": BASE + extra}, select=["AXO006"]) == expected


@pytest.mark.parametrize("pin, expected", [
    ("axolotl==0.17.0", ["a.yaml:5:1: AXO006"]),
    ("axolotl==0.12.2", []),  # older than the examined releases: the keys it takes are not known
], ids=["examined", "older"])
def test_unknown_axolotl_key_only_for_examined_releases(project, pin, expected):
    files = {"a.yaml": BASE + "wandb_projetc: x\n", "requirements.txt": pin + "\n"}
    assert project(files, select=["AXO006"]) == expected


TRL_SCRIPT = ("from trl import ModelConfig, ScriptArguments, SFTConfig, TrlParser\n\n"
              "parser = TrlParser((ScriptArguments, SFTConfig, ModelConfig))\n"
              "script, config, model = parser.parse_args_and_config({})\n")


@pytest.mark.parametrize("call, expected", [
    ("", ["sft.yaml:2:1: TRL001"]),
    ("fail_with_unknown_args=False", ["sft.yaml:2:1: TRL001"]),
], ids=["fails", "drops"])
def test_trl_parser_script_with_config(project, call, expected):
    files = {"sft.py": TRL_SCRIPT.format(call), "sft.yaml": "model_name_or_path: m\nlerning_rate: 1e-5\n",
             "run.sh": "accelerate launch sft.py --config sft.yaml\n"}
    assert project(files, select=["TRL001"]) == expected
    message = engine.check(["."], select=["TRL001"], cwd=project.root).findings[0].message
    assert ("drops it silently" in message) == bool(call)


@pytest.mark.parametrize("pin, outcome", [
    ("trl==0.18.0", "drops it silently"),  # parse_args_and_config dropped what set_defaults_with_config left
    ("trl==0.19.1", 'TrlParser raises "Unknown arguments from config file" at start-up'),  # fail_with_unknown_args
], ids=["before-0.19", "since-0.19"])
def test_what_trl_parser_does_with_an_unknown_config_key_depends_on_the_release(project, pin, outcome):
    files = {"sft.py": TRL_SCRIPT.format(""), "sft.yaml": "model_name_or_path: m\nlerning_rate: 1e-5\n",
             "run.sh": "accelerate launch sft.py --config sft.yaml\n", "requirements.txt": pin + "\n"}
    assert project(files, select=["TRL001"]) == ["sft.yaml:2:1: TRL001"]
    assert outcome in engine.check(["."], select=["TRL001"], cwd=project.root).findings[0].message


def test_allow_extra_keys_accepts_anything_but_removed_keys_still_do_nothing(project):
    script = PARSER_SCRIPT.replace("parse_yaml_file('args.yaml')", "parse_yaml_file('args.yaml', allow_extra_keys=True)")
    files = {"train.py": script, "args.yaml": "output_dir: o\nmy_extra: 1\nevaluation_strategy: steps\n"}
    assert project(files, select=["TRL001", "HF007"]) == ["args.yaml:3:1: HF007"]
    message = engine.check(["."], select=["HF007"], cwd=project.root).findings[0].message
    assert "ignores it (allow_extra_keys=True)" in message


def test_command_line_findings_point_at_the_flag_across_continuations(project):
    files = {"train.py": PARSER_SCRIPT.replace("parse_yaml_file('args.yaml')", "parse_args_into_dataclasses()"),
             "run.sh": "#!/bin/bash\naccelerate launch --num_processes 8 \\\n    train.py \\\n    --output_dir out \\\n"
                       "    --eval-steps 200 \\\n    --report_to none\n"}
    assert project(files, select=["HF002"]) == ["run.sh:5:5: HF002"]
    result = engine.check(["."], select=["HF002"], cwd=project.root)
    location = result.findings[0].location
    assert (location.end_line, location.end_column) == (5, 17)  # `--eval-steps`


@pytest.mark.parametrize("yaml, expected", [
    ("learning_rate: 1e-5\n", ["args.yaml:2:1: HF010"]),
    ("learning_rate: 1.0e-5\n", []),
    ("eval_strategy: steps\neval_steps: '100'\n", ["args.yaml:3:1: HF010"]),
    ("eval_steps: '100'\n", []),  # evaluation is off: the string is never compared
    ("run_name: '100'\n", []),
], ids=["yaml-exponent", "yaml-float", "quoted-steps", "unused-steps", "string-field"])
def test_numbers_written_as_strings(project, yaml, expected):
    files = {"train.py": PARSER_SCRIPT, "args.yaml": "output_dir: o\n" + yaml}
    assert project(files, select=["HF010"]) == expected


def test_numbers_written_as_strings_are_fine_for_trl_commands(project):
    files = {"sft.yaml": "model_name_or_path: m\nlearning_rate: 2e-5\n", "run.sh": "trl sft --config sft.yaml\n"}
    assert project(files, select=["HF010"]) == []


def test_trl_config_may_carry_accelerate_launch_options(project):
    files = {"sft.yaml": "model_name_or_path: m\nnum_processes: 8\nmixed_precision: bf16\n"
                         "accelerate_config: zero2\nper_device_train_batch_size: 2\n",
             "run.sh": "trl sft --config sft.yaml\n"}
    assert project(files, select=["TRL001"]) == []


@pytest.mark.parametrize("change", ["del extra['eval_steps']", "extra['nested']['x'] = 1", "extra.clear()"])
def test_keyword_dicts_changed_after_they_are_built_are_not_judged(project, change):
    source = ("from transformers import TrainingArguments\nextra = {'eval_steps': 100, 'nested': {}}\n"
              f"{change}\nTrainingArguments(output_dir='o', report_to='none', **extra)\n")
    assert project({"train.py": source}, select=["HF002"]) == []


# -- HF013 best checkpoint rotated away ---------------------------------------------------------

AX_EVAL = BASE + "val_set_size: 0.1\n"
EVALUATED = "from transformers import Trainer\nTrainer(model=m, args=args, train_dataset=t, eval_dataset=v)\n"
READS_A_YAML = ("from transformers import HfArgumentParser, Trainer, TrainingArguments\n\n"
                "(args,) = HfArgumentParser(TrainingArguments).parse_yaml_file('a.yaml')\n"
                "Trainer(model=m, args=args, train_dataset=t, eval_dataset=v).train()\n")


def evaluated(files: dict[str, str]) -> dict[str, str]:
    """The arguments' Trainer gets an eval set (in train.py), or a script reads a.yaml and passes one."""
    files = dict(files)
    if "train.py" in files and "args = " in files["train.py"]:
        files["train.py"] += EVALUATED
    elif "train.py" in files:
        files["train.py"] += "from trl import SFTTrainer\nSFTTrainer(model=m, args=c, train_dataset=t, eval_dataset=v)\n"
    if "a.yaml" in files:
        files["train.py"] = READS_A_YAML
    return files


@pytest.mark.parametrize("files, expected", [
    ({"train.py": TA.format(", eval_strategy='epoch', save_strategy='epoch', save_total_limit=2")},
     ["train.py:2:106: HF013"]),
    ({"train.py": "from trl import SFTConfig\nc = SFTConfig(output_dir='o', eval_strategy='steps', save_total_limit=1)\n"},
     ["train.py:2:54: HF013"]),
    ({"train.py": TA.format(", evaluation_strategy='epoch', save_strategy='epoch', save_total_limit=2"),
      **pins("4.40.2")}, ["train.py:2:112: HF013"]),
    ({"train.py": TA.format(", eval_strategy='epoch', save_strategy='epoch', save_total_limit=3, "
                            "metric_for_best_model='accuracy'")}, []),
    ({"train.py": TA.format(", eval_strategy='epoch', save_strategy='no', save_total_limit=3")}, []),
    ({"train.py": TA.format(", eval_strategy='epoch', save_strategy='epoch', save_total_limit=0")}, []),
    ({"train.py": TA.format(", eval_strategy='epoch', save_strategy='epoch', save_total_limit=limit")}, []),
    ({"train.py": TA.format(", eval_strategy='epoch', save_strategy='epoch', save_total_limit=3, **extra")}, []),
    ({"train.py": TA.format(", eval_strategy='epoch', save_strategy='epoch', save_total_limit=3, "
                            "lr_scheduler_type='greedy'")}, []),
    ({"tests/test_train.py": TA.format(", eval_strategy='epoch', save_strategy='epoch', save_total_limit=3")}, []),
    ({"ax.yaml": AX_EVAL + "eval_steps: 100\nsave_steps: 100\nsave_total_limit: 2\n"}, ["ax.yaml:8:1: HF013"]),
    ({"ax.yaml": AX_EVAL + "evals_per_epoch: 1\nsave_total_limit: 2\n"}, []),
    ({"ax.yaml": AX_EVAL + "evals_per_epoch: 1\nnum_epochs: 3\nsave_total_limit: 2\n"}, ["ax.yaml:8:1: HF013"]),
    ({"ax.yaml": BASE + "eval_steps: 100\nsave_total_limit: 2\n"}, []),
    ({"ax.yaml": AX_EVAL + "eval_steps: 100\nsave_total_limit: 2\nearly_stopping_patience: 3\n"}, []),
    ({"ax.yaml": AX_EVAL + "eval_steps: 100\nsave_total_limit: 2\nmetric_for_best_model: eval_loss\n"}, []),
    ({"ax.yaml": AX_EVAL + "eval_steps: 100\n"}, []),
], ids=["epoch", "trl-steps", "legacy-strategy", "metric-set", "no-saves", "zero-limit", "unknown-limit",
        "incomplete", "greedy-scheduler", "test-code", "axolotl", "axolotl-one-eval", "axolotl-evals-per-epoch",
        "axolotl-no-val-set", "axolotl-early-stopping", "axolotl-metric", "axolotl-default-limit"])
def test_best_checkpoint_rotated_away(project, files, expected):
    assert project(evaluated(files), select=["HF013"]) == expected


@pytest.mark.parametrize("files, expected", [
    ({"a.yaml": "output_dir: o\neval_strategy: epoch\nnum_train_epochs: 1\nsave_steps: 100\nsave_total_limit: 1\n"},
     []),
    # evaluations at epoch ends, saves every 100 steps: the best evaluation may have no checkpoint to keep
    ({"a.yaml": "output_dir: o\neval_strategy: epoch\nnum_train_epochs: 3\nsave_steps: 100\nsave_total_limit: 1\n"},
     []),
    ({"a.yaml": "output_dir: o\neval_strategy: epoch\nsave_strategy: epoch\nnum_train_epochs: 5\nsave_total_limit: 6\n"},
     []),
    ({"a.yaml": "output_dir: o\neval_strategy: steps\neval_steps: 100\nmax_steps: 300\nsave_steps: 100\n"
                "save_total_limit: 3\n"}, []),
    ({"a.yaml": "output_dir: o\neval_strategy: steps\neval_steps: 100\nmax_steps: 300\nsave_steps: 50\n"
                "save_total_limit: 3\n"}, ["a.yaml:6:1: HF013"]),
    ({"ax.yaml": AX_EVAL + "evals_per_epoch: 4\nsaves_per_epoch: 2\nnum_epochs: 1\nsave_total_limit: 3\n"}, []),
    ({"ax.yaml": AX_EVAL + "evals_per_epoch: 4\nnum_epochs: 3\nsave_total_limit: 3\n"}, []),
    ({"ax.yaml": AX_EVAL + "evals_per_epoch: 4\nnum_epochs: 4\nsave_total_limit: 3\n"}, ["ax.yaml:8:1: HF013"]),
], ids=["one-evaluation", "three-epochs", "saves-within-limit", "max-steps-within-limit", "max-steps-beyond-limit",
        "axolotl-saves-within-limit", "axolotl-epoch-saves-within-limit", "axolotl-epoch-saves-beyond-limit"])
def test_best_checkpoint_rotation_needs_more_saves_than_kept(project, files, expected):
    assert project(evaluated(files), select=["HF013"]) == expected


FLAGS_13 = ("deepspeed train.py --output_dir ckpt --evaluation_strategy steps --eval_steps 100 --save_steps 200 "
            "--save_total_limit 2 --num_train_epochs 150\n")
PARSES = ("from transformers import HfArgumentParser, Trainer, TrainingArguments\n\n"
          "(args,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n")


@pytest.mark.parametrize("trainer, expected", [
    ("Trainer(model=m, args=args, train_dataset=t, eval_dataset=v).train()\n", ["train.sh:1:100: HF013"]),
    ("Trainer(model=m, args=args, **data_module).train()\n", []),  # the eval set may be None: no evaluation
    ("Trainer(model=m, args=args, train_dataset=t).train()\n", []),  # HF003: it raises first
    ("", []),  # no Trainer is built with them here
], ids=["eval-set-given", "eval-set-in-kwargs", "no-eval-set", "no-trainer"])
def test_best_checkpoint_rotation_needs_a_trainer_that_evaluates(project, trainer, expected):
    files = {"train.py": PARSES + trainer, "train.sh": FLAGS_13, "requirements.txt": "transformers==4.40.2\n"}
    assert project(files, select=["HF013"]) == expected


CHAT_SCRIPT = ("{imports}from trl import ModelConfig, ScriptArguments, SFTConfig, TrlParser\n\n"
               "parser = TrlParser((ScriptArguments, SFTConfig, ModelConfig))\n"
               "script, config, model = parser.parse_args_and_config()\n")
CHAT_RECIPE = "model_name_or_path: m\ndataset_name: d\nmax_seq_length: 2048\nlearning_rate: 2.0e-5\n"


@pytest.mark.parametrize("files, expected", [
    # TRL 0.26 stopped exporting setup_chat_format: with the newest release the range admits, the import
    # fails before the recipe is read
    ({"sft.py": CHAT_SCRIPT.format(imports="from trl import setup_chat_format\n"),
      "requirements.txt": "trl>=0.19.1\n"}, []),
    ({"sft.py": CHAT_SCRIPT.format(imports="from helpers import chat\n"),
      "helpers.py": "from trl import setup_chat_format\n\n\ndef chat(m, t):\n    return setup_chat_format(m, t)\n",
      "requirements.txt": "trl>=0.19.1\n"}, []),
    ({"sft.py": CHAT_SCRIPT.format(imports="from helpers import chat\n"),
      "src/helpers/__init__.py": "from .chat import chat\n",
      "src/helpers/chat.py": "from trl import setup_chat_format\n\n\ndef chat(m, t):\n    return setup_chat_format(m, t)\n",
      "requirements.txt": "trl>=0.19.1\n"}, []),  # a package of the project's src/ layout
    # with a release that still exports it, the removed key is reported
    ({"sft.py": CHAT_SCRIPT.format(imports="from trl import setup_chat_format\n"),
      "requirements.txt": "trl==0.23.1\n"}, ["recipes/sft.yaml:3:1: TRL001"]),
    # an import under try: may expect the name to be missing
    ({"sft.py": CHAT_SCRIPT.format(imports="try:\n    from trl import setup_chat_format\nexcept ImportError:\n"
                                           "    setup_chat_format = None\n"),
      "requirements.txt": "trl>=0.19.1\n"}, ["recipes/sft.yaml:3:1: TRL001"]),
], ids=["import-fails-first", "import-fails-first-in-a-loaded-module", "import-fails-first-in-a-src-package",
        "release-that-exports-it", "guarded-import"])
def test_a_script_whose_imports_fail_first_is_not_judged(project, files, expected):
    files = {**files, "recipes/sft.yaml": CHAT_RECIPE,
             "run.sh": "accelerate launch sft.py --config recipes/sft.yaml\n"}
    assert project(files, select=["TRL001"]) == expected


# -- HF014 run never evaluates -------------------------------------------------------------------

NEVER_EVALUATES = ("from {module} import {trainer}, {config}\n\nargs = {config}(output_dir='o', report_to={report_to}{extra})\n"
          "{trainer}(model=m, args=args, train_dataset=d{call}).train()\n")


def trains(module="transformers", trainer="Trainer", config="TrainingArguments", report_to="'wandb'", extra="",
           call=""):
    return {"train.py": NEVER_EVALUATES.format(module=module, trainer=trainer, config=config, report_to=report_to,
                                      extra=extra, call=call)}


@pytest.mark.parametrize("files, expected", [
    (trains(), ["train.py:4:1: HF014"]),
    (trains("trl", "SFTTrainer", "SFTConfig", "['trackio']"), ["train.py:4:1: HF014"]),
    (trains(report_to="'none'"), []),
    (trains(report_to="'all'"), []),
    (trains(call=", eval_dataset=e", extra=", eval_strategy='epoch'"), []),
    (trains(call=", eval_dataset=e"), []),
    (trains(call=", **kw"), []),
    (trains("trl", "GRPOTrainer", "GRPOConfig"), []),
    ({"tests/test_train.py": trains()["train.py"]}, []),
    ({"train.py": "if False:\n" + "".join("    " + line + "\n" for line in trains()["train.py"].splitlines())}, []),
    ({"ax.yaml": BASE + "val_set_size: 0\nwandb_project: p\n"}, ["ax.yaml:5:1: HF014"]),
    ({"ax.yaml": BASE + "val_set_size: 0\nuse_mlflow: true\n"}, ["ax.yaml:5:1: HF014"]),
    ({"ax.yaml": BASE + "wandb_project: p\n"}, []),
    ({"ax.yaml": BASE + "val_set_size: 0.05\nwandb_project: p\n"}, []),
    ({"ax.yaml": BASE + "val_set_size: 0\n"}, []),
    ({"ax.yaml": BASE + "rl: grpo\nval_set_size: 0\nwandb_project: p\n"}, []),
    ({"ax.yaml": BASE + "rl: dpo\nval_set_size: 0\nwandb_project: p\n"}, ["ax.yaml:6:1: HF014"]),
], ids=["trainer", "trl-trackio", "no-tracker", "all-installed", "evaluates", "eval-dataset-only", "hidden-kwargs",
        "online-rl", "test-code", "unreachable", "axolotl", "axolotl-mlflow", "axolotl-default-size", "axolotl-val-set",
        "axolotl-untracked", "axolotl-grpo", "axolotl-dpo"])
def test_run_never_evaluates(project, files, expected):
    assert project(files, select=["HF014"]) == expected


def test_a_strategy_yaml_reads_as_a_bool_is_not_judged_and_a_fix_quotes_no(project):
    """`save_strategy: no` is False in YAML: not a strategy name the simulation can compare (it used to crash
    HF004); and the fix that sets a strategy to "no" writes it quoted, as the string it is."""
    from preflight import api, engine

    files = {"args.yaml": "output_dir: out\nsave_strategy: no\nload_best_model_at_end: true\n"}
    assert project(files, select=["HF004", "HF010"]) == []
    assert not engine.check(["."], select=["HF004"]).internal_errors
    project({"args.yaml": "output_dir: out\nsave_strategy: epoch\nload_best_model_at_end: true\n"})
    api.write_changes(api.plan_fixes(engine.check(["."], select=["HF004"]), unsafe=True), project.root)
    assert (project.root / "args.yaml").read_text() == \
        "output_dir: out\nsave_strategy: \"no\"\nload_best_model_at_end: true\n"
UTILS_SCRIPT = ("from transformers.utils import {name}\nfrom transformers import Trainer, TrainingArguments\n\n"
                "args = TrainingArguments(output_dir='out', overwrite_output_dir=True)\n"
                "Trainer(model=None, args=args)\n")


@pytest.mark.parametrize("name, expected", [
    ("is_safetensors_available", []),  # gone from transformers.utils in 5.x: the script cannot start there
    ("logging", ["train.py:4:44: HF007"]),  # in every release
])
def test_a_name_from_transformers_utils_the_release_lacks_fails_first(project, name, expected):
    files = {"train.py": UTILS_SCRIPT.format(name=name), "requirements.txt": "transformers>=4.41.2\n"}
    assert project(files, select=["HF007"]) == expected


LF_CLI = "from .extras.misc import check_dependencies\n\n\ndef main():\n    check_dependencies()\n"
LF_MISC = "from transformers.utils import is_safetensors_available\n\n\ndef check_dependencies():\n    pass\n"


def test_a_vendored_llamafactory_that_cannot_import_the_newest_release_is_not_judged_with_it(project):
    """A copy of LLaMA-Factory 0.8 in the tree (`pip install -e llama_factory`) with only a floor on
    transformers: its modules import names 5.x no longer has, so `llamafactory-cli` cannot start there and
    a key 5.x removed is no finding."""
    files = {"lf/src/llamafactory/__init__.py": "", "lf/src/llamafactory/cli.py": LF_CLI,
             "lf/src/llamafactory/extras/__init__.py": "", "lf/src/llamafactory/extras/misc.py": LF_MISC,
             "lf/src/llamafactory/hparams/__init__.py": "", "lf/src/llamafactory/hparams/parser.py": "",
             "lf/requirements.txt": "transformers>=4.41.2\n",
             "configs/sft.yaml": "stage: sft\nmodel_name_or_path: m\noutput_dir: out\nwarmup_ratio: 0.1\n",
             "run.sh": "llamafactory-cli train configs/sft.yaml\n"}
    assert project(files, select=["HF007"]) == []
