"""HF Trainer arguments: what TrainingArguments and Trainer reject at start-up, or accept and get wrong.

Every rule here judges the arguments a run really receives (preflight.runs: a constructor call, an
argument file, the launcher's flags over it) against the effective transformers release.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.findings import Edit, Finding, Fix, Severity
from preflight.libraries import did_you_mean, library
from preflight.model import TrainerCall
from preflight.project import Project
from preflight.rule import Bad, Good, Rule
from preflight.runs import training_runs
from preflight.trainingargs import (
    PURE_RENAMES, REPLACEMENTS, Effective, best_metric, is_number, number_text, trainer_runs,
)

_LOWER_IS_BETTER = ("perplexity", "ppl", "wer", "cer", "mae", "mse", "rmse", "error")


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
                yield self.finding(location, f"{effective.transformers.describe()} raises at start-up: {message}")


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
    examples = [
        Bad("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(\n"
            "    output_dir='out',\n    eval_strategy='steps',\n    eval_steps=300,\n    save_steps=500,\n"
            "    load_best_model_at_end=True,\n)\n", expect="train.py:7:5"),
        Good("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(\n"
             "    output_dir='out',\n    eval_strategy='steps',\n    eval_steps=250,\n    save_steps=500,\n"
             "    load_best_model_at_end=True,\n)\n"),
    ]


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
    examples = [
        Bad("args.yaml", "output_dir: out\neval_strategy: step\neval_steps: 200\nper_device_train_batch_size: 8\n",
            expect="args.yaml:2:1"),
        Bad("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='out', "
            "fp16=True, bf16=True)\n", expect="train.py:3:55"),
        Good("args.yaml", "output_dir: out\neval_strategy: steps\neval_steps: 200\nper_device_train_batch_size: 8\n"),
    ]


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
        "Set `eval_strategy: steps`. (Axolotl sets the strategy from `eval_steps` itself and is not reported.)"
    )
    examples = [
        Bad("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\neval_steps: 200\nlogging_steps: 50\n",
            expect="args.yaml:3:1"),
        Good("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\neval_strategy: steps\neval_steps: 200\n"
             "logging_steps: 50\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run, e in trainer_runs(project):
            evaluation, eval_steps, max_steps = e.get("eval_strategy"), e.get("eval_steps"), e.get("max_steps")
            if not e.given("eval_steps") or not is_number(eval_steps) or eval_steps == 0:
                continue
            if evaluation == "no" and not _legacy_strategy(e):
                strategy = '"no"' if e.given("eval_strategy") else 'unset (default "no")'
                yield self.finding(run.anchor("eval_steps"), f"eval_steps={number_text(eval_steps)} is set but "
                                   f"eval_strategy is {strategy}: the run never evaluates; set eval_strategy to "
                                   "\"steps\"")
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


class RemovedTrainingArgument(Rule):
    code = "HF007"
    name = "removed-training-argument"
    severity = Severity.ERROR
    summary = "A TrainingArguments key that the effective transformers release removed"
    why = (
        "transformers renames and removes TrainingArguments fields (`evaluation_strategy` since 4.51, two dozen "
        "keys in 5.0, `logging_dir` and `warmup_ratio` in 5.15). A removed key makes `TrainingArguments(...)` raise "
        "TypeError and HfArgumentParser raise \"Some keys are not used\"; `trl` commands drop it silently. The key "
        "set of every release comes from the released wheels (tools/generate_library_data.py); the version from "
        "[tool.preflight.versions] or the project's pins. A field of the script's own dataclass with that name is "
        "not reported."
    )
    autofix = "renames the key where the library only renamed it (evaluation_strategy -> eval_strategy, ...)"
    examples = [
        Bad("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='out', "
            "evaluation_strategy='epoch')\n", expect="train.py:3:44"),
        Bad("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\nlogging_dir: runs/\n", expect="args.yaml:3:1",
            files={"requirements.txt": "transformers==5.16.1\n"}),
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
                outcome = {"error": "TrainingArguments rejects it at start-up",
                           "dropped": f"{run.via} drops it silently",
                           "kept": f"{run.via} ignores it (allow_extra_keys=True)",
                           "unknown": "HfArgumentParser rejects it at start-up (a `trl` command drops it "
                                      "silently)"}[run.unknown_keys]
                hint = f"; use {replacement}" if replacement else "; remove it"
                older = ""
                if e.transformers.admits_below(removed):  # a range: say for which part the claim holds
                    older = f" (the releases below {removed} that the range also admits still accept it)"
                yield self.finding(value.anchor, f"`{key}` was removed in transformers {removed} and "
                                   f"{e.transformers.describe()} has no such argument{older}: {outcome}{hint}",
                                   fix=self._fix(value, key))

    def _fix(self, value, key: str) -> Fix | None:
        if key not in PURE_RENAMES or value.key_location is None:
            return None
        new = REPLACEMENTS[key]
        location = value.key_location
        if location.end_line != location.line or location.end_column - location.column != len(key):
            return None  # the key is not written as a plain name (quoted, a dict entry, ...)
        return Fix(f"rename {key} to {new}", (Edit(location, new),))


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

