"""Neptune (the hosted service shut down in March 2026)."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import EnvDeclaration, EnvWrite, ModuleImport, TrainingConfig
from preflight.project import Project
from preflight.rule import Bad, Good, Rule

# Neptune.ai's own settings (neptune/envs.py); other NEPTUNE_* names (NEPTUNE_ENDPOINT for the AWS graph
# database, say) are not Neptune.ai.
NEPTUNE_VARIABLES = {"NEPTUNE_API_TOKEN", "NEPTUNE_PROJECT", "NEPTUNE_MODE", "NEPTUNE_CUSTOM_RUN_ID",
                     "NEPTUNE_MONITORING_NAMESPACE"}
_MIGRATE = ("export what you still need with the Neptune Exporter and move tracking to MLflow, W&B or Aim "
            "(report_to, the logger and the launcher's NEPTUNE_* variables)")


class NeptuneShutDown(Rule):
    code = "NEP001"
    name = "neptune-shut-down"
    severity = Severity.ERROR
    summary = "Neptune is used, but the hosted service shut down"
    why = (
        "Neptune's hosted service stopped after March 5, 2026 and deleted the remaining data: a run that starts "
        "Neptune logging (`neptune.init_run`, `neptune_scale.Run`, `NeptuneLogger`, `NeptuneCallback`, "
        "`report_to=\"neptune\"`, `NEPTUNE_*` settings) fails to connect or logs nowhere. Migrate to another "
        "tracker. The word \"neptune\" alone (a cluster name, an entry in a list of choices) is not Neptune use."
    )
    examples = [
        Bad("train.py", "import neptune\n\nrun = neptune.init_run(project='team/llm')\n", expect="train.py:1:1"),
        Bad("sft.yaml", "output_dir: out\nper_device_train_batch_size: 8\nreport_to: [neptune]\n", expect="sft.yaml:3:1"),
        Good("train.py", "import argparse\n\nparser = argparse.ArgumentParser()\n"
             "parser.add_argument('--tracker', choices=['wandb', 'mlflow', 'neptune'])\n"
             "CLUSTER = 'neptune'  # the name of our GPU cluster\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for found in project.facts(ModuleImport):
            if found.name.split(".")[0] in ("neptune", "neptune_scale", "neptune_client") or "Neptune" in found.name:
                yield self.finding(found.location, f"`{found.name}` is Neptune, whose hosted service shut down on "
                                   f"2026-03-05: {_MIGRATE}")
        for config in project.facts(TrainingConfig):
            if config.reports_to("neptune"):
                yield self.finding(config.args["report_to"].anchor, "report_to includes \"neptune\", whose hosted "
                                   f"service shut down on 2026-03-05: {_MIGRATE}")
        names = [(d.binding.name, d.binding.location) for d in project.facts(EnvDeclaration)]
        names += [(w.name, w.location) for w in project.facts(EnvWrite)]
        for name, location in dict.fromkeys(names):
            if name in NEPTUNE_VARIABLES:
                yield self.finding(location, f"{name} configures Neptune, whose hosted service shut down on "
                                   f"2026-03-05: {_MIGRATE}")
