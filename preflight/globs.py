"""Gitignore-like path patterns for `exclude`, `extend-exclude` and `per-file-ignores`.

A pattern without a slash matches any path component (`build`, `*.ipynb`); a pattern with a slash
is anchored at the project root (`tests/fixtures`, `src/**/legacy_*.py`). A pattern that matches
a directory matches everything below it.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=512)
def _compile(pattern: str) -> tuple[re.Pattern[str], bool]:
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.strip().removeprefix("./").strip("/")
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z"), anchored


def matches(pattern: str, relative_path: str) -> bool:
    """Does the pattern match this root-relative posix path or one of its parent directories?"""
    regex, anchored = _compile(pattern)
    parts = relative_path.split("/")
    if anchored:
        return any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1))
    return any(regex.match(part) for part in parts)


def matching_prefix(pattern: str, relative_path: str) -> str | None:
    """The shortest leading part of the path that the pattern matches, if any."""
    regex, anchored = _compile(pattern)
    parts = relative_path.split("/")
    for n in range(1, len(parts) + 1):
        candidate = "/".join(parts[:n])
        if regex.match(candidate if anchored else parts[n - 1]):
            return candidate
    return None
