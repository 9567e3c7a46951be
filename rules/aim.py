"""AIM: Aim runs that write their repository where a container throws it away."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import AimRun
from preflight.project import Project
from preflight.rule import Bad, Good, Rule

_COMPOSE = "services:\n  train:\n    build: .\n    command: python train.py\n"


class AimRepoInContainer(Rule):
    code = "AIM001"
    name = "aim-repo-in-container"
    severity = Severity.WARNING
    summary = "An Aim run with the default local repository, launched in a container without a volume"
    why = (
        "Aim writes a run to its repository: `repo=`, else `__AIM_REPO_NAME__`, else `.aim` in the working "
        "directory. In a container started without a volume that folder lives in the container's writable layer "
        "and disappears with it: the job ends green and its metrics are gone. Point `repo=` at a mounted path or "
        "an Aim server (`aim://host:53800`), or mount a volume over the working directory."
    )
    examples = [
        Bad("train.py", "from aim import Run\n\nrun = Run(experiment='sft')\nrun.track(0.5, name='loss')\n",
            expect="train.py:3:7", files={"docker-compose.yml": _COMPOSE}),
        Good("train.py", "from aim import Run\n\nrun = Run(repo='aim://aim-server:53800', experiment='sft')\n",
             files={"docker-compose.yml": _COMPOSE}),
        Good("train.py", "from aim import Run\n\nrun = Run(experiment='sft')\n",
             files={"docker-compose.yml": _COMPOSE + "    volumes:\n      - ./runs:/app\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        reported = set()
        for launch in project.launches():
            volumes = project.container_volumes(launch)
            if volumes is None or volumes or any(b.name == "__AIM_REPO_NAME__" for b in launch.env):
                continue
            script = project.entry(launch).script
            files = [script, *project.imported_files(script)] if script else []
            for path in files:
                for run in project.facts_in(path, AimRun):
                    if run.location in reported or not run.complete or not _default_repo(run):
                        continue
                    reported.add(run.location)
                    yield self.finding(run.location, f"{run.api}() writes to the default repository `.aim` in the "
                                       f"working directory, and {launch.label} ({launch.location.path}:"
                                       f"{launch.location.line}) runs it in a container without a volume: the runs "
                                       "are lost with the container; pass repo= a mounted path or aim:// server, or "
                                       "mount a volume")


def _default_repo(run: AimRun) -> bool:
    return run.repo is None or (run.repo.known and run.repo.literal is None)
