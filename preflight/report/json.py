"""The JSON output: a stable, documented schema (docs/json-output.schema.json is generated from it).

Paths and messages are shown as every format shows them (preflight.display): a name that is not UTF-8,
which no JSON encoder can write, has its bytes escaped, and no control character reaches a program that
prints a field (`jq -r`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from preflight import __version__, display
from preflight.findings import Finding, Location

SCHEMA_VERSION = 1


class JsonLocation(BaseModel):
    path: str = Field(description="File path, relative to the working directory when below it (POSIX separators); "
                                  "control characters and bytes that are not UTF-8 are escaped (\\n, \\xNN, "
                                  "\\uNNNN) and a backslash doubled.")
    line: int = Field(ge=1, description="1-based start line.")
    column: int = Field(ge=1, description="1-based start column, in characters.")
    end_line: int = Field(ge=1, description="1-based end line.")
    end_column: int = Field(ge=1, description="1-based end column (exclusive), in characters.")

    @classmethod
    def of(cls, location: Location) -> "JsonLocation":
        return cls(path=display.path(location.path), line=location.line, column=location.column,
                   end_line=location.end_line, end_column=location.end_column)


class JsonRelated(BaseModel):
    location: JsonLocation
    message: str


class JsonFix(BaseModel):
    description: str = Field(description="What the fix changes.")
    safe: bool = Field(description="`preflight check --fix` applies it (an unsafe fix is offered by the editor's "
                                   "code action only).")


class JsonFinding(BaseModel):
    code: str = Field(description="Stable rule code, e.g. WB001.")
    name: str = Field(description="Stable kebab-case rule name, e.g. unnamed-wandb-run.")
    severity: Literal["error", "warning", "info"]
    message: str
    location: JsonLocation
    related: list[JsonRelated] = Field(default_factory=list, description="Other places that explain the finding.")
    fix: JsonFix | None = Field(default=None, description="The automatic fix, if the finding has one.")


class JsonSummary(BaseModel):
    files: int = Field(description="Files examined.")
    findings: int
    errors: int
    warnings: int
    infos: int
    fixable: int = Field(description="Findings that `preflight check --fix` fixes (a safe fix).")


class JsonReport(BaseModel):
    """The document `preflight check --format json` prints."""

    schema_version: Literal[1] = SCHEMA_VERSION
    tool: str = "preflight"
    version: str = __version__
    findings: list[JsonFinding]
    summary: JsonSummary


def finding(f: Finding) -> JsonFinding:
    return JsonFinding(
        code=f.code, name=f.name, severity=f.severity.value, message=display.text(f.message),
        location=JsonLocation.of(f.location),
        related=[JsonRelated(location=JsonLocation.of(r.location), message=display.text(r.message))
                 for r in f.related],
        fix=JsonFix(description=display.text(f.fix.description), safe=f.fix.safe) if f.fix is not None else None,
    )


def build(findings: list[Finding], files: int) -> JsonReport:
    count = {s: sum(1 for f in findings if f.severity.value == s) for s in ("error", "warning", "info")}
    return JsonReport(
        findings=[finding(f) for f in findings],
        summary=JsonSummary(files=files, findings=len(findings), errors=count["error"], warnings=count["warning"],
                            infos=count["info"], fixable=sum(1 for f in findings if f.fix is not None and f.fix.safe)),
    )


def render(findings: list[Finding], files: int) -> str:
    return build(findings, files).model_dump_json(indent=2) + "\n"


def render_lines(findings: list[Finding]) -> str:
    """json-lines: one finding object (the `findings[]` item schema) per line."""
    return "".join(finding(f).model_dump_json() + "\n" for f in findings)


def schema() -> dict:
    return JsonReport.model_json_schema()
