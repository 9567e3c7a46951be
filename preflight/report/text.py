"""Human output: `path:line:col: CODE [*] [severity] message` (`[*]`: `--fix` fixes it), a short code frame,
repeated findings summarised, a summary line with the count of fixable findings.

Names, messages and source lines are shown through preflight.display: one finding is one line, whatever
its file or step is called, and nothing from the scanned tree reaches the terminal as a control sequence.
"""

from __future__ import annotations

from collections import Counter
import click

from preflight import display
from preflight.findings import Finding, Severity
from preflight.plural import counted
from preflight.report import repeated
from preflight.sourcelines import SourceLines

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}
_FRAME_WIDTH = 240  # characters of a source line a code frame shows (a 10 MB line is not printed whole)
_FRAME_BEFORE = 80  # of them, before the finding's column


def render(findings: list[Finding], files: int, *, colour: bool, show_source: bool = True,
           lines: SourceLines | None = None, context: int = 0, summarise: bool = True) -> str:
    """Each finding with its code frame (`[*]` after the code: `--fix` fixes it), repeated ones summarised
    (preflight.report.repeated) unless `summarise` is off, then the summary line."""
    style = (lambda text, **kw: click.style(text, **kw)) if colour else (lambda text, **kw: text)
    out: list[str] = []
    lines = lines or SourceLines()
    for item in repeated.arrange(findings) if summarise else findings:
        if isinstance(item, repeated.More):
            out.append(style(repeated.line(item), dim=True))
            continue
        loc = item.location
        head = style(f"{display.path(loc.path)}:{loc.line}:{loc.column}:", bold=True) + _cell(loc, lines)
        code = style(item.code, fg=_COLOURS[item.severity], bold=True) + (" [*]" if fixable(item) else "")
        out.append(f"{head} {code} [{item.severity.value}] {display.text(item.message)}")
        if show_source:
            out.extend(_frame(item, lines, style))
    out.append(summary(findings, files, style, context))
    return "\n".join(out) + "\n"


def fixable(finding: Finding) -> bool:
    """`--fix` fixes it: the finding has a safe fix (an unsafe one needs `--unsafe-fixes`, or the editor)."""
    return finding.fix is not None and finding.fix.safe


def _cell(loc, lines: SourceLines) -> str:
    """For a notebook, where the finding is in cell terms (the position itself is the JSON file's)."""
    if not loc.path.endswith(".ipynb"):
        return ""
    from preflight.sources.notebook import cell_of

    where = cell_of("\n".join(lines.lines(loc.path)), loc.line)
    return f" (cell {where[0]}, line {where[1]})" if where else ""


def _frame(finding: Finding, lines: SourceLines, style) -> list[str]:
    loc = finding.location
    shown = lines.shown(loc.path, loc.line)  # every credential of the file masked (preflight.secrets)
    if shown is None:
        return []
    text, columns = shown
    expanded = text.expandtabs(1)  # a tab is one character, as the columns count it
    gutter = " " * len(str(loc.line))
    last = len(columns) - 1
    first = columns[min(max(loc.column - 1, 0), last)]
    width = (loc.end_column - loc.column) if loc.end_line == loc.line and loc.end_column > loc.column else 1
    stop = columns[min(max(loc.column - 1 + width, 0), last)]
    width = max(1, min(stop - first, max(1, len(expanded) - first)))
    text = expanded
    # a long line is shown around the finding only; the marker stands under the characters as shown (an
    # escaped control character takes several)
    start = max(0, first - _FRAME_BEFORE) if len(text) > _FRAME_WIDTH else 0
    end = min(len(text), start + _FRAME_WIDTH)
    left, right = ("..." if start else ""), ("..." if end < len(text) else "")
    before = left + display.text(text[start:first])
    marked = display.text(text[first:min(first + width, end)])
    marker = " " * len(before) + style("^" * max(1, len(marked)), fg=_COLOURS[finding.severity], bold=True)
    frame = [f"{gutter} |", f"{loc.line} | {left}{display.text(text[start:end])}{right}", f"{gutter} | {marker}"]
    for related in finding.related[:1]:
        rel = related.location
        frame.append(f"{gutter} = note: {display.path(rel.path)}:{rel.line}:{rel.column}: "
                     f"{display.text(related.message)}")
    return frame


def summary(findings: list[Finding], files: int, style=lambda text, **kw: text, context: int = 0) -> str:
    """The closing line: the files checked (the ones named, when files are named) and how many more were
    read for context (the project around them)."""
    checked = f"{counted(files, 'file')} checked" + (
        f", {context} more read for context" if context else "")
    if not findings:
        return style(f"All checks passed ({checked}).", fg="green", bold=True)
    counts = Counter(f.severity for f in findings)
    parts = [counted(counts[s], s.value) for s in Severity if counts[s]]
    line = style(f"Found {counted(len(findings), 'finding')} ({', '.join(parts)}) in {checked}.", bold=True)
    fixes = sum(1 for f in findings if fixable(f))
    unsafe = sum(1 for f in findings if f.fix is not None and not f.fix.safe)
    return line + (f"\n[*] {fixes} fixable with --fix." if fixes else "") + (
        f"\n{counted(unsafe, 'more fix', 'more fixes')} with --unsafe-fixes." if unsafe else "")


def statistics(findings: list[Finding]) -> str:
    """One row per rule: the count, `[*]` where `--fix` fixes some of them (and how many, when not all)."""
    counts = Counter((f.code, f.name) for f in findings)
    fixes = Counter(f.code for f in findings if fixable(f))
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    width = max((len(str(n)) for n in counts.values()), default=1)
    out = []
    for (code, name), n in rows:
        marker = ("[*] " if fixes[code] else "[ ] ") if fixes else ""
        partly = f" ({fixes[code]} fixable)" if 0 < fixes[code] < n else ""
        out.append(f"{n:>{width}}  {code:<7} {marker}{name}{partly}\n")
    return "".join(out)
