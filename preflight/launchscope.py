"""Which static findings concern the command `preflight run` is about to start.

`preflight run -- CMD` checks its targets in the context of their whole project, so the check also sees
findings about other launchers of the same script: a workflow step that runs train.py without the key is
a fact about that workflow, not about this job, whose environment is checked live. A launch is stopped
only by what this command runs: the script (or the shell script and what it launches in turn), the
project modules it imports, the configuration files on its command line and those its code reads by a
literal path. A finding counts when it is located in one of those files and involves no other launcher
(a workflow, compose file, sweep or shell script this command does not run), even as a related place.
"""

from __future__ import annotations

import posixpath

from preflight.findings import Finding
from preflight.model import ConfigLoader, Launch, SweepSpec
from preflight.project import Project

_HOPS = 4  # a shell script that runs a shell script that runs train.py
_MAX_FILES = 2000


def files(project: Project, launch: Launch) -> set[str]:
    """The project files the launch runs or reads, as the project names them."""
    found: set[str] = set()
    frontier = [launch]
    for _ in range(_HOPS):
        nested: list[Launch] = []
        for current in frontier:
            resolved = project.entry(current)
            for path in (resolved.script, resolved.config):
                if not path or path in found:
                    continue
                for file in _program(project, path):
                    if file not in found and len(found) < _MAX_FILES:
                        found.add(file)
                        nested += [inner for inner in project.launches() if inner.location.path == file]
        frontier = nested
    return found


def _program(project: Project, path: str) -> list[str]:
    """`path` with the modules it loads (a Python entry point) and the files those read by a literal path."""
    if not path.endswith(".py"):
        return [path]
    modules = project.programs.loaded_modules(path)
    read = []
    for module in modules:
        for loader in project.facts_in(module, ConfigLoader):
            if not loader.from_command_line and loader.path and "$" not in loader.path:
                base = posixpath.dirname(module) or "."  # beside the module, else from the top (as link does)
                target = project.resolve(base, loader.path) or project.resolve(".", loader.path)
                if target:
                    read.append(target)
    return [*modules, *read]


def launcher_files(project: Project) -> set[str]:
    """Every file that starts a program: launchers (workflows, compose, shell, Slurm, Kubernetes, ...) and sweeps."""
    return {launch.location.path for launch in project.launches()} | {
        spec.location.path for spec in project.facts(SweepSpec)}


def split(findings: list[Finding], project: Project, launch: Launch) -> tuple[list[Finding], list[Finding]]:
    """(the findings that concern this launch, the others)."""
    scope = files(project, launch)
    others = launcher_files(project) - scope
    mine, elsewhere = [], []
    for finding in findings:
        concerns = finding.location.path in scope and not (finding.paths() & others)
        (mine if concerns else elsewhere).append(finding)
    return mine, elsewhere
