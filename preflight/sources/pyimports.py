"""The imports of a Python file, for the cross-file questions (which project modules a script loads):
from the syntax tree for a file the extractor parses, by a regex for one the pre-filter skips.

Kept apart from the Python extractor so that answering "which modules does this script import?"
for a pre-filtered file costs a regex, not the extractor's import.
"""

from __future__ import annotations

import ast
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


def local_imports(node: ast.Import | ast.ImportFrom) -> list[LocalImport]:
    """The imports of one parsed import statement (`import a, b` is two)."""
    if isinstance(node, ast.Import):
        return [LocalImport(alias.name, 0, ()) for alias in node.names]
    return [LocalImport(node.module or "", node.level, tuple(a.name for a in node.names if a.name != "*"))]
