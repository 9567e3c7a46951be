"""AXO: Axolotl configs: what its validators reject, what its config normalisation silently changes."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.libraries import did_you_mean, library
from preflight.project import Project
from preflight.rule import Bad, Good, Rule
from preflight.runs import Arguments, axolotl, training_runs
from preflight.trainingargs import is_number

_BASE = "base_model: Qwen/Qwen2.5-0.5B\ndatasets:\n  - path: data.jsonl\n    type: alpaca\n"


def axolotl_runs(project: Project) -> list[Arguments]:
    return training_runs(project, where=axolotl)


class _Raw:
    """`data.get(key)` as Axolotl's "before" validators see the YAML: None for absent or unknown."""

    def __init__(self, run: Arguments) -> None:
        self.run = run

    def __call__(self, key: str):
        value = self.run.get(key)
        return value.literal if value is not None and value.known else None

    def unknown(self, *keys: str) -> bool:
        return any(k in self.run.args and not self.run.args[k].known for k in keys)


# (keys involved, condition on the raw values, the validator's message) — axolotl/utils/schemas/validation.py
# and config.py (0.19.0).
_VALIDATORS = [
    (("batch_size", "gradient_accumulation_steps"),
     lambda d: d("gradient_accumulation_steps") and d("batch_size"),
     "please set only one of gradient_accumulation_steps or batch_size"),
    (("warmup_ratio", "warmup_steps"),
     lambda d: d("warmup_steps") and d("warmup_ratio"),
     "warmup_steps and warmup_ratio are mutually exclusive"),
    (("save_steps", "save_strategy"),
     lambda d: d("save_strategy") and d("save_steps") and d("save_strategy") != "steps",
     "save_strategy and save_steps mismatch. Please set save_strategy to 'steps' or remove save_steps."),
    (("saves_per_epoch", "save_steps"),
     lambda d: d("saves_per_epoch") and d("save_steps"),
     "save_steps and saves_per_epoch are mutually exclusive and cannot be used together."),
    (("eval_steps", "eval_strategy"),
     lambda d: d("eval_strategy") and d("eval_steps") and d("eval_strategy") != "steps",
     "eval_strategy and eval_steps mismatch. Please set eval_strategy to 'steps' or remove eval_steps."),
    (("val_set_size", "eval_steps", "eval_strategy"),
     lambda d: d("val_set_size") == 0 and "val_set_size" in d.run.args and (d("eval_steps") or d("eval_strategy"))
     and not d("test_datasets") and d("eval_strategy") != "no",
     "eval_steps and eval_strategy are not supported with val_set_size == 0"),
    (("evals_per_epoch", "eval_steps"),
     lambda d: d("evals_per_epoch") and d("eval_steps"),
     "eval_steps and evals_per_epoch are mutually exclusive and cannot be used together."),
    (("eval_strategy", "evals_per_epoch"),
     lambda d: d("evals_per_epoch") and d("eval_strategy") and d("eval_strategy") != "steps",
     "eval_strategy must be empty or set to `steps` when used with evals_per_epoch."),
    (("do_bench_eval",),
     lambda d: d("do_bench_eval") and not (d("evals_per_epoch") or d("eval_steps")),
     "do_bench_eval requires evals_per_epoch or eval_steps to be set."),
    (("val_set_size", "test_datasets"),
     lambda d: d("test_datasets") and d("val_set_size"),
     "non-zero val_set_size should not be used with test_datasets configuration"),
    (("save_strategy", "metric_for_best_model"),
     lambda d: d("save_strategy") == "best" and not d("metric_for_best_model"),
     "save_strategy: 'best' requires metric_for_best_model to be set. Please specify the metric to use, e.g. "
     "metric_for_best_model: eval_loss"),
]


class ConflictingScheduleKeys(Rule):
    code = "AXO001"
    name = "conflicting-schedule-keys"
    severity = Severity.ERROR
    summary = "Axolotl config keys its validators reject together"
    why = (
        "Axolotl validates the config before it loads anything and refuses combinations such as `eval_steps` with "
        "`evals_per_epoch`, `save_steps` with `saves_per_epoch`, a `save_strategy` other than `steps` with "
        "`save_steps`, `warmup_steps` with `warmup_ratio`, `val_set_size` with `test_datasets`, or "
        "`save_strategy: best` without a metric. The job dies at start-up with the validator's message, which "
        "preflight reports word for word."
    )
    examples = [
        Bad("axolotl.yaml", _BASE + "val_set_size: 0.05\nevals_per_epoch: 4\neval_steps: 100\n",
            expect="axolotl.yaml:6:1"),
        Good("axolotl.yaml", _BASE + "val_set_size: 0.05\nevals_per_epoch: 4\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run in axolotl_runs(project):
            raw = _Raw(run)
            for keys, condition, message in _VALIDATORS:
                if raw.unknown(*keys) or raw.unknown("test_datasets"):
                    continue
                if condition(raw):
                    yield self.finding(run.anchor(*keys), f"Axolotl rejects this config at start-up: {message}")


def _effective_steps(raw: _Raw, steps_key: str, per_epoch_key: str, needs_eval_set: bool = False):
    """save_steps / eval_steps after `normalize_config`: a per-epoch count becomes a ratio below 1."""
    steps = raw(steps_key)
    if steps:
        return steps
    per_epoch, epochs = raw(per_epoch_key), raw("num_epochs") or 1.0
    if needs_eval_set and not _has_eval_set(raw):
        return None
    if is_number(per_epoch) and per_epoch and is_number(epochs):
        ratio = 1.0 / (per_epoch * epochs)
        return ratio if ratio < 1.0 else None
    return None


def _has_eval_set(raw: _Raw) -> bool:
    return bool(raw("val_set_size") or raw("test_datasets"))


class EvaluationSilentlyOff(Rule):
    code = "AXO002"
    name = "evaluation-silently-off"
    severity = Severity.WARNING
    summary = "evals_per_epoch x num_epochs == 1: Axolotl never evaluates"
    why = (
        "Axolotl turns `evals_per_epoch` into a ratio `eval_steps = 1 / (evals_per_epoch * num_epochs)` and "
        "applies it only when it is below 1 (above 1 it warns). Exactly 1 (one eval per epoch over one epoch) "
        "matches neither branch: no `eval_steps`, no `eval_strategy`, and TrainingArguments' default `no` "
        "applies. The run trains on a validation split it never evaluates, without a warning. Replace "
        "`evals_per_epoch` with `eval_strategy: epoch` (Axolotl's `check_evals` rejects the two together), or "
        "set `evals_per_epoch: 2`."
    )
    examples = [
        Bad("axolotl.yaml", _BASE + "val_set_size: 0.05\nnum_epochs: 1\nevals_per_epoch: 1\n",
            expect="axolotl.yaml:7:1"),
        Good("axolotl.yaml", _BASE + "val_set_size: 0.05\nnum_epochs: 1\nevals_per_epoch: 2\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run in axolotl_runs(project):
            raw = _Raw(run)
            per_epoch, epochs = raw("evals_per_epoch"), raw("num_epochs") if "num_epochs" in run.args else 1.0
            if raw.unknown("evals_per_epoch", "num_epochs", "eval_strategy", "eval_steps", "val_set_size"):
                continue
            if not (is_number(per_epoch) and is_number(epochs)) or per_epoch * epochs != 1 or not _has_eval_set(raw):
                continue
            if raw("eval_strategy") or raw("eval_steps"):
                continue
            yield self.finding(run.anchor("evals_per_epoch"), f"evals_per_epoch={per_epoch} x num_epochs={epochs} "
                               "= 1: Axolotl derives eval_steps = 1.0, which it neither applies nor warns about, so "
                               "the run never evaluates; replace evals_per_epoch with eval_strategy: epoch (Axolotl "
                               "rejects the two together), or set evals_per_epoch: 2")


class LoadBestSilentlyDropped(Rule):
    code = "AXO003"
    name = "load-best-silently-dropped"
    severity = Severity.WARNING
    summary = "load_best_model_at_end or early stopping that Axolotl silently turns off"
    why = (
        "Axolotl passes `load_best_model_at_end` to the Trainer only when there is an evaluation set and both "
        "`save_steps` and `eval_steps` (given, or derived from `saves_per_epoch`/`evals_per_epoch`) are set and "
        "the save cadence is a multiple of the eval cadence; otherwise it passes False without a word. The run "
        "ends with the last checkpoint, not the best, and `early_stopping_patience` compares nothing."
    )
    examples = [
        Bad("axolotl.yaml", _BASE + "val_set_size: 0.05\nevals_per_epoch: 4\nload_best_model_at_end: true\n",
            expect="axolotl.yaml:7:1"),
        Good("axolotl.yaml", _BASE + "val_set_size: 0.05\nevals_per_epoch: 4\nsaves_per_epoch: 2\n"
             "load_best_model_at_end: true\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run in axolotl_runs(project):
            raw = _Raw(run)
            wanted = raw("load_best_model_at_end") is True or bool(raw("early_stopping_patience"))
            keys = ("save_steps", "saves_per_epoch", "eval_steps", "evals_per_epoch", "num_epochs", "val_set_size",
                    "test_datasets", "load_best_model_at_end", "early_stopping_patience")
            if not wanted or raw.unknown(*keys) or raw("load_best_model_at_end") is False:
                continue
            save = _effective_steps(raw, "save_steps", "saves_per_epoch")
            evaluation = _effective_steps(raw, "eval_steps", "evals_per_epoch", needs_eval_set=True)
            if not _has_eval_set(raw):
                reason = "there is no evaluation set (val_set_size or test_datasets)"
            elif not save or not evaluation:
                missing = "save_steps (or saves_per_epoch)" if not save else "eval_steps (or evals_per_epoch)"
                reason = f"{missing} is not set"
            elif is_number(save) and is_number(evaluation) and save % evaluation != 0:
                reason = f"the save cadence ({save:g}) is not a multiple of the eval cadence ({evaluation:g})"
            else:
                continue
            key = "load_best_model_at_end" if raw("load_best_model_at_end") else "early_stopping_patience"
            yield self.finding(run.anchor(key), f"Axolotl passes load_best_model_at_end=False because {reason}: the "
                               "best checkpoint is never restored (and early stopping has nothing to compare); set "
                               "numeric save and eval cadences where saving is a multiple of evaluating")


_TRACKERS = (("wandb", "use_wandb", "wandb_project"), ("mlflow", "use_mlflow", "mlflow_experiment_name"),
             ("trackio", "use_trackio", "trackio_project_name"))


class TrackerFlagOverridden(Rule):
    code = "AXO004"
    name = "tracker-flag-overridden"
    severity = Severity.WARNING
    summary = "use_wandb: false (or use_mlflow, use_trackio) with a project set: the tracker is on anyway"
    why = (
        "Axolotl turns a tracker on whenever its project key is a non-empty string (`wandb_project`, "
        "`mlflow_experiment_name`, `trackio_project_name`), after validation and whatever `use_wandb` says: "
        "`use_wandb: false` does not disable W&B, and a job meant to run offline needs the key and the network. "
        "Remove the project key (or set `wandb_mode: disabled`)."
    )
    examples = [
        Bad("axolotl.yaml", _BASE + "use_wandb: false\nwandb_project: llm-sft\n", expect="axolotl.yaml:5:1"),
        Good("axolotl.yaml", _BASE + "use_wandb: false\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run in axolotl_runs(project):
            raw = _Raw(run)
            for tracker, flag, project_key in _TRACKERS:
                value = raw(project_key)
                if raw(flag) is False and isinstance(value, str) and value.strip():
                    yield self.finding(run.anchor(flag), f"{flag}: false is overridden: Axolotl enables {tracker} "
                                       f"because {project_key} is set ({value!r}); remove {project_key} to keep "
                                       f"{tracker} off")


class WandbWithoutProject(Rule):
    code = "AXO005"
    name = "wandb-without-project"
    severity = Severity.INFO
    summary = "use_wandb: true without wandb_project or WANDB_PROJECT"
    why = (
        "With W&B on and no project, the HF W&B integration logs to the project `huggingface`, shared by every "
        "unrelated run of the entity. Set `wandb_project` (or WANDB_PROJECT in the launcher)."
    )
    examples = [
        Bad("axolotl.yaml", _BASE + "use_wandb: true\nwandb_name: sft-1\n", expect="axolotl.yaml:5:1"),
        Good("axolotl.yaml", _BASE + "use_wandb: true\nwandb_project: llm-sft\nwandb_name: sft-1\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run in axolotl_runs(project):
            raw = _Raw(run)
            if raw("use_wandb") is not True or "wandb_project" in run.args:
                continue
            if any(True for _ in project.env_settings("WANDB_PROJECT")):
                continue
            yield self.finding(run.anchor("use_wandb"), "use_wandb is true but no wandb_project (nor WANDB_PROJECT) "
                               "is set: runs go to the shared default project \"huggingface\"; set wandb_project")


class UnknownAxolotlKey(Rule):
    code = "AXO006"
    name = "unknown-axolotl-key"
    severity = Severity.WARNING
    summary = "A top-level key the Axolotl schema does not have: silently dropped"
    why = (
        "Axolotl's config model ignores keys it does not define (no `extra=\"forbid\"`) and `model_dump` drops "
        "them: a misspelt `wandb_projetc` or `lora_droput` changes nothing and nobody is told. The schema of each "
        "Axolotl release, with the keys its built-in plugins add, comes from the released wheels; a config that "
        "loads a third-party plugin is not checked (its plugin may define any key), nor one for a pinned release "
        "outside the examined ones (which keys it takes is not known)."
    )
    examples = [
        Bad("axolotl.yaml", _BASE + "lora_r: 16\nlora_droput: 0.05\n", expect="axolotl.yaml:6:1"),
        Good("axolotl.yaml", _BASE + "lora_r: 16\nlora_dropout: 0.05\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        data = library("axolotl")
        assumed = project.version("axolotl")
        for run in axolotl_runs(project):
            accepted = _accepted(data, assumed.version, _Raw(run)("plugins"))
            if accepted is None:
                continue
            unknown = [(key, value) for key, value in run.args.items() if key not in accepted]
            if len(unknown) > _ONE_BY_ONE:  # a file of thousands of keys gets one finding, not thousands
                (first, value), names = unknown[0], ", ".join(f"`{key}`" for key, _ in unknown[:5])
                yield self.finding(value.anchor, f"{len(unknown):,} keys are not keys of the Axolotl config "
                                   f"({assumed.describe()}), from `{first}` on: Axolotl drops them silently "
                                   f"({names}, ...)")
                continue
            for key, value in unknown:
                yield self.finding(value.anchor, f"`{key}` is not a key of the Axolotl config "
                                   f"({assumed.describe()}): Axolotl drops it silently"
                                   f"{did_you_mean(key, accepted) or '; remove it'}")


_ONE_BY_ONE = 10  # unknown keys reported each on its own; more make one finding for the file


def _accepted(data, version: str, plugins) -> set[str] | None:
    if not data.describes(version):
        return None  # a release outside the examined ones: which keys it takes is not known
    fields = data.fields("AxolotlInputConfig", version)
    accepted = set(fields) | {f.alias for f in fields.values() if f.alias}
    for plugin in plugins if isinstance(plugins, list) else []:
        parts = str(plugin).split(".")
        if len(parts) < 3 or parts[:2] != ["axolotl", "integrations"]:
            return None  # a third-party plugin: it may add any key
        plugin_fields = data.fields(f"plugin:{parts[2]}", version)
        if not plugin_fields and not data.has_class(f"plugin:{parts[2]}", version):
            return None
        accepted |= set(plugin_fields)
    return accepted
