"""Committed env files (`.env`, `*.env`): the variables they set, for the secret rules."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.model import EnvDeclaration, EnvSource, Fact
from preflight.sources.launching import binding
from preflight.sources.text import SourceText

_COMMENT = re.compile(r"(?:^|[ \t])#")
_LINE = re.compile(r"^[ \t]*(?:export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(?P<value>.*?)[ \t]*$", re.M)


def assignments(text: str) -> Iterator[tuple[re.Match, str]]:
    """Each `NAME=value` line with its value as compose and python-dotenv read it: quotes removed, and for
    an unquoted value a `#` at its start or after a blank begins a comment (`KEY= # fill in` is empty).
    The one reader of env files: the secret rules and the launcher rules must agree on what a file sets."""
    for match in _LINE.finditer(text):
        value = match.group("value")
        if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) >= 2:
            value = value[1:-1]
        else:
            value = _COMMENT.split(value, 1)[0].rstrip()
        yield match, value


def variables(text: str) -> dict[str, str]:
    return {match.group("name"): value for match, value in assignments(text)}


def extract(source: SourceText) -> list[Fact]:
    facts: list[Fact] = []
    for match, value in assignments(source.text):
        location = source.location(match.start("name"), match.end("name"))
        facts.append(EnvDeclaration(binding(match.group("name"), value, location, EnvSource.ENV_FILE.label),
                                     EnvSource.ENV_FILE))
    return facts
