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
            parts = [(stripped, start)]  # each line of the recipe line, and where it starts in the text
            while parts[-1][0].endswith("\\") and index < len(lines):  # a continued recipe line
                parts[-1] = (parts[-1][0][:-1], parts[-1][1])
                following = lines[index].lstrip("\t")
                parts.append((following, offset + len(lines[index]) - len(following)))
                offset += len(lines[index]) + 1
                index += 1
            script, breaks = _shell_text(parts)
            script = re.sub(r"\$[({]([^)}]*)[)}]", r"${\1}", script)  # as long as what it replaces
            context = LaunchContext(
                launcher=Launcher.MAKE,
                label=f"make target '{target}'",
                base_dir=posixpath.dirname(source.path) or ".",
                inherits_env=True,
        cwd_known=False,
                group=f"{source.path}:{target}",
            )
            result = launches_from_script(script, context, TextLocator(source, start, breaks))
            facts.extend([*result.launches, *result.facts])
            continue
        match = _TARGET.match(line)
        if match and not line.startswith("\t"):
            target = match.group("targets").split()[0]
        elif line.strip() and not line.startswith(("\t", "#")):
            target = None if "=" in line.split("#")[0] else target
    return facts


def _shell_text(parts: list[tuple[str, int]]) -> tuple[str, list[tuple[int, int]]]:
    """The command a recipe line gives the shell: its lines joined by a space, each `$$` (make's escape)
    one `$`; and where its offsets and the text's part (see launching.TextLocator), so that a position
    or a fix lands on what the Makefile holds."""
    pieces: list[str] = []
    breaks: list[tuple[int, int]] = []
    length = 0
    for number, (text, text_start) in enumerate(parts):
        if number:
            pieces.append(" ")
            length += 1
        breaks.append((length, text_start))
        position = 0
        for escape in re.finditer(r"\$\$", text):
            pieces.append(text[position:escape.start() + 1])
            length += escape.start() + 1 - position
            position = escape.end()
            breaks.append((length, text_start + position))
        pieces.append(text[position:])
        length += len(text) - position
    return "".join(pieces), breaks
