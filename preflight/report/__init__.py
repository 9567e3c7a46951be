"""One module per output format; each turns a check's findings into text. `render` picks the format."""

from __future__ import annotations

import os
from collections.abc import Callable

from preflight.findings import Finding

FORMATS = ("text", "json", "json-lines", "sarif", "github", "gitlab", "junit")


def render(result, findings: list[Finding], output_format: str, *, fingerprints: Callable[[], dict[Finding, str]],
           statistics: bool = False, show_source: bool = True, colour: bool = False, summarise: bool = True) -> str:
    """The report of `findings` (those of `result`, a preflight.engine.CheckResult, that are shown: a baseline
    may hide some) in `output_format`. `fingerprints` is called only by the formats that carry them. The text
    format summarises repeated findings unless `summarise` is off; the machine formats list every one.

    The github format also appends the job summary to the file GITHUB_STEP_SUMMARY names, as GitHub
    Actions asks a step to (preflight.writing.WriteError if it cannot)."""
    checked = len(result.checked_paths)  # the files named (or all), not those read around them for context
    context = max(0, result.files - checked)
    if output_format == "json":
        from preflight.report import json as json_report

        return json_report.render(findings, result.files)
    if output_format == "json-lines":
        from preflight.report import json as json_report

        return json_report.render_lines(findings)
    if output_format == "sarif":
        from preflight.report import sarif

        return sarif.render(findings, list(result.suppressed), result.enabled_rules(), fingerprints(),
                            result.severity_overrides(), successful=not result.internal_errors)
    if output_format == "github":
        from preflight.report import github

        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_file:
            from preflight import writing

            writing.append(summary_file, github.summary(findings, checked))
        return github.render(findings)
    if output_format == "gitlab":
        from preflight.report import gitlab

        return gitlab.render(findings, fingerprints())
    if output_format == "junit":
        from preflight.report import junit

        return junit.render(findings, checked)
    if output_format != "text":
        raise ValueError(f"unknown output format {output_format!r}")
    from preflight.report import text as text_report

    if statistics:
        return text_report.statistics(findings) + text_report.summary(findings, checked, context=context) + "\n"
    return text_report.render(findings, checked, colour=colour, show_source=show_source, lines=result.sources,
                              context=context, summarise=summarise)
