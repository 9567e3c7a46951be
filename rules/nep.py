"""NEP: Neptune (the hosted service shut down in March 2026)."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import EnvDeclaration, EnvWrite, ModuleImport, TrainingConfig, Value
from preflight.project import Project
from preflight.rule import Bad, Good, Rule

# Neptune.ai's own settings (neptune/envs.py); other NEPTUNE_* names (NEPTUNE_ENDPOINT for the AWS graph
# database, say) are not Neptune.ai.
NEPTUNE_VARIABLES = {"NEPTUNE_API_TOKEN", "NEPTUNE_PROJECT", "NEPTUNE_MODE", "NEPTUNE_CUSTOM_RUN_ID",
                     "NEPTUNE_MONITORING_NAMESPACE"}
NEPTUNE_DISTRIBUTIONS = {"neptune", "neptune-client", "neptune-scale"}
_MIGRATE = ("export what you still need with the Neptune Exporter and move tracking to MLflow, W&B or Aim "
            "(report_to, the logger and the launcher's NEPTUNE_* variables)")


class NeptuneShutDown(Rule):
    code = "NEP001"
    name = "neptune-shut-down"
    severity = Severity.ERROR
    summary = "Neptune is used, but the hosted service shut down"
    why = (
        "Neptune's hosted service stopped after March 5, 2026 and deleted the remaining data: a run that starts "
        "Neptune logging (`neptune.init_run`, `neptune_scale.Run`, `NeptuneLogger` (imported, or a Hydra `_target_`), "
        "`NeptuneCallback`, "
        "`report_to=\"neptune\"`, `NEPTUNE_*` settings, a requirement on the client) fails to connect or logs "
        "nowhere. Migrate to another tracker. The word \"neptune\" alone (a cluster name, an entry in a list of "
        "choices) is not Neptune use."
    )
    examples = [
        Bad("train.py", "import neptune\n\nrun = neptune.init_run(project='team/llm')\n", expect="train.py:1:1"),
        Bad("sft.yaml", "output_dir: out\nper_device_train_batch_size: 8\nreport_to: [neptune]\n",
            expect="sft.yaml:3:1"),
        Bad("configs/logger/neptune.yaml", "neptune:\n  _target_: lightning.pytorch.loggers.neptune.NeptuneLogger\n"
            "  project: team/llm\n", expect="configs/logger/neptune.yaml:2:13",
            note="a Hydra logger config: hydra.utils.instantiate imports the class it names"),
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
        for pin in project.pins:
            if pin.library in NEPTUNE_DISTRIBUTIONS:
                yield self.finding(pin.location, f"the project installs {pin.library} ({pin.where}), the client of "
                                   f"Neptune, whose hosted service shut down on 2026-03-05: {_MIGRATE}")
        names = [(d.binding.name, d.binding.location) for d in project.facts(EnvDeclaration)]
        names += [(w.name, w.location) for w in project.facts(EnvWrite)]
        for name, location in dict.fromkeys(names):
            if name in NEPTUNE_VARIABLES:
                yield self.finding(location, f"{name} configures Neptune, whose hosted service shut down on "
                                   f"2026-03-05: {_MIGRATE}")


class NeptuneAutoEnabled(Rule):
    code = "NEP002"
    name = "neptune-auto-enabled"
    severity = Severity.WARNING
    summary = "transformers 4.x with report_to unset or \"all\" starts Neptune because it is installed"
    why = (
        "Up to 4.57, transformers reports to every installed integration when `report_to` is unset (or `all`); "
        "with the `neptune` (or `neptune-client`) package installed, the Trainer creates a NeptuneCallback that "
        "connects to a service that no longer exists, so the run fails at start-up or logs nowhere, though the "
        "script never mentions Neptune. Set `report_to` explicitly (e.g. `[\"wandb\"]` or `\"none\"`) or drop "
        "the package. transformers 5 reports to nothing by default and is not affected; the version comes from "
        "[tool.preflight.versions] or the project's pins. Axolotl sets `report_to` itself and is not reported."
    )
    examples = [
        Bad("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='out', "
            "run_name='sft-1')\n", expect="train.py:3:8",
            files={"requirements.txt": "transformers==4.57.1\nneptune-client==1.14.0\n"}),
        Good("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='out', "
             "run_name='sft-1', report_to=['wandb'])\n",
             files={"requirements.txt": "transformers==4.57.1\nneptune-client==1.14.0\n"}),
        Good("train.py", "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='out', "
             "run_name='sft-1')\n", files={"requirements.txt": "transformers==5.24.0\nneptune==1.14.0\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        neptune = project.installs("neptune")
        transformers = project.version("transformers")
        if neptune is None or transformers.major >= 5:
            return
        for config in project.facts(TrainingConfig):
            if config.framework == "axolotl":
                continue
            report_to = config.get("report_to")
            if report_to is None and not config.complete:
                continue
            if not _reports_to_everything(report_to):
                continue
            anchor = report_to.anchor if report_to is not None else config.location
            setting = "unset" if report_to is None or report_to.literal is None else "\"all\""
            yield self.finding(anchor, f"report_to is {setting}: {transformers.describe()} then reports to every "
                               f"installed integration, and the project installs {neptune.library} "
                               f"({neptune.location.path}:{neptune.location.line}), so the Trainer starts Neptune, "
                               "whose service shut down; set report_to explicitly (e.g. [\"wandb\"] or \"none\")")


def _reports_to_everything(report_to: Value | None) -> bool:
    if report_to is None:
        return True
    if not report_to.known:
        return False
    if report_to.literal is None:
        return True
    items = report_to.str_items()
    return items is not None and "all" in items
