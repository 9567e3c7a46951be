"""Gitignore-like path patterns for `exclude`, `extend-exclude` and `per-file-ignores`.

A pattern without a slash matches any path component (`build`, `*.ipynb`); a pattern with a slash
is anchored at the project root (`tests/fixtures`, `src/**/legacy_*.py`). A pattern that matches
a directory matches everything below it.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _translate(pattern: str) -> str:
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
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


class PatternSet:
    """Several patterns compiled into two regexes: one for path components, one for anchored paths."""

    def __init__(self, patterns: tuple[str, ...] | list[str]) -> None:
        component, anchored = [], []
        for raw in patterns:
            pattern = raw.strip()
            if not pattern:
                continue
            is_anchored = "/" in pattern.rstrip("/")
            body = _translate(pattern.removeprefix("./").strip("/"))
            (anchored if is_anchored else component).append(body)
        self._component = re.compile("(?:" + "|".join(component) + r")\Z") if component else None
        self._anchored = re.compile("(?:" + "|".join(anchored) + r")\Z") if anchored else None

    def __bool__(self) -> bool:
        return self._component is not None or self._anchored is not None

    def matching_prefix(self, relative_path: str) -> str | None:
        """The shortest leading part of the path (a folder or the file) that some pattern matches."""
        parts = relative_path.split("/")
        component, anchored = self._component, self._anchored
        for n in range(1, len(parts) + 1):
            if (component is not None and component.match(parts[n - 1])) or (
                anchored is not None and anchored.match("/".join(parts[:n]))
            ):
                return "/".join(parts[:n])
        return None

    def matches(self, relative_path: str) -> bool:
        return self.matching_prefix(relative_path) is not None


@lru_cache(maxsize=256)
def pattern_set(patterns: tuple[str, ...]) -> PatternSet:
    return PatternSet(patterns)


def matches(pattern: str, relative_path: str) -> bool:
    """Does the pattern match this root-relative posix path or one of its parent directories?"""
    return pattern_set((pattern,)).matches(relative_path)
