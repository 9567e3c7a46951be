"""Turn a launcher's shell commands into `Launch` facts, whatever the launcher is.

Workflow `run:` blocks, compose `command:`s, shell and sbatch scripts and Makefile recipes share
this: the environment a command receives evolves through `export`, `VAR=x cmd` prefixes and `cd`;
a `wandb login` before it leaves credentials behind; `docker run`, `docker compose run` and
`apptainer --cleanenv` start a process that sees only what they pass; `ray job submit` runs its entrypoint on a
Ray cluster, with the cluster's environment and the runtime environment's `env_vars`; a command inside a loop
runs several times.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from preflight.findings import Location
from preflight.model import (
    Credential, CredentialKind, EntryKind, EntryPoint, EnvBinding, EnvDeclaration, EnvSlot, Fact, Launch, Launcher,
    LoginCommand, ParseError, ParseProblem, SecretArgument, SyncCommand,
)
from preflight import secrets
from preflight.secrets import TRACKING_KEYS
from preflight.sources import entrypoints, shell, yamltree
from preflight.sources.text import SourceText

_REFERENCE = re.compile(r"\$\{\{.*?\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*|\$\(")
# `cd "$(dirname "$0")"`, `cd $(dirname ${BASH_SOURCE[0]})`, `cd "$(dirname "$(realpath "$0")")"`
_OWN_FOLDER = re.compile(r"""["']?\$\((?:cd\s+)?dirname\s+["']?(?:\$\((?:realpath|readlink -f)\s+)?["']?"""
                         r"""\$\{?(?:0|BASH_SOURCE(?:\[0\])?)\}?["']?\)?["']?\)(?:\s*&&\s*pwd\))?["']?(?:/\.)?""")
# `--wandb_key`, `--wandb-api-key`, `--api_key`, and dotted config paths that end in a W&B key or token
# (`--logger.wandb.key`, `--trainer.logger.wandb_api_key`).
_KEY_FLAG = re.compile(r"^(?:(?:[\w-]+\.)*wandb[\w.-]*?[._-]?(?:api[_-]?)?(?:key|token)|api[_-]?key)$", re.IGNORECASE)


RAY_SUBMIT = "ray job submit"
RAY_CLUSTER_ENV = "the Ray cluster's own environment (what `ray start` ran with)"


def is_reference(value: str) -> bool:
    return bool(_REFERENCE.search(value))


def binding(name: str, value: str | None, location: Location, origin: str, optional: bool = False,
            on_command: bool = False) -> EnvBinding:
    if value is None:
        return EnvBinding(name, location, origin, None, reference=True, optional=optional, on_command=on_command)
    return EnvBinding(name, location, origin, value, reference=is_reference(value), optional=optional,
                      on_command=on_command)


@dataclass(slots=True)
class LaunchContext:
    """What a launcher gives every command it runs."""

    launcher: Launcher
    label: str
    base_dir: str
    in_container: bool = False
    cwd_known: bool = True
    env: list[EnvBinding] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)
    inherits_env: bool = False
    fan_out: str | None = None
    fan_out_location: Location | None = None
    group: str | None = None
    triggers: tuple[str, ...] = ()
    fork_gated: bool = False
    export_policy: str | None = None
    export_location: Location | None = None
    volumes: tuple[str, ...] | None = None  # a container's mount targets, when the launcher declares them
    unseen_env: str | None = None  # who else may give the process variables (Launch.unseen_env)
    localhost_shared: str | None = None  # what else may listen on the process's localhost (Launch.localhost_shared)
    concurrency: bool = False  # the job or its workflow sets `concurrency:` (Launch.concurrency)
    env_slot: EnvSlot | None = None  # where the launcher's own environment takes a variable (Launch.env_slot)


@dataclass(slots=True)
class ScriptFacts:
    launches: list[Launch] = field(default_factory=list)
    left_behind: list[Credential] = field(default_factory=list)  # what later steps of the same job inherit
    facts: list[Fact] = field(default_factory=list)  # logins, syncs, secrets on command lines
    env: list[EnvBinding] = field(default_factory=list)  # the environment at the end, for what the same shell runs next


def launches_from_script(
    script: str,
    context: LaunchContext,
    locate: Callable[[shell.SimpleCommand], Location],
) -> ScriptFacts:
    result = ScriptFacts()
    too_large = _too_large(script)
    commands = shell.parse(script, MAX_COMMANDS) if too_large is None else []
    if too_large is None and _weight(commands) > MAX_COMMANDS:
        too_large = f"too large to analyse (more than {MAX_COMMANDS:,} commands and variables)"
    if too_large is not None:  # nothing of it is read: a launch seen without what follows could be misjudged
        result.facts.append(ParseError(locate(shell.SimpleCommand(argv=[], offset=0)), f"this script is {too_large}",
                                              ParseProblem.TOO_LARGE))
        return result
    env = list(context.env)
    credentials = list(context.credentials)
    base_dir = context.base_dir
    cwd_known = context.cwd_known
    containers: dict[str, _Container] = {}
    for command in commands:
        argv = command.argv
        result.facts.extend(_secret_arguments(command, locate, script))
        exported = shell.assignments(command)
        if exported:
            location = locate(command)
            bindings = [binding(k, v, location, "export in the script") for k, v in exported.items()]
            env.extend(bindings)
            result.facts.extend(EnvDeclaration(b, context.launcher) for b in bindings)
            continue
        if argv and argv[0] == "cd" and len(argv) > 1 and not context.in_container:
            if _OWN_FOLDER.fullmatch(argv[1]):  # cd "$(dirname "$0")": from here on, the script's own folder
                base_dir, cwd_known = context.base_dir, True
            elif not is_reference(argv[1]):
                base_dir = posixpath.normpath(posixpath.join(base_dir, argv[1]))
            continue
        if argv and argv[0] in ("source", ".") and len(argv) > 1:
            sourced = posixpath.normpath(posixpath.join(base_dir, argv[1]))
            credentials.append(Credential(CredentialKind.ENV_FILE, locate(command), sourced))
            continue
        if entrypoints.is_wandb_command(argv, "sync"):
            result.facts.append(SyncCommand(locate(command)))
            continue
        writes_netrc = any("netrc" in target for _, target in command.redirects)
        if entrypoints.is_wandb_login(argv) or writes_netrc:
            kind, what = (CredentialKind.NETRC, "a netrc written") if writes_netrc else \
                (CredentialKind.WANDB_LOGIN, "`wandb login`")
            login = Credential(kind, locate(command), f"{what} at {locate(command)}")
            credentials.append(login)
            result.left_behind.append(login)
            result.facts.append(LoginCommand(locate(command), context.group))
            continue
        launch = _launch(command, argv, context, base_dir, env, credentials, locate, cwd_known, containers)
        if launch is not None:
            result.launches.append(launch)
            if launch.boundary == RAY_SUBMIT:  # a key there is SEC005's: it is on the command line
                result.facts.extend(EnvDeclaration(b, context.launcher) for b in launch.env
                                    if b.name not in TRACKING_KEYS)
    result.env = env
    return result


# What one script (a shell file, a workflow `run:`, a compose `command:`) may cost. The largest real ones
# have some 40 KB and a few hundred commands; each command's launch carries the environment the
# variables before it built up, so the facts grow with the product of the two.
MAX_SCRIPT = 256 << 10
MAX_COMMANDS = 2_000  # commands and variables set


def _too_large(script: str) -> str | None:
    if len(script) > MAX_SCRIPT:
        return f"too large to analyse ({len(script) >> 10:,} KiB; the limit is {MAX_SCRIPT >> 10} KiB)"
    return None


def _weight(commands: list[shell.SimpleCommand]) -> int:
    return len(commands) + sum(len(c.env) + len(shell.assignments(c)) for c in commands)


def launch_from_argv(argv: list[str], context: LaunchContext, location: Location, command_text: str) -> Launch | None:
    command = shell.SimpleCommand(argv=list(argv), offset=0, text=command_text)
    return _launch(command, argv, context, context.base_dir, list(context.env), list(context.credentials),
                   lambda _: location)


def launch_from_words(words: list[tuple[str, Location | None]], context: LaunchContext,
                      location: Location) -> Launch | None:
    """A command written as a list of words, each at its own place (a sweep's `command:` list): findings
    about a flag point at the word that holds it."""
    argv = [word for word, _ in words]
    places = [at for _, at in words]
    command = shell.SimpleCommand(argv=argv, offset=-1, text=" ".join(argv), word_offsets=list(range(len(argv))))

    def locate(part: shell.SimpleCommand) -> Location:
        return places[part.offset] or location if 0 <= part.offset < len(places) else location

    return _launch(command, argv, context, context.base_dir, list(context.env), list(context.credentials), locate)


def _secret_arguments(command: shell.SimpleCommand, locate, script: str) -> list[SecretArgument]:
    """Tracking keys written into a command's arguments, each pointed at the word that holds it: `-e NAME=v`,
    a key-named flag with a value (`--wandb_key K`, `--logger.wandb.key=$TOKEN`), any flag whose value is a
    key (`--use_wandb wandb_v1_...`, `--use_wandb $WANDB_API_KEY`), `wandb login KEY`, and a Ray runtime
    environment given as JSON on the command line. Forwarded commands (`ray job submit -- python ...`,
    `srun ...`) are words of the same command line, so they are read too."""
    found = []
    argv = command.argv

    def word_at(index: int, width: int | None = None) -> Location:
        return _word_location(command, locate, index, width)

    for index, word in enumerate(argv):
        previous = argv[index - 1] if index else ""
        following = argv[index + 1] if index + 1 < len(argv) else None
        assignment = word if previous in ("-e", "--env") else (
            word.split("=", 1)[1] if word.startswith(("-e=", "--env=")) else None)
        if assignment is not None:
            name, has_value, value = assignment.partition("=")
            if name in TRACKING_KEYS and has_value and value:
                value_location = _assignment_location(command, locate, script, name)
                found.append(SecretArgument(value_location or word_at(index), f"-e {name}=...", value_location, name))
        elif word.startswith("--"):
            flag, eq, value = word[2:].partition("=")
            if not eq:
                value = following if following is not None and not following.startswith("-") else ""
            if not value:
                continue
            if flag in ("runtime-env-json", "runtime_env_json"):
                name = _key_in_runtime_env(value)
                if name:
                    found.append(SecretArgument(word_at(index, len(word) if eq else None),
                                                f"--{flag} with {name}", name=name))
            elif _KEY_FLAG.match(flag) or flag.replace("-", "_").upper() in TRACKING_KEYS or _is_key_value(value):
                found.append(SecretArgument(word_at(index, len(word.partition("=")[0])), f"--{flag}"))
    if entrypoints.is_wandb_login(argv):
        words, _ = entrypoints.unwrap(argv)
        positional = [w for w in words[2:] if not w.startswith("-")]
        if positional:
            at = len(argv) - len(words) + words.index(positional[0], 2)
            found.append(SecretArgument(word_at(at), "wandb login KEY"))
    return found


def _word_location(command: shell.SimpleCommand, locate, index: int, width: int | None = None) -> Location:
    """Where the command's word `index` is written (its first `width` characters), else the command."""
    offsets = command.word_offsets
    if index >= len(offsets) or offsets[index] is None:
        return locate(command)
    start = locate(dataclasses.replace(command, offset=offsets[index]))
    width = len(command.argv[index]) if width is None else width
    if isinstance(locate, TextLocator):  # as written in the text
        width = locate.width(offsets[index], width)
    return Location(start.path, start.line, start.column, start.line, start.column + width)


def _is_key_value(value: str) -> bool:
    """A flag's value that is a tracking key whatever the flag is called: a literal W&B key, or the value of
    a variable that holds one (`$WANDB_API_KEY`, `${HF_TOKEN}`)."""
    reference = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", value)
    if reference:
        return reference.group(1) in TRACKING_KEYS
    return bool(secrets.find_wandb_keys(value)) and not secrets.is_placeholder(value)


def _key_in_runtime_env(text: str) -> str | None:
    """The tracking key a Ray runtime environment (`--runtime-env-json`) sets in `env_vars`, if any."""
    try:
        env = json.loads(text)
    except (ValueError, RecursionError):
        return None
    variables = env.get("env_vars") if isinstance(env, dict) else None
    if not isinstance(variables, dict):
        return None
    return next((name for name, value in variables.items() if name in TRACKING_KEYS and str(value).strip()), None)


def _assignment_location(command: shell.SimpleCommand, locate, script: str, name: str) -> Location | None:
    """The exact span of `NAME=value` as written, so that a fix can rewrite it to `NAME`."""
    match = re.compile(re.escape(name) + r"=[^\s\"']*").search(script, command.offset)
    if match is None or "\n" in script[command.offset: match.start()].replace("\\\n", ""):
        return None
    start = locate(dataclasses.replace(command, offset=match.start()))
    width = len(match.group(0))
    if isinstance(locate, TextLocator):  # as written in the text
        width = locate.width(match.start(), width)
    return Location(start.path, start.line, start.column, start.line, start.column + width)


def _flag_locations(command: shell.SimpleCommand, found, locate) -> tuple[Location | None, ...]:
    """Where each `--flag` of the entry point's arguments is written (after its target), for findings
    that point at the flag rather than at the whole command."""
    words, offsets = command.argv, command.word_offsets
    if not offsets or not found.args:
        return ()
    cursor = next((i for i, w in enumerate(words) if w == found.target or w.endswith("/" + found.target)), 0)
    flags: dict[str, list[int]] = {}  # each flag's indices, in order: one lookup per argument, not a scan
    for i in range(cursor, len(words)):
        if words[i].startswith("-"):
            flags.setdefault(words[i].lstrip("-").partition("=")[0].replace("-", "_"), []).append(i)
    located: list[Location | None] = []
    for key, _ in found.args:
        indices = flags.get(key, ())
        at = bisect.bisect_left(indices, cursor)
        index = indices[at] if at < len(indices) else None
        if index is None or offsets[index] is None:
            located.append(None)
            continue
        cursor = index + 1
        start = locate(dataclasses.replace(command, offset=offsets[index]))
        width = len(words[index].partition("=")[0])
        located.append(Location(start.path, start.line, start.column, start.line, start.column + width))
    return tuple(located)


def _crossing(pairs, outer: dict[str, EnvBinding], location: Location, origin: str,
              inherited: bool) -> list[EnvBinding]:
    """Env passed across a container boundary: `-e NAME` takes the caller's value, if it has one
    (a script's caller may have it: its environment is inherited, unseen)."""
    result = []
    for name, value in pairs:
        if value is None:
            if (name in outer and not outer[name].is_empty) or (inherited and name not in outer):
                result.append(EnvBinding(name, location, origin, None, reference=True))
        else:
            result.append(binding(name, value, location, origin))
    return result


@dataclass(frozen=True, slots=True)
class _Container:
    """A container a script started with `docker run --name`: what a later `docker exec` into it runs with."""

    env: tuple[EnvBinding, ...]
    credentials: tuple[Credential, ...]
    volumes: tuple[str, ...]
    mounts: tuple[tuple[str | None, str], ...]
    workdir: str | None


def _launch(command, argv, context: LaunchContext, base_dir, env, credentials, locate,
            cwd_known: bool | None = None, containers: dict[str, _Container] | None = None) -> Launch | None:
    argv, wrapper_env = entrypoints.unwrap(argv)
    location = locate(command)
    prefix = [binding(k, v, location, "the command's prefix", on_command=True) for k, v in wrapper_env.items()]
    for name, value in command.env.items():
        where = command.env_offsets.get(name)
        at = locate(dataclasses.replace(command, offset=where)) if where is not None else location
        prefix.append(binding(name, value, at, "the command's prefix", on_command=True))
    caller_env = [*env, *prefix]
    outer = {b.name: b for b in caller_env}
    boundary = compose_service = None
    in_container, inherits = context.in_container, context.inherits_env
    volumes = context.volumes
    mounts: tuple = ()
    workdir = None
    docker = entrypoints.docker_run(argv)
    execed = entrypoints.docker_exec(argv) if docker is None else None
    apptainer = entrypoints.container_exec(argv) if docker is None and execed is None else None
    compose = entrypoints.compose_run(argv) if docker is None and execed is None and apptainer is None else None
    ray = entrypoints.ray_job_submit(argv) if docker is None and execed is None and apptainer is None \
        and compose is None else None
    unseen_env = context.unseen_env
    if ray is not None:
        # The job's environment is the cluster's plus the runtime environment's env_vars (ray 2.60.0,
        # JobSupervisor.run: `os.environ.copy()` of the supervisor, a worker of the cluster), never the
        # submitter's: nothing crosses, and what the cluster has is not seen here.
        boundary, argv, inherits, unseen_env = RAY_SUBMIT, ray.inner, False, RAY_CLUSTER_ENV
        variables = (ray.runtime_env or {}).get("env_vars")
        word = next((i for i, w in enumerate(command.argv) if w.partition("=")[0] == "--runtime-env-json"), None)
        at = location if word is None else _word_location(command, locate, word, len("--runtime-env-json"))
        env = [binding(str(name), None if value is None else str(value), at, "`ray job submit` env_vars")
               for name, value in (variables.items() if isinstance(variables, dict) else ())]
        credentials, volumes = [], None
        folder = ray.working_dir
        if folder and not is_reference(folder) and "://" not in folder and not folder.startswith(("/", "~")):
            base_dir = posixpath.normpath(posixpath.join(base_dir, folder))  # uploaded, and run from there
        else:  # run where the cluster puts it: a path is matched by its end, as in a container
            in_container = True
    elif docker is not None:
        boundary, argv, in_container, inherits = "docker run", docker.inner, True, False
        volumes, mounts, workdir = tuple(docker.volumes), tuple(docker.mounts), docker.workdir
        env = _crossing(docker.env, outer, location, "`docker run -e`", context.inherits_env)
        credentials = [Credential(CredentialKind.ENV_FILE, location, path) for path in docker.env_files]
        if docker.netrc_mounted:
            credentials.append(Credential(CredentialKind.NETRC, location, "netrc mounted by `docker run -v`"))
        if docker.name and containers is not None:
            containers[docker.name] = _Container(tuple(env), tuple(credentials), volumes, mounts, workdir)
    elif execed is not None:
        argv, in_container = execed.inner, True
        added = _crossing(execed.env, outer, location, "`docker exec -e`", context.inherits_env)
        added_credentials = [Credential(CredentialKind.ENV_FILE, location, path) for path in execed.env_files]
        started = (containers or {}).get(execed.container)
        if started is None:  # started elsewhere: its environment (the key or not) is not seen here
            inherits, volumes, env, credentials = True, None, added, added_credentials
            workdir = execed.workdir
        else:
            boundary, inherits = "docker exec", False
            env, credentials = [*started.env, *added], [*started.credentials, *added_credentials]
            volumes, mounts, workdir = started.volumes, started.mounts, execed.workdir or started.workdir
    elif apptainer is not None and apptainer.clean:
        boundary, argv, inherits = "apptainer --cleanenv", apptainer.inner, False
        env = _crossing(apptainer.env, outer, location, "`apptainer --env`", context.inherits_env)
        for name, value in outer.items():
            for prefix_name in ("APPTAINERENV_", "SINGULARITYENV_"):
                if name.startswith(prefix_name):
                    env.append(dataclasses.replace(value, name=name[len(prefix_name):]))
        credentials = [Credential(CredentialKind.ENV_FILE, location, path) for path in apptainer.env_files]
    elif apptainer is not None:
        argv = apptainer.inner
        env = caller_env
    elif compose is not None:
        boundary, argv, in_container, inherits = f"docker compose {compose.verb}", compose.inner, True, False
        volumes = None  # the service's, which the project resolves
        env = _crossing(compose.env, outer, location, f"`docker compose {compose.verb} -e`", context.inherits_env)
        credentials, compose_service = [], compose.service
    else:
        env = caller_env
    if boundary is not None and boundary != RAY_SUBMIT:
        unseen_env = None  # a container gets what crosses (`_crossing` counts what the caller may have), nothing else
    found = entrypoints.recognize(argv) if argv else None
    if found is None and compose is None:
        return None
    if found is None:  # `docker compose run SERVICE` with the service's own command
        found = entrypoints.Recognized(EntryKind.COMPOSE_SERVICE, compose.service)
    entry = EntryPoint(
        kind=found.kind,
        target=found.target,
        location=location,
        command=" ".join(command.argv)[:160] if command.argv else command.text,
        config=found.config,
        args=tuple(found.args),
        arg_locations=_flag_locations(command, found, locate),
        launcher=found.launcher,
        launcher_args=tuple(found.launcher_args),
        overrides=tuple(found.overrides),
    )
    fan_out, fan_out_location = context.fan_out, context.fan_out_location
    if command.in_loop and fan_out is None:
        fan_out, fan_out_location = "a shell loop", location
    return Launch(
        launcher=context.launcher,
        label=context.label + (f" (inside `{boundary}`)" if boundary else ""),
        entry=entry,
        base_dir=base_dir,
        in_container=in_container,
        cwd_known=context.cwd_known if cwd_known is None else cwd_known,
        env=tuple(env),
        credentials=tuple(credentials),
        inherits_env=inherits,
        boundary=boundary,
        outer_env=tuple(caller_env) if boundary else (),
        fan_out=fan_out,
        fan_out_location=fan_out_location,
        volumes=volumes if in_container else None,
        mounts=mounts,
        workdir=workdir,
        group=context.group,
        triggers=context.triggers,
        fork_gated=context.fork_gated,
        export_policy=context.export_policy,
        export_location=context.export_location,
        compose_service=compose_service,
        unseen_env=unseen_env,
        localhost_shared=context.localhost_shared if boundary is None else f"`{boundary}`'s own network",
        concurrency=context.concurrency,
        env_slot=context.env_slot if boundary is None and compose is None else None,
    )


# Commands that start a server the same machine then reaches on localhost (an MLflow server or UI, a
# container with published ports, a port forward)
LOCAL_SERVER = re.compile(
    r"\bmlflow\s+(?:server|ui)\b|\bdocker(?:-compose|\s+compose)?\s+(?:run|up|start)\b|\bpodman\s+run\b"
    r"|\bkubectl\s+port-forward\b|\bssh\b[^\n]*\s-[a-zA-Z]*L\b")


def local_server(script: str) -> str | None:
    """The first command of a script that starts something listening on this machine, as written."""
    found = LOCAL_SERVER.search(script)
    return found.group(0) if found else None


_SMALL_SCRIPT = 64 << 10
_NEEDLE = 512


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
        # A large script is searched from the cursor only, and for the start of its line: a search of the
        # whole scalar for each of thousands of commands would cost their square.
        small = len(self._script) <= _SMALL_SCRIPT
        end = self._script.find("\n", start, None if small else start + _NEEDLE)
        needle = self._script[start: end if end >= 0 else (None if small else start + _NEEDLE)].rstrip()
        words = needle.split()
        if not words:
            return self._fallback
        found = None
        within = None if small else 4 * len(needle) + _SMALL_SCRIPT
        for after in dict.fromkeys((self._cursor, 0) if small else (self._cursor,)):  # a prefix may sit before
            found = yamltree.find_in_node(self._source, self._node, needle, after, within) or \
                yamltree.find_in_node(self._source, self._node, words[0], after, within)
            if found is not None:
                break
        if found is None:
            return self._fallback
        self._cursor = self._source.offset(found.line, found.column) - self._node.start_mark.index + 1
        return found


class TextLocator:
    """Positions of commands in a plain text file (a shell script, a Makefile) from their offsets.
    `breaks`: where the script the shell model reads differs in length from the text it comes from (a
    Makefile recipe's `$$` is one `$`, its continued lines are joined by a space), as sorted (offset in
    the script, offset in the text) pairs from which the offsets that follow run on alike."""

    def __init__(self, source: SourceText, base_offset: int = 0,
                 breaks: list[tuple[int, int]] | None = None) -> None:
        self._source = source
        self._base = base_offset
        self._breaks = breaks or []
        self._keys = [script for script, _ in self._breaks]

    def offset(self, script_offset: int) -> int:
        """The offset in the text of the character at `script_offset` in the script."""
        index = bisect.bisect_right(self._keys, script_offset) - 1
        if index < 0:
            return self._base + script_offset
        script, text = self._breaks[index]
        return text + script_offset - script

    def width(self, script_offset: int, length: int) -> int:
        """How many characters of the text the `length` characters of the script from there were written as."""
        return self.offset(script_offset + length - 1) + 1 - self.offset(script_offset) if length > 0 else length

    def __call__(self, command: shell.SimpleCommand) -> Location:
        start = self.offset(command.offset)
        return self._source.location(start, self._source.line_end(start))
