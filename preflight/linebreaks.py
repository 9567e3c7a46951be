"""Where a file's lines break, by the rules of the file's own syntax.

`str.splitlines()` breaks at \\f, \\v, \\x1c-\\x1e, NEL, U+2028 and U+2029 too, and no reader of the
files preflight checks does all of that. A position (finding, code frame, fix, suppression comment)
counted with other breaks than the file's reader uses points at another line: a fix edits the wrong
line, a comment suppresses another finding. So every position in preflight is counted here:

- Python: \\n, \\r\\n and a lone \\r (CPython's tokenizer; `ast` line numbers count these). \\f is
  whitespace, not a break.
- YAML (and the JSON read as YAML): those three and NEL (U+0085), LS (U+2028) and PS (U+2029), as
  PyYAML's reader counts them (YAML 1.1 line breaks; the marks of every node come from it).
- Everything else (shell, Makefiles, Dockerfiles, .env, TOML, requirements, notebooks' JSON): \\n
  only; bash, make and BuildKit read a lone \\r as part of the line (and \\r\\n as \\r at its end, which
  `split` leaves out of the line's text, as it leaves out the break).
"""

from __future__ import annotations

import re

from preflight import classify

PYTHON = "python"
YAML = "yaml"
NEWLINE = "newline"

_BREAKS = {
    PYTHON: re.compile(r"\r\n|\r|\n"),
    YAML: re.compile("\r\n|[\r\n\x85\u2028\u2029]"),
}
_ODD = {PYTHON: ("\r",), YAML: ("\r", "\x85", "\u2028", "\u2029")}

_PYTHON_KINDS = frozenset({classify.PYTHON, classify.SETUP_PY})
_NEWLINE_KINDS = frozenset({
    classify.NOTEBOOK, classify.DOCKERFILE, classify.SHELL, classify.MAKEFILE, classify.DOTENV, classify.NETRC,
    classify.REQUIREMENTS, classify.PYPROJECT, classify.SETUP_CFG, classify.TOML_LOCK, classify.PIPFILE_LOCK,
})


def of_kind(kind: str | None) -> str:
    """The line-break rules of a file kind (preflight.classify)."""
    if kind in _PYTHON_KINDS:
        return PYTHON
    if kind is None or kind in _NEWLINE_KINDS:
        return NEWLINE
    return YAML  # workflows, compose, sweeps, configs, Kubernetes, dstack, SkyPilot, conda, yaml, json


def of_path(path: str) -> str:
    return of_kind(classify.kind_by_path(path))


def _simple(text: str, syntax: str) -> bool:
    return syntax == NEWLINE or not any(ch in text for ch in _ODD[syntax])


def starts(text: str, syntax: str) -> list[int]:
    """The offset at which each line starts (the first is 0)."""
    if _simple(text, syntax):
        result = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            result.append(pos + 1)
            pos = find("\n", pos + 1)
        return result
    return [0] + [match.end() for match in _BREAKS[syntax].finditer(text)]


def split(text: str, syntax: str, keepends: bool = False) -> list[str]:
    """The lines of `text` (as `str.splitlines`: no empty last line after a final break)."""
    if _simple(text, syntax):
        lines = text.split("\n")
        if keepends:
            lines = [line + "\n" for line in lines[:-1]] + [lines[-1]]
        elif "\r" in text:  # the \r of a \r\n is no part of what a line says (a comment goes before it)
            lines = [line[:-1] if line.endswith("\r") else line for line in lines[:-1]] + [lines[-1]]
    else:
        lines, cursor = [], 0
        for match in _BREAKS[syntax].finditer(text):
            lines.append(text[cursor: match.end() if keepends else match.start()])
            cursor = match.end()
        lines.append(text[cursor:])
    if lines and lines[-1] == "":
        lines.pop()
    return lines
