"""Applying fixes: non-overlapping edits per file, written back byte-for-byte outside the edits,
or shown as a unified diff (`--diff`).

The input is fixes, each a set of edits that belong together (a finding's fix, one suppression
comment), and the text of the files as the check read them (preflight.sourcelines): a file that
changed since is left alone.
"""

from __future__ import annotations

import codecs
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from preflight import display, linebreaks
from preflight.findings import Edit, Fix
from preflight.sourcelines import SourceLines
from preflight.sources.text import SourceText


@dataclass(frozen=True)
class FileChange:
    path: str
    before: str
    after: str
    fixed: int  # fixes applied to this file (findings fixed, comments added)
    bom: bool = False  # the file starts with a UTF-8 byte-order mark, kept when it is written

    def diff(self) -> str:
        """For a reader (`--diff`): names and lines shown through preflight.display, tabs kept."""
        syntax = linebreaks.of_path(self.path)
        return display.lines("".join(difflib.unified_diff(
            linebreaks.split(self.before, syntax, keepends=True), linebreaks.split(self.after, syntax, keepends=True),
            fromfile=f"a/{display.path(self.path)}", tofile=f"b/{display.path(self.path)}",
        )), tabs=True)


def _apply(text: str, path: str, edits: list[Edit]) -> tuple[str, int]:
    source = SourceText(path, text)
    spans = []
    for edit in edits:
        loc = edit.location
        spans.append((source.offset(loc.line, loc.column), source.offset(loc.end_line, loc.end_column), edit))
    applied = 0
    cursor = len(text) + 1
    for start, end, edit in sorted(set(spans), key=lambda s: (s[0], s[1]), reverse=True):
        if end > cursor:  # overlaps an edit already applied: left for a second run
            continue
        text = text[:start] + edit.replacement + text[end:]
        cursor = start
        applied += 1
    return text, applied


def plan(fixes: Iterable[Fix], sources: SourceLines) -> list[FileChange]:
    """The change to each file the fixes' edits touch."""
    by_path: dict[str, list[Edit]] = {}
    fixed: dict[str, int] = {}
    for fix in fixes:
        for path in dict.fromkeys(edit.location.path for edit in fix.edits):
            fixed[path] = fixed.get(path, 0) + 1
        for edit in fix.edits:
            by_path.setdefault(edit.location.path, []).append(edit)
    changes = []
    for path, edits in sorted(by_path.items()):
        read = sources.text(path)
        if read is None:
            continue
        before, bom = read
        after, _ = _apply(before, path, edits)
        if after != before:
            changes.append(FileChange(path, before, after, fixed[path], bom))
    return changes


def write(changes: list[FileChange], cwd: Path) -> None:
    """Every changed file or none (preflight.writing.replace_all): preflight.writing.WriteError, with no
    file changed, when one of them cannot be written (a full disk, a read-only folder)."""
    from preflight import writing

    writing.replace_all([(Path(change.path) if Path(change.path).is_absolute() else cwd / change.path,
                          (codecs.BOM_UTF8 if change.bom else b"") + change.after.encode("utf-8"))
                         for change in changes], within=cwd)
