"""Reproducibility: what a run must record to be rerun."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import Hyperparameters, WandbRun
from preflight.project import Project
from preflight.rule import Bad, Good, Rule


class UntrackedHyperparameters(Rule):
    code = "REP002"
    name = "untracked-hyperparameters"
    severity = Severity.WARNING
    summary = "A W&B run without config= in a script that takes hyperparameters"
    why = (
        "A run that does not record its configuration cannot be reproduced or compared from the tracker: the "
        "learning rate, batch size and seed of the best run are known only to whoever launched it. Pass the parsed "
        "arguments as `config=` (`wandb.init(config=vars(args))`) or update `run.config`. Runs started by the HF "
        "Trainer integration record the TrainingArguments themselves and are not reported."
    )
    examples = [
        Bad("train.py", "import argparse\nimport wandb\n\nparser = argparse.ArgumentParser()\n"
            "parser.add_argument('--lr', type=float, default=1e-4)\nargs = parser.parse_args()\n"
            "run = wandb.init(project='p', name=f'lr{args.lr}')\n", expect="train.py:7:7"),
        Good("train.py", "import argparse\nimport wandb\n\nparser = argparse.ArgumentParser()\n"
             "parser.add_argument('--lr', type=float, default=1e-4)\nargs = parser.parse_args()\n"
             "run = wandb.init(project='p', name=f'lr{args.lr}', config=vars(args))\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for file in list(project.files.values()):
            runs = [f for f in file.facts if isinstance(f, WandbRun) and f.api == "wandb.init"]
            if not runs or not project.facts_in(file.path, Hyperparameters):
                continue
            for run in runs:
                if run.config_given or run.disabled or run.in_sweep_function:
                    continue
                yield self.finding(run.location, "this W&B run records no configuration, though the script takes "
                                   "hyperparameters: the run cannot be reproduced or compared from W&B; pass "
                                   "config=vars(args) (or update run.config)")
