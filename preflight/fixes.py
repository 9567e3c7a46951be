"""Applying fixes: non-overlapping edits per file, written back byte-for-byte outside the edits,
or shown as a unified diff (`--diff`)."""

from __future__ import annotations

import codecs
import difflib
from dataclasses import dataclass
from pathlib import Path

from preflight import reading
from preflight.findings import Edit, Finding
from preflight.sources.text import SourceText

_LIMIT = 16 << 20  # no larger file is analysed (preflight.collect), so none has a fix


@dataclass(frozen=True)
class FileChange:
    path: str
    before: str
    after: str
    fixed: int  # findings fixed in this file

    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
            fromfile=f"a/{self.path}", tofile=f"b/{self.path}",
        ))


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


def plan(findings: list[Finding], cwd: Path, unsafe: bool = False) -> list[FileChange]:
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.fix is not None and (finding.fix.safe or unsafe):
            by_path.setdefault(finding.location.path, []).append(finding)
    changes = []
    for path, fixable in sorted(by_path.items()):
        file = Path(path) if Path(path).is_absolute() else cwd / path
        try:
            data = reading.read_bytes(file, _LIMIT)
        except OSError:
            continue
        bom = data.startswith(codecs.BOM_UTF8)
        try:
            before = data[3:].decode("utf-8") if bom else data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        edits = [edit for finding in fixable for edit in finding.fix.edits]
        after, _ = _apply(before, path, edits)
        if after != before:
            changes.append(FileChange(path, before, after, len(fixable)))
    return changes


def write(changes: list[FileChange], cwd: Path) -> None:
    for change in changes:
        file = Path(change.path) if Path(change.path).is_absolute() else cwd / change.path
        bom = reading.read_bytes(file, _LIMIT).startswith(codecs.BOM_UTF8)
        file.write_bytes((codecs.BOM_UTF8 if bom else b"") + change.after.encode("utf-8"))
