"""Path patterns for `exclude`, `extend-exclude` and `per-file-ignores`, with git's rules (.gitignore).

A pattern without a slash (other than a trailing one) matches at any depth (`build`, `*.ipynb`); one
with a slash is anchored at the configuration's folder (`tests/fixtures`, `src/**/legacy_*.py`; a
leading `./` anchors too); a trailing slash matches folders only; `!` re-includes what an earlier
pattern of the same list excluded. A pattern that cannot match anything as git reads it (`[z-a]`, an
unclosed `[`, a lone `!`, a comment) is a configuration error, never a pattern that silently matches
nothing.

Each pattern is translated by pathspec (`GitIgnoreSpecPattern`, its port of git's wildmatch). The
decision is git's own walk, not pathspec's `GitIgnoreSpec.match_file`: git decides each folder from
the top, the last pattern that matches that folder itself wins, and nothing below an excluded folder
is looked at again (so `build/` then `!build/keep.py` keeps keep.py excluded, which GitIgnoreSpec
re-includes on purpose). pathspec's expressions also match every path below what they match; a match
counts for a path itself only where it ends there (`tests/test_globs.py` holds the decisions to
`git ls-files` on generated patterns).
"""

from __future__ import annotations

import re
from functools import lru_cache

from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

_FOLDER_MARK = "ps_d"  # the group of pathspec's expressions that matches the `/` after a folder's name
_GROUP = re.compile(r"\(\?P<\w+>")  # named groups cannot repeat in one combined expression


class PatternError(ValueError):
    """A pattern git's rules cannot use; the message says why."""


def _git_form(raw: str) -> str:
    """The pattern as a .gitignore line: surrounding blanks dropped, `./x` anchored as `/x`, and the one form
    pathspec translates otherwise than git spelled out (`dir/**/`)."""
    pattern = raw.strip()
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    if body.startswith("./"):
        body = "/" + body[2:].lstrip("/")
    if body.endswith("/**/") and body.strip("/") != "**":
        body += "*/"  # the folders below `dir/`, at any depth (pathspec reads `dir/**/` as `dir/` itself)
    return ("!" if negated else "") + body


def _compile(raw: str) -> GitIgnoreSpecPattern:
    line = _git_form(raw)
    if not line or line.startswith("#"):
        raise PatternError(f"{raw!r} is not a pattern: git reads an empty line or one that starts with # as a "
                           "comment (write \\# for a name that starts with #)")
    try:
        compiled = GitIgnoreSpecPattern(line)
    except (ValueError, re.error) as exc:  # pathspec's GitIgnorePatternError is a ValueError
        reason = ("a [...] class must have upward ranges, as in [a-z]" if isinstance(exc, re.error)
                  else "a lone ! or a trailing \\ matches nothing")
        raise PatternError(f"{raw!r} is not a valid pattern: {reason}") from None
    if compiled.include is None or compiled.regex is None:
        raise PatternError(f"{raw!r} is not a valid pattern: git discards it (a [...] class must be closed and "
                           "hold a character, as in [ab] or [!x])")
    return compiled


def _itself(expression: re.Pattern) -> tuple[re.Pattern, re.Pattern]:
    """Expressions that match a file, and a folder written with a trailing `/`, that the pattern matches
    itself (pathspec's expression also matches everything below a folder it matches)."""
    if _FOLDER_MARK in expression.groupindex:  # `name`, `dir/`, `a/**/b`: the name must end the path
        exact = re.compile(f"(?:{expression.pattern})\\Z")
        return exact, exact
    # `dir/**` and `*`: everything below what the expression spells out, not the folder `dir/` itself
    return expression, re.compile(f"(?:{expression.pattern}).")


class PatternSet:
    """One list of patterns, in order (a later `!pattern` re-includes what an earlier one excluded)."""

    def __init__(self, patterns: tuple[str, ...] | list[str]) -> None:
        compiled = [_compile(raw) for raw in patterns]
        self._patterns = [(*_itself(p.regex), p.include) for p in compiled]
        # Every expression matches the paths below what it matches too, so a path that no excluding
        # expression matches is decided at once (most paths of a scan are such paths).
        excluding = [_GROUP.sub("(?:", p.regex.pattern) for p in compiled if p.include]
        self._any = re.compile("|".join(f"(?:{e})" for e in excluding)) if excluding else None
        self._folders: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return self._any is not None

    def _excluded(self, query: str) -> bool:
        """git's decision for one path: the last pattern that matches it itself wins."""
        folder = query.endswith("/")
        decision = False
        for file_expression, folder_expression, include in self._patterns:
            if (folder_expression if folder else file_expression).search(query):
                decision = include
        return decision

    def matching_prefix(self, relative_path: str, is_dir: bool = False) -> str | None:
        """The shortest leading part of the path (a folder, or the path itself) that the patterns exclude,
        or None. `relative_path` is relative to the configuration's folder, with `/` separators."""
        if self._any is None or not self._any.search(relative_path + ("/" if is_dir else "")):
            return None
        parts = relative_path.split("/")
        for n in range(1, len(parts)):
            folder = "/".join(parts[:n]) + "/"
            if folder not in self._folders:  # thousands of files share a few hundred folders
                self._folders[folder] = self._excluded(folder)
            if self._folders[folder]:
                return folder[:-1]
        return relative_path if self._excluded(relative_path + ("/" if is_dir else "")) else None

    def matches(self, relative_path: str, is_dir: bool = False) -> bool:
        return self.matching_prefix(relative_path, is_dir) is not None


def moved(raw: str, anchored_in: str, anywhere_in: str) -> str:
    """The pattern as written in a folder above: `raw` was written in the folder `anchored_in` (a path
    relative to the new one, "" for the same folder), and a pattern that matches at any depth is to match
    at any depth below `anywhere_in`. `legacy/` from `svc` becomes `svc/legacy/`, `build` `svc/**/build`
    (used by `extend`, preflight.inherit)."""
    pattern = raw.strip()
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    if body.startswith("./"):
        body = "/" + body[2:].lstrip("/")
    if body.startswith("**/"):  # at any depth
        folder = anywhere_in
    elif "/" in body.rstrip("/"):  # git: a slash at the start or in the middle anchors the pattern
        folder, body = anchored_in, body.lstrip("/")
    else:
        folder, body = anywhere_in, "**/" + body
    if not folder:
        return raw
    return ("!" if negated else "") + _literal(folder) + "/" + body


def _literal(folder: str) -> str:
    """A folder's path as a pattern that matches it alone: wildcards escaped, and a leading ! or #."""
    escaped = re.sub(r"([\\*?\[])", r"\\\1", folder)
    return "\\" + escaped if escaped[:1] in ("!", "#") else escaped


@lru_cache(maxsize=256)
def pattern_set(patterns: tuple[str, ...]) -> PatternSet:
    """The compiled list; raises PatternError for a pattern git's rules cannot use."""
    return PatternSet(patterns)


def matches(pattern: str, relative_path: str) -> bool:
    """Does one `per-file-ignores` pattern match this path (relative to the configuration's folder)? A
    pattern on its own has nothing to re-include, so `!pattern` means the paths it does not match."""
    stripped = pattern.strip()
    if stripped.startswith("!"):
        return not pattern_set((stripped[1:],)).matches(relative_path)
    return pattern_set((stripped,)).matches(relative_path)
