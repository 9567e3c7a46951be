"""Findings: what a rule reports, where, and how serious it is.

Positions are 1-based for both line and column, columns counted in characters (not bytes),
so that editors, SARIF consumers and humans agree on where a finding is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def letter(self) -> str:
        return self.value[0].upper()

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True, order=True)
class Location:
    path: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __post_init__(self) -> None:
        if self.end_line < self.line or (self.end_line == self.line and self.end_column < self.column):
            object.__setattr__(self, "end_line", self.line)
            object.__setattr__(self, "end_column", self.column)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @classmethod
    def start_of(cls, path: str) -> "Location":
        return cls(path, 1, 1)


# A message quotes what the project wrote (a job's name, a value); a name of 1 MB quoted by the findings of
# a thousand steps made a report of 1 GB. Past this length the middle of a message is left out, so that
# a report grows with the findings, not with what they quote; the start (what) and the end (what to do) stay.
MESSAGE_LIMIT = 4_000


def bounded(message: str) -> str:
    if len(message) <= MESSAGE_LIMIT:
        return message
    keep = MESSAGE_LIMIT // 2
    return f"{message[:keep]} ... [{len(message) - 2 * keep:,} characters left out] ... {message[-keep:]}"


@dataclass(frozen=True, slots=True)
class Related:
    """A second place that explains a finding (the script a launcher runs, the default it relies on)."""

    location: Location
    message: str

    def __post_init__(self) -> None:
        if len(self.message) > MESSAGE_LIMIT:
            object.__setattr__(self, "message", bounded(self.message))


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text between two positions (end column exclusive) with `replacement`."""

    location: Location
    replacement: str


class Action(str, enum.Enum):
    """What a `Transform` does to the Python syntax at its location (preflight.pyedits applies it)."""

    SET_KEYWORD = "set-keyword"  # the call at the location gets `name=code`, or that keyword's value becomes `code`
    RENAME_ARGUMENT = "rename-argument"  # the keyword argument named at the location is renamed to `code`
    REMOVE_ARGUMENT = "remove-argument"  # the keyword argument named at the location goes, with its comma
    REPLACE = "replace"  # the expression spanning the location becomes `code`
    REPLACE_IN_STRING = "replace-in-string"  # in the string literal holding the location, `name` (once) becomes `code`
    INSERT_BEFORE = "insert-before"  # `code`, a statement, goes before the statement holding the location


@dataclass(frozen=True, slots=True)
class Transform:
    """A change to a Python file described by what it does rather than by text: applied to the file's
    concrete syntax tree (libcst) when the fix is planned, so that comments, quotes, commas and indentation
    stay as written. `imports` are statements the new code needs (`import os`), added once when missing."""

    location: Location
    action: Action
    name: str = ""
    code: str = ""
    imports: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Fix:
    """Edits that belong together: exact text edits (YAML, shell, Dockerfiles) or Python transforms, which
    preflight.fixes turns into text edits against the file as it was read."""

    description: str
    edits: tuple[Edit | Transform, ...]
    safe: bool = True


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    location: Location
    related: tuple[Related, ...] = field(default=())
    fix: Fix | None = None
    # What the finding is about (a launch, a compose service), for declared precedence between rules:
    # a general rule's finding yields to a more specific rule's finding about the same subject.
    subject: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if len(self.message) > MESSAGE_LIMIT:
            object.__setattr__(self, "message", bounded(self.message))

    @property
    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path, loc.line, loc.column, self.code, self.message)

    def paths(self) -> set[str]:
        return {self.location.path, *(r.location.path for r in self.related)}
