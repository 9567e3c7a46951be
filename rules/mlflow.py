"""MLflow tracking."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import ArtifactLog
from preflight.project import Project
from preflight.rule import Bad, Good, Rule


class UncheckedArtifactPath(Rule):
    code = "MLF001"
    name = "unchecked-artifact-path"
    severity = Severity.ERROR
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
            if not log.path_static or log.evidence is not None:
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
