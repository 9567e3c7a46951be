"""TRL: the configs of TRL's trainers and the keys their parsers accept."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.libraries import did_you_mean, library
from preflight.project import Project
from preflight.rule import Bad, Good, Rule
from preflight import runs
from preflight.libraries import HF_CLASSES
from preflight.runs import Arguments, training_runs
from preflight.trainingargs import UNKNOWN, is_number
from preflight.model import UnknownKeys


def accepted_keys(project: Project, run: Arguments) -> frozenset[str] | None:
    """Every key the run's dataclasses accept, or None when not known."""
    if not run.accepted_known:
        return None
    return runs.accepted_keys(project, run.classes, run.local_fields, run.trl_command, run.home)


# A LLaMA-Factory training recipe (its own keys and TrainingArguments') and the command its users run it with
_LLAMAFACTORY = ("model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\nstage: sft\nfinetuning_type: lora\nlora_rank: 8\n"
                 "dataset: alpaca_en_demo\ntemplate: qwen\noutput_dir: saves/qwen-sft\nlearning_rate: 1.0e-4\n")
_LF_RUN = "llamafactory-cli train configs/sft.yaml\n"


class UnknownTrlKey(Rule):
    code = "TRL001"
    name = "unknown-trl-key"
    severity = Severity.ERROR
    summary = "A key that no dataclass of the parser (or the config class) accepts"
    why = (
        "`trl sft --config cfg.yaml` gives the training script only the keys its dataclasses have: a key that "
        "none of them has (`max_seq_length` since TRL 0.20, a typo such as `eval_step`) is handed to "
        "`accelerate launch` instead and re-parsed away by the script (`fail_with_unknown_args=False`), so the run "
        "trains with the default without a word. `accelerate launch` options (`num_processes`, ...) are legitimate "
        "there. `HfArgumentParser` and a config class's constructor reject an unknown key at start-up instead, and so "
        "does `TrlParser.parse_args_and_config` for a config file's key since TRL 0.19 (`fail_with_unknown_args`, "
        "\"Unknown arguments from config file\"; before 0.19 it dropped the key without a word). The "
        "key sets of every TRL, transformers and accelerate release come from the released wheels; keys that "
        "transformers removed are HF007. A pinned TRL or transformers release outside the examined ones is not "
        "judged: which keys it takes is not known. `llamafactory-cli train cfg.yaml` (LLaMA-Factory 0.9.5 "
        "`hparams/parser.py`, `_parse_train_args`) hands the file to `HfArgumentParser.parse_dict` over its own "
        "ModelArguments, DataArguments, FinetuningArguments and GeneratingArguments and Seq2SeqTrainingArguments: a "
        "key none of them has raises \"Some keys are not used by the HfArgumentParser\" at start-up, unless "
        "ALLOW_EXTRA_ARGS is `1`, `true` or `y` (0.9.2+, which ignores it); `key=value` words after the file are "
        "merged over it (`OmegaConf.from_cli`, 0.9.3+). Its own keys come from each release's wheel, and the "
        "transformers release is one its release admits (0.9.5 requires transformers>=4.55.0,<=5.6.0)."
    )
    examples = [
        Bad("sft.yaml", "model_name_or_path: Qwen/Qwen2.5-0.5B\ndataset_name: trl-lib/Capybara\n"
            "max_seq_length: 2048\nper_device_train_batch_size: 4\n", expect="sft.yaml:3:1",
            files={"run.sh": "trl sft --config sft.yaml\n"}),
        Good("sft.yaml", "model_name_or_path: Qwen/Qwen2.5-0.5B\ndataset_name: trl-lib/Capybara\n"
             "max_length: 2048\nper_device_train_batch_size: 4\n", files={"run.sh": "trl sft --config sft.yaml\n"}),
        Good("sft.yaml", "model_name_or_path: Qwen/Qwen2.5-0.5B\ndataset_name: trl-lib/Capybara\n"
             "max_seq_length: 2048\nper_device_train_batch_size: 4\n",
             files={"run.sh": "trl sft --config sft.yaml\n", "requirements.txt": "trl==0.19.1\n"},
             note="TRL 0.19 still had max_seq_length"),
        Bad("configs/sft.yaml", _LLAMAFACTORY.replace("lora_rank", "lora_rnak"), files={"run.sh": _LF_RUN},
            expect="configs/sft.yaml:4:1", note="a LLaMA-Factory recipe run by llamafactory-cli"),
        Good("configs/sft.yaml", _LLAMAFACTORY, files={"run.sh": _LF_RUN},
             note="stage, finetuning_type, lora_rank and template are LLaMA-Factory's own arguments"),
        Good("configs/sft.yaml", _LLAMAFACTORY.replace("lora_rank", "lora_rnak"),
             files={"run.sh": "ALLOW_EXTRA_ARGS=1 llamafactory-cli train configs/sft.yaml\n"},
             note="ALLOW_EXTRA_ARGS=1: LLaMA-Factory ignores keys it does not know"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        transformers = library("transformers")
        seen = set()
        for run in training_runs(project):
            if run.framework == "axolotl":
                continue
            hf_version = project.version("transformers", run.home).version
            accepted = accepted_keys(project, run)
            if accepted is None:
                continue
            unknown = [key for key, value in run.args.items()
                       if key not in accepted and key not in run.from_command_line and (value.anchor, key) not in seen
                       and not transformers.removed_before("TrainingArguments", key, hf_version)]  # HF007's
            if not unknown:
                continue
            seen.update((run.args[key].anchor, key) for key in unknown)
            # one call or file, one finding: the keys share a cause (a release or a class that lacks them)
            yield self.finding(run.args[unknown[0]].anchor, self._message(project, run, unknown, accepted))

    def _message(self, project: Project, run: Arguments, keys: list[str], accepted: frozenset[str]) -> str:
        trl = library("trl")
        assumed = project.version("trl", run.home)
        if len(keys) > 1:
            names = ", ".join(f"`{key}`" for key in keys)
            return (f"{names} are not {run.receiver or 'arguments of ' + ', '.join(run.classes)} with "
                    f"{self._versions(project, run)}: "
                    f"{self._outcome(run, plural=True)}; remove or rename them")
        key = keys[0]
        removed = next(filter(None, (trl.removed_before(c, key, assumed.version) for c in run.classes)), None)
        history = f" (removed in TRL {removed})" if removed else ""
        receiver = f"one of {run.receiver}" if run.receiver else f"an argument of {', '.join(run.classes)}"
        return (f"`{key}` is not {receiver}{history} with {self._versions(project, run)}: "
                f"{self._outcome(run)}{did_you_mean(key, accepted) or '; remove it'}")

    @staticmethod
    def _versions(project: Project, run: Arguments) -> str:
        return project.version("trl", run.home).describe() if any(c not in HF_CLASSES for c in run.classes) else \
            project.version("transformers", run.home).describe()

    @staticmethod
    def _outcome(run: Arguments, plural: bool = False) -> str:
        it = "them" if plural else "it"
        defaults = "the defaults apply" if plural else "the default applies"
        if run.trl_command is not None:
            return (f"the training script never receives {it} ({run.via} hands keys its dataclasses lack to "
                    f"`accelerate launch`) and {defaults}")
        if run.unknown_keys is UnknownKeys.DROPPED:
            return f"{run.via} drops {it} silently and {defaults}"
        if run.constructor is not None:
            return f"{run.constructor}() raises TypeError at start-up"
        if run.via.startswith("TrlParser"):
            return "TrlParser raises \"Unknown arguments from config file\" at start-up"
        return "HfArgumentParser raises \"Some keys are not used\" at start-up"


class GrpoConfigInvariant(Rule):
    code = "TRL002"
    name = "grpo-config-invariant"
    severity = Severity.ERROR
    summary = "A GRPOConfig combination that its __post_init__ rejects"
    why = (
        "GRPO groups `num_generations` completions per prompt, and GRPOConfig checks the batch arithmetic when it "
        "is built: fewer than 2 generations, a `generation_batch_size` that is not a multiple of `num_generations`, "
        "`generation_batch_size` together with `steps_per_generation`, `auto_find_batch_size`, or "
        "`log_completions_hub_repo` without `log_completions` each raise a ValueError at start-up. Checks that depend "
        "on the number of processes are left to the run."
    )
    examples = [
        Bad("train.py", "from trl import GRPOConfig\n\nconfig = GRPOConfig(output_dir='out', num_generations=6, "
            "generation_batch_size=64)\n", expect="train.py:3:58"),
        Good("train.py", "from trl import GRPOConfig\n\nconfig = GRPOConfig(output_dir='out', num_generations=8, "
             "generation_batch_size=64)\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        trl = library("trl")
        for run in training_runs(project):
            if "GRPOConfig" not in run.classes:
                continue
            assumed = project.version("trl", run.home)
            fields = trl.fields("GRPOConfig", assumed.version)

            def get(key: str):
                known, value = run.literal(key, fields[key].default if key in fields else None)
                return value if known else UNKNOWN

            for keys, message in _grpo_problems(get, fields):
                yield self.finding(run.anchor(*keys), f"GRPOConfig ({assumed.describe()}) raises at start-up: "
                                   f"{message}")



def _grpo_problems(get, fields) -> Iterator[tuple[tuple[str, ...], str]]:
    repo = get("log_completions_hub_repo")
    if "log_completions_hub_repo" in fields and repo not in (None, UNKNOWN) and get("log_completions") is False:
        yield (("log_completions_hub_repo", "log_completions"),
               "log_completions_hub_repo is set, but log_completions is False. Enable log_completions to upload "
               "completions to the Hub, or unset log_completions_hub_repo.")
    if get("auto_find_batch_size") is True:
        yield (("auto_find_batch_size",), "auto_find_batch_size is not supported by GRPO, because the generation "
               "batch must contain full prompt groups of num_generations completions; set auto_find_batch_size=False "
               "and lower per_device_train_batch_size instead.")
    generation, steps = get("generation_batch_size"), get("steps_per_generation")
    if generation is not None and steps is not None and UNKNOWN not in (generation, steps):
        yield (("steps_per_generation", "generation_batch_size"),
               "'generation_batch_size' and 'steps_per_generation' can not be both configured at the same time")
    generations = get("num_generations")
    if is_number(generation) and is_number(generations) and generations > 0 and generation % generations != 0:
        yield (("generation_batch_size", "num_generations"), f"generation_batch_size ({generation}) must be "
               f"divisible by num_generations ({generations}).")
    if is_number(generations) and generations < 2:
        yield (("num_generations",), "GRPO requires at least 2 generations per prompt to calculate the advantages. "
               f"You provided {generations}, which is less than the minimum required.")
    low, high = get("vllm_importance_sampling_clip_min"), get("vllm_importance_sampling_clip_max")
    if is_number(low) and is_number(high) and low >= high:
        yield (("vllm_importance_sampling_clip_min", "vllm_importance_sampling_clip_max"),
               f"vllm_importance_sampling_clip_min ({low}) must be less than vllm_importance_sampling_clip_max "
               f"({high}).")


class DpoLossWeightsLength(Rule):
    code = "TRL003"
    name = "dpo-loss-weights-length"
    severity = Severity.ERROR
    summary = "DPOConfig loss_weights and loss_type of different lengths"
    why = (
        "DPO combines several losses by weighting them pairwise: `loss_weights[i]` weights `loss_type[i]`. "
        "DPOConfig raises \"loss_weights must have the same length as loss_type\" when it is built if the two "
        "lists differ (a single `loss_type` string counts as one)."
    )
    examples = [
        Bad("dpo.yaml", "model_name_or_path: m\nloss_type: [sigmoid, bco_pair]\nloss_weights: [0.8, 0.1, 0.1]\n"
            "per_device_train_batch_size: 2\n", expect="dpo.yaml:3:1", files={"run.sh": "trl dpo --config dpo.yaml\n"}),
        Good("dpo.yaml", "model_name_or_path: m\nloss_type: [sigmoid, bco_pair]\nloss_weights: [0.8, 0.2]\n"
             "per_device_train_batch_size: 2\n", files={"run.sh": "trl dpo --config dpo.yaml\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run in training_runs(project):
            if "DPOConfig" not in run.classes:
                continue
            weights, types = run.get("loss_weights"), run.get("loss_type")
            if weights is None or not weights.known or not isinstance(weights.literal, list):
                continue
            if types is None:
                count = 1  # the default, ["sigmoid"]
            elif types.known and isinstance(types.literal, (list, str)):
                count = 1 if isinstance(types.literal, str) else len(types.literal)
            else:
                continue
            if len(weights.literal) != count:
                yield self.finding(weights.anchor, "`loss_weights` must have the same length as `loss_type` when "
                                   f"combining multiple losses. Got {len(weights.literal)} weights for {count} loss "
                                   "types: DPOConfig raises at start-up")
