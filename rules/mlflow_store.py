"""Where MLflow writes: the default local store in a container, the file store newer MLflow refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import EnvWrite, TrackerUse, TrainingConfig
from preflight.project import Project
from preflight.rule import Bad, Good, Rule

_TRUE = {"1", "true", "yes", "on"}
_FILE_STORE = re.compile(r"^(file:|\./|\.\./|~|/(?!/)|mlruns\b)")
_LOGS = "import mlflow\n\nwith mlflow.start_run(run_name='sft'):\n    mlflow.log_metric('loss', 0.1, step=1)\n"


def uses_mlflow(project: Project, files: list[str]) -> bool:
    """One of the files (a script and the modules it imports) writes to MLflow, or its Trainer reports to it."""
    for current in files:
        if any(u.tracker == "mlflow" for u in project.facts_in(current, TrackerUse)):
            return True
        if any(c.reports_to("mlflow") for c in project.facts_in(current, TrainingConfig)):
            return True
    return False


class MlflowStoreInContainer(Rule):
    code = "ENV009"
    name = "mlflow-store-in-container"
    severity = Severity.WARNING
    summary = "MLflow logs to its default local store inside a container without a volume"
    why = (
        "Without MLFLOW_TRACKING_URI or `mlflow.set_tracking_uri`, MLflow writes runs to the working directory: "
        "`sqlite:///mlflow.db` since 3.7, `./mlruns` before. In a container started without a volume that store "
        "lives in the container's writable layer and is deleted with it: the job ends green and its runs, "
        "metrics and artifacts are gone. Point MLFLOW_TRACKING_URI at a tracking server (or a mounted path), "
        "or mount a volume."
    )
    examples = [
        Bad("train.py", _LOGS, expect="docker-compose.yml:4:14",
            files={"docker-compose.yml": "services:\n  train:\n    build: .\n    command: python train.py\n"}),
        Good("train.py", _LOGS, files={"docker-compose.yml": "services:\n  train:\n    build: .\n"
                                      "    command: python train.py\n    environment:\n"
                                      "      MLFLOW_TRACKING_URI: http://mlflow:5000\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        mlflow = project.version("mlflow")
        store = "sqlite:///mlflow.db" if mlflow.at_least("3.7") else "./mlruns"
        for launch in project.launches():
            if project.container_volumes(launch) != ():
                continue
            if any(b.name == "MLFLOW_TRACKING_URI" for b in launch.env):
                continue
            resolved = project.entry(launch)
            if not resolved.script:
                continue
            files = [resolved.script, *project.imported_files(resolved.script)]
            sets_uri = any(w.name == "MLFLOW_TRACKING_URI" for f in files for w in project.facts_in(f, EnvWrite))
            if sets_uri or not uses_mlflow(project, files):
                continue
            yield self.finding(launch.location, f"{launch.label} runs {resolved.script}, which logs to MLflow without "
                               f"a tracking URI: {mlflow.describe()} writes {store} in the container's working "
                               "directory, deleted with the container; set MLFLOW_TRACKING_URI to a tracking "
                               "server or mount a volume")


class MlflowFileStore(Rule):
    code = "ENV010"
    name = "mlflow-file-store"
    severity = Severity.ERROR
    summary = "A file-system MLflow tracking URI, which MLflow 3.13+ refuses"
    why = (
        "Since MLflow 3.13 the file-system tracking backend (`./mlruns`, `file:///...`, a plain path) is in "
        "maintenance mode: unless MLFLOW_ALLOW_FILE_STORE=true, the first tracking call raises \"The filesystem "
        "tracking backend (e.g., './mlruns') is in maintenance mode and will not receive further updates\". Use "
        "`sqlite:///mlflow.db` or a tracking server, or set MLFLOW_ALLOW_FILE_STORE=true knowingly. The MLflow "
        "version comes from [tool.preflight.versions] or the project's pins."
    )
    examples = [
        Bad("train.py", "import mlflow\n\nmlflow.set_tracking_uri('file:./mlruns')\n", expect="train.py:3:1"),
        Good("train.py", "import mlflow\n\nmlflow.set_tracking_uri('sqlite:///mlflow.db')\n"),
        Good("train.py", "import mlflow\n\nmlflow.set_tracking_uri('file:./mlruns')\n",
             files={"requirements.txt": "mlflow==3.12.0\n"}, note="before 3.13 the file store still works"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        mlflow = project.version("mlflow")
        if not mlflow.at_least("3.13"):
            return
        if any(value and value.strip().lower() in _TRUE
               for _, value, _ in project.env_settings("MLFLOW_ALLOW_FILE_STORE")):
            return
        for location, value, _ in project.env_settings("MLFLOW_TRACKING_URI"):
            if value is None or not _FILE_STORE.match(value.strip()):
                continue
            yield self.finding(location, f"MLFLOW_TRACKING_URI {value.strip()!r} is a file store, which "
                               f"{mlflow.describe()} refuses: the first tracking call raises \"The filesystem "
                               "tracking backend is in maintenance mode\"; use sqlite:///mlflow.db or a tracking "
                               "server (or set MLFLOW_ALLOW_FILE_STORE=true)")
