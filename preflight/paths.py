"""Path conventions of launchers, shared by extractors and rules."""

from __future__ import annotations

import posixpath


def repository_root(path: str) -> str:
    """The directory that holds `.github/` (paths in a workflow's `run:` resolve against the checkout)."""
    parts = path.split("/")
    if ".github" in parts:
        index = len(parts) - 1 - parts[::-1].index(".github")
        return "/".join(parts[:index]) or "."
    return posixpath.dirname(path) or "."


def import_bases(from_path: str, level: int) -> list[str]:
    """The folders an import in `from_path` may resolve from: for a relative import (`level` dots) the
    package folder it names; for an absolute one the module's folder and each folder above it, each with
    a src/ layout's package folder beside it (`pip install -e .` of src/alignment)."""
    if level:
        base = posixpath.dirname(from_path)
        for _ in range(level - 1):
            base = posixpath.dirname(base)
        return [base]
    bases: list[str] = []
    current = posixpath.dirname(from_path)
    while True:
        bases += [current, posixpath.join(current, "src") if current else "src"]
        if current in ("", ".", "/"):
            return bases
        current = posixpath.dirname(current)
