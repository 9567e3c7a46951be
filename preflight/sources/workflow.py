"""GitHub Actions workflows: which step runs which entry point, with which environment and credentials."""

from __future__ import annotations

import posixpath
import re

from preflight.model import Credential, EnvBinding, Fact
from preflight.sources import yamltree as y
from preflight.sources.launching import LaunchContext, ScalarLocator, binding, launches_from_script
from preflight.sources.text import SourceText

_GITHUB_ENV_WRITE = re.compile(r"""(?:echo|printf)\s+(?:-[a-zA-Z]+\s+)*["']?([A-Za-z_][A-Za-z0-9_]*)(?:=|<<)""")
_NON_SHELLS = {"python", "pwsh", "powershell", "cmd"}


def repository_root(path: str) -> str:
    """The directory that holds `.github/` (paths in `run:` resolve against the checkout)."""
    parts = path.split("/")
    if ".github" in parts:
        index = len(parts) - 1 - parts[::-1].index(".github")
        return "/".join(parts[:index]) or "."
    return posixpath.dirname(path) or "."


def _env(source: SourceText, node, origin: str) -> list[EnvBinding]:
    result = []
    for name, key_node, value_node in y.items(node):
        text = y.scalar_text(value_node)
        location = y.location(source, key_node)
        if isinstance(value_node, y.ScalarNode):
            result.append(binding(name, text or "", location, origin))
        else:
            result.append(EnvBinding(name, location, origin, None, reference=True))
    return result


def _working_directory(node) -> str | None:
    return y.scalar_text(y.get(y.get(y.get(node, "defaults"), "run"), "working-directory"))


def extract(source: SourceText, documents: list) -> list[Fact]:
    facts: list[Fact] = []
    for document in documents:
        root_dir = repository_root(source.path)
        workflow_env = _env(source, y.get(document, "env"), "workflow env")
        workflow_dir = _working_directory(document)
        for job_id, job_key, job in y.items(y.get(document, "jobs")):
            facts.extend(_job(source, job_id, job, root_dir, workflow_env, workflow_dir))
    return facts


def _job(source: SourceText, job_id: str, job, root_dir: str, workflow_env, workflow_dir) -> list[Fact]:
    facts: list[Fact] = []
    env = [*workflow_env, *_env(source, y.get(job, "env"), f"job '{job_id}' env")]
    container = y.get(job, "container")
    env += _env(source, y.get(container, "env"), f"job '{job_id}' container env")
    job_dir = _working_directory(job) or workflow_dir
    github_env: list[EnvBinding] = []
    credentials: list[Credential] = []
    default_shell = y.scalar_text(y.get(y.get(y.get(job, "defaults"), "run"), "shell"))
    for index, step in enumerate(y.sequence(y.get(job, "steps")), start=1):
        run_node = y.get(step, "run")
        script = y.scalar_text(run_node)
        if script is None:
            continue
        shell_name = (y.scalar_text(y.get(step, "shell")) or default_shell or "bash").split()[0]
        if shell_name in _NON_SHELLS:
            continue
        step_name = y.scalar_text(y.get(step, "name")) or y.scalar_text(y.get(step, "id")) or f"#{index}"
        step_dir = y.scalar_text(y.get(step, "working-directory")) or job_dir
        base_dir = root_dir
        if step_dir and "${{" not in step_dir:
            base_dir = posixpath.normpath(posixpath.join(root_dir, step_dir))
        context = LaunchContext(
            launcher="GitHub Actions",
            label=f"job '{job_id}', step '{step_name}'",
            base_dir=base_dir,
            env=[*env, *github_env, *_env(source, y.get(step, "env"), f"step '{step_name}' env")],
            credentials=list(credentials),
        )
        launches, left_behind = launches_from_script(script, context, ScalarLocator(source, run_node, script))
        facts.extend(launches)
        credentials.extend(left_behind)
        if "GITHUB_ENV" in script:
            location = y.location(source, run_node)
            for name in _GITHUB_ENV_WRITE.findall(script):
                github_env.append(EnvBinding(name, location, f"$GITHUB_ENV write in step '{step_name}'",
                                             None, reference=True))
    return facts
