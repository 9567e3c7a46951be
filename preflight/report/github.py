"""GitHub Actions workflow commands (annotations), and the Markdown step summary.

Only a handful of annotations show per step in the UI, so the full list goes to
`$GITHUB_STEP_SUMMARY` as a table.

Every annotation is one line whatever a name or a message holds: control characters are escaped
(preflight.display) before the workflow-command escapes, so a step named `a\n::error ...` cannot start a
command of its own, and the log shows no escape sequence from the scanned tree.
"""

from __future__ import annotations

from collections import Counter

from preflight import display
from preflight.findings import Finding, Severity
from preflight.plural import counted

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(value: str) -> str:
    return display.text(value).replace("%", "%25")  # no line break is left to escape as %0A


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(findings: list[Finding]) -> str:
    lines = []
    for finding in findings:
        loc = finding.location
        file = escape_property(display.path(loc.path))
        properties = [f"file={file}", f"line={loc.line}", f"col={loc.column}"]
        if loc.end_line > loc.line:
            properties = [f"file={file}", f"line={loc.line}", f"endLine={loc.end_line}"]
        elif loc.end_column > loc.column:
            properties.append(f"endColumn={loc.end_column}")
        properties.append(f"title={escape_property(f'{finding.code} {finding.name}')}")
        lines.append(f"::{_COMMAND[finding.severity]} {','.join(properties)}::{escape_data(finding.message)}")
    return "".join(line + "\n" for line in lines)


def _cell(text: str) -> str:
    return display.text(text).replace("|", "\\|")


def summary(findings: list[Finding], files: int) -> str:
    """The job summary; `files` is the number of files checked (named, or all), not those read for context."""
    if not findings:
        return f"### preflight\n\nNo findings in {counted(files, 'file')} checked.\n"
    counts = Counter(f.severity for f in findings)
    parts = ", ".join(counted(counts[s], s.value) for s in Severity if counts[s])
    out = [f"### preflight: {counted(len(findings), 'finding')} ({parts})", "",
           "| Location | Rule | Message |", "|---|---|---|"]
    for finding in findings:
        loc = finding.location
        out.append(f"| `{_cell(display.path(loc.path))}:{loc.line}:{loc.column}` | {finding.code} `{finding.name}` | "
                   f"{_cell(finding.message)} |")
    return "\n".join(out) + "\n"
