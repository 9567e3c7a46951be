"""Applying fixes: non-overlapping edits per file, written back byte-for-byte outside the edits,
or shown as a unified diff (`--diff`).

The input is fixes, each a set of edits that belong together (a finding's fix, one suppression
comment), and the text of the files as the check read them (preflight.sourcelines): a file that
changed since is left alone.
"""

from __future__ import annotations

import ast
import codecs
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from preflight import display, linebreaks, secrets
from preflight.findings import Edit, Fix, Transform
from preflight.sourcelines import SourceLines
from preflight.sources.text import SourceText


@dataclass(frozen=True)
class FileChange:
    path: str
    before: str
    after: str
    fixed: int  # fixes applied to this file (findings fixed, comments added)
    bom: bool = False  # the file starts with a UTF-8 byte-order mark, kept when it is written
    refused: int = 0  # fixes not applied: the file would no longer parse as it did (preflight.fixes._parses)
    hidden: frozenset[str] = frozenset()  # the file's credentials as written (SourceLines.hidden)

    def diff(self) -> str:
        """For a reader (`--diff`): names and lines shown through preflight.display, tabs kept, and every
        credential of the file masked in the lines removed, added and around them (preflight.secrets)."""
        syntax = linebreaks.of_path(self.path)

        def shown(text: str) -> list[str]:
            return [secrets.scrub(line) for line in
                    linebreaks.split(secrets.redact(text, self.hidden), syntax, keepends=True)]

        return display.lines("".join(difflib.unified_diff(
            shown(self.before), shown(self.after),
            fromfile=f"a/{display.path(self.path)}", tofile=f"b/{display.path(self.path)}",
        )), tabs=True)


def _apply(text: str, path: str, edits: list[Edit]) -> tuple[str, set[Edit]]:
    """The text with the edits applied, and those applied: an edit that overlaps one applied is left for
    the next round (`--fix` runs again), and an edit given twice is applied once."""
    source = SourceText(path, text)
    spans = []
    for edit in edits:
        loc = edit.location
        spans.append((source.offset(loc.line, loc.column), source.offset(loc.end_line, loc.end_column), edit))
    applied: set[Edit] = set()
    cursor = len(text) + 1
    for start, end, edit in sorted(set(spans), key=lambda s: (s[0], s[1]), reverse=True):
        if end > cursor:  # overlaps an edit already applied: left for a second run
            continue
        text = text[:start] + edit.replacement + text[end:]
        cursor = start
        applied.add(edit)
    return text, applied


def _tree(path: str, text: str) -> str | None:
    """What a file's parse says (comments aside), to compare a fixed text with the text as read; "" for a
    kind preflight does not parse here (shell, Dockerfiles: their fixes are edits at known positions),
    None when the text does not parse."""
    syntax = linebreaks.of_path(path)
    try:
        if syntax == linebreaks.PYTHON:
            return ast.dump(ast.parse(text))
        if syntax == linebreaks.YAML:
            from preflight.sources import yamltree

            return repr([_shape(node) for node in yamltree.compose_documents(text)])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return ""


def _shape(node) -> object:
    """A YAML node's structure and values; a block scalar (`|`, `>`) counts as one opaque value, as a comment
    in a workflow's `run: |` script is the script's own (a shell comment, how its lines are suppressed)."""
    value = node.value
    if isinstance(value, list):
        return (node.tag, [(_shape(item[0]), _shape(item[1])) if isinstance(item, tuple) else _shape(item)
                           for item in value])
    return (node.tag, "block" if getattr(node, "style", None) in ("|", ">") else value)


def _parses(path: str, before: str, after: str, keep_tree: bool) -> bool:
    """A fix is applied only to a file that parses, and only when the fixed text parses too; comments
    (`keep_tree`) must leave the parse as it was: a comment in a multi-line plain YAML scalar ends it."""
    was, now = _tree(path, before), _tree(path, after)
    return was is not None and now is not None and (now == was or not keep_tree)


def resolve(fix: Fix, sources: SourceLines) -> Fix | None:
    """The fix as text edits: its Python transforms applied (preflight.pyedits) to the file as the check read
    it. None when that text is gone (the file changed since) or a transform does not apply there."""
    if not any(isinstance(edit, Transform) for edit in fix.edits):
        return fix
    from preflight import pyedits

    edits: list[Edit] = [edit for edit in fix.edits if isinstance(edit, Edit)]
    transforms: dict[str, list[Transform]] = {}
    for edit in fix.edits:
        if isinstance(edit, Transform):
            transforms.setdefault(edit.location.path, []).append(edit)
    for path, group in transforms.items():
        read = sources.text(path)
        if read is None:
            return None
        try:
            edits += pyedits.edits(path, read[0], group)
        except pyedits.NotApplicable:
            return None
    return Fix(fix.description, tuple(edits), fix.safe)


def plan(fixes: Iterable[Fix], sources: SourceLines, keep_tree: bool = False) -> list[FileChange]:
    """The change to each file the fixes' edits touch. A fix that would make the file not parse (or, with
    `keep_tree`, parse otherwise: comments only) is left out and counted as refused; a file that does not
    parse gets no fix, nor does one that changed since it was read."""
    by_path: dict[str, list[list[Edit]]] = {}
    unresolved: dict[str, int] = {}
    for planned in fixes:
        fix = resolve(planned, sources)
        if fix is None:
            for path in dict.fromkeys(edit.location.path for edit in planned.edits):
                unresolved[path] = unresolved.get(path, 0) + 1
            continue
        for path in dict.fromkeys(edit.location.path for edit in fix.edits):
            by_path.setdefault(path, []).append([e for e in fix.edits if e.location.path == path])
    changes = []
    for path in sorted(unresolved.keys() - by_path.keys()):
        read = sources.text(path)
        if read is not None:
            changes.append(FileChange(path, read[0], read[0], 0, read[1], unresolved[path], _hidden(sources, path)))
    for path, groups in sorted(by_path.items()):
        read = sources.text(path)
        if read is None:
            continue
        before, bom = read
        writable = [group for group in groups if not _writes_a_mask(before, group)]
        masked, groups = len(groups) - len(writable), writable
        after, applied = _apply(before, path, [e for group in groups for e in group])
        fixed, refused = sum(1 for group in groups if applied.issuperset(group)), masked
        if after != before and not _parses(path, before, after, keep_tree):
            after, fixed = before, 0  # one at a time: keep those that leave the file parsing
            for group in groups:
                attempt, _ = _apply(after, path, group)
                if attempt != after and _parses(path, after, attempt, keep_tree):
                    after, fixed = attempt, fixed + 1
            refused = masked + len(groups) - fixed
        refused += unresolved.get(path, 0)
        if after != before or refused:
            changes.append(FileChange(path, before, after, fixed, bom, refused, _hidden(sources, path)))
    return changes


def _hidden(sources: SourceLines, path: str) -> frozenset[str]:
    return frozenset(sources.hidden(path))


def _writes_a_mask(before: str, group: list[Edit]) -> bool:
    """Would the edits write a masked credential (`****abcd`) into the file? Facts hold credentials masked
    (preflight.secrets.mask_facts): an edit built from one must not replace the real value."""
    return "****" not in before and any("****" in edit.replacement for edit in group)


def write(changes: list[FileChange], cwd: Path) -> list[FileChange]:
    """Every changed file or none (preflight.writing.replace_all): preflight.writing.WriteError, with no
    file changed, when one of them cannot be written (a full disk, a read-only folder). A file whose bytes
    are no longer those the change was planned from (edited since it was read) is left alone, and returned."""
    from preflight import reading, writing

    contents, stale = [], []
    for change in changes:
        if change.after == change.before:
            continue
        path = Path(change.path) if Path(change.path).is_absolute() else cwd / change.path
        bom = codecs.BOM_UTF8 if change.bom else b""
        try:
            current = reading.read_bytes(path, len(change.before.encode("utf-8")) + len(bom) + 1)
        except (OSError, ValueError):
            current = None
        if current != bom + change.before.encode("utf-8"):
            stale.append(change)
            continue
        contents.append((path, bom + change.after.encode("utf-8")))
    writing.replace_all(contents, within=cwd)
    return stale
