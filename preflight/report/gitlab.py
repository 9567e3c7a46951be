"""GitLab Code Quality report (a JSON array; each issue needs a unique fingerprint). Paths and messages as
every format shows them (preflight.display)."""

from __future__ import annotations

import json

from preflight import display
from preflight.findings import Finding, Severity

_SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def render(findings: list[Finding], fingerprints: dict[Finding, str]) -> str:
    issues = []
    used: set[str] = set()
    for finding in findings:
        fingerprint = fingerprints[finding]
        while fingerprint in used:  # identical lines in one file: keep every fingerprint unique
            fingerprint = fingerprint[:-1] + chr(ord(fingerprint[-1]) % 122 + 1)
        used.add(fingerprint)
        loc = finding.location
        issues.append({
            "type": "issue",
            "check_name": f"{finding.code} {finding.name}",
            "description": f"{finding.code}: {display.text(finding.message)}",
            "categories": ["Bug Risk"],
            "severity": _SEVERITY[finding.severity],
            "fingerprint": fingerprint,
            "location": {"path": display.path(loc.path),
                         "positions": {"begin": {"line": loc.line, "column": loc.column},
                                       "end": {"line": loc.end_line, "column": loc.end_column}}},
        })
    return json.dumps(issues, indent=2) + "\n"
