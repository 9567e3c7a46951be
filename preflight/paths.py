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
