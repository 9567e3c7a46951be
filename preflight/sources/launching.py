"""Turn a launcher's shell commands into `Launch` facts, whatever the launcher is.

Workflow `run:` blocks, compose `command:`s and (later) shell and sbatch scripts share this: the
environment a command receives evolves through `export`, `VAR=x cmd` prefixes and `cd`; a
`wandb login` before it leaves credentials behind; `docker run` starts a process that sees only
what `-e`/`--env-file` pass.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from preflight.findings import Location
from preflight.model import Credential, EntryPoint, EnvBinding, Launch
from preflight.sources import entrypoints, shell, yamltree
from preflight.sources.text import SourceText

_REFERENCE = re.compile(r"\$\{\{.*?\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*")


def is_reference(value: str) -> bool:
    return bool(_REFERENCE.search(value))


def binding(name: str, value: str | None, location: Location, origin: str) -> EnvBinding:
    if value is None:
        return EnvBinding(name, location, origin, None, reference=True)
    return EnvBinding(name, location, origin, value, reference=is_reference(value))


@dataclass(slots=True)
class LaunchContext:
    """What a launcher gives every command it runs."""

    launcher: str
    label: str
    base_dir: str
    in_container: bool = False
    env: list[EnvBinding] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)


def launches_from_script(
    script: str,
    context: LaunchContext,
    locate: Callable[[shell.SimpleCommand], Location],
) -> tuple[list[Launch], list[Credential]]:
    """Launches started by a shell script; also the credentials it leaves behind (`wandb login`)."""
    launches: list[Launch] = []
    env = list(context.env)
    credentials = list(context.credentials)
    left_behind: list[Credential] = []
    base_dir = context.base_dir
    for command in shell.parse(script):
        argv = command.argv
        exported = shell.assignments(command)
        if exported:
            location = locate(command)
            env.extend(binding(k, v, location, "export in the script") for k, v in exported.items())
            continue
        if argv and argv[0] == "cd" and len(argv) > 1 and not context.in_container:
            base_dir = posixpath.normpath(posixpath.join(base_dir, argv[1])) if not is_reference(argv[1]) else base_dir
            continue
        writes_netrc = any("netrc" in target for _, target in command.redirects)
        if entrypoints.is_wandb_login(argv) or writes_netrc:
            kind, what = ("netrc", "a netrc written") if writes_netrc else ("wandb-login", "`wandb login`")
            login = Credential(kind, locate(command), f"{what} at {locate(command)}")
            credentials.append(login)
            left_behind.append(login)
            continue
        launch = _launch(command, argv, context, base_dir, env, credentials, locate)
        if launch is not None:
            launches.append(launch)
    return launches, left_behind


def launch_from_argv(
    argv: list[str], context: LaunchContext, location: Location, command_text: str,
) -> Launch | None:
    command = shell.SimpleCommand(argv=list(argv), offset=0, text=command_text)
    return _launch(command, argv, context, context.base_dir, list(context.env), list(context.credentials),
                   lambda _: location)


def _launch(command, argv, context, base_dir, env, credentials, locate) -> Launch | None:
    argv, wrapper_env = entrypoints.unwrap(argv)
    docker = entrypoints.docker_run(argv)
    in_container = context.in_container
    label = context.label
    if docker is not None:
        location = locate(command)
        outer = {b.name: b for b in env}
        inner_env: list[EnvBinding] = []
        for name, value in docker.env:
            if value is None:  # `-e NAME` passes the caller's value through, if it has one
                if name in outer or name in wrapper_env or name in command.env:
                    inner_env.append(EnvBinding(name, location, "`docker run -e`", None, reference=True))
            else:
                inner_env.append(binding(name, value, location, "`docker run -e`"))
        docker_credentials = [Credential("env-file", location, path) for path in docker.env_files]
        if docker.netrc_mounted:
            docker_credentials.append(Credential("netrc", location, "netrc mounted by `docker run -v`"))
        env, credentials, argv, in_container = inner_env, docker_credentials, docker.inner, True
        label = f"{label} (inside `docker run`)"
        wrapper_env = {}
        command_env: dict[str, str] = {}
    else:
        command_env = command.env
    found = entrypoints.recognize(argv)
    if found is None:
        return None
    location = locate(command)
    prefix = [binding(k, v, location, "the command's prefix") for k, v in {**wrapper_env, **command_env}.items()]
    entry = EntryPoint(
        kind=found.kind,
        target=found.target,
        location=location,
        command=" ".join(command.argv)[:160] if command.argv else command.text,
        config=found.config,
        args=tuple(found.args),
    )
    return Launch(
        launcher=context.launcher,
        label=label,
        entry=entry,
        base_dir=base_dir,
        in_container=in_container,
        env=tuple([*env, *prefix]),
        credentials=tuple(credentials),
    )


class ScalarLocator:
    """Finds each command of a script inside the YAML scalar it was written in, in order."""

    def __init__(self, source: SourceText, node: yamltree.Node, script: str) -> None:
        self._source = source
        self._node = node
        self._script = script
        self._cursor = 0
        self._found: dict[int, Location] = {}
        self._fallback = yamltree.location(source, node)

    def __call__(self, command: shell.SimpleCommand) -> Location:
        if command.offset not in self._found:
            self._found[command.offset] = self._locate(command.offset)
        return self._found[command.offset]

    def _locate(self, start: int) -> Location:
        end = self._script.find("\n", start)
        needle = self._script[start: end if end >= 0 else len(self._script)].rstrip()
        words = needle.split()
        if not words:
            return self._fallback
        found = yamltree.find_in_node(self._source, self._node, needle, self._cursor)
        if found is None:
            found = yamltree.find_in_node(self._source, self._node, words[0], self._cursor)
        if found is None:
            return self._fallback
        self._cursor = self._source.offset(found.line, found.column) - self._node.start_mark.index + 1
        return found
