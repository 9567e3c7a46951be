"""Human output: `path:line:col: CODE [severity] message`, a short code frame, a summary line.

Names, messages and source lines are shown through preflight.display: one finding is one line, whatever
its file or step is called, and nothing from the scanned tree reaches the terminal as a control sequence.
"""

from __future__ import annotations

from collections import Counter
import click

from preflight import display, secrets
from preflight.findings import Finding, Severity
from preflight.sourcelines import SourceLines

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}
_FRAME_WIDTH = 240  # characters of a source line a code frame shows (a 10 MB line is not printed whole)
_FRAME_BEFORE = 80  # of them, before the finding's column


def render(findings: list[Finding], files: int, *, colour: bool, show_source: bool = True,
           lines: SourceLines | None = None, context: int = 0) -> str:
    style = (lambda text, **kw: click.style(text, **kw)) if colour else (lambda text, **kw: text)
    out: list[str] = []
    lines = lines or SourceLines()
    for finding in findings:
        loc = finding.location
        head = style(f"{display.path(loc.path)}:{loc.line}:{loc.column}:", bold=True) + _cell(loc, lines)
        code = style(finding.code, fg=_COLOURS[finding.severity], bold=True)
        out.append(f"{head} {code} [{finding.severity.value}] {display.text(finding.message)}")
        if show_source:
            out.extend(_frame(finding, lines, style))
    out.append(summary(findings, files, style, context))
    return "\n".join(out) + "\n"


def _cell(loc, lines: SourceLines) -> str:
    """For a notebook, where the finding is in cell terms (the position itself is the JSON file's)."""
    if not loc.path.endswith(".ipynb"):
        return ""
    from preflight.sources.notebook import cell_of

    where = cell_of("\n".join(lines.lines(loc.path)), loc.line)
    return f" (cell {where[0]}, line {where[1]})" if where else ""


def _frame(finding: Finding, lines: SourceLines, style) -> list[str]:
    loc = finding.location
    text = lines.get(loc.path, loc.line)
    if text is None:
        return []
    text = secrets.scrub(text.expandtabs(1))
    gutter = " " * len(str(loc.line))
    width = (loc.end_column - loc.column) if loc.end_line == loc.line and loc.end_column > loc.column else 1
    width = max(1, min(width, max(1, len(text) - loc.column + 1)))
    # a long line is shown around the finding only; the marker stands under the characters as shown (an
    # escaped control character takes several)
    start = max(0, loc.column - 1 - _FRAME_BEFORE) if len(text) > _FRAME_WIDTH else 0
    end = min(len(text), start + _FRAME_WIDTH)
    left, right = ("..." if start else ""), ("..." if end < len(text) else "")
    before = left + display.text(text[start:loc.column - 1])
    marked = display.text(text[loc.column - 1:min(loc.column - 1 + width, end)])
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
    checked = f"{files} {'file' if files == 1 else 'files'} checked" + (
        f", {context} more read for context" if context else "")
    if not findings:
        return style(f"All checks passed ({checked}).", fg="green", bold=True)
    counts = Counter(f.severity for f in findings)
    parts = [f"{counts[s]} {s.value}{'s' if counts[s] != 1 else ''}" for s in Severity if counts[s]]
    total = len(findings)
    return style(f"Found {total} finding{'s' if total != 1 else ''} ({', '.join(parts)}) in {checked}.", bold=True)


def statistics(findings: list[Finding]) -> str:
    counts = Counter((f.code, f.name) for f in findings)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    width = max((len(str(n)) for n in counts.values()), default=1)
    return "".join(f"{n:>{width}}  {code:<7} {name}\n" for (code, name), n in rows)
