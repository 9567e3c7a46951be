"""Dockerfiles: what the image bakes in (ENV, ARG, RUN) and what it runs (CMD/ENTRYPOINT).

The image's command is run by whoever runs the container (compose, Kubernetes, `docker run`), so
the key is the runner's business: a Dockerfile is never asked for it.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex

from preflight.findings import Location
from preflight.model import EnvDeclaration, Fact, ImageInstruction, Launcher
from preflight.sources import requirements
from preflight.sources.launching import LaunchContext, binding, launch_from_argv
from preflight.sources.text import SourceText

_INSTRUCTION = re.compile(r"^\s*(?P<keyword>[A-Za-z]+)\s+(?P<args>.*)$", re.DOTALL)
_ENV_PAIR = re.compile(r"""([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)""")
LAUNCHER = Launcher.DOCKERFILE


def instructions(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, KEYWORD, arguments) with continuation lines joined and comments dropped."""
    result = []
    lines = text.split("\n")
    offset = 0
    index = 0
    escape = "\\"
    if re.match(r"#\s*escape\s*=\s*`", text):
        escape = "`"
    while index < len(lines):
        start = offset
        line = lines[index]
        offset += len(line) + 1
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = []
        while line.rstrip().endswith(escape) and index < len(lines):
            parts.append(line.rstrip()[:-1])
            line = lines[index]
            offset += len(line) + 1
            index += 1
            while line.lstrip().startswith("#") and index < len(lines):  # comments inside a continuation
                line = lines[index]
                offset += len(line) + 1
                index += 1
        parts.append(line)
        match = _INSTRUCTION.match(" ".join(parts))
        if match:
            result.append((start, offset - 1, match.group("keyword").upper(), match.group("args").strip()))
    return result


_DIRECTIVE = re.compile(r"#\s*([A-Za-z]+)\s*=\s*(\S+)\s*")


def _directives(text: str) -> dict[str, str]:
    """The parser directives (`# syntax=docker/dockerfile:1`): comments of that form at the very top."""
    found: dict[str, str] = {}
    for line in text.split("\n"):
        match = _DIRECTIVE.fullmatch(line.rstrip("\r"))
        if match is None:
            break
        found.setdefault(match.group(1).lower(), match.group(2))
    return found


def _argv(arguments: str) -> list[str] | None:
    if arguments.startswith("["):
        try:
            value = json.loads(arguments)
        except (ValueError, RecursionError):
            return None
        return [str(v) for v in value] if isinstance(value, list) else None
    try:
        return ["/bin/sh", "-c", arguments] if any(c in arguments for c in "&|;$") else shlex.split(arguments)
    except ValueError:
        return None


def extract(source: SourceText) -> list[Fact]:
    facts: list[Fact] = []
    env = []
    entrypoint: list[str] = []
    command: list[str] = []
    command_location: Location | None = None
    stage, syntax = 0, _directives(source.text).get("syntax")
    for start, end, keyword, arguments in instructions(source.text):
        location = source.location(start, end)
        if keyword == "FROM":  # a new stage starts from scratch
            env, entrypoint, command, command_location = [], [], [], None
            stage += 1
        elif keyword in ("ENV", "ARG"):
            pairs = _ENV_PAIR.findall(arguments)
            if not pairs and arguments.split():
                words = arguments.split(None, 1)
                pairs = [(words[0], words[1] if len(words) > 1 else None)] if keyword == "ENV" else [(words[0], None)]
            single = len(pairs) == 1 and location.line == location.end_line
            for name, value in pairs:
                facts.append(ImageInstruction(location, keyword, name=name, stage=stage, single=single))
                if keyword == "ENV":
                    value = value.strip("'\"") if value is not None else ""
                    env.append(binding(name, value, location, "Dockerfile ENV"))
        elif keyword == "RUN":
            facts.append(ImageInstruction(location, "RUN", text=arguments[:300], stage=stage, syntax=syntax))
            facts.extend(requirements.pip_installs(source, start, end, arguments, "Dockerfile pip install"))
        elif keyword in ("CMD", "ENTRYPOINT"):
            argv = _argv(arguments) or []
            if keyword == "ENTRYPOINT":
                entrypoint, command = argv, []
            else:
                command = argv
            command_location = location
    facts.extend(EnvDeclaration(b, LAUNCHER) for b in env)
    argv = [*entrypoint, *command]
    if argv and command_location is not None:
        if len(argv) >= 3 and argv[0] in ("/bin/sh", "sh", "bash", "/bin/bash") and argv[1] == "-c":
            try:
                argv = shlex.split(argv[2]) if "&&" not in argv[2] else shlex.split(argv[2].split("&&")[-1])
            except ValueError:  # an unbalanced quote: not a command we can read
                argv = []
        context = LaunchContext(
            launcher=LAUNCHER,
            label=f"the image's {'ENTRYPOINT' if entrypoint else 'CMD'}",
            base_dir=posixpath.dirname(source.path) or ".",
            in_container=True,
            env=env,
            inherits_env=True,
            group=source.path,
        )
        launch = launch_from_argv(argv, context, command_location, " ".join(argv))
        if launch is not None:
            facts.append(launch)
    return facts
