"""What TrainingArguments does with a run's arguments, for the transformers (and TRL) release the project uses.

Library knowledge, not a rule: the HF rules (and the TRL and AXO ones, for its small helpers) ask it, and it
reports nothing itself. `simulate` replays the statically decidable part of transformers'
`TrainingArguments.__post_init__` (src/transformers/training_args.py: enum conversion, the derived
eval_steps and best-model metric, `_validate_args`) on the effective values: the given ones, else the
defaults of the effective transformers (and TRL) release, read from the generated field data
(tools/generate_library_data.py, preflight/data/libraries/). The field sets are generated; the logic is
ported by hand from the library source, release by release, with the library's own messages, and
tests/test_differential.py keeps it honest: for a few hundred generated argument files, HF004, HF007,
HF010 and TRL001 report an error exactly when the real `HfArgumentParser(TrainingArguments).parse_dict`
raises. A check ported here belongs in that test's choices too.

- `trainer_runs(project)`: the runs whose arguments reach TrainingArguments, each with its `Effective`
  values; computed once per check and shared by the HF rules.
- `Effective`: the values TrainingArguments will hold; `Effective.problems` is `simulate` of them, a list of
  `Problem` (the rule code that reports it, the keys involved, the library's message, a hint).
- `REPLACEMENTS` / `PURE_RENAMES`: keys the library renamed or dropped (HF007 and its fix).
- `number_text`, `is_number`, `strategy_name`, `applies`, `best_metric`: the small questions the rules share.

A value the analysis does not know (`UNKNOWN`) stops every check that depends on it: no guess.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from preflight.libraries import HF_CLASSES, did_you_mean, extends_training_arguments, library
from preflight.runs import Arguments, runs_with_effective_values
from preflight.versions import Assumed

if TYPE_CHECKING:
    from preflight.project import Project

UNKNOWN = object()  # a value the analysis cannot know: every check that needs it stays silent
ENUM_KEYS = {
    "eval_strategy": "IntervalStrategy", "evaluation_strategy": "IntervalStrategy",
    "logging_strategy": "IntervalStrategy", "save_strategy": "SaveStrategy", "hub_strategy": "HubStrategy",
    "lr_scheduler_type": "SchedulerType", "optim": "OptimizerNames",
}
# Replacements for keys the library renamed or dropped (an AST diff of the TrainingArguments fields of every
# release: tools/generate_library_data.py).
REPLACEMENTS = {
    "evaluation_strategy": "eval_strategy",
    "no_cuda": "use_cpu",
    "per_gpu_train_batch_size": "per_device_train_batch_size",
    "per_gpu_eval_batch_size": "per_device_eval_batch_size",
    "push_to_hub_model_id": "hub_model_id",
    "push_to_hub_organization": "hub_model_id",
    "push_to_hub_token": "hub_token",
    "include_inputs_for_metrics": "include_for_metrics",
    "torchdynamo": "torch_compile_backend",
    "fsdp_min_num_params": "fsdp_config",
    "fsdp_transformer_layer_cls_to_wrap": "fsdp_config",
    "group_by_length": 'train_sampling_strategy: "group_by_length"',
    "logging_dir": "the TENSORBOARD_LOGGING_DIR environment variable",
    "warmup_ratio": "warmup_steps (a value below 1 is a ratio of the total steps)",
}
# The replacements that are the same setting under a new name: safe to rename in place (--fix).
PURE_RENAMES = {"evaluation_strategy", "no_cuda", "per_gpu_train_batch_size", "per_gpu_eval_batch_size",
                "include_inputs_for_metrics"}


@dataclass(frozen=True)
class Problem:
    code: str
    keys: tuple[str, ...]  # the settings involved, the first one set is where the finding points
    message: str
    hint: str = ""  # what to change, when the library's message does not say
    # The one value that makes TrainingArguments accept what it rejects here, when there is one: (key, value).
    # A fix may set it, after `Effective.satisfied_by` confirmed it (an unsafe fix: it changes what the run does).
    change: tuple[str, object] | None = None


class Effective:
    """The values TrainingArguments will hold: given, else the default of the effective release."""

    def __init__(self, run: Arguments, transformers: Assumed, trl: Assumed | None) -> None:
        self.run = run
        self.transformers = transformers
        self.trl = trl
        fields, defaults = _training_arguments(transformers.version)
        self.fields = dict(fields)
        self.defaults = dict(defaults)
        self.trl_classes: list[str] = []
        self.defaults_known = True
        if trl is not None:
            trl_data = library("trl")
            names = [c for c in run.classes if c not in HF_CLASSES and extends_training_arguments(c)]
            if not names and run.framework == "trl" and not run.classes:
                names = ["_BaseConfig"]  # a TRL file of unknown script: the defaults every TRL config shares
            for name in names:
                if not trl_data.has_class(name, trl.version):
                    # e.g. trl.experimental's CPOConfig: its own defaults are not in the data
                    self.defaults_known = False
                for key, found in trl_data.fields(name, trl.version).items():
                    self.fields.setdefault(key, found)
                    if found.has_default:
                        self.defaults[key] = found.default
                self.trl_classes.append(name)
        # The values that are not simply the given one or the default (a pure rename read under its new name, a
        # string the library would not convert); the rest are looked up when asked, as most keys never are.
        self.values: dict[str, object] = {}
        for old in PURE_RENAMES:  # judged as intended: HF007 reports the old name, one root cause, one finding
            new = REPLACEMENTS[old]
            if old in run.args and old not in self.fields and new in self.fields and new not in run.args:
                known, value = run.literal(old)
                self.values[new] = value if known else UNKNOWN

    def get(self, key: str) -> object:
        """The value, `None` when unset, or `UNKNOWN`."""
        if not self.defaults_known and key not in self.run.args:
            return UNKNOWN
        if key in self.values:
            return self.values[key]
        if key in self.defaults or key in self.run.args:
            known, value = self.run.literal(key, self.defaults.get(key))
            return value if known else UNKNOWN
        return None if self.run.complete else UNKNOWN

    def known(self, *keys: str) -> bool:
        return all(self.get(k) is not UNKNOWN for k in keys)

    def given(self, key: str) -> bool:
        return key in self.run.args

    def enum_values(self, enum: str) -> list[str]:
        """The enum's values at the effective release, in the library's order."""
        return list(library("transformers").fields(f"enum:{enum}", self.transformers.version))

    def satisfied_by(self, problem: "Problem") -> bool:
        """Does the problem's `change`, made alone, leave TrainingArguments with no error of the problem's
        code that it did not raise before (the problem itself gone)?"""
        if problem.change is None or problem.change[0] not in self.run.args:
            return False
        key, literal = problem.change
        value = self.run.args[key]
        changed = dataclasses.replace(self.run, args={**self.run.args, key: dataclasses.replace(
            value, known=True, literal=literal, text=str(literal), nondeterministic=None)})
        before = {(p.keys, p.message) for p in self.problems if p.code == problem.code} - {
            (problem.keys, problem.message)}
        after = {(p.keys, p.message) for p in Effective(changed, self.transformers, self.trl).problems
                 if p.code == problem.code}
        return after <= before

    @cached_property
    def problems(self) -> list["Problem"]:
        """What TrainingArguments raises for these values (computed once, read by several rules)."""
        return simulate(self)

    @property
    def v5(self) -> bool:
        return self.transformers.major >= 5


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number_text(value: float | None) -> str:
    """A step count or cadence as messages show it: `250`, `0.1`, `?` when unknown."""
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def strategy_name(enum: str, value: str) -> str:
    """How the library prints an enum member in its messages: `IntervalStrategy.STEPS`."""
    return f"{enum}.{value.upper()}"


def applies(run: Arguments) -> bool:
    """TrainingArguments receives these arguments: an HF/TRL argument file, constructor or command line
    (whether HF or TRL defaults apply may be unknown); not Axolotl, which builds its own."""
    if run.framework == "axolotl":
        return False
    if run.classes:
        return any(extends_training_arguments(c) for c in run.classes)
    return True


@lru_cache(maxsize=64)
def _training_arguments(version: str) -> tuple[dict, dict]:
    """TrainingArguments' fields at a release and the defaults among them (read-only: callers copy)."""
    fields = dict(library("transformers").fields("TrainingArguments", version))
    return fields, {name: f.default for name, f in fields.items() if f.has_default}


def trainer_runs(project: Project) -> list[tuple[Arguments, Effective]]:
    """The runs whose arguments reach TrainingArguments, with their effective values (once per check)."""
    return project.derive("trainer_runs", lambda: [
        (run, effective) for run, effective in runs_with_effective_values(project) if effective is not None],
        lasting=True)


def effective_values(project: Project, run: Arguments) -> Effective:
    """A run's effective values, with the releases of transformers (and TRL) its code runs with."""
    return Effective(run, project.version("transformers", run.home),
                     project.version("trl", run.home) if run.framework == "trl" or run.classes else None)


# Compared with numbers in __post_init__ (when their strategy is "steps"): a string raises TypeError there.
_COMPARED = {"logging_steps": "logging_strategy", "eval_steps": "eval_strategy", "save_steps": "save_strategy",
             "warmup_steps": None}


def _strings_for_numbers(e: Effective) -> list[Problem]:
    """A number written as a string in an argument file (`learning_rate: 1e-5` is a string in YAML, which
    wants `1.0e-5`; `eval_steps: "100"`). HfArgumentParser hands file values to the dataclass unconverted."""
    problems = []
    for key, value in e.run.args.items():
        field = e.fields.get(key)
        if field is None or not value.known or not isinstance(value.literal, str) or e.run.typed(key):
            continue
        annotation = field.type.replace("Optional", "").replace("None", "")
        if "str" in annotation or not ("float" in annotation or "int" in annotation):
            continue
        hint = " (YAML reads 1e-5 as a string: write 1.0e-5)" if "e" in value.literal.lower() else ""
        if key in _COMPARED:
            strategy = _COMPARED[key]
            compared = strategy is None or e.get(strategy) == "steps"
            if key == "logging_steps" and e.get("eval_strategy") == "steps" and e.get("eval_steps") in (None, 0):
                compared = True  # the eval cadence falls back to it: `if self.logging_steps > 0`
            if not compared or (key == "warmup_steps" and not e.v5):
                continue  # not compared (an unused cadence), or reported by the 4.x warmup check
            outcome = "TrainingArguments compares it with a number and raises TypeError at start-up"
        else:
            outcome = "TrainingArguments keeps the string and training fails with TypeError when it is used"
        problems.append(Problem("HF010", (key,), f"{key} is the string {value.literal!r}, not a number: {outcome}"
                                f"{hint}"))
        e.values[key] = UNKNOWN
    return problems


def simulate(e: Effective) -> list[Problem]:
    """The errors `TrainingArguments(**args)` raises, in the library's order (each independent one)."""
    problems: list[Problem] = _strings_for_numbers(e)
    strategies: dict[str, object] = {}
    for key, enum in ENUM_KEYS.items():
        if key == "evaluation_strategy" and key not in e.fields:
            continue
        if key == "save_strategy" and not e.enum_values("SaveStrategy"):
            enum = "IntervalStrategy"  # before 4.47 the save strategy was an IntervalStrategy
        value = e.get(key)
        allowed = e.enum_values(enum)
        if value is not None and not isinstance(value, str):
            value = UNKNOWN  # `save_strategy: no` in YAML is False, an enum member, ...: not judged
        if isinstance(value, str) and allowed and value not in allowed:
            if e.given(key):
                close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.75)
                problems.append(Problem("HF010", (key,), f"{value} is not a valid {enum}, please select one of "
                                        f"{allowed}{did_you_mean(value, allowed)}",
                                        change=(key, close[0]) if close else None))
            value = UNKNOWN
        strategies[key] = value
    evaluation = strategies["eval_strategy"]
    if "eval_strategy" not in e.fields and "evaluation_strategy" in strategies:  # its name before 4.41
        evaluation = strategies["evaluation_strategy"]
    logging, saving = strategies["logging_strategy"], strategies["save_strategy"]
    scheduler = strategies["lr_scheduler_type"]
    eval_steps, logging_steps, save_steps = e.get("eval_steps"), e.get("logging_steps"), e.get("save_steps")

    empty_cache = e.get("torch_empty_cache_steps")
    if empty_cache is not None and empty_cache is not UNKNOWN and not (
            isinstance(empty_cache, int) and not isinstance(empty_cache, bool) and empty_cache > 0):
        problems.append(Problem("HF010", ("torch_empty_cache_steps",), "`torch_empty_cache_steps` must be an "
                                f"integer bigger than 0, got {empty_cache}."))

    if evaluation == "steps" and (eval_steps is None or eval_steps == 0) and is_number(logging_steps):
        if logging_steps > 0:
            eval_steps = logging_steps
        else:
            problems.append(Problem("HF010", ("eval_strategy", "eval_steps", "logging_steps"),
                                    "evaluation strategy IntervalStrategy.STEPS requires either non-zero "
                                    "--eval_steps or --logging_steps"))
            eval_steps = UNKNOWN
    if logging == "steps" and is_number(logging_steps) and logging_steps == 0:
        problems.append(Problem("HF010", ("logging_steps", "logging_strategy"), "logging strategy "
                                "IntervalStrategy.STEPS requires non-zero --logging_steps"))
    for key, strategy, steps in (("logging_steps", logging, logging_steps), ("eval_steps", evaluation, eval_steps),
                                 ("save_steps", saving, save_steps)):
        if strategy == "steps" and is_number(steps) and steps > 1 and steps != int(steps):
            problems.append(Problem("HF010", (key,), f"--{key} must be an integer if bigger than 1: {steps}",
                                    f"use {round(steps)} (or a ratio below 1)", change=(key, round(steps))))

    problems += _load_best(e, evaluation, saving, eval_steps, save_steps)

    if e.get("fp16") is True and e.get("bf16") is True:
        problems.append(Problem("HF010", ("bf16", "fp16"), "At most one of fp16 and bf16 can be True, but not both",
                                "keep bf16 on hardware that has it, else fp16"))
    if e.get("fp16_full_eval") is True and e.get("bf16_full_eval") is True:
        problems.append(Problem("HF010", ("bf16_full_eval", "fp16_full_eval"),
                                "At most one of fp16 and bf16 can be True for full eval, but not both"))
    if scheduler in ("reduce_lr_on_plateau", "greedy") and evaluation == "no":
        problems.append(Problem("HF010", ("lr_scheduler_type", "eval_strategy"),
                                f"lr_scheduler_type {scheduler} requires an eval strategy",
                                "set eval_strategy (and an eval set), or another scheduler"))
    problems += _warmup(e)
    prefetch, workers = e.get("dataloader_prefetch_factor"), e.get("dataloader_num_workers")
    if prefetch is not None and prefetch is not UNKNOWN and workers == 0:
        problems.append(Problem("HF010", ("dataloader_prefetch_factor", "dataloader_num_workers"),
                                "--dataloader_prefetch_factor can only be set when data is loaded in a different "
                                f"process, i.e. when --dataloader_num_workers > {0 if e.v5 else 1}."))
    return problems


def _load_best(e: Effective, evaluation, saving, eval_steps, save_steps) -> list[Problem]:
    load_best = e.get("load_best_model_at_end")
    if load_best is not True or saving == "best" or UNKNOWN in (evaluation, saving):
        return []
    keys = ("load_best_model_at_end", "save_strategy", "eval_strategy")
    if evaluation != saving:
        exception = ', except when --save_strategy="best"' if e.v5 else ""
        return [Problem("HF004", keys, f"--load_best_model_at_end requires the save and eval strategy to match"
                        f"{exception}, but found\n"
                        f"- Evaluation strategy: {strategy_name('IntervalStrategy', evaluation)}"
                        f"\n- Save strategy: {strategy_name('SaveStrategy', saving)}",
                        f"set save_strategy to {evaluation!r}" + (" (or 'best')" if e.v5 else ""),
                        change=("save_strategy", evaluation) if isinstance(evaluation, str) else None)]
    if evaluation != "steps" or not (is_number(eval_steps) and is_number(save_steps)) or eval_steps == 0:
        return []
    eval_steps = int(eval_steps) if eval_steps > 1 else eval_steps
    save_steps = int(save_steps) if save_steps > 1 else save_steps
    keys = ("save_steps", "eval_steps", "load_best_model_at_end")
    if save_steps % eval_steps == 0:
        return []
    if eval_steps < 1 or save_steps < 1:
        if not (eval_steps < 1 and save_steps < 1):
            return [Problem("HF004", keys, "--load_best_model_at_end requires the saving steps to be a multiple of "
                            "the evaluation steps, which cannot get guaranteed when mixing ratio and absolute steps "
                            f"for save_steps {save_steps} and eval_steps {eval_steps}.",
                            "give both as ratios (below 1) or both as step counts")]
        if (save_steps * 1_000_000) % (eval_steps * 1_000_000) != 0:
            return [Problem("HF004", keys, "--load_best_model_at_end requires the saving steps to be a multiple of "
                            f"the evaluation steps, but found {save_steps}, which is not a multiple of {eval_steps}.",
                            "make save_steps a multiple of eval_steps")]
        return []
    suggestion = max(1, round(save_steps / eval_steps)) * eval_steps
    return [Problem("HF004", keys, "--load_best_model_at_end requires the saving steps to be a round multiple of "
                    f"the evaluation steps, but found {save_steps}, which is not a round multiple of {eval_steps}.",
                    f"use save_steps={suggestion:g}", change=("save_steps", suggestion))]


def _warmup(e: Effective) -> list[Problem]:
    steps = e.get("warmup_steps")
    if e.v5:
        if is_number(steps) and steps < 0:
            return [Problem("HF010", ("warmup_steps",),
                            f"Got warmup_steps = {steps}, Expected value warmup_steps >= 0")]
        return []
    problems = []
    ratio = e.get("warmup_ratio")
    if is_number(ratio) and (ratio < 0 or ratio > 1):
        problems.append(Problem("HF010", ("warmup_ratio",), "warmup_ratio must lie in range [0,1]"))
    if steps is not UNKNOWN and steps is not None and (not isinstance(steps, int) or isinstance(steps, bool)
                                                        or steps < 0):
        problems.append(Problem("HF010", ("warmup_steps",), "warmup_steps must be of type int and must be 0 or a "
                                "positive integer."))
    return problems


def best_metric(e: Effective) -> object:
    """metric_for_best_model after __post_init__: "loss" when a best-model feature needs one."""
    metric = e.get("metric_for_best_model")
    if metric is None and (e.get("load_best_model_at_end") is True
                           or e.get("lr_scheduler_type") in ("reduce_lr_on_plateau", "greedy")):
        return "loss"
    return metric

