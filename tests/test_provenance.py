"""A YAML file is training arguments because a parser reads it as such (preflight.link), not because it
shares keys with TrainingArguments. Each case is a small project in the shape the false findings came
from (Composer, NeoX, a team's own dataclasses, OmegaConf loaders, Hydra folders, accelerate configs)
and the true cases beside them."""

from __future__ import annotations

import pytest

HF_RULES = ["HF", "TRL", "WB001"]

PARSER_SCRIPT = ("import sys\nfrom transformers import HfArgumentParser, TrainingArguments\n\n"
                 "parser = HfArgumentParser(TrainingArguments)\n"
                 "(args,) = parser.parse_yaml_file(sys.argv[1])\n")


@pytest.mark.parametrize("content", [
    # Composer: run_name, seed and fsdp_config are its only keys shared with TrainingArguments
    "run_name: mpt-7b\nseed: 17\nmax_seq_len: 2048\nfsdp_config:\n  sharding_strategy: FULL_SHARD\n"
    "model:\n  name: mpt_causal_lm\noptimizer:\n  name: decoupled_adamw\n  lr: 6.0e-4\n",
    # GPT-NeoX
    "fp16: {enabled: true}\ngradient_accumulation_steps: 1\nweight_decay: 0.1\ntrain_micro_batch_size_per_gpu: 4\n"
    "num_layers: 24\nhidden_size: 2048\npipe_parallel_size: 1\n",
    # a team's own dataclass mirroring HF names, plus its own keys
    "output_dir: out\nlearning_rate: 2e-5\nper_device_train_batch_size: 4\nreport_to: wandb\nlogging_steps: 1\n"
    "dataset_mixer: {a: 1.0}\nuse_flash_attn: true\nwith_tracking: true\ncheckpointing_steps: epoch\n",
    # an accelerate config
    "compute_environment: LOCAL_MACHINE\ndebug: false\ndistributed_type: MULTI_GPU\nuse_cpu: false\n"
    "mixed_precision: bf16\nnum_processes: 8\n",
], ids=["composer", "neox", "own-dataclass", "accelerate-config"])
def test_another_frameworks_config_is_not_training_arguments(project, content):
    assert project({"configs/run.yaml": content}, select=HF_RULES) == []


def test_a_file_whose_keys_are_all_training_arguments_is_one(project):
    content = "output_dir: out\neval_strategy: steps\neval_steps: 250\nlogging_steps: 100\nreport_to: wandb\n"
    assert project({"args.yaml": content}, select=["HF001"]) == ["args.yaml:3:1: HF001"]


def test_a_script_that_loads_its_config_with_omegaconf_reads_no_training_arguments(project):
    files = {
        "train.py": "import sys\nfrom omegaconf import OmegaConf\n\ncfg = OmegaConf.load(sys.argv[1])\n",
        "cfg.yaml": "output_dir: out\neval_strategy: steps\neval_steps: 250\nlogging_steps: 100\nreport_to: none\n",
        "run.sh": "python train.py cfg.yaml\n",
    }
    assert project(files, select=HF_RULES) == []


def test_a_hydra_config_folder_holds_no_training_arguments(project):
    files = {
        "train.py": "import hydra\n\n@hydra.main(config_path='conf', config_name='train')\ndef main(cfg):\n"
                    "    pass\n\nif __name__ == '__main__':\n    main()\n",
        "conf/train.yaml": "output_dir: out\neval_strategy: steps\neval_steps: 250\nlogging_steps: 100\n"
                           "report_to: none\n",
    }
    assert project(files, select=HF_RULES) == []


def test_the_loader_decides_the_types(project):
    """HfArgumentParser.parse_yaml_file passes `2e-5` on as the string PyYAML reads; OmegaConf reads a float."""
    value = "output_dir: out\nlearning_rate: 2e-5\nper_device_train_batch_size: 4\nreport_to: none\n"
    files = {"train.py": PARSER_SCRIPT, "args.yaml": value, "run.sh": "python train.py args.yaml\n"}
    assert project(files, select=["HF010"]) == ["args.yaml:2:1: HF010"]
    omegaconf = PARSER_SCRIPT.replace("parser.parse_yaml_file(sys.argv[1])",
                                      "parser.parse_dict(OmegaConf.load(sys.argv[1]))")
    files["train.py"] = "from omegaconf import OmegaConf\n" + omegaconf
    assert project(files, select=["HF010"]) == []


def test_a_sparse_file_a_parser_is_given_is_read_as_its_arguments(project):
    files = {"train.py": PARSER_SCRIPT, "args.yaml": "output_dir: out\nevaluation_strategy: epoch\n",
             "run.sh": "python train.py args.yaml\n"}
    assert project(files, select=["HF007"]) == ["args.yaml:2:1: HF007"]


def test_an_unnamed_file_read_by_the_projects_own_parser(project):
    """No launcher names the recipe, but its keys are those of the project's TrlParser."""
    script = ("from dataclasses import dataclass\nfrom trl import ModelConfig, SFTConfig, TrlParser\n\n"
              "@dataclass\nclass ScriptArguments:\n    dataset_mixture: str = ''\n\n"
              "parser = TrlParser((ScriptArguments, SFTConfig, ModelConfig))\n"
              "script_args, training_args, model_args = parser.parse_args_and_config()\n")
    recipe = ("model_name_or_path: Qwen/Qwen2.5-0.5B\ndataset_mixture: mix\neval_strategy: steps\neval_steps: 25\n"
              "report_to: wandb\nrun_name: sft\nmax_seq_length: 1024\n")
    found = project({"scripts/sft.py": script, "recipes/sft.yaml": recipe}, select=["HF001", "TRL001"])
    assert found == ["recipes/sft.yaml:4:1: HF001", "recipes/sft.yaml:7:1: TRL001"]


SUBCLASS = ("from dataclasses import dataclass, field\nimport transformers\n\n"
            "@dataclass\nclass TrainingArguments(transformers.TrainingArguments):\n"
            "    model_max_length: int = field(default=512)\n")
MAIN = ("from transformers import HfArgumentParser, Trainer\n{imports}\n"
        "parser = HfArgumentParser((ModelArguments, TrainingArguments))\n"
        "model_args, training_args = parser.parse_args_into_dataclasses()\n"
        "Trainer(model=None, args=training_args)\n")
FLAGS = "--evaluation_strategy steps --model_max_length 1024 --report_to none\n"


@pytest.mark.parametrize("files, launch", [
    ({"train.py": SUBCLASS + "\n@dataclass\nclass ModelArguments:\n    model: str = 'm'\n\n" + MAIN.format(imports="")},
     "torchrun --nproc_per_node 8 train.py "),
    ({"scripts/args.py": SUBCLASS + "\n@dataclass\nclass ModelArguments:\n    model: str = 'm'\n",
      "scripts/train.py": MAIN.format(imports="from args import ModelArguments, TrainingArguments\n")},
     "torchrun --nproc_per_node 8 scripts/train.py "),
    ({"src/proj/__init__.py": "", "src/proj/args.py": SUBCLASS + "\n@dataclass\nclass ModelArguments:\n    model: str = 'm'\n",
      "src/proj/train.py": MAIN.format(imports="from .args import ModelArguments, TrainingArguments\n")},
     "accelerate launch -m proj.train "),
], ids=["same-module", "imported-module", "relative-import-in-a-package"])
def test_a_subclass_of_training_arguments_keeps_every_hf_rule(project, files, launch):
    """The script's own `TrainingArguments(transformers.TrainingArguments)`, here or in a module it imports:
    its base is followed (HF007 for the launcher's removed flag) and its own fields are kept (no TRL001/HF007
    for model_max_length)."""
    found = project({**files, "run.sh": launch + FLAGS}, select=["HF007", "TRL001"])
    assert [f.split(": ")[1] for f in found] == ["HF007"]


REPORTING = SUBCLASS + "    report_to: str = field(default={report_to!r}, metadata={{'help': 'trackers'}})\n"
CADENCE_FLAGS = "--eval_strategy steps --eval_steps 187 --logging_steps 10\n"


@pytest.mark.parametrize("layout", ["same-module", "imported-module"])
@pytest.mark.parametrize("report_to, expected", [("none", []), ("wandb", ["HF001"])])
def test_a_subclass_default_is_the_value_of_an_unset_key(project, layout, report_to, expected):
    """A TrainingArguments subclass that declares `report_to` with a default of its own (QLoRA's
    `field(default='none')`) replaces the library's default: a launch that leaves it unset logs nowhere
    (no HF001 cadence mismatch, no HF008 "unset"), and with the default "wandb" its curves reach W&B."""
    own = REPORTING.format(report_to=report_to) + "\n@dataclass\nclass ModelArguments:\n    model: str = 'm'\n"
    if layout == "same-module":
        files = {"train.py": own + "\n" + MAIN.format(imports="")}
    else:
        files = {"args.py": own, "train.py": MAIN.format(imports="from args import ModelArguments, TrainingArguments\n")}
    files["run.sh"] = "torchrun --nproc_per_node 8 train.py --output_dir out " + CADENCE_FLAGS
    files["requirements.txt"] = "transformers==4.46.0\n"  # an unset report_to still means every integration
    found = project(files, select=["HF001", "HF008"])
    assert [f.split(": ")[1] for f in found] == expected


def test_a_subclass_default_applies_to_the_file_its_parser_reads(project):
    own = REPORTING.format(report_to="none")
    script = own + ("\nimport sys\nfrom transformers import HfArgumentParser, Trainer\n\n"
                    "(args,) = HfArgumentParser(TrainingArguments).parse_yaml_file(sys.argv[1])\n"
                    "Trainer(model=None, args=args)\n")
    config = "output_dir: out\neval_strategy: steps\neval_steps: 187\nlogging_steps: 10\n"
    files = {"train.py": script, "args.yaml": config, "run.sh": "python train.py args.yaml\n",
             "requirements.txt": "transformers==4.46.0\n"}
    assert project(files, select=["HF001", "HF008"]) == []
    files["train.py"] = script.replace("default='none'", "default_factory=lambda: ['wandb']")
    assert project(files, select=["HF001", "HF008"]) == [], \
        "a default built at run time is not known: nothing is claimed"


@pytest.mark.parametrize("files, expected", [
    # recipes of `trl sft --config`, no script of the project reads them
    ({"recipes/sft.yaml": "model_name_or_path: Qwen/Qwen2.5-0.5B\ndataset_name: trl-lib/Capybara\npacking: true\n"
                          "max_seq_length: 2048\nlearning_rate: 2.0e-5\n"}, ["recipes/sft.yaml:4:1: TRL001"]),
    ({"recipes/dpo.yaml": "model_name_or_path: m\ndataset_name: d\nbeta: 0.1\nmax_prompt_length: 512\n"
                          "max_seq_length: 1024\n"}, ["recipes/dpo.yaml:4:1: TRL001"]),
    # the project's own TrlParser has fields of its own: which keys it accepts is its business
    ({"recipes/sft.yaml": "model_name_or_path: m\ndataset_name: d\npacking: true\nmax_seq_length: 2048\n",
      "sft.py": "from mypkg import ScriptArguments\nfrom trl import SFTConfig, TrlParser\n\n"
                "TrlParser((ScriptArguments, SFTConfig)).parse_args_and_config()\n"}, []),
], ids=["sft-recipe", "dpo-recipe", "project-parser"])
def test_trl_recipes_with_no_script_in_the_project(project, files, expected):
    assert project(files, select=["TRL001"]) == expected


OWN_ARGUMENTS = ("from dataclasses import dataclass\n\n@dataclass\nclass ScriptArguments:\n"
                 "    output_dir: str = 'out'\n    per_device_train_batch_size: int = 8\n    dataset_name: str = 'd'\n"
                 "    model_name: str = 'm'\n    lora_r: int = 4\n    max_seq_length: int = 1024\n    packing: bool = True\n")
OWN_PARSER = ("import sys\nimport yaml\nfrom transformers import HfArgumentParser, TrainingArguments\n{imports}\n"
              "script_args = HfArgumentParser(ScriptArguments).parse_dict(yaml.safe_load(open(sys.argv[1])))[0]\n"
              "args = TrainingArguments(output_dir=script_args.output_dir, report_to='none')\n")
OWN_CONFIG = ("output_dir: out\nper_device_train_batch_size: 24\ndataset_name: quotes\nmodel_name: llama\nlora_r: 4\n"
              "max_seq_length: 512\npacking: true\n")


@pytest.mark.parametrize("files", [
    {"tpu/train.py": OWN_PARSER.format(imports="") + "\n" + OWN_ARGUMENTS},
    {"tpu/arguments.py": OWN_ARGUMENTS, "tpu/train.py": OWN_PARSER.format(imports="from arguments import ScriptArguments")},
], ids=["own-dataclass-in-the-script", "own-dataclass-imported"])
def test_a_file_of_the_scripts_own_dataclass_fields_is_not_a_trl_recipe(project, files):
    """The script parses its YAML into its own dataclass (copied to where it runs, so no launcher names it)
    and builds TrainingArguments itself: keys such as lora_r and packing do not make the file a TRL recipe,
    and report_to is not unset there (HF008). The project uses TRL elsewhere."""
    other = {"sft.py": "from trl import SFTConfig, SFTTrainer\nSFTTrainer(model='m', args=SFTConfig(output_dir='o', "
                       "report_to='none'))\n"}
    found = project({**files, "tpu/config.yaml": OWN_CONFIG, **other}, select=["HF", "TRL"])
    assert not [f for f in found if f.startswith("tpu/config.yaml")], found


AXOLOTL_TEMPLATE = ("base_model: {model}\nmodel_type: {kind}\nsequence_len: {length}\nlora_r: {rank}\n"
                    "lora_droput: {dropout}\nwandb_project: {project}\n")


@pytest.mark.parametrize("values, expected", [
    (dict(model="${BASE_MODEL}", kind="${MODEL_TYPE}", length="${SEQUENCE_LEN:-2048}", rank="${LORA_R}",
          dropout="${LORA_DROPOUT}", project="${WANDB_PROJECT}"), []),
    (dict(model="Qwen/Qwen2.5-0.5B", kind="AutoModelForCausalLM", length=2048, rank=16, dropout=0.05,
          project="${WANDB_PROJECT}"), ["config.yaml:5:1: AXO006"]),
], ids=["template", "one-placeholder"])
def test_a_template_of_placeholders_is_not_the_config_it_becomes(project, values, expected):
    """Axolotl's RunPod handler writes the config it trains on from a template whose values are ${NAME}
    placeholders: the template is read by nothing that acts on its keys. A config with one placeholder
    is still a config."""
    files = {"config.yaml": AXOLOTL_TEMPLATE.format(**values), "run.sh": "axolotl train config.yaml\n"}
    assert project(files, select=["AXO006", "WB001"]) == expected


def test_omegaconf_interpolations_do_not_make_a_template():
    """OmegaConf resolves `${paths.out}` and `${oc.env:X}` itself: such a file is read as it is."""
    from preflight import classify
    from preflight.sources import yamltree as y

    content = ("output_dir: ${paths.out}\neval_strategy: steps\neval_steps: ${cadence.eval}\n"
               "logging_steps: ${cadence.log}\nreport_to: ${oc.env:TRACKER}\nrun_name: ${name}\n")
    assert classify.kind_by_content("yaml", y.compose_documents(content)) == classify.HF_ARGS
