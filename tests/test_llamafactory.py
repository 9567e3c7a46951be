"""LLaMA-Factory: `llamafactory-cli train cfg.yaml key=value` reads its YAML with HfArgumentParser over
Seq2SeqTrainingArguments and its own dataclasses, rejects unknown keys unless ALLOW_EXTRA_ARGS is enabled, and runs
with the transformers its release pins. Each case is a project in the shape LLaMA-Factory users keep: recipes in a
folder, a shell script, a Makefile or a workflow that runs them."""

from __future__ import annotations

import pytest

from preflight import engine
from preflight.runs import training_runs

RECIPE = (
    "### model\nmodel_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\n\n### method\nstage: sft\ndo_train: true\n"
    "finetuning_type: lora\nlora_rank: 8\nlora_target: all\n\n### dataset\ndataset: alpaca_en_demo\n"
    "template: qwen\ncutoff_len: 2048\n\n### output\noutput_dir: saves/qwen/lora/sft\nlogging_steps: 10\n"
    "save_steps: 500\nplot_loss: true\noverwrite_output_dir: true\nreport_to: none\n\n### train\n"
    "per_device_train_batch_size: 1\ngradient_accumulation_steps: 8\nlearning_rate: 1.0e-4\n"
    "num_train_epochs: 3.0\nbf16: true\n"
)
RUN = "#!/bin/bash\nllamafactory-cli train configs/sft.yaml\n"


def test_its_own_keys_are_known_and_a_typo_is_not(project):
    assert project({"configs/sft.yaml": RECIPE, "run.sh": RUN}, select=["TRL001", "HF007"]) == []
    typo = RECIPE.replace("lora_rank: 8", "lora_rnak: 8")
    assert project({"configs/sft.yaml": typo, "run.sh": RUN}, select=["TRL001"]) == ["configs/sft.yaml:8:1: TRL001"]


def test_the_message_names_the_parser_and_the_pinned_transformers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs/sft.yaml").write_text(RECIPE.replace("lora_rank: 8", "lora_rnak: 8"))
    (tmp_path / "run.sh").write_text(RUN)
    (tmp_path / "requirements.txt").write_text("llamafactory==0.9.4\n")
    [finding] = engine.check(["."], select=["TRL001"], cwd=tmp_path).findings
    assert "`llamafactory-cli train` (llamafactory 0.9.4's" in finding.message
    assert "transformers 4.57.1" in finding.message and "llamafactory==0.9.4" in finding.message
    assert 'HfArgumentParser raises "Some keys are not used"' in finding.message


def test_overwrite_output_dir_is_its_own_key_from_0_9_4(project):
    """transformers 5.0 removed overwrite_output_dir; LLaMA-Factory 0.9.4 declares it itself."""
    files = {"configs/sft.yaml": RECIPE, "run.sh": RUN}
    assert project({**files, "requirements.txt": "llamafactory==0.9.5\n"}, select=["HF007", "TRL001"]) == []


def test_transformers_follows_the_llamafactory_release(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs/sft.yaml").write_text(RECIPE)
    (tmp_path / "run.sh").write_text(RUN)
    for requirement, newest in [("llamafactory==0.9.3\n", "4.52.4"), ("llamafactory>=0.9.4,<0.9.5\n", "4.57.1"),
                                ("", "5.6.0")]:
        (tmp_path / "requirements.txt").write_text(requirement)
        project = engine.check(["."], select=["TRL001"], cwd=tmp_path, use_cache=False).project
        assert project.version("transformers").version == newest, requirement


def test_a_removed_key_raises_with_the_release_a_pinned_llamafactory_installs(project):
    """llamafactory 0.9.5 admits transformers 5.x, where `fsdp_transformer_layer_cls_to_wrap` is gone."""
    files = {"configs/sft.yaml": RECIPE + "fsdp_transformer_layer_cls_to_wrap: LlamaDecoderLayer\n", "run.sh": RUN,
             "requirements.txt": "llamafactory==0.9.5\n"}
    assert project(files, select=["HF007"]) == ["configs/sft.yaml:30:1: HF007"]
    assert project({**files, "requirements.txt": "llamafactory==0.9.3\n"}, select=["HF007"]) == []


@pytest.mark.parametrize("launcher, path", [
    ("run.sh", "#!/bin/bash\nFORCE_TORCHRUN=1 NNODES=1 llamafactory-cli train configs/sft.yaml\n"),
    ("run.sh", "#!/bin/bash\nCUDA_VISIBLE_DEVICES=0 lmf train configs/sft.yaml\n"),
    ("Makefile", "train:\n\tllamafactory-cli train configs/sft.yaml\n"),
    (".github/workflows/train.yml", "on: push\njobs:\n  train:\n    runs-on: ubuntu-latest\n    steps:\n"
                                    "      - run: llamafactory-cli train configs/sft.yaml\n"),
])
def test_every_launcher_runs_it(project, launcher, path):
    typo = RECIPE.replace("lora_rank: 8", "lora_rnak: 8")
    assert project({"configs/sft.yaml": typo, launcher: path}, select=["TRL001"]) == ["configs/sft.yaml:8:1: TRL001"]


@pytest.mark.parametrize("setting, expected", [
    ("ALLOW_EXTRA_ARGS=1 ", []),
    ("ALLOW_EXTRA_ARGS=true ", []),
    ("ALLOW_EXTRA_ARGS=0 ", ["configs/sft.yaml:8:1: TRL001"]),
    ("ALLOW_EXTRA_ARGS=$ALLOW ", []),
])
def test_allow_extra_args_lets_unknown_keys_through(project, setting, expected):
    typo = RECIPE.replace("lora_rank: 8", "lora_rnak: 8")
    run = f"#!/bin/bash\n{setting}llamafactory-cli train configs/sft.yaml\n"
    assert project({"configs/sft.yaml": typo, "run.sh": run}, select=["TRL001"]) == expected


def test_key_value_words_after_the_yaml_override_it(project):
    cadence = RECIPE.replace("report_to: none", "report_to: wandb\nrun_name: qwen-sft") + \
        "eval_strategy: steps\neval_steps: 25\nval_size: 0.1\n"
    assert project({"configs/sft.yaml": cadence, "run.sh": RUN}, select=["HF001"]) == ["configs/sft.yaml:32:1: HF001"]
    fixed = "#!/bin/bash\nllamafactory-cli train configs/sft.yaml eval_steps=50\n"
    assert project({"configs/sft.yaml": cadence, "run.sh": fixed}, select=["HF001"]) == []


def test_a_word_after_the_yaml_that_is_not_key_value_leaves_the_arguments_incomplete(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs/sft.yaml").write_text(RECIPE)
    for words, complete in [("learning_rate=2e-5", True), ("$EXTRA", False)]:
        (tmp_path / "run.sh").write_text(f"#!/bin/bash\nllamafactory-cli train configs/sft.yaml {words}\n")
        project = engine.check(["."], select=["TRL001"], cwd=tmp_path, use_cache=False).project
        [run] = training_runs(project)
        assert run.complete is complete and run.via == "`llamafactory-cli train`"
        assert complete is False or run.get("learning_rate").literal == 2e-5


def test_a_recipe_nothing_names_is_read_as_its_arguments(project):
    """A folder of recipes that the README runs by hand (`llamafactory-cli train examples/x.yaml`)."""
    typo = RECIPE.replace("lora_rank: 8", "lora_rnak: 8")
    assert project({"examples/sft.yaml": typo}, select=["TRL001"]) == ["examples/sft.yaml:8:1: TRL001"]


def test_another_frameworks_config_with_a_stage_key_is_not_a_recipe(project):
    config = ("stage: pretrain\ntemplate: base\nmodel:\n  layers: 24\noptimizer: adamw\nlr: 3e-4\n"
              "output_dir: out\nlogging_steps: 10\nper_device_train_batch_size: 4\n")
    assert project({"configs/train.yaml": config}, select=["TRL001", "HF"]) == []


def test_llamafactory_own_source_is_not_judged_by_a_release(project):
    """In a copy of LLaMA-Factory's repository its argument classes are the project's own: a key a newer
    source added is not unknown."""
    typo = RECIPE.replace("lora_rank: 8", "brand_new_option: 8")
    files = {"examples/sft.yaml": typo, "src/llamafactory/hparams/parser.py": "from transformers import "
             "HfArgumentParser\n"}
    assert project(files, select=["TRL001"]) == []
