"""SWP: W&B sweep configurations: the metric the program logs, its direction, early termination, the sweep
schema, and the parameters the program reads."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import LoggedMetrics, SweepSpec, TrainingConfig
from preflight.project import Project
from preflight.rule import Bad, Good, Rule


_HF_PREFIX = re.compile(r"^(eval|train|test)/\S")


class SweepMetricNeverLogged(Rule):
    code = "SWP001"
    name = "sweep-metric-never-logged"
    severity = Severity.ERROR
    skips_test_code = True  # the consequence is an experiment record
    summary = "The sweep's metric is not a key the program logs"
    why = (
        "The sweep reads `metric.name` from the runs' history and must find that exact key. The HF, TRL and "
        "Axolotl integrations log `eval_loss` as `eval/loss` and training values as `train/<name>`, so `eval_loss` "
        "or `val_loss` never match a Trainer script. A run without the metric gets the worst imputed value: Bayesian "
        "search then learns nothing and early termination misfires, while every run looks fine. Use the key "
        "exactly as logged. Not reported when the program logs keys preflight cannot read."
    )
    examples = [
        Bad("sweep.yaml", "program: train.py\nmethod: bayes\nmetric:\n  name: eval_loss\n  goal: minimize\n"
            "parameters:\n  learning_rate: {min: 0.00001, max: 0.001}\n",
            files={"train.py": "from transformers import Trainer, TrainingArguments\n\n"
                               "args = TrainingArguments(output_dir='o', report_to='wandb', run_name='s', "
                               "eval_strategy='epoch')\n"},
            expect="sweep.yaml:4:9"),
        Good("sweep.yaml", "program: train.py\nmethod: bayes\nmetric:\n  name: eval/loss\n  goal: minimize\n"
             "parameters:\n  learning_rate: {min: 0.00001, max: 0.001}\n",
             files={"train.py": "from transformers import Trainer, TrainingArguments\n\n"
                                "args = TrainingArguments(output_dir='o', report_to='wandb', run_name='s', "
                                "eval_strategy='epoch')\n"}),
        Good("sweep.yaml", "program: train.py\nmethod: random\nmetric:\n  name: val_acc\n  goal: maximize\n"
             "parameters:\n  lr: {values: [0.1, 0.01]}\n",
             files={"train.py": "import wandb\n\nrun = wandb.init()\nrun.log({'val_acc': 0.9, 'epoch': 1})\n"}),
        Bad("tune.py", "import wandb\n\nsweep = {\n    'method': 'random',\n    'metric': {'name': 'val_loss', 'goal': "
            "'minimize'},\n    'parameters': {'lr': {'values': [0.1, 0.01]}},\n}\n\n\ndef train():\n"
            "    run = wandb.init()\n    run.log({'valid/loss': 0.3})\n\n\n"
            "wandb.agent(wandb.sweep(sweep, project='p'), function=train)\n", expect="tune.py:5:24",
            note="a sweep given to wandb.sweep as a dict, its trials run by wandb.agent in the same file"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for spec in project.facts(SweepSpec):
            if not spec.metric or spec.metric_name_location is None:
                continue
            keys, unknown, trainer, seen_any = set(), False, False, False
            for path in project.sweep_program_files(spec):
                for logged in project.facts_in(path, LoggedMetrics):
                    seen_any = True
                    keys.update(logged.keys)
                    unknown = unknown or logged.unknown
                    trainer = trainer or logged.trainer
                if project.facts_in(path, TrainingConfig) and not path.endswith(".py"):
                    seen_any = trainer = True  # an Axolotl/TRL config: the Trainer's W&B integration logs
            metric = spec.metric
            if not seen_any or unknown or metric in keys or (trainer and _HF_PREFIX.match(metric)):
                continue
            if trainer:
                stem = metric.split("/")[-1]
                suggestion = f"eval/{stem[5:]}" if stem.startswith("eval_") else f"eval/{stem.removeprefix('val_')}"
                hint = (f"the Trainer's W&B integration logs eval_* metrics as eval/<name> and training values as "
                        f"train/<name>; did you mean {suggestion!r}?")
            else:
                listed = ", ".join(sorted(keys)[:8]) or "none"
                hint = f"the program logs: {listed}"
            yield self.finding(spec.metric_name_location, f"the sweep's metric {metric!r} is never logged by the "
                               f"program ({hint}): every run gets the worst imputed value and the search learns "
                               "nothing")


# Metric names where a larger value is better; minimising them optimises for the worst runs.
_HIGHER_IS_BETTER = re.compile(
    r"(?:^|[/_.\-])(?:acc|accuracy|f1|bleu|rouge\w*|reward\w*|auc|auroc|precision|recall|map|ndcg|mrr|exact_match|em|"
    r"win_rate|pass@\d+|pass_at_\d+|score|spearman\w*|pearson\w*|r2|iou|miou|dice|top\d+|top_\d+)(?:$|[/_.\-])",
    re.IGNORECASE,
)
_LOWER_IS_BETTER = re.compile(r"loss|error|perplexity|ppl|wer|cer|mse|mae|rmse", re.IGNORECASE)


class SweepGoalDirection(Rule):
    code = "SWP002"
    name = "sweep-goal-direction"
    severity = Severity.ERROR
    skips_test_code = True  # the consequence is an experiment record
    summary = "A sweep optimises a higher-is-better metric without `goal: maximize`"
    why = (
        "A sweep's `metric.goal` defaults to `minimize`. For accuracy, F1, BLEU, ROUGE, reward, AUC and the like "
        "the Bayesian search then steers toward the worst configurations, and early termination stops the best "
        "runs. Set `goal: maximize`."
    )
    examples = [
        Bad("sweep.yaml", "program: train.py\nmethod: bayes\nmetric:\n  name: eval/accuracy\nparameters:\n"
            "  learning_rate: {min: 0.00001, max: 0.001}\n", expect="sweep.yaml:3:1"),
        Good("sweep.yaml", "program: train.py\nmethod: bayes\nmetric:\n  name: eval/accuracy\n  goal: maximize\n"
             "parameters:\n  learning_rate: {min: 0.00001, max: 0.001}\n"),
        Good("sweep.yaml", "program: train.py\nmethod: bayes\nmetric:\n  name: eval/loss\nparameters:\n"
             "  learning_rate: {min: 0.00001, max: 0.001}\n", note="loss is lower-is-better: the default is right"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for spec in project.facts(SweepSpec):
            name = spec.metric or ""
            if not name or spec.goal is not None or spec.metric_location is None:
                continue
            if _HIGHER_IS_BETTER.search(name) and not _LOWER_IS_BETTER.search(name):
                yield self.finding(spec.metric_location, f"the sweep optimises {name!r} with no goal, so it minimises "
                                   "it (the default): the search steers toward the worst runs; add `goal: maximize`")


_CADENCE_PARAMETERS = {"eval_steps", "eval_strategy", "evaluation_strategy", "evals_per_epoch", "logging_steps"}


class HyperbandOnSparseMetric(Rule):
    code = "SWP003"
    name = "hyperband-on-sparse-metric"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "Hyperband early termination on an eval metric logged per epoch or at swept cadences"
    why = (
        "Hyperband compares runs by how many times the metric has been logged (its brackets are counts of history "
        "rows, not steps or time). An eval metric logged once per epoch reaches the first bracket only after "
        "`min_iter` epochs, so nothing is stopped early; an eval cadence that is itself swept makes trials reach the "
        "brackets at different training progress, so runs are stopped for evaluating often, not for being bad. Log "
        "the eval metric every N steps, the same N in every trial."
    )
    examples = [
        Bad("sweep.yaml", "program: train.py\nmethod: bayes\nmetric: {name: eval/loss, goal: minimize}\n"
            "early_terminate: {type: hyperband, min_iter: 3}\nparameters:\n"
            "  learning_rate: {min: 0.00001, max: 0.001}\n",
            files={"train.py": "from transformers import TrainingArguments\n\nTrainingArguments(output_dir='o', "
                               "eval_strategy='epoch', logging_steps=50, report_to='wandb', run_name='r')\n"},
            expect="sweep.yaml:4:1"),
        Good("sweep.yaml", "program: train.py\nmethod: bayes\nmetric: {name: eval/loss, goal: minimize}\n"
             "early_terminate: {type: hyperband, min_iter: 3}\nparameters:\n"
             "  learning_rate: {min: 0.00001, max: 0.001}\n",
             files={"train.py": "from transformers import TrainingArguments\n\nTrainingArguments(output_dir='o', "
                                "eval_strategy='steps', eval_steps=50, logging_steps=50, report_to='wandb', "
                                "run_name='r')\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for spec in project.facts(SweepSpec):
            if (spec.early_terminate or "").lower() != "hyperband" or spec.early_terminate_location is None:
                continue
            metric = (spec.metric or "").lower()
            if not metric.startswith(("eval", "val", "test")):
                continue
            swept = sorted(_CADENCE_PARAMETERS & {name for name, _ in spec.parameters})
            if swept:
                yield self.finding(spec.early_terminate_location, f"hyperband stops runs by how often {metric!r} has "
                                   f"been logged, and the sweep varies the eval cadence ({', '.join(swept)}): trials "
                                   "reach its brackets at different training progress; fix the cadence across trials")
                continue
            for path in project.sweep_program_files(spec):
                epochs = [c for c in project.facts_in(path, TrainingConfig)
                          if (c.get("eval_strategy") or c.get("evaluation_strategy"))
                          and (c.get("eval_strategy") or c.get("evaluation_strategy")).is_str("epoch")]
                if epochs:
                    yield self.finding(spec.early_terminate_location, f"hyperband stops runs by how often {metric!r} "
                                       "has been logged, but the program evaluates once per epoch "
                                       f"({epochs[0].location.path}:{epochs[0].location.line}): nothing is stopped "
                                       "before min_iter epochs; evaluate every N steps")
                    break


class InvalidSweepConfig(Rule):
    code = "SWP004"
    name = "invalid-sweep-config"
    severity = Severity.ERROR
    skips_test_code = True  # the consequence is an experiment record
    summary = "A sweep configuration that W&B's sweep schema rejects"
    why = (
        "`wandb sweep` (or `wandb.sweep`) validates the configuration against the sweep schema and refuses it, or "
        "the controller fails later: a misspelt `method`, a distribution without its bounds, a `goal` other than "
        "minimize/maximize, Bayesian search without a `metric`. preflight checks against the same schema (shipped "
        "with it, from wandb/sweeps)."
    )
    examples = [
        Bad("sweep.yaml", "program: train.py\nmethod: bayesian\nmetric: {name: eval/loss, goal: minimize}\n"
            "parameters:\n  lr: {min: 0.00001, max: 0.001}\n", expect="sweep.yaml:2:1"),
        Bad("sweep.yaml", "program: train.py\nmethod: bayes\nparameters:\n  lr: {min: 0.00001, max: 0.001}\n",
            expect="sweep.yaml:2:1", note="Bayesian search without a metric"),
        Good("sweep.yaml", "program: train.py\nmethod: bayes\nmetric: {name: eval/loss, goal: minimize}\n"
             "parameters:\n  lr: {distribution: log_uniform_values, min: 0.00001, max: 0.001}\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for spec in project.facts(SweepSpec):
            for message, location in spec.problems:
                yield self.finding(location, f"invalid sweep configuration: {message}; `wandb sweep` rejects it")


class SweptParameterUnused(Rule):
    code = "SWP005"
    name = "swept-parameter-unused"
    severity = Severity.INFO
    skips_test_code = True  # the consequence is an experiment record
    summary = "A swept parameter the program never reads"
    why = (
        "A parameter the program ignores multiplies the search space for nothing: grid search runs every "
        "combination, and Bayesian search fits noise to it. Usually it is a typo (`learning-rate` for "
        "`learning_rate`) or a leftover. The program reads a parameter through `wandb.config` (attribute, key or "
        "get) or, when the sweep passes `${args}`, through a command-line option of that name. Programs that hand "
        "the whole config on, or parse arguments with HfArgumentParser/TrlParser, are not judged."
    )
    examples = [
        Bad("sweep.yaml", "program: train.py\nmethod: grid\nparameters:\n  lr: {values: [0.1, 0.01]}\n"
            "  dropout: {values: [0.0, 0.1]}\n",
            files={"train.py": "import wandb\n\nrun = wandb.init()\noptimizer = make_optimizer(run.config.lr)\n"},
            expect="sweep.yaml:5:3"),
        Good("sweep.yaml", "program: train.py\nmethod: grid\nparameters:\n  lr: {values: [0.1, 0.01]}\n",
             files={"train.py": "import wandb\n\nrun = wandb.init()\noptimizer = make_optimizer(run.config.lr)\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        from preflight.model import ArgumentParserUse, ConfigReads

        for spec in project.facts(SweepSpec):
            if not spec.parameters:
                continue
            passes_args = spec.command is None or any("${args" in word for word in spec.command)
            keys, options, judged = set(), set(), False
            skip = False
            for path in project.sweep_program_files(spec):
                if not path.endswith(".py"):
                    skip = True  # a config run by a CLI (axolotl, trl): parameters map to its keys
                if project.facts_in(path, ArgumentParserUse) or _hydra_program(project, path):
                    skip = True  # parameters reach dataclass fields, or Hydra's config as `key=value` overrides
                for reads in project.facts_in(path, ConfigReads):
                    judged = True
                    skip = skip or reads.opaque
                    keys.update(reads.keys)
                    options.update(reads.options)
            if skip or not judged:
                continue
            for name, location in spec.parameters:
                if name in keys or (passes_args and name.replace("-", "_") in options):
                    continue
                yield self.finding(location, f"the swept parameter {name!r} is never read by the program (neither "
                                   "from wandb.config nor as a command-line option): every value runs the same "
                                   "training; fix the name or drop it")


def _hydra_program(project: Project, path: str) -> bool:
    outline = project.programs.outline(path) if path.endswith(".py") else None
    return outline is not None and any(function.hydra is not None for function in outline.functions)
