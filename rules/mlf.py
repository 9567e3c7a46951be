"""MLF: MLflow tracking: artifact uploads, metric steps, nested and shared runs, registry stages, run names,
the tracking server a job reaches, concurrent promotions, the experiment runs land in.
(Where MLflow stores its runs is a question of the launch: ENV009, ENV010.)"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Iterator

from preflight import launches
from preflight.findings import Action, Finding, Fix, Related, Severity, Transform
from preflight.model import (
    ArtifactLog, CredentialKind, EntryKind, EnvWrite, Launch, Launcher, MlflowExperimentUse, RegistryPromotion,
    RegistryStageUri, Tracker, TrackerCall, TrackerUse, TrainingConfig,
)
from preflight.program import RUNS, Reach
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
    autofix = ("Puts a check before a directory upload that raises FileNotFoundError when the directory is missing "
               "(a libcst transform: comments and layout kept; `import errno`, `import os` added when missing).")
    fixes = ("unsafe",)
    fix_safety = (
        "Unsafe: it changes what a run does when the directory is missing, from finishing with no artifacts to "
        "failing with FileNotFoundError at the upload, which is the loud failure the finding asks for (mlflow "
        "3.18.0's stores walk the directory with os.walk, which yields nothing for a missing one: the local "
        "store through mlflow/utils/file_utils.py:754, S3 at mlflow/store/artifact/s3_artifact_repo.py:436). "
        "Creating the folder before the call is not offered: the upload would then be an empty "
        "folder, and the finding would go while the run still has no artifacts. Only for a directory upload "
        "that is a statement of its own (a check before `if x: upload(p)` would run when x is false) whose path "
        "is names, attributes and literals (read twice without effect). A file upload (log_artifact) gets no "
        "fix: it already raises FileNotFoundError, and a guard that skipped it would hide the missing file.")
    examples = [
        Bad("train.py", """import mlflow

with mlflow.start_run():
    train()
    mlflow.log_artifacts("outputs/plots")
""", expect="train.py:5:5", fixed="""import mlflow

with mlflow.start_run():
    train()
    mlflow.log_artifacts("outputs/plots")
""", unsafe_fixed="""import mlflow
import errno
import os

with mlflow.start_run():
    train()
    if not os.path.isdir("outputs/plots"):
        raise FileNotFoundError(errno.ENOENT, "no directory to upload", "outputs/plots")
    mlflow.log_artifacts("outputs/plots")
"""),
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
                    fix=_directory_check(log),
                )
            else:
                yield self.finding(
                    log.location,
                    f"{log.api}({log.path_text}) uploads a file this script never writes or checks: if it is "
                    "missing the upload raises FileNotFoundError at the end of training (in a `finally:` it "
                    "hides the real error); write it in this function or check os.path.exists() first",
                    severity=Severity.WARNING,
                )


def _directory_check(log: ArtifactLog) -> Fix | None:
    """A check before the upload that fails loudly when the directory is missing."""
    if log.path_code is None or not log.location.path.endswith(".py"):
        return None
    code = (f"if not os.path.isdir({log.path_code}):\n"
            f"    raise FileNotFoundError(errno.ENOENT, \"no directory to upload\", {log.path_code})\n")
    return Fix("raise FileNotFoundError when the directory is missing",
               (Transform(log.location, Action.INSERT_BEFORE, code=code, imports=("import errno", "import os")),),
               safe=False)


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
    autofix = ("Moves a stage to the alias of its name in lower case, as MLflow's migration from stages does: "
               "`client.transition_model_version_stage(name, version, \"Production\")` becomes "
               "`client.set_registered_model_alias(name, \"production\", version)`, and `models:/name/Production` "
               "becomes `models:/name@production` (libcst transforms: comments and layout kept).")
    fixes = ("unsafe",)
    fix_safety = (
        "Unsafe: stages and aliases are two records of the registry, and the fix moves one place of the project "
        "to the other. Until every promotion and every loader has moved, they disagree: a "
        "`models:/llm@production` loaded before anything set the alias raises MlflowException (mlflow 3.18.0 "
        "resolves it with get_model_version_by_alias, mlflow/store/artifact/utils/models.py:149-150), and a stage "
        "URI no longer sees a version promoted by alias. An alias names one version, so setting it moves it from "
        "the version it was on: what `archive_existing_versions=True` did, while without it several versions "
        "could stay in the stage. Only for the stages Production and Staging (the stage argument a literal, any "
        "case: mlflow's get_canonical_stage, entities/model_registry/model_version_stages.py:16-17) and a "
        "transition that is a statement of its own on one line (set_registered_model_alias returns None where "
        "the transition returned the ModelVersion); a URI only where the whole `models:/name/Stage` is in one "
        "plain string literal. No fix where the project admits an MLflow before 2.3, which has no aliases "
        "(set_registered_model_alias first appears in mlflow 2.3.0, mlflow/tracking/client.py:2913). "
        "get_latest_versions gets none: it returns a list where get_model_version_by_alias returns one version.")
    examples = [
        Bad("promote.py", "from mlflow import MlflowClient\n\nclient = MlflowClient()\n"
            "client.transition_model_version_stage('llm', 3, 'Production')\n", expect="promote.py:4:1",
            fixed="from mlflow import MlflowClient\n\nclient = MlflowClient()\n"
            "client.transition_model_version_stage('llm', 3, 'Production')\n",
            unsafe_fixed="from mlflow import MlflowClient\n\nclient = MlflowClient()\n"
            "client.set_registered_model_alias('llm', 'production', 3)\n"),
        Bad("serve.py", "import mlflow\n\nmodel = mlflow.pyfunc.load_model('models:/llm/Production')\n",
            expect="serve.py:3:35",
            fixed="import mlflow\n\nmodel = mlflow.pyfunc.load_model('models:/llm/Production')\n",
            unsafe_fixed="import mlflow\n\nmodel = mlflow.pyfunc.load_model('models:/llm@production')\n"),
        Bad("promote.py", "from mlflow import MlflowClient\n\nclient = MlflowClient()\n"
            "version = client.transition_model_version_stage('llm', 3, 'Production')\n", expect="promote.py:4:11",
            note="no fix: the ModelVersion it returns is used"),
        Good("promote.py", "from mlflow import MlflowClient\n\nclient = MlflowClient()\n"
             "client.set_registered_model_alias('llm', 'champion', 3)\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        mlflow = project.version("mlflow")
        if not mlflow.at_least("2.9"):
            return
        uses = [(c.location, c.api, c) for c in project.facts(TrackerCall) if c.api.startswith("MlflowClient.")]
        uses += [(uri.location, "a models:/name/<stage> URI", uri) for uri in project.facts(RegistryStageUri)]
        for location, what, use in uses:
            fix = None if mlflow.admits_below(ALIASES) or not location.path.endswith(".py") else _alias_fix(use)
            yield self.finding(location, f"{what} uses model registry stages, deprecated since MLflow 2.9 "
                               f"({mlflow.describe()}; concurrent promotions race); use aliases: "
                               "set_registered_model_alias and models:/name@alias", fix=fix)


ALIASES = "2.3"  # set_registered_model_alias and models:/name@alias (mlflow 2.3.0)
_ALIASED_STAGES = ("production", "staging")
_STAGE_URI = re.compile(r"(models:/[^/\s'\"]+)/(Production|Staging)")


def _alias_fix(call: TrackerCall | RegistryStageUri) -> Fix | None:
    """The stage URI or the stage transition rewritten to the alias named after the stage."""
    if isinstance(call, RegistryStageUri):
        return _alias_uri_fix(call)
    if call.api != "MlflowClient.transition_model_version_stage" or call.receiver_code is None:
        return None
    given = dict(call.arguments_code)
    order = ("name", "version", "stage", "archive_existing_versions")
    if set(given) - {*order, "0", "1", "2", "3"}:
        return None
    values = {key: given.get(key, given.get(str(index))) for index, key in enumerate(order)}
    if values["name"] is None or values["version"] is None or values["stage"] is None:
        return None
    stage = _string_literal(values["stage"])
    if stage is None or stage.lower() not in _ALIASED_STAGES:
        return None
    quote = values["stage"][0]
    code = (f"{call.receiver_code}.set_registered_model_alias({values['name']}, {quote}{stage.lower()}{quote}, "
            f"{values['version']})")
    return Fix(f"set the alias {stage.lower()!r} instead of the stage",
               (Transform(call.location, Action.REPLACE, code=code),), safe=False)


def _alias_uri_fix(uri: RegistryStageUri) -> Fix | None:
    match = _STAGE_URI.fullmatch(uri.uri)
    if match is None:
        return None
    alias = f"{match.group(1)}@{match.group(2).lower()}"
    return Fix("use the alias URI", (Transform(uri.location, Action.REPLACE_IN_STRING, match.group(), alias),),
               safe=False)


def _string_literal(code: str) -> str | None:
    """The value of a plain one-quoted string literal (no prefix, no escapes)."""
    if len(code) >= 2 and code[0] == code[-1] and code[0] in "'\"" and "\\" not in code \
            and code[0] not in code[1:-1]:
        return code[1:-1]
    return None


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


_LOCALHOST = re.compile(r"^\s*https?://(?:localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|\[::1\])(?::\d+)?(?:[/?#]|\s*$)",
                        re.IGNORECASE)
_ISOLATED = {Launcher.GITHUB_ACTIONS: "CI job", Launcher.COMPOSE: "container", Launcher.KUBERNETES: "pod"}
_IMAGE_ENTRYPOINT = {  # a service without command: runs the image's ENTRYPOINT, a script that runs train.py
    "docker-compose.yml": "services:\n  train:\n    build: .\n    environment:\n"
                          "      MLFLOW_TRACKING_URI: http://localhost:5000\n",
    "Dockerfile": "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nENTRYPOINT [\"./entrypoint.sh\"]\n",
    "entrypoint.sh": "#!/bin/sh\nset -e\nexec python train.py \"$@\"\n",
}
_SERVED = ("import mlflow\n\nmlflow.set_experiment('sft')\nwith mlflow.start_run(run_name='sft'):\n"
           "    mlflow.log_metric('loss', 0.1, step=1)\n")
_COMPOSE_LOCALHOST = ("services:\n  train:\n    build: .\n    entrypoint: [python, train.py]\n    environment:\n"
                      "      MLFLOW_TRACKING_URI: http://localhost:5000\n")
_GHA_LOCALHOST = ("on: push\njobs:\n  train:\n    runs-on: ubuntu-latest\n    env:\n"
                  "      MLFLOW_TRACKING_URI: http://127.0.0.1:5000\n    steps:\n      - uses: actions/checkout@v4\n"
                  "      - run: python train.py\n")


class TrackingServerOnLocalhost(Rule):
    code = "MLF007"
    name = "tracking-server-on-localhost"
    severity = Severity.ERROR
    summary = "A localhost MLflow tracking URI in a container, pod or CI job where no server listens"
    why = (
        "`http://localhost:5000` is where `mlflow ui` / `mlflow server` listens on the machine that started it. "
        "A container, a pod and a CI job each have a localhost of their own: with no server there, every "
        "tracking call is refused, retried with backoff (mlflow 3.17.2 `environment_variables.py:233-246`: "
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES=7, backoff factor 2; about four minutes, measured), then raises "
        "`MlflowException: API request to http://localhost:5000/api/2.0/mlflow/runs/create failed with exception "
        "HTTPConnectionPool(host='localhost', port=5000): Max retries exceeded ... [Errno 111] Connection refused` "
        "(`utils/rest_utils.py:321`). Point the URI at the server's address (a compose service name such as "
        "`http://mlflow:5000`, a Kubernetes Service, a URL kept in a secret). Reported for a compose service, a "
        "Kubernetes container or a GitHub Actions step that runs a Python program using MLflow (in code that "
        "runs for it) with a localhost URI from the launcher's environment or the program's own "
        "`set_tracking_uri`/`os.environ`, and only where nothing else may listen on that localhost: not with "
        "`network_mode: host` or `service:x`, not in a pod with other containers (a sidecar) or "
        "`hostNetwork: true`, not where the command or an earlier step starts a server (`mlflow server`, "
        "`mlflow ui`, `docker run`, `docker compose up`, a port forward), not for a job on the runner with "
        "`services:` (GitHub maps their ports to the runner's localhost; a job in a `container:` reaches them by "
        "name, so there localhost is still reported), not on a self-hosted runner, and not for a compose "
        "service or Kubernetes container that replaces its image's command but keeps its entrypoint (it may "
        "start a server first). A compose service with neither `command:` nor `entrypoint:` runs its image's "
        "`ENTRYPOINT`/`CMD`, read from the Dockerfile it builds when that is in the tree, and a shell script the "
        "image (or any launcher) runs is followed to the Python programs it starts, unless the script starts a "
        "server or a container itself."
    )
    examples = [
        Bad("train.py", _SERVED, expect="docker-compose.yml:6:7", files={"docker-compose.yml": _COMPOSE_LOCALHOST}),
        Good("train.py", _SERVED, files={"docker-compose.yml": _COMPOSE_LOCALHOST.replace(
            "http://localhost:5000", "http://mlflow:5000") + "  mlflow:\n    image: ghcr.io/mlflow/mlflow\n"
            "    command: mlflow server --host 0.0.0.0\n"}),
        Good("train.py", _SERVED, files={"docker-compose.yml": _COMPOSE_LOCALHOST + "    network_mode: host\n"},
             note="the host's network: a server started there is on localhost"),
        Bad("train.py", _SERVED, expect=".github/workflows/train.yml:6:7",
            files={".github/workflows/train.yml": _GHA_LOCALHOST}),
        Good("train.py", _SERVED, files={".github/workflows/train.yml": _GHA_LOCALHOST.replace(
            "      - run: python train.py\n", "      - run: mlflow server --port 5000 &\n"
            "      - run: python train.py\n")}, note="an earlier step starts the server"),
        Good("train.py", _SERVED, files={".github/workflows/train.yml": _GHA_LOCALHOST.replace(
            "    steps:\n", "    services:\n      mlflow:\n        image: ghcr.io/mlflow/mlflow\n"
            "        ports: ['5000:5000']\n    steps:\n")},
             note="a service container of a job on the runner listens on its localhost"),
        Good("train.py", _SERVED, files={".github/workflows/train.yml": _GHA_LOCALHOST.replace(
            "ubuntu-latest", "[self-hosted, gpu]")}, note="a self-hosted runner may run the server itself"),
        Bad("train.py", _SERVED, expect="docker-compose.yml:5:7", files=_IMAGE_ENTRYPOINT,
            note="the image's entrypoint script runs the program"),
        Good("train.py", _SERVED, files={**_IMAGE_ENTRYPOINT, "entrypoint.sh": _IMAGE_ENTRYPOINT[
            "entrypoint.sh"].replace("set -e\n", "set -e\nmlflow server --host 0.0.0.0 --port 5000 &\n")},
             note="the entrypoint script starts the server in the container"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        seen = set()
        for launch in project.launches():
            what = _ISOLATED.get(launch.launcher)
            if what is None or launch.localhost_shared is not None or launch.boundary is not None:
                continue
            for program in _programs_run(project, launch):
                found = self._localhost(project, program)
                if found is None or found[0] in seen:
                    continue
                where, uri, script = found
                seen.add(where)
                related = [Related(launch.location, f"runs in a {what}: {launch.label}")]
                if program is not launch:
                    related.append(Related(program.location, f"{program.label} runs {script}"))
                yield self.finding(where, f"MLflow tracking URI {uri.strip()} is the {what}'s own localhost, where "
                                   f"no tracking server listens ({launch.label} runs {script}): every tracking call "
                                   "is refused and retried for minutes, then raises MlflowException \"Max retries "
                                   "exceeded ... Connection refused\"; use the server's address (a service name, a "
                                   "URL from a secret)", related=related)

    @staticmethod
    def _localhost(project: Project, launch: Launch) -> tuple | None:
        """(where, the localhost URI, the script) when the Python program a launch runs talks to MLflow on a
        localhost URI, in code that runs for it."""
        script = project.entry(launch).script
        if script is None:
            return None
        programs = project.programs
        reach = programs.reach(script, launches.arguments(project, launch))
        modules = programs.loaded_modules(script)
        if not _uses_mlflow(project, modules, reach):
            return None
        writes = [(p, w) for p in modules for w in project.facts_in(p, EnvWrite) if w.name == "MLFLOW_TRACKING_URI"]
        binding = launch.env_map().get("MLFLOW_TRACKING_URI")
        if writes:
            if binding is not None or any(c.kind in (CredentialKind.ENV_FILE, CredentialKind.ENV_FROM)
                                          for c in launch.credentials):
                return None  # the code may only set a default (`os.environ.setdefault`) under the launcher's
            statuses = [reach.of(p, w.site) for p, w in writes]
            if not all(w.value.known and isinstance(w.value.literal, str) and _LOCALHOST.match(w.value.literal)
                       for _, w in writes) or RUNS not in statuses:
                return None
            return writes[0][1].location, writes[0][1].value.literal, script
        if binding is not None and not binding.reference and binding.value and _LOCALHOST.match(binding.value):
            return binding.location, binding.value, script
        return None


def _programs_run(project: Project, launch: Launch, depth: int = 0) -> list[Launch]:
    """The Python programs a launch runs in its container, job or pod: its own command, or the commands of the
    shell script it runs (an image's `ENTRYPOINT ["./entrypoint.sh"]`), each with the launch's environment under
    the script's, when the script starts no server of its own (`mlflow server &`) and runs them in the same
    network namespace (no `docker run` inside)."""
    if launch.entry.kind in (EntryKind.PYTHON_SCRIPT, EntryKind.PYTHON_MODULE):
        return [launch]
    script = project.entry(launch).script if launch.entry.kind is EntryKind.SHELL_SCRIPT else None
    if script is None or depth >= 2:
        return []
    found = []
    for inner in project.facts_in(script, Launch):
        if not inner.inherits_env or inner.boundary is not None or inner.localhost_shared is not None:
            continue
        inner = dataclasses.replace(inner, env=(*launch.env, *inner.env),
                                    credentials=(*launch.credentials, *inner.credentials))
        found += _programs_run(project, inner, depth + 1)
    return found


def _uses_mlflow(project: Project, modules: list[str], reach: Reach) -> bool:
    """The program talks to the tracking server in code that runs: an MLflow call, or a Trainer reporting to
    MLflow (its callback reads MLFLOW_TRACKING_URI)."""
    for path in modules:
        for use in project.facts_in(path, TrackerUse):
            if use.tracker is Tracker.MLFLOW and reach.of(path, use.site) == RUNS:
                return True
        for config in project.facts_in(path, TrainingConfig):
            if config.reports_to("mlflow") and reach.of(path, config.site) == RUNS:
                return True
    return False


_PROMOTE = ("from mlflow import MlflowClient\n\nclient = MlflowClient()\n"
            "client.set_registered_model_alias('llm', 'champion', latest_version())\n")
_PROMOTE_WORKFLOW = ("on:\n  push:\n    branches: [main]\njobs:\n  promote:\n    runs-on: ubuntu-latest\n"
                     "    steps:\n      - uses: actions/checkout@v4\n      - run: python promote.py\n")


class PromotionWithoutConcurrency(Rule):
    code = "MLF008"
    name = "promotion-without-concurrency"
    severity = Severity.WARNING
    summary = "A CI job promotes MLflow registry versions with no concurrency group"
    why = (
        "Two runs of a workflow (two pushes in a row, a schedule that overlaps the previous run) promote at the "
        "same time. The registry has no lock for it: `set_registered_model_alias` is a plain upsert, so the "
        "alias ends on whichever job wrote last, not on the newest or best version (mlflow 3.17.2 "
        "`store/model_registry/sqlalchemy_store.py:1527-1537`, `session.merge`); `transition_model_version_stage"
        "(..., archive_existing_versions=True)` reads the versions in the stage and archives them in its own "
        "transaction (l.1218-1236), so two concurrent transitions each miss the other's and leave two versions "
        "in Production. Nothing fails: the deployment serves a model no one chose. Give the job or the workflow "
        "a `concurrency:` group (e.g. `concurrency: {group: promote-${{ github.ref }}, cancel-in-progress: "
        "false}`), so that promotions queue. Reported for a GitHub Actions step that runs a Python script whose "
        "code calls one of them (in the script or a module it loads, in code that runs for that step), in a "
        "workflow started by its own events; not for a reusable workflow (`on: workflow_call` only: its caller "
        "decides)."
    )
    examples = [
        Bad("promote.py", _PROMOTE, expect=".github/workflows/promote.yml:9:14",
            files={".github/workflows/promote.yml": _PROMOTE_WORKFLOW}),
        Good("promote.py", _PROMOTE, files={".github/workflows/promote.yml": _PROMOTE_WORKFLOW.replace(
            "jobs:\n", "concurrency:\n  group: promote\n  cancel-in-progress: false\njobs:\n")}),
        Good("promote.py", "import argparse\nfrom mlflow import MlflowClient\n\ndef main():\n"
             "    parser = argparse.ArgumentParser()\n    parser.add_argument('--promote', action='store_true')\n"
             "    args = parser.parse_args()\n    if args.promote:\n"
             "        MlflowClient().set_registered_model_alias('llm', 'champion', 3)\n\nmain()\n",
             files={".github/workflows/promote.yml": _PROMOTE_WORKFLOW},
             note="the promotion does not run for this step (no --promote)"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        seen = set()
        for launch in project.launches():
            if launch.launcher is not Launcher.GITHUB_ACTIONS or launch.concurrency or launch.location in seen:
                continue
            if not set(launch.triggers) - {"workflow_call"}:
                continue  # a reusable workflow: the caller's concurrency applies
            promotion = next(iter(_running_promotions(project, launch)), None)
            if promotion is None:
                continue
            seen.add(launch.location)
            yield self.finding(launch.location, f"{launch.label} runs {promotion.api} "
                               f"({promotion.location.path}:{promotion.location.line}) with no `concurrency:` group "
                               "on the job or workflow: two runs can promote at once and the registry ends on "
                               "whichever wrote last; add `concurrency: {group: promote, cancel-in-progress: false}`",
                               related=[Related(promotion.location, f"the promotion: {promotion.api}")])


def _running_promotions(project: Project, launch: Launch, depth: int = 0) -> list[RegistryPromotion]:
    """The registry promotions of the Python program a launch runs, in code that runs for it (a shell
    script it runs counts through its own launches)."""
    script = project.entry(launch).script
    if script is None:
        return []
    if launch.entry.kind is EntryKind.SHELL_SCRIPT:
        return [p for inner in (project.facts_in(script, Launch) if depth < 3 else [])
                for p in _running_promotions(project, inner, depth + 1)]
    if launch.entry.kind not in (EntryKind.PYTHON_SCRIPT, EntryKind.PYTHON_MODULE):
        return []
    programs = project.programs
    reach = programs.reach(script, launches.arguments(project, launch))
    return [p for path in programs.loaded_modules(script) for p in project.facts_in(path, RegistryPromotion)
            if reach.of(path, p.site) == RUNS]


_EXPERIMENT_VARIABLES = ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID")
_TRAIN = "import mlflow\n\nwith mlflow.start_run(run_name='sft-lr1e-4'):\n    mlflow.log_metric('loss', 0.1, step=1)\n"


class DefaultExperiment(Rule):
    code = "MLF009"
    name = "default-experiment"
    severity = Severity.INFO
    skips_test_code = True  # the consequence is an experiment record
    summary = "MLflow runs started with no experiment named anywhere: they land in \"Default\""
    why = (
        "A run goes to the experiment `mlflow.set_experiment` chose, else the one `MLFLOW_EXPERIMENT_NAME` / "
        "`MLFLOW_EXPERIMENT_ID` name, else the default experiment (mlflow 3.17.2 `tracking/fluent.py:3609-3613` "
        "`_get_experiment_id`, `start_run` at l.650; `tracking/default_experiment/registry.py:74` returns "
        "`DEFAULT_EXPERIMENT_ID = \"0\"`, named \"Default\"). Every project that forgets it files its runs "
        "together there: comparisons, searches and permissions per experiment stop working. Call "
        "`mlflow.set_experiment(\"<project>\")` before the first run (or set MLFLOW_EXPERIMENT_NAME where the "
        "job is launched). Reported for `mlflow.start_run()` and `mlflow.autolog()` / `mlflow.<flavor>.autolog()` "
        "in a program (module-level code, a `__main__` block, a notebook) only when no experiment comes from any "
        "source: no `set_experiment`, `start_run(experiment_id=)`, `create_run` or `mlflow.run(experiment_name=)` "
        "in the module, the project modules it imports or the modules that import it, and no "
        "MLFLOW_EXPERIMENT_NAME, MLFLOW_EXPERIMENT_ID or MLFLOW_RUN_ID set anywhere in the project. Not reported: "
        "a run resumed by `run_id`, a Databricks notebook source or a `databricks` tracking URI (its runs go to "
        "the notebook's or job's experiment), and a script of an MLflow Project (an `MLproject` file beside it "
        "or above it: `mlflow run --experiment-name` chooses)."
    )
    examples = [
        Bad("train.py", _TRAIN, expect="train.py:3:6"),
        Good("train.py", "import mlflow\n\nmlflow.set_experiment('llm-sft')\n" + _TRAIN.split("\n", 2)[2]),
        Good("train.py", _TRAIN, files={"docker-compose.yml": "services:\n  train:\n    build: .\n"
                                      "    command: python train.py\n    environment:\n"
                                      "      MLFLOW_EXPERIMENT_NAME: llm-sft\n"},
             note="the launcher names the experiment"),
        Bad("train.py", "import mlflow\nfrom sklearn.ensemble import RandomForestRegressor\n\n"
            "mlflow.sklearn.autolog()\nRandomForestRegressor(random_state=0).fit(X, y)\n", expect="train.py:4:1",
            note="autologging starts the run in the current experiment"),
        Good("train.py", "import mlflow\nfrom experiment import configure\n\nconfigure()\n" + _TRAIN.split("\n", 2)[2],
             files={"experiment.py": "import mlflow\n\ndef configure():\n    mlflow.set_experiment('llm-sft')\n"},
             note="a project module it imports sets the experiment"),
        Good("tracking.py", "import mlflow\n\ndef log_run(metrics):\n    with mlflow.start_run():\n"
             "        mlflow.log_metrics(metrics)\n",
             note="a helper of a library: whoever calls it chooses the experiment"),
        Good("train.py", _TRAIN, files={"MLproject": "name: sft\nentry_points:\n  main:\n"
                                      "    command: python train.py\n"},
             note="an MLflow Project's script: `mlflow run --experiment-name` chooses"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        if any(True for variable in _EXPERIMENT_VARIABLES for _ in project.env_settings(variable)):
            return  # an experiment (or a run to resume) is given from outside the code
        if any(value is None or value.strip().lower().startswith("databricks")
               for _, value, _ in project.env_settings("MLFLOW_TRACKING_URI")):
            return
        importers = _importers(project)
        for path in list(project.files):
            starts = [u for u in project.facts_in(path, MlflowExperimentUse) if not u.chooses and u.program]
            if not starts or _databricks_notebook(project, path) or _in_mlflow_project(project, path):
                continue
            program = {path, *project.imported_files(path), *importers.get(path, ())}
            if any(u.chooses for p in program for u in project.facts_in(p, MlflowExperimentUse)):
                continue
            if any(w.name in _EXPERIMENT_VARIABLES for p in program for w in project.facts_in(p, EnvWrite)):
                continue
            first = min(starts, key=lambda u: (u.location.line, u.location.column))
            yield self.finding(first.location, f"{first.api}() starts a run, but no experiment is named anywhere "
                               "(no mlflow.set_experiment, experiment_id= or MLFLOW_EXPERIMENT_NAME): it lands in "
                               "the \"Default\" experiment with every other unfiled run; call "
                               "mlflow.set_experiment(\"<project>\") before it")


def _importers(project: Project) -> dict[str, list[str]]:
    """Each scanned module and the scanned modules that import it (directly or through others)."""
    found: dict[str, list[str]] = {}
    for path in list(project.files):
        if not project.facts_in(path, MlflowExperimentUse):
            continue  # only where an experiment is chosen or a run starts does it matter
        for imported in project.imported_files(path):
            found.setdefault(imported, []).append(path)
    return found


def _databricks_notebook(project: Project, path: str) -> bool:
    """A notebook exported by Databricks: its runs go to the notebook's own experiment (mlflow's
    DatabricksNotebookExperimentProvider, `tracking/default_experiment/databricks_notebook_experiment_provider.py`)."""
    return (project.read_bytes(path) or b"").lstrip(b"\xef\xbb\xbf").startswith(b"# Databricks notebook source")


def _in_mlflow_project(project: Project, path: str) -> bool:
    """An `MLproject` file in the script's folder or one above it, up to the scanned root."""
    folder = posixpath.dirname(path)
    while True:
        if project.read_bytes(posixpath.join(folder, "MLproject") if folder else "MLproject") is not None:
            return True
        if not folder or folder in (".", "/"):
            return False
        folder = posixpath.dirname(folder)
