"""docker-compose files: which service runs which entry point, with which environment."""

from __future__ import annotations

import posixpath
import shlex

from preflight.model import ComposeService, Credential, CredentialKind, EnvBinding, EnvDeclaration, Fact, Launcher
from preflight.sources import envslot
from preflight.sources import yamltree as y
from preflight.sources.entrypoints import mount_target
from preflight.sources.launching import (
    LaunchContext, ScalarLocator, binding, launch_from_argv, launches_from_script, local_server,
)
from preflight.sources.text import SourceText

_SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/env bash", "zsh", "dash"}


def _environment(source: SourceText, node, service: str) -> list[EnvBinding]:
    origin = f"service '{service}' environment"
    result: list[EnvBinding] = []
    if isinstance(node, y.MappingNode):
        for name, key_node, value_node in y.items(node):
            location = y.location(source, key_node)
            if y.is_null(value_node):  # `KEY:` with no value: passed through from the shell
                result.append(EnvBinding(name, location, origin, None, reference=True))
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
        else:
            result.append(EnvBinding(name.strip(), location, origin, None, reference=True))
    return result


def _env_files(source: SourceText, node, compose_dir: str) -> list[Credential]:
    entries = y.sequence(node) if isinstance(node, y.SequenceNode) else ([node] if node is not None else [])
    result = []
    for entry in entries:
        path = y.scalar_text(entry) or y.scalar_text(y.get(entry, "path"))
        if path:
            resolved = posixpath.normpath(posixpath.join(compose_dir, path))
            result.append(Credential(CredentialKind.ENV_FILE, y.location(source, entry), resolved))
    return result


def _netrc_mounts(source: SourceText, node) -> list[Credential]:
    """A netrc mounted into the container carries the W&B key as well as an env variable does."""
    result = []
    for entry in y.sequence(node):
        text = y.scalar_text(entry) or " ".join(
            filter(None, (y.scalar_text(y.get(entry, k)) for k in ("source", "target"))))
        if "netrc" in text:
            result.append(Credential(CredentialKind.NETRC, y.location(source, entry), f"netrc mounted by `{text}`"))
    return result


def _volume_targets(node) -> tuple[str, ...]:
    """The service's mount targets (short `src:dst` or long `target:` syntax)."""
    targets = []
    for entry in y.sequence(node):
        text = y.scalar_text(entry)
        target = mount_target(text) if text else y.scalar_text(y.get(entry, "target"))
        if target:
            targets.append(target)
    return tuple(targets)


def _argv(node) -> list[str] | None:
    if isinstance(node, y.SequenceNode):
        words = [y.scalar_text(item) for item in node.value]
        return [w for w in words if w is not None]
    text = y.scalar_text(node)
    if text is None:
        return None
    try:
        return shlex.split(text)
    except ValueError:
        return None


LAUNCHER = Launcher.COMPOSE


def extract(source: SourceText, documents: list) -> list[Fact]:
    facts: list[Fact] = []
    compose_dir = posixpath.dirname(source.path) or "."
    for document in documents:
        for service, key_node, spec in y.items(y.get(document, "services")):
            facts.extend(_service(source, service, key_node, spec, compose_dir))
    return facts


def _build(spec, compose_dir: str) -> tuple[str | None, str | None]:
    build = y.get(spec, "build")
    context = y.scalar_text(build) or y.scalar_text(y.get(build, "context"))
    if context is None:
        return None, None
    folder = posixpath.normpath(posixpath.join(compose_dir, context))
    dockerfile = y.scalar_text(y.get(build, "dockerfile")) or "Dockerfile"
    return folder, posixpath.normpath(posixpath.join(folder, dockerfile))


def _replicas(source: SourceText, spec):
    node = y.get(y.get(spec, "deploy"), "replicas") or y.get(spec, "scale")
    text = y.scalar_text(node)
    if text and text.isdigit() and int(text) > 1:
        return f"{text} replicas", y.location(source, node)
    return None, None


def _shared_localhost(spec, entrypoint: list[str], argv: list[str]) -> str | None:
    """What may listen on the service container's localhost besides its command: the host's or another
    container's network (`network_mode: host`, `service:x`, `container:x`), a server its own command starts,
    or the image's entrypoint when the service does not replace it (it runs before the command, and is not
    read here)."""
    mode = y.scalar_text(y.get(spec, "network_mode"))
    if mode and mode.strip() != "bridge" and mode.strip() != "none":
        return f"network_mode: {mode.strip()}"
    server = local_server(" ".join(argv))
    if server is not None:
        return f"`{server}` in its command"
    if not entrypoint:
        return "the image's entrypoint"
    return None


def _service(source: SourceText, service: str, key_node, spec, compose_dir: str) -> list[Fact]:
    env = _environment(source, y.get(spec, "environment"), service)
    credentials = [*_env_files(source, y.get(spec, "env_file"), compose_dir),
                   *_netrc_mounts(source, y.get(spec, "volumes"))]
    entrypoint_node, command_node = y.get(spec, "entrypoint"), y.get(spec, "command")
    entrypoint, command = _argv(entrypoint_node) or [], _argv(command_node) or []
    argv = [*entrypoint, *command]
    context_dir, dockerfile = _build(spec, compose_dir)
    facts: list[Fact] = [EnvDeclaration(b, LAUNCHER) for b in env]
    volumes = _volume_targets(y.get(spec, "volumes"))
    facts.append(ComposeService(y.location(source, key_node), service, tuple(env), tuple(credentials),
                                context_dir, dockerfile, bool(argv), volumes))
    if not argv:
        return facts
    fan_out, fan_out_location = _replicas(source, spec)
    context = LaunchContext(
        launcher=LAUNCHER,
        label=f"service '{service}'",
        base_dir=compose_dir,
        in_container=True,
        env=env,
        credentials=credentials,
        fan_out=fan_out,
        fan_out_location=fan_out_location,
        group=service,
        volumes=volumes,
        localhost_shared=_shared_localhost(spec, entrypoint, argv),
        env_slot=envslot.slot(source, spec, "environment", ("command", "entrypoint"))
        if spec.start_mark.index > key_node.end_mark.index else None,  # not an alias of another service's
    )
    anchor = command_node if command else entrypoint_node
    if len(argv) >= 3 and argv[0] in _SHELLS and argv[1] in ("-c", "-lc", "-ec", "-xc"):
        script = argv[2]
        node = anchor
        if isinstance(anchor, y.SequenceNode):
            node = next((n for n in anchor.value if y.scalar_text(n) == script), anchor)
        result = launches_from_script(script, context, ScalarLocator(source, node, script))
        return [*facts, *result.launches, *result.facts]
    location = y.location(source, anchor.value[0] if isinstance(anchor, y.SequenceNode) and anchor.value else anchor)
    if isinstance(anchor, y.ScalarNode):
        found = y.find_in_node(source, anchor, argv[len(entrypoint)] if command else argv[0])
        location = found or location
    launch = launch_from_argv(argv, context, location, " ".join(argv))
    return [*facts, launch] if launch else facts
