"""dstack run configurations (`.dstack.yml`, `<name>.dstack.yml`): what a task, service or dev environment runs in
its container, and with which environment.

Read against dstack 0.22.5 (`dstack/_internal/core/models/configurations.py`, `core/models/envs.py`,
`cli/services/configurators/base.py`, `cli/services/configurators/run.py`,
`server/services/jobs/configurators/base.py`):

- `env` is a list of `NAME=value`/`NAME` or a mapping. A `NAME` without a value (`EnvSentinel`, envs.py:13-19) is
  filled from the environment of `dstack apply` (`ApplyEnvVarsConfiguratorMixin.apply_env_vars`, base.py:97-105),
  which stops with "Environment variable NAME is not set" (a `ConfigurationError`, printed and exit 1 by
  cli/main.py:100-103) before anything is provisioned: `RunConfigurator.get_plan` applies the variables
  (run.py:125) before it asks the server for a plan (run.py:135). Such a key reaches the job whenever the job
  starts. A mapping entry without a value (`WANDB_API_KEY:`) is no such request: the file is rejected when it is
  parsed ("Input should be a valid string", pydantic's validation of `Env`), so it is read as a value preflight
  cannot know, never as a missing key. `dstack apply -e NAME[=value]` adds variables the file does not name, so the
  file alone never says that a key is missing (`Launch.unseen_env`). The job gets nothing else of the submitter's
  environment: `JobConfigurator._env` is the configuration's `env` (plus dstack's own `DSTACK_*` variables).
- `commands` (a dev environment's `init`) are joined with ` && ` and run by `/bin/bash -i -c` (`/bin/sh` with a
  custom `image`) in the container (`JobConfigurator._commands`, base.py:262-285; `_join_shell_commands`,
  base.py:610-616), so an `export` in one holds for the next. With an `entrypoint:` (docker-like) the job runs
  `shlex.split(entrypoint) + commands` instead (base.py:263-266): the commands are the entrypoint's arguments, and
  only the first is a script when the entrypoint is a shell's `-c` (the rest become `$0`, `$1`, ...); a group's
  commands are not used then. Their relative paths start at the repository: the legacy `/workflow` checkout, or
  `repos[0].path` in the working directory; here the scanned tree, and a path is matched by its end as in any
  container. Heterogeneous node groups (`groups`) and replica groups (a list under `replicas`) run their own
  `commands` with the same `env`.
- `nodes: N` makes one distributed task over N nodes: each runs the same commands with the same `env`, told apart by
  `DSTACK_NODE_RANK` (a trainer logs from rank 0), so it is not a fan-out. A service's `replicas: N` (or the top of a
  range `1..4`) starts independent copies with the same `env` (the replica number is not in it): a fan-out.
- `volumes` (`name:/path`, `{name, path}`) are the container's mounts; `files` (`local:/path`, `{local_path,
  path}`) copies local files in: a netrc among them carries the W&B key. An image's own command, without `commands`
  or `entrypoint`, is not read.
"""

from __future__ import annotations

import dataclasses
import posixpath
import shlex

from preflight.model import Credential, CredentialKind, EnvBinding, EnvDeclaration, Fact, Launcher
from preflight.sources import yamltree as y
from preflight.sources.launching import LaunchContext, ScalarLocator, binding, launch_from_argv, launches_from_script
from preflight.sources.text import SourceText

LAUNCHER = Launcher.DSTACK
SUBMITTER = "`dstack apply -e NAME`"
_RUN_TYPES = ("task", "service", "dev-environment")


def extract(source: SourceText, documents: list) -> list[Fact]:
    facts: list[Fact] = []
    for document in documents:
        kind = y.scalar_text(y.get(document, "type"))
        if kind in _RUN_TYPES:
            facts.extend(_run(source, document, kind))
    return facts


def _run(source: SourceText, document, kind: str) -> list[Fact]:
    name = y.scalar_text(y.get(document, "name")) or posixpath.basename(source.path)
    env = _env(source, y.get(document, "env"))
    facts: list[Fact] = [EnvDeclaration(b, LAUNCHER) for b in env]
    context = LaunchContext(
        launcher=LAUNCHER,
        label=f"dstack {kind} '{name}'",
        base_dir=".",
        in_container=True,
        env=env,
        credentials=_netrc_files(source, y.get(document, "files")),
        inherits_env=True,
        unseen_env=SUBMITTER,
        group=f"{source.path}:{name}",
        volumes=_volume_targets(y.get(document, "volumes")),
    )
    own = y.get(document, "init" if kind == "dev-environment" else "commands")
    entrypoint = y.get(document, "entrypoint") if kind != "dev-environment" else None
    if y.scalar_text(entrypoint):
        return facts + _entrypoint(source, entrypoint, own, _fanned_out(source, document, kind, context))
    facts += _commands(source, own, _fanned_out(source, document, kind, context))
    for group in [*y.sequence(y.get(document, "groups")), *y.sequence(y.get(document, "replicas"))]:
        facts += _commands(source, y.get(group, "commands"), _fanned_out(source, group, kind, context))
    return facts


def _env(source: SourceText, node) -> list[EnvBinding]:
    origin = "dstack env"
    result = []
    for name, key_node, value_node in y.items(node):
        location = y.location(source, key_node)
        if y.is_null(value_node):  # dstack rejects the file ("Input should be a valid string"): not known here
            result.append(EnvBinding(name, location, f"{origin}, a mapping entry without a value", None,
                                     reference=True))
        else:
            result.append(binding(name, y.scalar_text(value_node) or "", location, origin))
    for item in y.sequence(node):
        text = y.scalar_text(item)
        if not text:
            continue
        name, has_value, value = text.partition("=")
        location = y.location(source, item)
        if has_value:
            result.append(binding(name.strip(), value, location, origin))
        else:  # `- NAME`: `dstack apply` fills it from its own environment, or refuses to start
            result.append(EnvBinding(name.strip(), location, f"{origin}, from the environment of `dstack apply`",
                                     None, reference=True))
    return result


def _fanned_out(source: SourceText, node, kind: str, context: LaunchContext) -> LaunchContext:
    """A service's replicas (a count, or the top of a range `1..4`) are independent copies of one job."""
    if kind != "service":
        return context
    replicas = y.get(node, "replicas")
    if replicas is None:
        replicas = y.get(node, "count")  # a replica group's older name for it
    text = y.scalar_text(replicas) or ""
    top = text.rpartition("..")[2].strip()
    if top.isdigit() and int(top) > 1:
        return dataclasses.replace(context, fan_out=f"replicas: {text}", fan_out_location=y.location(source, replicas))
    return context


def _commands(source: SourceText, node, context: LaunchContext) -> list[Fact]:
    """The commands in order, as one shell: what one exports, or a `wandb login` leaves, the next has."""
    facts: list[Fact] = []
    for item in y.sequence(node):
        script = y.scalar_text(item)
        if not script:
            continue
        result = launches_from_script(script, context, ScalarLocator(source, item, script))
        facts += [*result.launches, *result.facts]
        context = dataclasses.replace(context, env=result.env, credentials=[*context.credentials, *result.left_behind])
    return facts


_SHELLS = {"sh", "bash", "zsh", "dash", "/bin/sh", "/bin/bash", "/bin/zsh", "/usr/bin/bash", "/usr/bin/zsh"}


def _entrypoint(source: SourceText, entrypoint, commands, context: LaunchContext) -> list[Fact]:
    """`entrypoint:` plus `commands`: one process, `shlex.split(entrypoint) + commands`. A shell's `-c` runs the
    first command as its script; any other entrypoint gets the commands as its arguments."""
    try:
        words = shlex.split(y.scalar_text(entrypoint) or "")
    except ValueError:  # dstack's own shlex.split would fail too: nothing runs
        return []
    items = [(item, y.scalar_text(item)) for item in y.sequence(commands)]
    items = [(item, text) for item, text in items if text is not None]
    if words and words[0] in _SHELLS and words[-1][:1] == "-" != words[-1][1:2] and words[-1].endswith("c"):
        if not items:
            return []
        node, script = items[0]
        result = launches_from_script(script, context, ScalarLocator(source, node, script))
        return [*result.launches, *result.facts]
    argv = [*words, *(text for _, text in items)]
    launch = launch_from_argv(argv, context, y.location(source, entrypoint), " ".join(argv))
    return [launch] if launch else []


def _volume_targets(node) -> tuple[str, ...]:
    targets = []
    for entry in y.sequence(node):
        text = y.scalar_text(entry)
        target = text.rpartition(":")[2] if text else y.scalar_text(y.get(entry, "path"))
        if target:
            targets.append(target)
    return tuple(targets)


def _netrc_files(source: SourceText, node) -> list[Credential]:
    found = []
    for entry in y.sequence(node):
        text = y.scalar_text(entry) or " ".join(
            filter(None, (y.scalar_text(y.get(entry, key)) for key in ("local_path", "path"))))
        if "netrc" in text:
            found.append(Credential(CredentialKind.NETRC, y.location(source, entry),
                                    f"netrc copied in by `files: {text}`"))
    return found
