"""Makefile recipes that run training (`make train`)."""

from __future__ import annotations

import posixpath
import re

from preflight.model import Fact, Launcher
from preflight.sources.launching import LaunchContext, TextLocator, launches_from_script
from preflight.sources.text import SourceText

_TARGET = re.compile(r"^(?P<targets>[^\s:=#][^:=]*?)\s*::?(?!=)")


def extract(source: SourceText) -> list[Fact]:
    facts: list[Fact] = []
    target = None
    offset = 0
    lines = source.text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        line_offset = offset
        offset += len(line) + 1
        index += 1
        if line.startswith("\t") and target:
            body = line[1:]
            stripped = body.lstrip("@-+ ")
            start = line_offset + 1 + (len(body) - len(stripped))
            parts = [stripped]
            while parts[-1].endswith("\\") and index < len(lines):  # a continued recipe line
                parts[-1] = parts[-1][:-1]
                parts.append(lines[index].lstrip("\t"))
                offset += len(lines[index]) + 1
                index += 1
            script = " ".join(parts).replace("$$", "$")
            script = re.sub(r"\$[({]([^)}]*)[)}]", r"${\1}", script)
            context = LaunchContext(
                launcher=Launcher.MAKE,
                label=f"make target '{target}'",
                base_dir=posixpath.dirname(source.path) or ".",
                inherits_env=True,
        cwd_known=False,
                group=f"{source.path}:{target}",
            )
            result = launches_from_script(script, context, TextLocator(source, start))
            facts.extend([*result.launches, *result.facts])
            continue
        match = _TARGET.match(line)
        if match and not line.startswith("\t"):
            target = match.group("targets").split()[0]
        elif line.strip() and not line.startswith(("\t", "#")):
            target = None if "=" in line.split("#")[0] else target
    return facts
