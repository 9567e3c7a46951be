"""HF: the HF Trainer's arguments: what TrainingArguments and the Trainer reject at start-up, or accept and
get wrong.

Every rule here judges the arguments a run really receives (preflight.runs: a constructor call, an
argument file, the launcher's flags over it) against the effective transformers release; what
TrainingArguments itself does with them is preflight.trainingargs.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from preflight import linebreaks, textedits
from preflight.findings import Action, Finding, Fix, Location, Severity, Transform
from preflight.libraries import did_you_mean, library
from preflight import lightning
from preflight.model import (
    ArgumentParserUse, EntryKind, Launch, LightningTrainer, TrainerCall, TrainingConfig, UnknownKeys, Value,
)
from preflight.project import Project
from preflight.rule import Bad, Good, Rule
from preflight.runs import axolotl, command_line_value, file_defaults, script_defaults, training_runs
from preflight.trainingargs import (
    PURE_RENAMES, REPLACEMENTS, Effective, best_metric, is_number, number_text, trainer_runs,
)


class _SimulatedRule(Rule):
    """Reports the problems of `simulate` that carry this rule's code, once per place."""

    def check(self, project: Project) -> Iterator[Finding]:
        seen = set()
        for run, effective in trainer_runs(project):
            for problem in effective.problems:
                if problem.code != self.code:
                    continue
                location = run.anchor(*problem.keys)
                if (location, problem.message) in seen:
                    continue
                seen.add((location, problem.message))
                message = problem.message.replace("\n", " ")
                if problem.hint:
                    message = f"{message.rstrip('.')}; {problem.hint}"
                fix = _value_fix(project, run, problem) if effective.satisfied_by(problem) else None
                yield self.finding(location, f"{effective.transformers.describe()} raises at start-up: {message}",
                                   fix=fix)


def _value_fix(project: Project, run, problem) -> Fix | None:
    """The problem's one value change as an edit of the value where it is written: a libcst transform of
    the expression in Python, an edit of the scalar in YAML or JSON, of the value word after a flag.
    Unsafe: the run then trains with a value the user did not write (a checkpoint cadence, a strategy)."""
    key, new = problem.change
    value = run.args[key]
    if key in run.from_command_line:
        where = textedits.flag_value(project, value.key_location, key, value.text) if value.key_location else None
        edit = textedits.replace_scalar(project, where, value.literal, new) if where else None
    elif value.location.path.endswith(".py"):
        if not isinstance(new, (str, int)) or isinstance(new, bool):
            return None
        try:
            written = ast.literal_eval(value.text)
        except (ValueError, SyntaxError, RecursionError, MemoryError):
            return None  # a name or an expression: not the literal to replace
        if written != value.literal or type(written) is not type(value.literal):
            return None
        quote = '"' if value.text.startswith('"') else "'"
        code = f"{quote}{new}{quote}" if isinstance(new, str) else str(new)
        edit = Transform(value.location, Action.REPLACE, key, code) if isinstance(new, int) or new.isidentifier() \
            else None
    elif linebreaks.of_path(value.location.path) == linebreaks.YAML:
        edit = textedits.replace_scalar(project, value.location, value.literal, new)
    else:
        edit = None
    if edit is None:
        return None
    return Fix(f"set {key} to {new!r}", (edit,), safe=False)


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
class CadenceOptions:
    strict: bool = field(default=False, metadata={"description": "Report any difference between the eval and "
                                                  "logging cadences, not only the ones that distort curves or a "
                                                  "sweep metric."})


class _Unknown(Exception):
    """A value the analysis cannot know statically: no finding, never a guess."""


# A Lightning script that logs to W&B, with a LightningModule that logs its training loss each step and
# validates; `{trainer}` is the Trainer's cadence arguments
_LIGHTNING = """import lightning as L
from lightning.pytorch.loggers import WandbLogger


class Model(L.LightningModule):
    def training_step(self, batch, batch_idx):
        loss = self.loss(batch)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self.loss(batch))


def main():
    L.seed_everything(0)
    logger = WandbLogger(project="p", name="r1")
    trainer = L.Trainer(max_epochs=3, logger=logger, {trainer})
    trainer.fit(Model(), datamodule=DataModule())


if __name__ == "__main__":
    main()
"""


# The same, with the Trainer and the logger built by Hydra from the composed config.
_HYDRA_TRAINER = "_target_: lightning.pytorch.trainer.Trainer\nval_check_interval: 250\nlog_every_n_steps: 100\n"
_HYDRA_PROGRAM = {
    "train.py": "import hydra\n\n\n@hydra.main(version_base='1.3', config_path='configs', config_name='train')\n"
                "def main(cfg):\n    trainer = hydra.utils.instantiate(cfg.trainer, "
                "logger=hydra.utils.instantiate(cfg.logger))\n"
                "    trainer.fit(hydra.utils.instantiate(cfg.model), datamodule=hydra.utils.instantiate(cfg.data))\n"
                "\n\nif __name__ == '__main__':\n    main()\n",
    "models.py": _LIGHTNING.split("\n\n\ndef main")[0] + "\n",
    "configs/train.yaml": "defaults:\n  - _self_\n  - trainer: default\n  - logger: wandb\n\n"
                          "model:\n  _target_: models.Model\ndata:\n  _target_: data.DataModule\n",
    "configs/logger/wandb.yaml": "_target_: lightning.pytorch.loggers.WandbLogger\nproject: p\n",
}


class EvalLoggingCadenceMismatch(Rule):
    code = "HF001"
    name = "eval-logging-cadence-mismatch"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "Evaluation and training-loss logging run on cadences that do not line up"
    Options = CadenceOptions
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
        "tracker keys) or the run is a sweep trial. Test code is not judged. PyTorch Lightning's Trainer "
        "(lightning 2.6.6 `trainer/trainer.py`) logs every `log_every_n_steps` optimizer steps (default 50; with "
        "`accumulate_grad_batches` k that is every 50·k training batches, `logger_connector.py` "
        "`should_update_logs`) and validates every `val_check_interval` training batches when it is an int "
        "(counted within the epoch, or over the run with `check_val_every_n_epoch=None`; "
        "`training_epoch_loop.py` `_should_check_val_fx`), else at the end of every `check_val_every_n_epoch`-th "
        "epoch (default 1.0 and 1). A Trainer given a tracker logger (`logger=WandbLogger(...)`, MLflow, Neptune, "
        "Comet, TensorBoard) whose integer `val_check_interval` is not a multiple of that logging period is "
        "reported when the LightningModules it loads define `validation_step` and log in `training_step` every "
        "step (`self.log` defaults to `on_step=True` there); a fraction of an epoch or a duration depends on "
        "the data, and validating per epoch while logging per step is Lightning's normal shape (strict mode "
        "reports it). A Trainer built by Hydra (`hydra.utils.instantiate(cfg.trainer, logger=...)` with "
        "`_target_: lightning.pytorch.trainer.Trainer`) is judged with the config each launch composes (hydra-core "
        "1.3.8: the defaults list, the groups and `key=value` overrides of its command line, `# @package "
        "_global_` experiments), the loggers that config instantiates and the LightningModule its `_target_` "
        "names; only when the instantiate call runs and the composition is known (not with Hydra's own flags "
        "such as `-m` or `--config-name`, a sweep, an interpolated group or an override Hydra refuses)."
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
        Bad("train.py", _LIGHTNING.format(trainer="val_check_interval=250, log_every_n_steps=100"),
            expect="train.py:18:54", note="a Lightning Trainer"),
        Good("train.py", _LIGHTNING.format(trainer="val_check_interval=500, log_every_n_steps=100"),
             note="validation every 500 batches lands on a logged step"),
        Good("train.py", _LIGHTNING.format(trainer="val_check_interval=250"),
             note="Lightning logs every 50 steps by default: 250 is a multiple"),
        Good("train.py", _LIGHTNING.format(trainer="val_check_interval=0.25, log_every_n_steps=100"),
             note="a quarter of an epoch: its batches depend on the data"),
        Good("train.py", _LIGHTNING.format(trainer="val_check_interval=250, log_every_n_steps=100").replace(
             "self.log(\"train/loss\", loss)", "self.log(\"train/loss\", loss, on_step=False, on_epoch=True)"),
             note="the training loss is logged per epoch"),
        Bad("configs/trainer/default.yaml", _HYDRA_TRAINER, files=_HYDRA_PROGRAM,
            expect="configs/trainer/default.yaml:2:1", note="a Lightning Trainer built by Hydra, logging to W&B"),
        Good("configs/trainer/default.yaml", _HYDRA_TRAINER, files={
            **_HYDRA_PROGRAM, "scripts/train.sh": "python train.py trainer.val_check_interval=300\n"},
             note="the launch's override is a multiple"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for trainer in lightning.trainers(project):
            finding = self._lightning(project, trainer)
            if finding:
                yield finding
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
            args = {**file_defaults(project, config.location.path), **config.args}
            finding = self._judge(project, args, framework, context, config.complete, config.location)
            if finding:
                yield finding

    def _lightning(self, project: Project, trainer: LightningTrainer) -> Finding | None:
        """A Lightning Trainer that reports to a tracker (or runs in a sweep): integer validation intervals
        that miss the logged steps; in strict mode any difference."""
        path = trainer.location.path
        sweep = project.sweep_context(path)
        if not trainer.trackers_known or not (trainer.trackers or sweep):
            return None
        try:
            cadence = lightning.cadence(trainer)
        except lightning.Unknown:
            return None
        if cadence is None or lightning.validation_off(project, trainer) or \
                not lightning.logs_training_loss_per_step(project, trainer):
            return None
        period = cadence.log_period
        every = f"log_every_n_steps={cadence.log_every}" + (
            "" if trainer.get("log_every_n_steps") else " (Lightning's default)") + (
            f" × accumulate_grad_batches={cadence.accumulate}" if cadence.accumulate > 1 else "")
        if cadence.batches is not None:
            if cadence.epochs not in (1, None) or cadence.batches % period == 0:
                return None  # within every k-th epoch the alignment depends on the epoch's length
            suggestion = max(1, round(cadence.batches / period)) * period
            return self.finding(
                trainer.get("val_check_interval").anchor,
                f"val_check_interval={cadence.batches} is not a multiple of {every}: the Trainer validates every "
                f"{cadence.batches} training batches and logs the training loss every {period}, so validations "
                "land on steps with no training-loss point and train and val curves cannot be compared there; "
                f"use val_check_interval={suggestion} or another multiple of {period}")
        if self.options.strict:
            anchor = trainer.get("check_val_every_n_epoch") or trainer.get("log_every_n_steps")
            return self.finding(
                anchor.anchor if anchor else trainer.location,
                f"the Trainer validates once every {cadence.epochs} epoch(s) but logs training every {period} "
                "batches (strict mode reports any difference); validate by steps with an integer "
                "val_check_interval that is a multiple of the logging period")
        return None

    def _launch(self, project: Project, launch: Launch) -> Finding | None:
        resolved = project.entry(launch)
        base: dict[str, Value] = script_defaults(project, resolved.script)
        framework, complete = "unknown", True
        for config in project.facts_in(resolved.config, TrainingConfig) if resolved.config else []:
            base, framework, complete = {**base, **config.args}, project.framework_of(config), config.complete
        if launch.entry.kind is EntryKind.TRL:
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
                f"eval_steps={number_text(evaluation.steps)} is not a multiple of "
                f"logging_steps={number_text(logging.steps)}"
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


# The start of every Axolotl config in the examples: a model and a dataset.
_AXOLOTL_BASE = "base_model: Qwen/Qwen2.5-0.5B\ndatasets:\n  - path: data.jsonl\n    type: alpaca\n"

# Axolotl keys that turn a tracker on (Axolotl 0.19 `core/builders/base.py`, `_configure_reporting`, builds
# report_to from them)
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


class EvalNeverRuns(Rule):
    code = "HF002"
    name = "eval-never-runs"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "eval_steps is set, but evaluation is off or comes after the last step"
    why = (
        "`eval_steps` does nothing unless `eval_strategy` is `steps`, and TrainingArguments defaults it to `no`: the "
        "run trains without a single evaluation, and the eval curve, best checkpoint and sweep metric you expect "
        "never exist. Likewise an `eval_steps` at or beyond `max_steps` evaluates at most once, at the very end. "
        "Set `eval_strategy: steps`. (Axolotl sets the strategy from `eval_steps` itself and is not reported; an "
        "explicit `eval_strategy: no` is a choice, such as a recipe that keeps its `eval_steps` for the runs that "
        "evaluate, and is not reported either.)"
    )
    examples = [
        Bad("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\neval_steps: 200\nlogging_steps: 50\n",
            expect="args.yaml:3:1"),
        Good("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\neval_strategy: steps\neval_steps: 200\n"
             "logging_steps: 50\n"),
        Good("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\neval_strategy: 'no'\n"
             "eval_steps: 500\n", note="evaluation turned off on purpose"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run, e in trainer_runs(project):
            evaluation, eval_steps, max_steps = e.get("eval_strategy"), e.get("eval_steps"), e.get("max_steps")
            if not e.given("eval_steps") or not is_number(eval_steps) or eval_steps == 0:
                continue
            if evaluation == "no" and not e.given("eval_strategy") and not e.given("evaluation_strategy"):
                yield self.finding(run.anchor("eval_steps"), f"eval_steps={number_text(eval_steps)} is set but "
                                   "eval_strategy is unset (default \"no\"): the run never evaluates; set "
                                   "eval_strategy to \"steps\"")
            elif evaluation == "steps" and is_number(max_steps) and max_steps > 0 and eval_steps >= 1 \
                    and eval_steps >= max_steps:
                yield self.finding(run.anchor("eval_steps"), f"eval_steps={number_text(eval_steps)} is not below "
                                   f"max_steps={number_text(max_steps)}: evaluation runs at most once, at the end of "
                                   "training; lower eval_steps")


def _legacy_strategy(e: Effective) -> bool:
    """`evaluation_strategy` (before 4.51) sets the strategy under its old name."""
    return e.given("evaluation_strategy") and e.get("evaluation_strategy") not in ("no", None)


class EvalWithoutDataset(Rule):
    code = "HF003"
    name = "eval-without-dataset"
    severity = Severity.ERROR
    summary = "Trainer with evaluation on and no eval_dataset"
    why = (
        "A Trainer whose arguments turn evaluation on (`eval_strategy` other than `no`) needs an `eval_dataset`; "
        "without one its constructor raises \"You have set args.eval_strategy to steps but you didn't pass an "
        "eval_dataset to Trainer\" when the job starts. Pass the evaluation split or turn evaluation off."
    )
    examples = [
        Bad("train.py", "from transformers import Trainer, TrainingArguments\n\n"
            "args = TrainingArguments(output_dir='out', eval_strategy='epoch')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train)\n", expect="train.py:4:11"),
        Good("train.py", "from transformers import Trainer, TrainingArguments\n\n"
             "args = TrainingArguments(output_dir='out', eval_strategy='epoch')\n"
             "trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=test)\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        by_location = {run.location: e for run, e in trainer_runs(project)}
        for call in project.facts(TrainerCall):
            e = by_location.get(call.args_at) if call.args_at else None
            if e is None or call.eval_dataset is not False:
                continue
            strategy = e.get("eval_strategy")
            if isinstance(strategy, str) and strategy != "no":
                yield self.finding(call.location, f"You have set args.eval_strategy to {strategy} but you didn't "
                                   f"pass an eval_dataset to {call.api}: it raises at start-up; pass eval_dataset= or "
                                   "set eval_strategy to \"no\"")


class LoadBestConstraints(_SimulatedRule):
    code = "HF004"
    name = "load-best-constraints"
    severity = Severity.ERROR
    summary = "load_best_model_at_end with save and eval schedules TrainingArguments rejects"
    why = (
        "`load_best_model_at_end` can only restore a checkpoint that was evaluated, so TrainingArguments requires "
        "the save and eval strategies to match (unless `save_strategy` is `best`) and, with step strategies, "
        "`save_steps` to be a round multiple of `eval_steps` (ratios only with ratios). Otherwise it raises a "
        "ValueError when the job starts, after the container is scheduled and the model downloaded. Effective values "
        "are used: an unset `eval_steps` follows `logging_steps`."
    )
    autofix = ("Sets the one value that makes TrainingArguments accept the schedules: save_steps to the nearest "
               "round multiple of eval_steps, or save_strategy to the evaluation strategy, where that value is "
               "written (in Python through libcst, in YAML, JSON and a launcher's flags by an edit of the value), "
               "and only when TrainingArguments, simulated again with it, raises nothing new.")
    fixes = ("unsafe",)
    fix_safety = ("Unsafe: the run starts, but checkpoints are then written on another schedule (more or fewer of "
                  "them, at other steps) than the one written down, which costs disk and time and decides which "
                  "checkpoints can become the best model; whether the evaluation or the save schedule should give "
                  "way is the user's choice.")
    examples = [
        Bad("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(\n"
            "    output_dir='out',\n    eval_strategy='steps',\n    eval_steps=300,\n    save_steps=500,  # ~1 h\n"
            "    load_best_model_at_end=True,\n)\n", expect="train.py:7:5",
            fixed="from transformers import TrainingArguments\n\nargs = TrainingArguments(\n"
            "    output_dir='out',\n    eval_strategy='steps',\n    eval_steps=300,\n    save_steps=500,  # ~1 h\n"
            "    load_best_model_at_end=True,\n)\n",
            unsafe_fixed="from transformers import TrainingArguments\n\nargs = TrainingArguments(\n"
            "    output_dir='out',\n    eval_strategy='steps',\n    eval_steps=300,\n    save_steps=600,  # ~1 h\n"
            "    load_best_model_at_end=True,\n)\n"),
        Bad("args.yaml", "output_dir: out\neval_strategy: steps\nsave_strategy: epoch\nload_best_model_at_end: true\n",
            expect="args.yaml:4:1", note="strategies that differ: the save strategy follows the evaluation's",
            fixed="output_dir: out\neval_strategy: steps\nsave_strategy: epoch\nload_best_model_at_end: true\n",
            unsafe_fixed="output_dir: out\neval_strategy: steps\nsave_strategy: steps\n"
            "load_best_model_at_end: true\n"),
        Good("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(\n"
             "    output_dir='out',\n    eval_strategy='steps',\n    eval_steps=250,\n    save_steps=500,\n"
             "    load_best_model_at_end=True,\n)\n"),
    ]


_LOWER_IS_BETTER = ("perplexity", "ppl", "wer", "cer", "mae", "mse", "rmse", "error")


class InvertedBestMetric(Rule):
    code = "HF005"
    name = "inverted-best-metric"
    severity = Severity.ERROR
    skips_test_code = True  # the consequence is an experiment record
    summary = "A lower-is-better metric_for_best_model without greater_is_better=False"
    why = (
        "When `greater_is_better` is unset, TrainingArguments infers it from the metric's name: only a name ending "
        "in `loss` counts as lower-is-better. For perplexity, WER, CER, MAE, MSE, RMSE or an error rate it assumes "
        "higher is better, so `load_best_model_at_end` restores the worst checkpoint and early stopping stops on "
        "improvement, silently. Set `greater_is_better: false`."
    )
    examples = [
        Bad("args.yaml", "output_dir: out\neval_strategy: epoch\nsave_strategy: epoch\nload_best_model_at_end: true\n"
            "metric_for_best_model: eval_perplexity\n", expect="args.yaml:5:1"),
        Good("args.yaml", "output_dir: out\neval_strategy: epoch\nsave_strategy: epoch\nload_best_model_at_end: true\n"
             "metric_for_best_model: eval_perplexity\ngreater_is_better: false\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run in training_runs(project):
            metric = run.get("metric_for_best_model")
            if metric is None or not metric.is_str() or "greater_is_better" in run.args:
                continue
            name = metric.literal.lower()
            words = re.split(r"[^a-z0-9]+", name.removeprefix("eval_").removeprefix("eval/"))
            if name.endswith("loss") or not any(w in _LOWER_IS_BETTER for w in words):
                continue
            yield self.finding(metric.anchor, f"metric_for_best_model={metric.literal!r} is lower-is-better, but with "
                               "greater_is_better unset the Trainer treats higher as better (only names ending in "
                               "\"loss\" count as lower): the worst checkpoint is kept; set greater_is_better: false")


class WandbStyleMetricName(Rule):
    code = "HF006"
    name = "wandb-style-metric-name"
    severity = Severity.ERROR
    summary = "metric_for_best_model written as a W&B chart name (eval/loss)"
    why = (
        "The Trainer looks `metric_for_best_model` up in the metrics dict of `evaluate()`, whose keys are "
        "`eval_loss`, `eval_accuracy`, ... (it adds the `eval_` prefix itself). `eval/loss` is how the W&B "
        "integration names the chart, not a key the Trainer has: the first evaluation raises KeyError, hours "
        "into the run. Use `eval_loss` (or just `loss`)."
    )
    examples = [
        Bad("args.yaml", "output_dir: out\neval_strategy: epoch\nsave_strategy: epoch\nload_best_model_at_end: true\n"
            "metric_for_best_model: eval/loss\n", expect="args.yaml:5:1"),
        Good("args.yaml", "output_dir: out\neval_strategy: epoch\nsave_strategy: epoch\nload_best_model_at_end: true\n"
             "metric_for_best_model: eval_loss\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run in training_runs(project):
            metric = run.get("metric_for_best_model")
            if metric is None or not metric.is_str() or "/" not in metric.literal:
                continue
            suggestion = metric.literal.replace("/", "_")
            yield self.finding(metric.anchor, f"metric_for_best_model={metric.literal!r} is a W&B chart name, not a "
                               "key of the Trainer's evaluation metrics: the first evaluation raises KeyError; use "
                               f"{suggestion!r}")


_PARSED_SCRIPT = ("from transformers import HfArgumentParser, Trainer, TrainingArguments\n\n"
                  "(args,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n"
                  "Trainer(model=model, args=args, train_dataset=train)\n")


class RemovedTrainingArgument(Rule):
    code = "HF007"
    name = "removed-training-argument"
    severity = Severity.ERROR
    summary = "A TrainingArguments key that the effective transformers release removed"
    why = (
        "transformers renames and removes TrainingArguments fields (`evaluation_strategy` since 4.51, two dozen "
        "keys in 5.0, `logging_dir` and `warmup_ratio` in 5.15). A removed key makes `TrainingArguments(...)` raise "
        "TypeError, HfArgumentParser raise \"Some keys are not used\" for an argument file and \"Some specified "
        "arguments are not used\" for a flag on the launcher's command line (`torchrun ... train.py "
        "--evaluation_strategy steps`); a parser told to keep going (`return_remaining_strings=True`, "
        "`fail_with_unknown_args=False`) and `trl` commands drop it silently, so the default applies. The key "
        "set of every release comes from the released wheels (tools/generate_library_data.py); the version from "
        "[tool.preflight.versions] or the project's pins. A field of the script's own dataclass with that name is "
        "not reported."
    )
    autofix = ("Renames the key where the library only renamed it (evaluation_strategy -> eval_strategy, ...), in "
               "Python, in an argument file and among a launcher's flags; removes a key the library removed without "
               "a successor (overwrite_output_dir, ...). Python is changed through its syntax tree (libcst), keeping "
               "comments and layout; YAML and command lines by an edit of the exact key or flag.")
    fixes = ("safe", "unsafe")
    fix_safety = ("Safe for a rename: the library renamed the argument and kept its meaning, so the renamed key sets "
                  "what the old one set in the releases that accepted it. Unsafe for a removal: the job then starts, "
                  "but what the key asked for is no longer done, and whether the run still does what it should is for "
                  "a person to judge. A key whose successor is another setting or takes another value (logging_dir, "
                  "warmup_ratio, group_by_length) gets no fix, nor does a flag or YAML entry written in another form "
                  "(quoted, in a flow mapping, with a value that needs the shell).")
    examples = [
        Bad("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='out', "
            "evaluation_strategy='epoch')\n", expect="train.py:3:44",
            fixed="from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='out', "
            "eval_strategy='epoch')\n"),
        Bad("train.py", """from transformers import TrainingArguments

args = TrainingArguments(
    output_dir="out",
    overwrite_output_dir=True,  # rerun over the last attempt
    eval_strategy="epoch",
)
""", expect="train.py:5:5", note="removed without a successor: only --unsafe-fixes removes it",
            fixed="""from transformers import TrainingArguments

args = TrainingArguments(
    output_dir="out",
    overwrite_output_dir=True,  # rerun over the last attempt
    eval_strategy="epoch",
)
""", unsafe_fixed="""from transformers import TrainingArguments

args = TrainingArguments(
    output_dir="out",
    eval_strategy="epoch",
)
"""),
        Bad("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\nlogging_dir: runs/\n",
            expect="args.yaml:3:1", files={"requirements.txt": "transformers==5.16.1\n"}),
        Bad("args.yaml", "output_dir: out\nper_gpu_train_batch_size: 8  # per GPU\noverwrite_output_dir: true\n"
            "eval_strategy: epoch\n", expect=["args.yaml:2:1", "args.yaml:3:1"],
            fixed="output_dir: out\nper_device_train_batch_size: 8  # per GPU\noverwrite_output_dir: true\n"
            "eval_strategy: epoch\n",
            unsafe_fixed="output_dir: out\nper_device_train_batch_size: 8  # per GPU\neval_strategy: epoch\n"),
        Bad("run.sh", "torchrun --nproc_per_node 8 train.py --output_dir out --evaluation_strategy steps "
            "--overwrite_output_dir\n", files={"train.py": _PARSED_SCRIPT},
            expect=["run.sh:1:55", "run.sh:1:83"], note="flags on the launcher's command line",
            fixed="torchrun --nproc_per_node 8 train.py --output_dir out --eval_strategy steps "
            "--overwrite_output_dir\n",
            unsafe_fixed="torchrun --nproc_per_node 8 train.py --output_dir out --eval_strategy steps\n"),
        Good("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='out', "
             "evaluation_strategy='epoch')\n", files={"requirements.txt": "transformers==4.46.3\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        data = library("transformers")
        seen = set()
        for run, e in trainer_runs(project):
            version = e.transformers.version
            for key, value in run.args.items():
                if key in e.fields or key in run.local_fields:
                    continue
                removed = data.removed_before("TrainingArguments", key, version)
                if removed is None or (value.anchor, key) in seen:
                    continue
                seen.add((value.anchor, key))
                replacement = REPLACEMENTS.get(key)
                outcome = _removed_key_outcome(run, key)
                hint = f"; use {replacement}" if replacement else "; remove it"
                older = ""
                if e.transformers.admits_below(removed):  # a range: say for which part the claim holds
                    older = f" (the releases below {removed} that the range also admits still accept it)"
                yield self.finding(value.anchor, f"`{key}` was removed in transformers {removed} and "
                                   f"{e.transformers.describe()} has no such argument{older}: {outcome}{hint}",
                                   fix=self._fix(project, run, value, key))

    @staticmethod
    def _fix(project: Project, run, value: Value, key: str) -> Fix | None:
        """A renamed key gets its new name (safe); a key removed without a successor is removed (unsafe). In
        Python as a libcst transform of the keyword (or dict key); in YAML, and among a launcher's flags, as
        an edit of the text the facts locate, made only where that text reads as expected."""
        where = value.key_location
        if where is None or (key in REPLACEMENTS and key not in PURE_RENAMES):
            return None  # the successor is another setting, or takes another value: a person's choice
        new = REPLACEMENTS.get(key)
        path = where.path
        if key in run.from_command_line:
            if new:
                edit = textedits.replace(project, where, f"--{key}", f"--{new}")
            else:
                bare = value.text == "" and value.literal is True
                edit = textedits.remove_flag(project, where, key, None if bare else value.text)
        elif path.endswith(".py"):
            action = Action.RENAME_ARGUMENT if new else Action.REMOVE_ARGUMENT
            edit = Transform(where, action, key, new or "")
        elif linebreaks.of_path(path) == linebreaks.YAML and not path.endswith(".json"):
            edit = textedits.replace(project, where, key, new) if new else \
                textedits.remove_yaml_entry(project, where, value.location)
        else:
            edit = None
        if edit is None:
            return None
        if new:
            return Fix(f"rename {key} to {new}", (edit,))
        return Fix(f"remove {key}", (edit,), safe=False)


def _removed_key_outcome(run, key: str) -> str:
    """What happens to a key TrainingArguments no longer has, by who hands it over (transformers'
    hf_argparser.py: parse_args_into_dataclasses and parse_dict raise ValueError on what no dataclass takes)."""
    if run.unknown_keys is UnknownKeys.DROPPED:
        return f"{run.via} drops it silently"
    if run.unknown_keys is UnknownKeys.KEPT:
        return f"{run.via} ignores it (allow_extra_keys=True)"
    if run.unknown_keys is UnknownKeys.UNKNOWN:
        return "HfArgumentParser rejects it at start-up (a `trl` command drops it silently)"
    if key in run.from_command_line:
        return (f"HfArgumentParser rejects the flag at start-up (ValueError: Some specified arguments are not "
                f"used by the HfArgumentParser: ['--{key}', ...])")
    if run.path is not None and run.via.startswith("TrlParser"):  # TRL 0.19+ (before, it drops the key)
        return "TrlParser rejects it at start-up (ValueError: Unknown arguments from config file: [...])"
    if run.path is not None and run.classes:
        return "HfArgumentParser rejects it at start-up (ValueError: Some keys are not used by the HfArgumentParser)"
    return "TrainingArguments rejects it at start-up (TypeError: unexpected keyword argument)"


class ImplicitReportTo(Rule):
    code = "HF008"
    name = "implicit-report-to"
    severity = Severity.WARNING
    summary = "report_to is unset, so where the run logs depends on the transformers version"
    why = (
        "Up to 4.57 an unset `report_to` means every installed integration (W&B, MLflow, TensorBoard, ... whatever "
        "the image happens to contain, each needing its credentials); from 5.0 it means none, and a run that "
        "logged to W&B yesterday logs nowhere after an upgrade. Name the trackers: `report_to: [\"wandb\"]` or "
        "`\"none\"`. Axolotl sets `report_to` itself and is not reported. Reported where a Trainer is built with "
        "these arguments (a TrainingArguments built only to hand a config on logs nowhere); in test code only "
        "with transformers 4.x, where a test would report to every installed tracker."
    )
    examples = [
        Bad("train.py", "from transformers import Trainer, TrainingArguments\n\nargs = TrainingArguments(output_dir="
            "'out', run_name='sft-1')\ntrainer = Trainer(model=model, args=args, train_dataset=train)\n",
            expect="train.py:3:8"),
        Good("train.py", "from transformers import Trainer, TrainingArguments\n\nargs = TrainingArguments(output_dir="
             "'out', run_name='sft-1', report_to=['wandb'])\ntrainer = Trainer(model=model, args=args, "
             "train_dataset=train)\n"),
        Good("infer.py", "from transformers import Seq2SeqTrainingArguments\n\nargs = Seq2SeqTrainingArguments("
             "output_dir='dummy')\ndataset = load(args)\n", note="no Trainer is built with these arguments"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        neptune = project.installs("neptune")
        for run, e in trainer_runs(project):
            if "report_to" in run.args or not run.complete or run.trains is not True:
                continue  # a TrainingArguments no Trainer is built with logs nowhere
            if e.transformers.major >= 5 and project.in_tests(run.location.path):
                continue  # a test that logs nowhere loses no record
            if e.transformers.major < 5 and neptune is not None:
                continue  # NEP002 says it, with the consequence that matters
            if e.transformers.major < 5:
                consequence = "reports to every integration installed in the environment"
            elif e.transformers.admits_below("5.0"):
                consequence = ("reports to no tracker at all, while a 4.x release the range also admits reports to "
                               "every integration installed")
            else:
                consequence = "reports to no tracker at all"
            yield self.finding(run.location, f"report_to is unset: {e.transformers.describe()} {consequence}; name "
                               "the trackers explicitly (e.g. report_to=[\"wandb\"], or \"none\")")


class UnknownReportTo(Rule):
    code = "HF009"
    name = "unknown-report-to"
    severity = Severity.ERROR
    summary = "A report_to value no transformers integration has"
    why = (
        "The Trainer maps each `report_to` entry to an integration callback when it is built and raises "
        "\"... is not supported, only ... are supported\" for a name it does not know (`weights_and_biases`, "
        "`wandb,mlflow` as one string in a list, `mlflow ` with a space). The accepted names come from the "
        "effective transformers release."
    )
    examples = [
        Bad("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\nreport_to: [weights_and_biases]\n",
            expect="args.yaml:3:1"),
        Good("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\nreport_to: [wandb]\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run, e in trainer_runs(project):
            value = run.get("report_to")
            if value is None or not value.known:
                continue
            items = value.literal if isinstance(value.literal, list) else [value.literal]
            if not all(isinstance(i, str) for i in items):
                continue
            known = list(library("transformers").fields("report_to", e.transformers.version))
            if items in (["all"], ["none"]):
                continue
            for item in items:
                if item not in known:
                    yield self.finding(value.anchor, f"report_to {item!r} is not supported by "
                                       f"{e.transformers.describe()}: the Trainer raises at start-up; use one of "
                                       f"{', '.join(known)}{did_you_mean(item, known)}")


class InvalidTrainingArgumentValue(_SimulatedRule):
    code = "HF010"
    name = "invalid-training-argument-value"
    severity = Severity.ERROR
    summary = "A TrainingArguments value or combination that __post_init__ rejects"
    why = (
        "TrainingArguments validates its values when it is built: an unknown strategy, scheduler or optimizer "
        "name, a fractional step count above 1, zero logging steps with the steps strategy, fp16 together with "
        "bf16, a plateau scheduler without evaluation, negative warmup, a prefetch factor without workers. Each "
        "raises a ValueError at start-up, after the GPU is allocated. The message is the library's own, for the "
        "transformers release the project uses. A number written as a string in an argument file read by "
        "HfArgumentParser (`learning_rate: 1e-5` is a string in YAML, which wants `1.0e-5`) is passed on "
        "unconverted and fails with TypeError."
    )
    autofix = ("Sets the value TrainingArguments asks for where one value does it: the valid name closest to a "
               "misspelt strategy, scheduler or optimizer (step -> steps), a fractional step count above 1 rounded; "
               "in Python through libcst, in YAML, JSON and a launcher's flags by an edit of the value, and only "
               "when TrainingArguments, simulated again with it, raises nothing new. Two settings in conflict "
               "(fp16 and bf16) get no fix.")
    fixes = ("unsafe",)
    fix_safety = ("Unsafe: the closest valid name is a guess at what was meant (`step` is `steps`, but a misspelt "
                  "optimizer may have meant another one), and a rounded step count moves the cadence; the run then "
                  "trains with a value nobody wrote, so it is for the user to confirm.")
    examples = [
        Bad("args.yaml", "output_dir: out\neval_strategy: step\neval_steps: 200\nper_device_train_batch_size: 8\n",
            expect="args.yaml:2:1",
            fixed="output_dir: out\neval_strategy: step\neval_steps: 200\nper_device_train_batch_size: 8\n",
            unsafe_fixed="output_dir: out\neval_strategy: steps\neval_steps: 200\nper_device_train_batch_size: 8\n"),
        Bad("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='out', "
            "fp16=True, bf16=True)\n", expect="train.py:3:55"),
        Good("args.yaml", "output_dir: out\neval_strategy: steps\neval_steps: 200\nper_device_train_batch_size: 8\n"),
    ]


class SaveBestWithoutMetric(Rule):
    code = "HF011"
    name = "save-best-without-metric"
    severity = Severity.ERROR
    summary = "save_strategy best without metric_for_best_model"
    why = (
        "`save_strategy: best` saves a checkpoint whenever the best metric improves, so the Trainer needs to know "
        "which metric: without `metric_for_best_model` (and without `load_best_model_at_end`, which defaults it to "
        "the loss) its constructor raises \"args.metric_for_best_model must be provided when using 'best' "
        "save_strategy\" at start-up."
    )
    examples = [
        Bad("args.yaml", "output_dir: out\neval_strategy: epoch\nsave_strategy: best\n", expect="args.yaml:3:1"),
        Good("args.yaml", "output_dir: out\neval_strategy: epoch\nsave_strategy: best\n"
             "metric_for_best_model: eval_loss\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run, e in trainer_runs(project):
            if e.get("save_strategy") == "best" and e.known("metric_for_best_model", "load_best_model_at_end") \
                    and best_metric(e) is None and "best" in e.enum_values("SaveStrategy"):
                yield self.finding(run.anchor("save_strategy"), "args.metric_for_best_model must be provided when "
                                   "using 'best' save_strategy: the Trainer raises at start-up; set "
                                   "metric_for_best_model (e.g. eval_loss)")


class ImplicitEvalCadence(Rule):
    code = "HF012"
    name = "implicit-eval-cadence"
    severity = Severity.INFO
    skips_test_code = True  # the consequence is an experiment record
    summary = "eval_strategy steps without eval_steps: evaluation follows logging_steps"
    why = (
        "With `eval_strategy: steps` and no `eval_steps`, TrainingArguments evaluates every `logging_steps` steps: "
        "500 by default, but 10 in TRL configs, where a run evaluates fifty times more often than intended and "
        "spends its budget on evaluation. State `eval_steps`."
    )
    examples = [
        Bad("train.py", "from trl import SFTConfig\n\nconfig = SFTConfig(output_dir='out', eval_strategy='steps')\n",
            expect="train.py:3:38"),
        Good("train.py", "from trl import SFTConfig\n\nconfig = SFTConfig(output_dir='out', eval_strategy='steps', "
             "eval_steps=500)\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run, e in trainer_runs(project):
            if e.get("eval_strategy") != "steps" or "eval_steps" in run.args or not run.complete:
                continue
            logging = e.get("logging_steps")
            if not is_number(logging) or logging <= 0:
                continue
            if run.framework == "unknown" and "logging_steps" not in run.args:
                continue  # 500 for HF, 10 for TRL: which one applies is not known
            source = "given" if "logging_steps" in run.args else (
                "the TRL default" if e.trl_classes else "the TrainingArguments default")
            yield self.finding(run.anchor("eval_strategy"), f"eval_steps is unset: evaluation runs every logging_steps "
                               f"= {number_text(logging)} steps ({source}); set eval_steps explicitly")


_EVAL_INTERVALS = ("steps", "epoch")



_EVALUATES = ("from transformers import HfArgumentParser, Trainer, TrainingArguments\n\n"
              "(args,) = HfArgumentParser(TrainingArguments).parse_yaml_file('args.yaml')\n"
              "Trainer(model=model, args=args, train_dataset=train, eval_dataset=val).train()\n")


def _gets_eval_set(project: Project, run) -> bool:
    """Does the Trainer built with these arguments get an eval set? A `trl` command passes the test split
    whenever it evaluates; a script's Trainer must be seen given `eval_dataset=` (one whose data comes in
    `**kwargs` may get none, and then never evaluates: HF003's error, or no evaluation at all)."""
    if run.trl_command is not None:
        return True
    if run.script is None:
        return False
    calls = [c for c in project.facts_in(run.script, TrainerCall)
             if c.args_at is None or c.args_at == run.location or run.path is not None]
    return any(c.eval_dataset is True for c in calls)

class BestCheckpointRotatedAway(Rule):
    code = "HF013"
    name = "best-checkpoint-rotated-away"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record (which checkpoints are kept)
    summary = "save_total_limit rotates checkpoints of an evaluated run that tracks no best checkpoint"
    why = (
        "With `save_total_limit`, every save deletes the oldest checkpoints beyond the limit. The Trainer protects "
        "the best one from rotation only when it knows which one is best: `state.best_model_checkpoint` is set in "
        "`_save_checkpoint` from `best_global_step`, which `_determine_best_metric` records only when "
        "`metric_for_best_model` is set (transformers 4.57 `Trainer._sorted_checkpoints` moves it out of the "
        "deletion range; 5.x `trainer_utils.rotate_checkpoints` keeps it in a protected set). "
        "`TrainingArguments.__post_init__` sets the metric to \"loss\" only when `load_best_model_at_end` is true or "
        "the scheduler is `reduce_lr_on_plateau` (or `greedy`, 5.x). So a run that evaluates, keeps a few checkpoints "
        "and names no metric deletes the checkpoint with the best eval loss as soon as it is older than the limit, "
        "and nothing records which one it was. Set `metric_for_best_model` (e.g. `eval_loss`): the best checkpoint "
        "then survives rotation, and `trainer_state.json` names it. Axolotl passes `save_total_limit` on (its "
        "default 4 is not reported; an explicit one is) and evaluates with a validation set and `eval_steps`, "
        "`evals_per_epoch` or `eval_strategy`. Not reported: evaluation off, a Trainer not seen given `eval_dataset=` "
        "(one that gets its data through `**kwargs` may get none and never evaluate), no checkpoints "
        "(`save_strategy: no`), "
        "no limit, a metric set or implied, evaluations and saves on cadences that do not divide each other "
        "(`_save_checkpoint` names `checkpoint-{best_global_step}` only if that step was saved), "
        "`load_best_model_at_end` or `early_stopping_patience` in Axolotl (AXO003 "
        "says when Axolotl drops them), test code."
    )
    examples = [
        Bad("args.yaml", "output_dir: out\neval_strategy: steps\neval_steps: 500\nsave_steps: 500\n"
            "save_total_limit: 2\n", expect="args.yaml:5:1", files={"train.py": _EVALUATES}),
        Bad("axolotl.yaml", _AXOLOTL_BASE +
            "val_set_size: 0.05\nevals_per_epoch: 4\nsaves_per_epoch: 4\nsave_total_limit: 1\n",
            expect="axolotl.yaml:8:1", note="an Axolotl config"),
        Good("args.yaml", "output_dir: out\neval_strategy: steps\neval_steps: 500\nsave_steps: 500\n"
             "save_total_limit: 2\nmetric_for_best_model: eval_loss\n", files={"train.py": _EVALUATES}),
        Good("args.yaml", "output_dir: out\neval_strategy: steps\neval_steps: 500\nsave_steps: 500\n"
             "save_total_limit: 2\n", files={"train.py": _EVALUATES.replace(", eval_dataset=val", ", **data")},
             note="whether the Trainer gets an eval set is hidden in **data: it may never evaluate"),
        Good("args.yaml", "output_dir: out\neval_strategy: steps\neval_steps: 500\nsave_steps: 500\n"
             "save_total_limit: 2\nload_best_model_at_end: true\n",
             note="load_best_model_at_end implies metric_for_best_model=\"loss\""),
        Good("args.yaml", "output_dir: out\neval_strategy: epoch\nsave_strategy: epoch\nsave_total_limit: 2\n"
             "lr_scheduler_type: reduce_lr_on_plateau\n", note="the plateau scheduler implies the loss metric"),
        Good("args.yaml", "output_dir: out\nsave_steps: 500\nsave_total_limit: 2\n",
             note="no evaluation: there is no best checkpoint to lose"),
        Good("args.yaml", "output_dir: out\neval_strategy: steps\neval_steps: 500\nsave_steps: 500\n",
             note="no save_total_limit: every checkpoint is kept"),
        Good("args.yaml", "output_dir: out\neval_strategy: steps\neval_steps: 700\nsave_steps: 500\n"
             "save_total_limit: 2\n", files={"train.py": _EVALUATES},
             note="evaluations between saves: the best one may have no checkpoint, which a metric would not change"),
        Good("axolotl.yaml", _AXOLOTL_BASE + "val_set_size: 0.05\nevals_per_epoch: 4\nsaves_per_epoch: 4\n",
             note="Axolotl's default limit of 4 is not a choice the config made"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        seen = set()
        for run, e in trainer_runs(project):
            found = self._hf(project, run, e)
            if found and found[0] not in seen:
                seen.add(found[0])
                yield self.finding(*found)
        for run in training_runs(project, where=axolotl):
            found = self._axolotl(run)
            if found and found[0] not in seen:
                seen.add(found[0])
                yield self.finding(*found)

    def _hf(self, project: Project, run, e: Effective) -> tuple[Location, str] | None:
        limit = e.get("save_total_limit")
        if not _positive_int(limit) or not run.complete or not _gets_eval_set(project, run):
            return None
        evaluation = e.get("evaluation_strategy") if _legacy_strategy(e) else e.get("eval_strategy")
        if evaluation not in _EVAL_INTERVALS or e.get("save_strategy") not in _EVAL_INTERVALS:
            return None  # no evaluation, no checkpoints, or `best` (HF011 wants its metric)
        if not e.known("metric_for_best_model", "load_best_model_at_end", "lr_scheduler_type") \
                or best_metric(e) is not None:
            return None
        evaluated_every = e.get("eval_steps") or e.get("logging_steps")
        if not _cadences_meet(evaluation, e.get("save_strategy"), evaluated_every, e.get("save_steps")):
            return None  # the best evaluation may have no checkpoint: a metric would not protect one either
        epochs, max_steps = e.get("num_train_epochs"), e.get("max_steps")
        evaluations = _at_most(evaluation, evaluated_every, epochs, max_steps)
        saves = _at_most(e.get("save_strategy"), e.get("save_steps"), epochs, max_steps)
        if _nothing_to_lose(evaluations, saves, limit):
            return None
        return run.anchor("save_total_limit"), _rotation_message(limit, "load_best_model_at_end=True")

    def _axolotl(self, run) -> tuple[Location, str] | None:
        args = run.args
        known, limit = run.literal("save_total_limit")
        if "save_total_limit" not in args or not known or not _positive_int(limit):
            return None
        if any(_set(args, key) for key in ("metric_for_best_model", "load_best_model_at_end",
                                           "early_stopping_patience")):
            return None
        values = {}
        for key in ("save_strategy", "eval_strategy", "eval_steps", "evals_per_epoch", "num_epochs", "lr_scheduler",
                    "val_set_size"):
            known, values[key] = run.literal(key)
            if not known:
                return None
        if values["lr_scheduler"] in ("reduce_lr_on_plateau", "greedy") or values["save_strategy"] == "no":
            return None
        if "test_datasets" not in args and not (is_number(values["val_set_size"]) and values["val_set_size"] > 0):
            return None  # no validation set: Axolotl sets eval_strategy "no"
        if not _axolotl_evaluates(values):
            return None
        known, max_steps = run.literal("max_steps")
        epochs = values["num_epochs"] if values["num_epochs"] is not None else 1.0
        max_steps = max_steps if known and max_steps is not None else (0 if known else None)
        strategy = "steps" if values["eval_steps"] or values["evals_per_epoch"] else values["eval_strategy"]
        interval = _axolotl_interval(values["eval_steps"], values["evals_per_epoch"], epochs)
        evaluations = _at_most(strategy, interval, epochs, max_steps)
        known, save_steps = run.literal("save_steps")
        known_per_epoch, per_epoch = run.literal("saves_per_epoch")
        if not (known and known_per_epoch):
            return None
        interval = _axolotl_interval(save_steps, per_epoch, epochs)
        saves = _at_most("steps" if interval else (values["save_strategy"] or "epoch"), interval, epochs, max_steps)
        if _nothing_to_lose(evaluations, saves, limit):
            return None
        return run.anchor("save_total_limit"), _rotation_message(limit, "load_best_model_at_end: true")


def _positive_int(value: object) -> bool:
    return is_number(value) and value > 0


def _set(args: dict[str, Value], key: str) -> bool:
    """The key is given, with a value that may be truthy (an unknown value counts as set: no guess)."""
    value = args.get(key)
    return value is not None and (not value.known or value.literal not in (None, False, 0, ""))


def _axolotl_evaluates(values: dict[str, object]) -> bool:
    """Axolotl 0.19 `_configure_save_and_eval_strategy`: eval_steps (given, or 1/(evals_per_epoch*num_epochs)
    when below 1, `normalize_config`) means "steps"; else eval_strategy as given; else TrainingArguments' "no"."""
    eval_steps, per_epoch = values["eval_steps"], values["evals_per_epoch"]
    epochs = values["num_epochs"] if is_number(values["num_epochs"]) else 1.0
    if is_number(per_epoch) and per_epoch > 0 and epochs > 0 and 1.0 / (per_epoch * epochs) < 1.0:
        return True
    if is_number(eval_steps) and eval_steps > 0:
        return True
    return values["eval_strategy"] in _EVAL_INTERVALS


def _axolotl_interval(steps: object, per_epoch: object, epochs: object) -> object:
    """Axolotl's step interval: given, else the ratio `normalize_config` derives from `*_per_epoch` (below 1)."""
    if steps:
        return steps
    if is_number(per_epoch) and per_epoch > 0 and is_number(epochs) and epochs > 0:
        ratio = 1.0 / (per_epoch * epochs)
        return ratio if ratio < 1.0 else None
    return None


def _at_most(strategy: object, steps: object, epochs: object, max_steps: object) -> int | None:
    """The most evaluations or saves a schedule makes (None: not known). DefaultFlowCallback (transformers 5.24
    trainer_callback.py) acts at every multiple of the interval and once more at the last step (saves; evaluations
    from 5.4), or at every epoch end; `max_steps > 0` overrides the epochs."""
    if strategy == "epoch":
        if is_number(max_steps) and max_steps <= 0 and is_number(epochs) and epochs > 0:
            return math.ceil(epochs)
        return None
    if strategy != "steps" or not is_number(steps) or steps <= 0:
        return None
    if steps < 1:
        return math.floor(1 / steps) + 1  # a ratio of the total steps
    if is_number(max_steps) and max_steps > 0:
        return math.floor(max_steps / steps) + (1 if max_steps % steps else 0)
    return None


def _cadences_meet(evaluation: object, save: object, eval_steps: object, save_steps: object) -> bool:
    """Do evaluations and saves land on the same steps, one a multiple of the other? The Trainer names the best
    checkpoint `checkpoint-{best_global_step}` only if a save happened at the best evaluation's step (5.24
    `_save_checkpoint`; 4.47 points at it even when it was never written), so with cadences that meet only at
    their least common multiple (eval_steps=700, save_steps=500), or evaluations at epoch ends and saves by
    steps, naming a metric protects nothing either."""
    if evaluation == save == "epoch":
        return True
    if evaluation != "steps" or save != "steps" or not is_number(eval_steps) or not is_number(save_steps):
        return False
    return eval_steps >= 1 and save_steps >= 1 and (eval_steps % save_steps == 0 or save_steps % eval_steps == 0)


def _nothing_to_lose(evaluations: int | None, saves: int | None, limit: object) -> bool:
    """One evaluation has no better one to lose; saves within the limit are never rotated."""
    return (evaluations is not None and evaluations <= 1) or (saves is not None and saves <= limit)


def _rotation_message(limit: object, load_best: str) -> str:
    return (f"save_total_limit={number_text(limit)} deletes older checkpoints, and with no metric_for_best_model the "
            "Trainer tracks no best checkpoint to protect: the checkpoint with the best eval loss is deleted once it "
            f"is older than the limit, and nothing records which one it was; set metric_for_best_model (e.g. "
            f"\"eval_loss\", or {load_best}) so rotation keeps it")


# report_to names that track a run's metrics ("none" logs nowhere, "all" depends on what is installed, codecarbon
# records emissions only)
_NOT_TRACKERS = ("none", "all", "codecarbon")
# Online RL trainers judge a policy by its rewards during training; an eval split is not their way to see overfitting.
_ONLINE_RL = ("GRPOTrainer", "PPOTrainer", "RLOOTrainer", "OnlineDPOTrainer", "XPOTrainer", "NashMDTrainer",
              "GKDTrainer")
# Axolotl 0.19.0 RLType (utils/schemas/enums.py): grpo, gdpo and ebft train on rollouts (ebft through its GRPOTrainer)
_AXOLOTL_ONLINE_RL = ("grpo", "gdpo", "ebft")


class RunNeverEvaluates(Rule):
    code = "HF014"
    name = "run-never-evaluates"
    severity = Severity.INFO
    skips_test_code = True  # the consequence is an experiment record (curves with no eval loss)
    summary = "A tracked training run that never evaluates: overfitting cannot be seen"
    why = (
        "The Trainer evaluates only when `eval_strategy` is `steps` or `epoch` (`DefaultFlowCallback`, transformers "
        "5.24.0 `trainer_callback.py`; the default is `\"no\"`, `training_args.py`) or when the script calls "
        "`trainer.evaluate()`. A run that reports to a tracker with neither, and gives the Trainer no "
        "`eval_dataset`, records only its training loss: the tracker shows a falling curve whether the model "
        "generalises or memorises, and nothing compares runs on held-out data. Axolotl evaluates only with a "
        "validation set: with `val_set_size: 0` (its default) and no `test_datasets` it sets `eval_strategy` to "
        "\"no\" (0.19.0 `core/builders/base.py` `_configure_save_and_eval_strategy`). Give the run an evaluation "
        "split and an eval cadence (`eval_strategy=\"steps\"`, `eval_dataset=`; Axolotl: `val_set_size: 0.05`). "
        "Reported for a Trainer built (in code that runs) with arguments naming a tracker in `report_to` and with "
        "no eval_dataset, and for an Axolotl config that reports to a tracker and writes `val_set_size: 0` itself. "
        "Not reported: a script that calls `.evaluate(` anywhere, online RL trainers (GRPO, PPO, RLOO, ...; "
        "Axolotl's `rl: grpo`, `gdpo`, `ebft`: they are judged by their rewards), an Axolotl `pretraining_dataset` "
        "(streamed and seen once, so its training loss is already a held-out loss), "
        "an `eval_dataset` (HF003 says when evaluation is off with one), a run "
        "that tracks nothing, argument files, test code. A PyTorch Lightning `Trainer` given a tracker logger "
        "(`logger=WandbLogger(...)`, MLflow, Neptune, Comet, TensorBoard) whose `fit` runs never validates when "
        "`limit_val_batches=0`, when no LightningModule of the project defines `validation_step`, or when `fit` "
        "gets no `val_dataloaders` or `datamodule` and no LightningModule defines `val_dataloader` (lightning 2.6.6 "
        "`trainer/trainer.py` and `loops/fit_loop.py`: validation needs a val loader, a `validation_step` and "
        "`limit_val_batches > 0`); not when the script calls `.validate(`, or when the LightningModule it trains "
        "is nowhere in the project. A Trainer built by Hydra from the composed config (see HF001) counts alike."
    )
    examples = [
        Bad("train.py", "from transformers import Trainer, TrainingArguments\n\n\ndef main():\n"
            "    args = TrainingArguments(output_dir='out', report_to=['wandb'], run_name='sft-1')\n"
            "    Trainer(model=model, args=args, train_dataset=train).train()\n\n\nmain()\n",
            expect="train.py:6:5"),
        Bad("axolotl.yaml", _AXOLOTL_BASE +
            "val_set_size: 0\nwandb_project: sft\n", expect="axolotl.yaml:5:1", note="an Axolotl config"),
        Good("train.py", "from transformers import Trainer, TrainingArguments\n\n\ndef main():\n"
             "    args = TrainingArguments(output_dir='out', report_to=['wandb'], run_name='sft-1', "
             "eval_strategy='steps', eval_steps=200)\n"
             "    Trainer(model=model, args=args, train_dataset=train, eval_dataset=test).train()\n\n\nmain()\n"),
        Good("train.py", "from transformers import Trainer, TrainingArguments\n\n\ndef main():\n"
             "    args = TrainingArguments(output_dir='out', report_to=['wandb'], run_name='sft-1')\n"
             "    Trainer(model=model, args=args, train_dataset=train).train()\n",
             note="main() is never called: nothing trains"),
        Good("train.py", "from transformers import Trainer, TrainingArguments\n\n"
             "args = TrainingArguments(output_dir='out', report_to='none')\n"
             "Trainer(model=model, args=args, train_dataset=train).train()\n", note="no tracker records the run"),
        Good("train.py", "from transformers import Trainer, TrainingArguments\n\n"
             "args = TrainingArguments(output_dir='out', report_to=['wandb'], run_name='sft-1')\n"
             "trainer = Trainer(model=model, args=args, train_dataset=train)\ntrainer.train()\n"
             "trainer.evaluate(test)\n", note="the script evaluates itself"),
        Good("axolotl.yaml", _AXOLOTL_BASE +
             "val_set_size: 0\ntest_datasets:\n  - path: test.jsonl\n    type: alpaca\nwandb_project: sft\n",
             note="a test dataset is the validation set"),
        Good("axolotl.yaml", _AXOLOTL_BASE +
             "val_set_size: 0\nwandb_project:\n", note="an empty wandb_project turns nothing on"),
        Good("axolotl.yaml", "base_model: Qwen/Qwen2.5-0.5B\nrl: ebft\ndatasets:\n  - path: data.jsonl\n"
             "    type: ebft_pretrain.transform\nval_set_size: 0\nwandb_project: ebft\n",
             note="EBFT trains on rollouts through Axolotl's GRPOTrainer: judged by its rewards"),
        Good("axolotl.yaml", "base_model: Qwen/Qwen2.5-0.5B\npretraining_dataset:\n  - path: allenai/c4\n"
             "val_set_size: 0\nmax_steps: 1000\nwandb_project: pretrain\n",
             note="a streamed pretraining set is seen once: its training loss is a held-out loss"),
        Bad("train.py", _LIGHTNING.format(trainer="log_every_n_steps=10").replace(
            "datamodule=DataModule()", "DataLoader(train)").replace(
            "import lightning as L\n", "import lightning as L\nfrom torch.utils.data import DataLoader\n"),
            expect="train.py:19:15", note="a Lightning fit given only a training loader"),
        Good("train.py", _LIGHTNING.format(trainer="log_every_n_steps=10"),
             note="a datamodule gives the validation loader"),
        Good("train.py", _LIGHTNING.format(trainer="log_every_n_steps=10").replace(
            "datamodule=DataModule()", "DataLoader(train), DataLoader(val)").replace(
            "import lightning as L\n", "import lightning as L\nfrom torch.utils.data import DataLoader\n"),
             note="fit(model, train_loader, val_loader)"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        by_location = {run.location: (run, e) for run, e in trainer_runs(project) if run.complete}
        for call in project.facts(TrainerCall):
            found = by_location.get(call.args_at) if call.args_at else None
            if found is None or call.eval_dataset is not False or call.api in _ONLINE_RL:
                continue
            run, e = found
            trackers = _trackers(e.get("report_to"))
            strategy = e.get("eval_strategy")
            if not trackers or strategy != "no" or "evaluation_strategy" in run.args:
                continue
            path = call.location.path
            if ".evaluate(" in (project.read_text(path) or "") or not _runs(project, path, call.site):
                continue
            yield self.finding(call.location, f"this {call.api} reports to {', '.join(trackers)} but never "
                               "evaluates (eval_strategy \"no\", no eval_dataset): only the training loss is "
                               "recorded, so overfitting cannot be seen; pass eval_dataset= and set eval_strategy")
        for run in training_runs(project, where=axolotl):
            found = self._axolotl(run)
            if found is not None:
                yield self.finding(*found)
        for trainer in lightning.trainers(project):
            if not trainer.trackers or not trainer.trackers_known or not trainer.fits or trainer.validates:
                continue
            path = trainer.location.path
            why = lightning.validation_off(project, trainer)
            if why is None or ".validate(" in (project.read_text(path) or "") or not _runs(project, path, trainer.site):
                continue
            yield self.finding(trainer.location, f"this Lightning Trainer logs to {', '.join(trainer.trackers)} but "
                               f"never validates ({why}): only the training loss is recorded, so overfitting "
                               "cannot be seen; give fit() val_dataloaders (or a datamodule with val_dataloader) "
                               "and define validation_step")

    def _axolotl(self, run) -> tuple[Location, str] | None:
        if "val_set_size" not in run.args or "test_datasets" in run.args:
            return None
        known, size = run.literal("val_set_size")
        if not known or not is_number(size) or size != 0:
            return None
        known, rl = run.literal("rl")
        if not known or rl in _AXOLOTL_ONLINE_RL or _set(run.args, "pretraining_dataset"):
            return None  # judged by rewards; a streamed pretraining set is seen once, its loss is held-out loss
        trackers = [key for key in _AXOLOTL_TRACKERS if run.literal(key)[0] and run.literal(key)[1] not in
                    (None, False, "")]
        if not trackers:
            return None
        return (run.anchor("val_set_size"), f"val_set_size: 0 with no test_datasets: Axolotl sets eval_strategy "
                f"\"no\", and the run reports to a tracker ({trackers[0]}) only its training loss, so overfitting "
                "cannot be seen; set val_set_size (e.g. 0.05) or test_datasets")


def _trackers(report_to: object) -> list[str]:
    names = [report_to] if isinstance(report_to, str) else list(report_to) if isinstance(report_to, (list, tuple)) \
        else []
    return [n for n in names if isinstance(n, str) and n not in _NOT_TRACKERS]


def _runs(project: Project, path: str, site) -> bool:
    """The Trainer call runs when its file is run as a program (module level, or functions its top level
    calls): a Trainer in a function nothing calls trains nothing."""
    from preflight.program import RUNS, LaunchArguments

    return project.programs.reach(path, LaunchArguments()).of(path, site) == RUNS
