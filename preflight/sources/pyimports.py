"""The imports of a Python file, by a regex: for files the pre-filter skips.

Kept apart from the Python extractor so that answering "which modules does this script import?"
for a pre-filtered file costs a regex, not the extractor's import.
"""

from __future__ import annotations

import re

from preflight.model import Fact, LocalImport

_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(?P<module>\.*[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^#\n]*)"
    r"|import[ \t]+(?P<plain>[^#\n]+))",
    re.MULTILINE,
)


def imports_only(text: str) -> list[Fact]:
    """The imports of a file that cannot produce other facts: a regex, not a parse, because only the
    modules it may import matter (the script a launcher runs often calls into a module that uses W&B)."""
    facts: list[Fact] = []
    for match in _IMPORT.finditer(text):
        if match.group("plain"):
            for part in match.group("plain").split(","):
                name = part.strip().split(" ")[0]
                if name:
                    facts.append(LocalImport(name, 0, ()))
            continue
        module = match.group("module")
        level = len(module) - len(module.lstrip("."))
        names = tuple(n.strip().split(" ")[0] for n in match.group("names").strip("()").replace("\\", "").split(","))
        facts.append(LocalImport(module.lstrip("."), level, tuple(n for n in names if n and n != "*")))
    return facts
