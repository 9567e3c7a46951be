"""SARIF 2.1.0, as GitHub code scanning and other SARIF consumers read it."""

from __future__ import annotations

import hashlib
import json

from preflight import __version__
from preflight.findings import Finding, Location, Severity
from preflight.rule import Rule

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
INFORMATION_URI = "https://github.com/preflight-ml/preflight"


def _region(location: Location) -> dict:
    region = {"startLine": location.line, "startColumn": location.column}
    if (location.end_line, location.end_column) > (location.line, location.column):
        region.update(endLine=location.end_line, endColumn=location.end_column)
    return region


def _physical(location: Location) -> dict:
    return {"physicalLocation": {"artifactLocation": {"uri": location.path, "uriBaseId": "%SRCROOT%"},
                                 "region": _region(location)}}


def _rule(rule: type[Rule]) -> dict:
    help_text = f"{rule.summary}.\n\n{rule.why}"
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {"text": help_text, "markdown": f"**{rule.summary}**\n\n{rule.why}\n\n`preflight explain {rule.code}`"},
        "helpUri": f"{INFORMATION_URI}/blob/main/docs/rules.md#{rule.code.lower()}",
        "defaultConfiguration": {"level": _LEVEL[rule.severity], "enabled": rule.severity is not Severity.INFO},
        "properties": {"tags": [rule.code.rstrip("0123456789")]},
    }


def _result(finding: Finding, index: dict[str, int], fingerprint: str, justification: str | None) -> dict:
    result = {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [_physical(finding.location)],
        "partialFingerprints": {"preflightFingerprint/v1": fingerprint},
    }
    if finding.related:
        result["relatedLocations"] = [
            {"id": number, **_physical(r.location), "message": {"text": r.message}}
            for number, r in enumerate(finding.related, start=1)
        ]
    if justification is not None:
        result["suppressions"] = [{"kind": "inSource", "justification": justification or "suppressed inline"}]
    return result


def render(findings: list[Finding], suppressed: list[tuple[Finding, str]], rules: list[type[Rule]],
           fingerprints: dict[Finding, str]) -> str:
    catalogue = sorted({*rules, *(r for r in _all() if r.code in {f.code for f in findings})}, key=lambda r: r.code)
    index = {rule.code: number for number, rule in enumerate(catalogue)}
    results = [_result(f, index, fingerprints.get(f) or _fallback(f), None) for f in findings]
    results += [_result(f, index, fingerprints.get(f) or _fallback(f), reason) for f, reason in suppressed
                if f.code in index]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "preflight", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI, "rules": [_rule(r) for r in catalogue]}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "./"}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(document, indent=2) + "\n"


def _all():
    from preflight.rule import all_rules

    return all_rules()


def _fallback(finding: Finding) -> str:
    return hashlib.sha256(f"{finding.code}|{finding.location}|{finding.message}".encode()).hexdigest()[:32]
