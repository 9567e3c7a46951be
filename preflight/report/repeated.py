"""Repeated findings in the text report: a rule that reports the same cause in 80 configs prints 80 lines
that say one thing, and the findings that differ scroll away. A person reads the first few of such a group
and one line for the rest ("... and 76 more like this in configs/**"); the machine formats, --statistics'
counts and the exit code always have every finding.

One cause is one rule with one message once the parts a message quotes from the project are set aside
(quoted values, numbers, file names): `eval_steps=50 ... logging_steps=20` in one config and `=250 ... =100`
in another are the same mistake.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import NamedTuple

from preflight import display
from preflight.findings import Finding
from preflight.plural import counted

SHOWN = 3  # findings of a group printed in full
LEAST = SHOWN + 3  # a group is summarised from this size on: never "... and 1 more"

# what a message quotes from the project: '...', "...", `...`, numbers, paths and file names
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|[\w.-]*/[\w./-]*|[\w-]+\.[A-Za-z]\w{0,5}\b|\d+(?:\.\d+)*")


class More(NamedTuple):
    """In place of a group's findings after the first SHOWN: how many were left out, and where they are."""

    code: str
    count: int
    where: str


def cause(finding: Finding) -> tuple[str, str]:
    return finding.code, _QUOTED.sub("_", finding.message)


def arrange(findings: list[Finding]) -> Iterator[Finding | More]:
    """The findings in their order, each group of LEAST or more with one cause cut to its first SHOWN
    and a More after the last of those."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault(cause(finding), []).append(finding)
    left_out = {id(f) for group in groups.values() if len(group) >= LEAST for f in group[SHOWN:]}
    for finding in findings:
        if id(finding) in left_out:
            continue
        yield finding
        group = groups[cause(finding)]
        if len(group) >= LEAST and finding is group[SHOWN - 1]:
            rest = group[SHOWN:]
            yield More(finding.code, len(rest), where(sorted({f.location.path for f in rest})))


def where(paths: list[str]) -> str:
    """The files as a person finds them: one file by its name, several by the folder they share
    (`configs/**`), else their number."""
    if len(paths) == 1:
        return display.path(paths[0])
    common = posixpath.commonpath(paths) if all(p.startswith("/") for p in paths) or not any(
        p.startswith("/") for p in paths) else ""
    if common and common not in (".", "/"):
        return display.path(common.rstrip("/")) + "/**"
    return counted(len(paths), "file")


def line(more: More) -> str:
    return f"... and {more.count} more {more.code} like this in {more.where} (--all-findings shows each)"
