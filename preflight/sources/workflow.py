"""GitHub Actions workflows: which step runs which entry point, with which environment and credentials."""

from __future__ import annotations

import posixpath
import re

from preflight.model import (
    Credential, EnvBinding, EnvDeclaration, Fact, Launcher, ParseError, ParseProblem, SecretsPassed, WorkflowCall,
)
from preflight.sources import envslot
from preflight.sources import yamltree as y
from preflight.sources.launching import LaunchContext, ScalarLocator, binding, launches_from_script, local_server
from preflight.sources.text import SourceText
from preflight.paths import repository_root

LAUNCHER = Launcher.GITHUB_ACTIONS
_GITHUB_ENV_WRITE = re.compile(r"""(?:echo|printf)\s+(?:-[a-zA-Z]+\s+)*["']?([A-Za-z_][A-Za-z0-9_]*)(?:=|<<)""")
_NON_SHELLS = {"python", "pwsh", "powershell", "cmd"}
_JOB_BUDGET = 1_000_000  # real jobs: tens of steps, tens of variables
# `if:` conditions that keep a job or step from running for pull requests from forks
_FORK_GATE = re.compile(
    r"head\.repo\.fork\s*==\s*false|!\s*github\.event\.pull_request\.head\.repo\.fork"
    r"|head\.repo\.full_name\s*==\s*github\.repository|github\.repository\s*==\s*github\.event\.pull_request\.head"
    r"\.repo\.full_name|github\.event_name\s*!=\s*'pull_request'|github\.event_name\s*==\s*'push'"
)


def _env(source: SourceText, node, origin: str) -> list[EnvBinding]:
    result = []
    for name, key_node, value_node in y.items(node):
        location = y.location(source, key_node)
        if isinstance(value_node, y.ScalarNode):
            result.append(binding(name, y.scalar_text(value_node) or "", location, origin))
        else:
            result.append(EnvBinding(name, location, origin, None, reference=True))
    return result


def _working_directory(node) -> str | None:
    return y.scalar_text(y.get(y.get(y.get(node, "defaults"), "run"), "working-directory"))


def triggers(document) -> tuple[str, ...]:
    node = y.get(document, "on")
    if node is None:  # `on:` read as a YAML 1.1 boolean key is still the scalar text "on"
        node = next((v for k, _, v in y.items(document) if k.lower() in ("on", "true")), None)
    if isinstance(node, y.ScalarNode):
        return (str(node.value),)
    if isinstance(node, y.SequenceNode):
        return tuple(y.scalar_text(n) or "" for n in node.value)
    return tuple(name for name, _, _ in y.items(node))


# GitHub-hosted runners: a fresh virtual machine per job, with nothing listening on its localhost
_HOSTED_RUNNER = re.compile(r"(?:ubuntu|windows|macos)-(?:latest|\d[\w.-]*)", re.IGNORECASE)


def _shared_localhost(job) -> str | None:
    """What listens on the localhost of a job's steps before any of them runs: the service containers of a
    job that runs on the runner itself (a job in a `container:` reaches them by name, not on localhost), or
    the machine of a runner that is not GitHub-hosted (a self-hosted runner may run a server of its own)."""
    runs_on = y.get(job, "runs-on")
    labels = [y.scalar_text(n) or "" for n in y.sequence(runs_on)] if isinstance(runs_on, y.SequenceNode) \
        else [y.scalar_text(runs_on) or ""]
    if not (len(labels) == 1 and _HOSTED_RUNNER.fullmatch(labels[0].strip())):
        return f"the machine of runner `{', '.join(labels) or '?'}`"
    services = [name for name, _, _ in y.items(y.get(job, "services"))]
    if services and y.get(job, "container") is None:
        return f"the job's service containers ({', '.join(services)})"
    return None


def _gated(node) -> bool:
    return bool(_FORK_GATE.search(y.scalar_text(y.get(node, "if")) or ""))


def extract(source: SourceText, documents: list) -> list[Fact]:
    facts: list[Fact] = []
    for document in documents:
        root_dir = repository_root(source.path)
        workflow_env = _env(source, y.get(document, "env"), "workflow env")
        events = triggers(document)
        concurrency = y.get(document, "concurrency") is not None
        for job_id, job_key, job in y.items(y.get(document, "jobs")):
            facts.extend(_job(source, job_id, job_key, job, root_dir, workflow_env, _working_directory(document),
                              events, concurrency))
        facts.extend(EnvDeclaration(b, LAUNCHER) for b in workflow_env)
    return facts


def _fan_out(source: SourceText, job) -> tuple[str | None, object]:
    strategy = y.get(job, "strategy")
    matrix = y.get(strategy, "matrix")
    if matrix is None:
        return None, None
    return "a matrix", y.location(source, y.get_item(strategy, "matrix")[0])


def _job(source: SourceText, job_id: str, job_key, job, root_dir: str, workflow_env, workflow_dir,
         events, concurrency: bool = False) -> list[Fact]:
    facts: list[Fact] = []
    uses = y.scalar_text(y.get(job, "uses"))
    if uses is not None:
        secrets_node = y.get(job, "secrets")
        mode = SecretsPassed.INHERIT if y.scalar_text(secrets_node) == "inherit" else SecretsPassed.MAP \
            if secrets_node is not None else None
        names = tuple(name for name, _, _ in y.items(secrets_node))
        facts.append(WorkflowCall(y.location(source, y.get(job, "uses")), job_id, uses, mode, names))
        return facts
    job_env = _env(source, y.get(job, "env"), f"job '{job_id}' env")
    container_env = _env(source, y.get(y.get(job, "container"), "env"), f"job '{job_id}' container env")
    facts.extend(EnvDeclaration(b, LAUNCHER) for b in [*job_env, *container_env])
    env = [*workflow_env, *job_env, *container_env]
    job_dir = _working_directory(job) or workflow_dir
    github_env: list[EnvBinding] = []
    credentials: list[Credential] = []
    default_shell = y.scalar_text(y.get(y.get(y.get(job, "defaults"), "run"), "shell"))
    fan_out, fan_out_location = _fan_out(source, job)
    job_gated = _gated(job)
    shared = _shared_localhost(job)
    concurrency = concurrency or y.get(job, "concurrency") is not None
    copied = 0  # every step's launches carry the job's environment and the credentials of the steps before
    steps_node = y.get(job, "steps")
    for index, step in enumerate(y.sequence(steps_node), start=1):
        step_name = y.scalar_text(y.get(step, "name")) or y.scalar_text(y.get(step, "id")) or f"#{index}"
        step_env = _env(source, y.get(step, "env"), f"step '{step_name}' env")
        facts.extend(EnvDeclaration(b, LAUNCHER) for b in step_env)
        run_node = y.get(step, "run")
        script = y.scalar_text(run_node)
        if script is None:
            continue
        shell_name = (y.scalar_text(y.get(step, "shell")) or default_shell or "bash").split()[0]
        if shell_name in _NON_SHELLS:
            continue
        server = local_server(script)
        if server is not None and shared is None:  # it keeps running for the steps after it
            shared = f"`{server}` in step '{step_name}'"
        step_dir = y.scalar_text(y.get(step, "working-directory")) or job_dir
        base_dir = root_dir
        if step_dir and "${{" not in step_dir:
            base_dir = posixpath.normpath(posixpath.join(root_dir, step_dir))
        context = LaunchContext(
            launcher=LAUNCHER,
            label=f"job '{job_id}', step '{step_name}'",
            base_dir=base_dir,
            env=[*env, *github_env, *step_env],
            credentials=list(credentials),
            fan_out=fan_out,
            fan_out_location=fan_out_location,
            group=job_id,
            triggers=events,
            fork_gated=job_gated or _gated(step),
            localhost_shared=shared,
            concurrency=concurrency,
            env_slot=envslot.slot(source, step, "env", ("run",)) if envslot.within(step, steps_node) else None,
        )
        copied += len(context.env) + len(context.credentials)
        if copied > _JOB_BUDGET:  # thousands of steps under an environment of thousands of variables
            message = f"this job is too large to analyse (its steps carry more than {_JOB_BUDGET:,} variables)"
            return [ParseError(y.location(source, job_key), message, ParseProblem.TOO_LARGE)]
        result = launches_from_script(script, context, ScalarLocator(source, run_node, script))
        facts.extend(result.launches)
        facts.extend(result.facts)
        credentials.extend(result.left_behind)
        if "GITHUB_ENV" in script:
            location = y.location(source, run_node)
            for name in _GITHUB_ENV_WRITE.findall(script):
                github_env.append(EnvBinding(name, location, f"$GITHUB_ENV write in step '{step_name}'",
                                             None, reference=True))
    return facts
