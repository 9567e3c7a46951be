"""Sweep configuration validity."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import SweepSpec
from preflight.project import Project
from preflight.rule import Bad, Good, Rule


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
