"""MLF: MLflow tracking: artifact uploads, metric steps, nested and shared runs, registry stages, run names.
(Where MLflow stores its runs is a question of the launch: ENV009, ENV010.)"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Action, Finding, Fix, Related, Severity, Transform
from preflight.model import ArtifactLog, TrackerCall
from preflight.project import Project
from preflight.rule import Bad, Good, Rule


class UncheckedArtifactPath(Rule):
    code = "MLF001"
    name = "unchecked-artifact-path"
    severity = Severity.ERROR
    skips_test_code = True  # the consequence is an experiment record
    summary = "MLflow artifact upload of a path the script never writes or checks"
    why = (
        "`mlflow.log_artifacts(dir)` on a directory that does not exist is a silent no-op: the run finishes "
        "green with no artifacts, and nobody notices until the model is needed (error). "
        "`mlflow.log_artifact(path)` on a missing file raises FileNotFoundError at the end of training; inside "
        "a `finally:` it masks the real error and marks the run FAILED (warning). Both happen when training "
        "crashed, or saved elsewhere, before the upload. Create or write the path earlier in the same function "
        "(`os.makedirs`, `save_pretrained`, `savefig`, ...), or check it (`os.path.exists`) and fail loudly. "
        "A path produced at run time (a temporary directory, a function's return value) or passed in as a "
        "parameter is not reported."
    )
    examples = [
        Bad("train.py", """import mlflow

with mlflow.start_run():
    train()
    mlflow.log_artifacts("outputs/plots")
""", expect="train.py:5:5"),
        Bad("train.py", """import mlflow

def main(args):
    with mlflow.start_run():
        try:
            train(args)
        finally:
            mlflow.log_artifact(f"{args.output_dir}/metrics.json")
""", expect="train.py:8:13", note="a log_artifact in `finally:` masks the real error (warning)"),
        Good("train.py", """import os
import mlflow

with mlflow.start_run():
    os.makedirs("outputs/plots", exist_ok=True)
    plot_curves("outputs/plots")
    mlflow.log_artifacts("outputs/plots")
"""),
        Good("train.py", """import tempfile
import mlflow

with mlflow.start_run(), tempfile.TemporaryDirectory() as tmp:
    mlflow.log_artifacts(tmp)
"""),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for log in project.facts(ArtifactLog):
            if not log.api.startswith(("mlflow.", "MlflowClient.")) or not log.path_static or log.evidence is not None:
                continue
            if log.is_directory:
                yield self.finding(
                    log.location,
                    f"{log.api}({log.path_text}) uploads a directory this script never creates or checks: if it "
                    "does not exist the call silently uploads nothing and the run has no artifacts; create it "
                    "(os.makedirs(..., exist_ok=True)) before writing into it, or check that it exists",
                )
            else:
                yield self.finding(
                    log.location,
                    f"{log.api}({log.path_text}) uploads a file this script never writes or checks: if it is "
                    "missing the upload raises FileNotFoundError at the end of training (in a `finally:` it "
                    "hides the real error); write it in this function or check os.path.exists() first",
                    severity=Severity.WARNING,
                )


class MetricWithoutStep(Rule):
    code = "MLF002"
    name = "metric-without-step"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "mlflow.log_metric(s) without step= inside a training loop"
    why = (
        "MLflow logs a metric without `step` at step 0 (\"Defaults to zero if unspecified\"): every point of the "
        "loop lands on the same x position and the curve collapses to a vertical line. Pass `step=` (the global "
        "step or the epoch)."
    )
    examples = [
        Bad("train.py", "import mlflow\n\nfor epoch in range(10):\n    loss = train_one_epoch()\n"
            "    mlflow.log_metric('loss', loss)\n", expect="train.py:5:5"),
        Good("train.py", "import mlflow\n\nfor epoch in range(10):\n    loss = train_one_epoch()\n"
             "    mlflow.log_metric('loss', loss, step=epoch)\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for call in project.facts(TrackerCall):
            if call.api in ("mlflow.log_metric", "mlflow.log_metrics") and call.context:
                yield self.finding(call.location, f"{call.api}() without step= {call.context}: every point is logged "
                                   "at step 0, so the curve collapses; pass step= (the global step or the epoch)")


class NestedRunWithoutFlag(Rule):
    code = "MLF003"
    name = "nested-run-without-flag"
    severity = Severity.ERROR
    summary = "mlflow.start_run() inside an active run without nested=True"
    why = (
        "A second `mlflow.start_run()` while a run is active raises \"Run with UUID ... is already active. To start "
        "a new run, first end the current run with mlflow.end_run(). To start a nested run, call start_run with "
        "nested=True\" — at the point where the inner run starts, often after the first training phase. Found "
        "inside a `with mlflow.start_run()` block, in a function of the module that is called inside one, and "
        "for a second `start_run()` at module level with no `mlflow.end_run()` between."
    )
    autofix = "Adds nested=True to the inner mlflow.start_run() call (a libcst transform: comments and layout kept)."
    fixes = ("safe", "unsafe")
    fix_safety = (
        "Safe inside a `with mlflow.start_run()` block, directly or in a function called there: MLflow 3.1's "
        "start_run (mlflow/tracking/fluent.py:378) raises only when a run is active and nested is False, and with "
        "nested=True makes the new run a child of the active one (fluent.py:454), so the inner run, which could "
        "not start, starts as the child the block structure describes; where no run is active (the function "
        "called elsewhere) nested=True changes nothing. Unsafe for a second start_run() at module level while an "
        "earlier one is still active: the earlier run may have been meant to end there (mlflow.end_run() is the "
        "other fix), and nested=True instead keeps it open, as the parent of the second, until the program ends.")
    examples = [
        Bad("sweep.py", "import mlflow\n\nwith mlflow.start_run(run_name='search'):\n    for lr in (1e-4, 1e-5):\n"
            "        with mlflow.start_run(run_name=f'lr{lr}'):  # one child per rate\n"
            "            mlflow.log_param('lr', lr)\n",
            expect="sweep.py:5:14",
            fixed="import mlflow\n\nwith mlflow.start_run(run_name='search'):\n    for lr in (1e-4, 1e-5):\n"
            "        with mlflow.start_run(run_name=f'lr{lr}', nested=True):  # one child per rate\n"
            "            mlflow.log_param('lr', lr)\n"),
        Good("sweep.py", "import mlflow\n\nwith mlflow.start_run(run_name='search'):\n    for lr in (1e-4, 1e-5):\n"
             "        with mlflow.start_run(run_name=f'lr{lr}', nested=True):\n"
             "            mlflow.log_param('lr', lr)\n"),
        Bad("train.py", "import mlflow\n\nmlflow.start_run(run_name='pretrain')\nmlflow.log_metric('loss', 0.3)\n"
            "mlflow.start_run(run_name='finetune')\n", expect="train.py:5:1",
            note="the first run was never ended",
            fixed="import mlflow\n\nmlflow.start_run(run_name='pretrain')\nmlflow.log_metric('loss', 0.3)\n"
            "mlflow.start_run(run_name='finetune')\n",
            unsafe_fixed="import mlflow\n\nmlflow.start_run(run_name='pretrain')\nmlflow.log_metric('loss', 0.3)\n"
            "mlflow.start_run(run_name='finetune', nested=True)\n"),
        Good("train.py", "import mlflow\n\nmlflow.start_run(run_name='pretrain')\nmlflow.log_metric('loss', 0.3)\n"
             "mlflow.end_run()\nmlflow.start_run(run_name='finetune')\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for call in project.facts(TrackerCall):
            if call.api == "mlflow.start_run" and call.context and call.complete and "nested" not in call.keywords \
                    and "run_id" not in call.keywords:
                fix = None
                if call.location.path.endswith(".py"):
                    fix = Fix("pass nested=True", (Transform(call.location, Action.SET_KEYWORD, "nested", "True"),),
                              safe=call.in_block)
                yield self.finding(call.location, f"mlflow.start_run() {call.context} without nested=True raises "
                                   "\"Run ... is already active\"; pass nested=True (or end the outer run first)",
                                   fix=fix)


class SharedMlflowRunId(Rule):
    code = "MLF004"
    name = "shared-mlflow-run-id"
    severity = Severity.WARNING
    summary = "A constant MLFLOW_RUN_ID in a launcher that starts several jobs at once"
    why = (
        "With MLFLOW_RUN_ID set, `start_run()` resumes that run. An array job, matrix or parallel Job that gives "
        "every task the same id makes them all log into one run: parameters collide, metrics interleave. Build "
        "the id per task, or leave it unset."
    )
    examples = [
        Bad("sweep.sbatch", "#!/bin/bash\n#SBATCH --array=0-3\nexport MLFLOW_RUN_ID=4f1c2e7a9b\nsrun python train.py\n",
            expect="sweep.sbatch:3:1"),
        Good("sweep.sbatch", "#!/bin/bash\n#SBATCH --array=0-3\nsrun python train.py --seed $SLURM_ARRAY_TASK_ID\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        seen = set()
        for launch in project.launches():
            binding = launch.env_map().get("MLFLOW_RUN_ID")
            if launch.fan_out is None or binding is None or binding.reference or not (binding.value or "").strip():
                continue
            if binding.location in seen:
                continue
            seen.add(binding.location)
            yield self.finding(binding.location, f"MLFLOW_RUN_ID={binding.value.strip()} is the same for every job of "
                               f"{launch.fan_out} ({launch.label}): they all log into one MLflow run; build the id per "
                               "task or leave it unset", related=[Related(launch.fan_out_location or launch.location,
                                                                          f"the fan-out: {launch.fan_out}")])


class DeprecatedRegistryStages(Rule):
    code = "MLF005"
    name = "deprecated-registry-stages"
    severity = Severity.WARNING
    summary = "MLflow model registry stages (deprecated since 2.9)"
    why = (
        "`transition_model_version_stage`, `get_latest_versions(stages=...)` and `models:/name/Production` URIs "
        "use registry stages, deprecated since MLflow 2.9 and slated for removal; two pipelines promoting at once "
        "race, and the model a stage URI resolves to changes under a running job. Use aliases "
        "(`set_registered_model_alias`, `models:/name@champion`). A project pinned to an MLflow before 2.9, where "
        "stages were the supported API, is not reported."
    )
    examples = [
        Bad("promote.py", "from mlflow import MlflowClient\n\nclient = MlflowClient()\n"
            "client.transition_model_version_stage('llm', 3, 'Production')\n", expect="promote.py:4:1"),
        Bad("serve.py", "import mlflow\n\nmodel = mlflow.pyfunc.load_model('models:/llm/Production')\n",
            expect="serve.py:3:35"),
        Good("promote.py", "from mlflow import MlflowClient\n\nclient = MlflowClient()\n"
             "client.set_registered_model_alias('llm', 'champion', 3)\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        mlflow = project.version("mlflow")
        if not mlflow.at_least("2.9"):
            return
        for call in project.facts(TrackerCall):
            if call.api.startswith("MlflowClient.") or call.api == "models:/ stage URI":
                what = call.api if call.api != "models:/ stage URI" else "a models:/name/<stage> URI"
                yield self.finding(call.location, f"{what} uses model registry stages, deprecated since MLflow 2.9 "
                                   f"({mlflow.describe()}; concurrent promotions race); use aliases: "
                                   "set_registered_model_alias and models:/name@alias")


class UnnamedMlflowRun(Rule):
    code = "MLF006"
    name = "unnamed-mlflow-run"
    severity = Severity.INFO
    skips_test_code = True  # the consequence is an experiment record
    summary = "mlflow.start_run() without run_name"
    why = (
        "An unnamed MLflow run gets a random name (`bright-owl-42`): reruns of one configuration cannot be told "
        "apart in the UI or matched by search. Pass a run_name derived from the configuration."
    )
    examples = [
        Bad("train.py", "import mlflow\n\nwith mlflow.start_run():\n    mlflow.log_param('lr', 1e-4)\n",
            expect="train.py:3:6"),
        Good("train.py", "import mlflow\n\nwith mlflow.start_run(run_name='sft-lr1e-4'):\n"
             "    mlflow.log_param('lr', 1e-4)\n"),
        Good("setup.py", "import mlflow\n\nwith mlflow.start_run() as run:\n    pass\n"
             "experiment = run.info.experiment_id\n",
             note="a run opened only to look up the experiment records nothing"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for call in project.facts(TrackerCall):
            if call.api == "mlflow.start_run" and call.complete and call.records and \
                    not {"run_name", "run_id"} & set(call.keywords):
                yield self.finding(call.location, "mlflow.start_run() without run_name: MLflow picks a random name, so "
                                   "reruns cannot be matched; pass run_name (e.g. built from the configuration)")
