"""HF Trainer, TRL and Axolotl training arguments."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from preflight.findings import Finding, Location, Severity
from preflight.model import ArgumentParserUse, Launch, TrainingConfig, Value
from preflight.project import Project
from preflight.runs import command_line_value
from preflight.trainingargs import number_text
from preflight.rule import Bad, Good, Rule

CADENCE_KEYS = ("eval_steps", "logging_steps", "eval_strategy", "evaluation_strategy", "logging_strategy")
DEFAULT_LOGGING_STEPS = {"hf": 500, "trl": 10}
DEFAULT_SOURCE = {"hf": "the TrainingArguments default", "trl": "the TRL config default"}


@dataclass(frozen=True)
class Cadence:
    """How often something happens: every `steps` steps (a ratio when < 1), or per epoch."""

    strategy: str  # "steps" or "epoch"
    steps: float | None = None
    source: str = ""  # "(the TRL config default)" when it comes from a default

    @property
    def is_ratio(self) -> bool:
        return self.steps is not None and 0 < self.steps < 1

    def describe(self) -> str:
        if self.strategy == "epoch":
            return "once per epoch"
        return f"every {number_text(self.steps)} steps{' (' + self.source + ')' if self.source else ''}"

    def same_as(self, other: "Cadence") -> bool:
        return self.strategy == other.strategy and (self.strategy == "epoch" or self.steps == other.steps)


@dataclass(frozen=True)
class Options:
    strict: bool = field(default=False, metadata={"description": "Report any difference between the eval and "
                                                  "logging cadences, not only the ones that distort curves or a "
                                                  "sweep metric."})


class _Unknown(Exception):
    """A value the analysis cannot know statically: no finding, never a guess."""


class EvalLoggingCadenceMismatch(Rule):
    code = "HF001"
    name = "eval-logging-cadence-mismatch"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "Evaluation and training-loss logging run on cadences that do not line up"
    Options = Options
    why = (
        "The Trainer logs the training loss every `logging_steps` and evaluates every `eval_steps` (when "
        "`eval_strategy` is `steps`); the two are independent. When `eval_steps` is not a multiple of "
        "`logging_steps`, every evaluation lands on a step with no training-loss point, so train and eval "
        "curves cannot be compared where it matters. In a W&B sweep any difference distorts the sweep: the "
        "eval metric updates on its own, sparser cadence (`eval_strategy: epoch` with step logging is the "
        "common case), and hyperband early termination counts metric logs. Effective values are used: "
        "`logging_steps` defaults to 500 in TrainingArguments and 10 in TRL configs (Axolotl computes it: "
        "then nothing is reported), and an unset `eval_steps` follows `logging_steps`. Ratios are compared "
        "only with ratios. Only runs whose curves someone sees are judged: the logs reach a tracker (`report_to` "
        "names one; unset means every installed integration up to transformers 4.x and none from 5.0; Axolotl's "
        "tracker keys) or the run is a sweep trial. Test code is not judged."
    )
    examples = [
        Bad("train.py", """from transformers import TrainingArguments

args = TrainingArguments(
    output_dir="out",
    eval_strategy="steps",
    eval_steps=250,
    logging_steps=100,
    report_to="wandb",
)
""", expect="train.py:6:5"),
        Bad("sft.yaml", """model_name_or_path: Qwen/Qwen2.5-0.5B
dataset_name: trl-lib/Capybara
packing: true
eval_strategy: epoch
report_to: wandb
run_name: qwen-sft
""", files={"sweep.yaml": """program: train.py
method: bayes
metric: {name: eval/loss, goal: minimize}
command: [python, train.py, --config, sft.yaml]
parameters:
  learning_rate: {min: 0.00001, max: 0.0001}
"""}, expect="sft.yaml:4:1", note="a sweep trial that evaluates per epoch and logs every 10 steps"),
        Good("train.py", """from transformers import TrainingArguments

args = TrainingArguments(
    output_dir="out",
    eval_strategy="steps",
    eval_steps=500,
    logging_steps=100,
    report_to="wandb",
)
"""),
        Good("tests/test_trainer.py", """from transformers import TrainingArguments

args = TrainingArguments(output_dir="out", eval_strategy="steps", eval_steps=3, report_to="none")
""", note="a unit test's few steps reach no tracker"),
        Good("train.py", """from trl import SFTConfig

config = SFTConfig(output_dir="out", eval_strategy="steps")
""", note="eval_steps unset follows logging_steps"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        overridden: set[str] = set()
        for launch in project.launches():
            if any(launch.entry.has_arg(key) for key in CADENCE_KEYS):
                finding = self._launch(project, launch)
                config = project.entry(launch).config
                if config:
                    overridden.add(config)
                if finding:
                    yield finding
        for config in project.facts(TrainingConfig):
            if config.location.path in overridden:
                continue
            framework = project.framework_of(config)
            context = project.sweep_context(config.location.path)
            finding = self._judge(project, config.args, framework, context, config.complete, config.location)
            if finding:
                yield finding

    def _launch(self, project: Project, launch: Launch) -> Finding | None:
        resolved = project.entry(launch)
        base: dict[str, Value] = {}
        framework, complete = "unknown", True
        for config in project.facts_in(resolved.config, TrainingConfig) if resolved.config else []:
            base, framework, complete = dict(config.args), project.framework_of(config), config.complete
        if launch.entry.kind == "trl":
            framework = "trl"
        entry = launch.entry
        for index, (key, raw) in enumerate(entry.args):
            if key in CADENCE_KEYS or key == "report_to":
                at = entry.arg_locations[index] if index < len(entry.arg_locations) else None
                base[key] = command_line_value(raw, launch.location, at)
        if framework == "unknown" and resolved.script:
            parsers = project.facts_in(resolved.script, ArgumentParserUse)
            framework = parsers[0].framework if parsers else "unknown"
        context = project.sweep_context(resolved.script) if resolved.script else None
        return self._judge(project, base, framework, context, complete, launch.location)

    def _judge(self, project: Project, args: dict[str, Value], framework: str, sweep: str | None, complete: bool,
               location: Location) -> Finding | None:
        if not sweep and _reaches_tracker(project, args, framework) is not True:
            return None  # curves nobody sees cannot be compared wrongly
        try:
            cadences = _cadences(args, framework, complete)
        except _Unknown:
            return None
        if cadences is None:
            return None
        evaluation, logging = cadences
        anchor = next((args[k].anchor for k in ("eval_steps", "eval_strategy", "evaluation_strategy",
                                                "logging_steps") if k in args), location)
        if evaluation.is_ratio != logging.is_ratio and "steps" == evaluation.strategy == logging.strategy:
            return None  # ratio against absolute: not comparable statically
        if evaluation.strategy == logging.strategy == "steps" and not _multiple(evaluation.steps, logging.steps):
            suggestion = _suggest(evaluation.steps, logging.steps)
            return self.finding(
                anchor,
                f"eval_steps={number_text(evaluation.steps)} is not a multiple of logging_steps={number_text(logging.steps)}"
                f"{' (' + logging.source + ')' if logging.source else ''}: every evaluation lands on a step with no "
                f"training-loss point, so train and eval curves cannot be compared; use eval_steps={suggestion} "
                "or another multiple of logging_steps",
            )
        if evaluation.same_as(logging):
            return None
        if sweep:
            return self.finding(
                anchor,
                f"this run is a W&B sweep trial ({sweep}) and it evaluates {evaluation.describe()} but logs "
                f"training {logging.describe()}: the sweep metric updates on a different, sparser cadence "
                "(hyperband counts metric logs); set eval_strategy to \"steps\" with eval_steps equal to "
                "logging_steps",
            )
        if self.options.strict:
            return self.finding(
                anchor,
                f"the run evaluates {evaluation.describe()} but logs training {logging.describe()} "
                "(strict mode reports any difference); use the same cadence for both",
            )
        return None


# Axolotl keys that turn a tracker on (Axolotl 0.19 `core/builders/base.py`, `_configure_reporting`, builds report_to from them)
_AXOLOTL_TRACKERS = ("wandb_project", "use_wandb", "use_mlflow", "mlflow_experiment_name", "use_tensorboard",
                     "use_comet", "comet_project_name", "use_trackio", "trackio_project_name")


def _reaches_tracker(project: Project, args: dict[str, Value], framework: str) -> bool | None:
    """Do this run's logs reach a tracker? `report_to` as given (\"none\" reaches none), unset: every
    installed integration up to transformers 4.x, none from 5.0; Axolotl from its tracker keys."""
    if framework == "axolotl":
        return any(key in args and not (args[key].known and args[key].literal in (False, None, ""))
                   for key in _AXOLOTL_TRACKERS)
    value = args.get("report_to")
    if value is None:
        return project.version("transformers").major < 5
    items = value.str_items()
    if items is None:
        return None
    return bool(items) and items != ["none"]


def _literal(args: dict[str, Value], key: str):
    value = args.get(key)
    if value is None:
        return None
    if not value.known:
        raise _Unknown(key)
    return value.literal


def _steps(args: dict[str, Value], key: str) -> float | None:
    literal = _literal(args, key)
    if literal is None:
        return None
    if isinstance(literal, bool) or not isinstance(literal, (int, float)):
        raise _Unknown(key)  # a malformed value is another rule's business (HF010)
    if literal <= 0 or (literal > 1 and not float(literal).is_integer()):
        raise _Unknown(key)
    return float(literal)


def _strategy(args: dict[str, Value], *keys: str) -> str | None:
    for key in keys:
        literal = _literal(args, key)
        if literal is not None:
            if not isinstance(literal, str):
                raise _Unknown(key)
            return literal.strip().lower()
    return None


def _cadences(args: dict[str, Value], framework: str, complete: bool) -> tuple[Cadence, Cadence] | None:
    if not complete and not all(k in args for k in ("eval_steps", "logging_steps", "eval_strategy")):
        raise _Unknown("arguments")
    logging_strategy = _strategy(args, "logging_strategy") or "steps"
    if logging_strategy not in ("steps", "epoch"):
        return None
    logging_steps = _steps(args, "logging_steps")
    source = ""
    if logging_steps is None:
        if framework not in DEFAULT_LOGGING_STEPS:
            raise _Unknown("logging_steps")  # Axolotl computes it from the dataset size
        logging_steps, source = float(DEFAULT_LOGGING_STEPS[framework]), DEFAULT_SOURCE[framework]
    logging = Cadence(logging_strategy, logging_steps if logging_strategy == "steps" else None, source)

    eval_steps = _steps(args, "eval_steps")
    if framework == "axolotl":
        if not _axolotl_has_eval_set(args):
            return None
        strategy = _strategy(args, "eval_strategy", "evaluation_strategy") or ("steps" if eval_steps else None)
        if strategy is None:
            return None  # evals_per_epoch: ratios of an epoch, compared by AXO rules
    else:
        strategy = _strategy(args, "eval_strategy", "evaluation_strategy") or "no"
    if strategy not in ("steps", "epoch"):
        return None
    if strategy == "steps":
        if eval_steps is None:
            return Cadence("steps", logging_steps, source), logging
        return Cadence("steps", eval_steps), logging
    return Cadence("epoch"), logging


def _axolotl_has_eval_set(args: dict[str, Value]) -> bool:
    if "test_datasets" in args:
        return True
    size = _literal(args, "val_set_size")
    return isinstance(size, (int, float)) and not isinstance(size, bool) and size > 0


def _multiple(evaluation: float | None, logging: float | None) -> bool:
    if not evaluation or not logging:
        return True
    ratio = evaluation / logging
    return math.isclose(ratio, round(ratio), rel_tol=0, abs_tol=1e-9) and round(ratio) >= 1


def _suggest(evaluation: float | None, logging: float | None) -> str:
    if not evaluation or not logging:
        return "?"
    return number_text(max(1, round(evaluation / logging)) * logging)


