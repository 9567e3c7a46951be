"""Committed env files (`.env`, `*.env`): the variables they set, for the secret rules."""

from __future__ import annotations

import re

from preflight.model import EnvDeclaration, Fact
from preflight.sources.launching import binding
from preflight.sources.text import SourceText

_LINE = re.compile(r"^[ \t]*(?:export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(?P<value>.*?)[ \t]*$", re.M)


def extract(source: SourceText) -> list[Fact]:
    facts: list[Fact] = []
    for match in _LINE.finditer(source.text):
        value = match.group("value")
        if value[:1] in ("'", '"') and value[-1:] == value[:1]:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        location = source.location(match.start("name"), match.end("name"))
        facts.append(EnvDeclaration(binding(match.group("name"), value, location, "env file"), "env file"))
    return facts
