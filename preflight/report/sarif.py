"""SARIF 2.1.0, as GitHub code scanning and other SARIF consumers read it, valid for Microsoft's SARIF
validator (`sarif-multitool validate`, run by the test suite).

Locations are URI references relative to the source root (`uriBaseId` %SRCROOT%, left for the consumer
to place, as CodeQL does: GitHub reads them from the repository's root), percent-encoded; a file outside
the working directory is an absolute `file:` URI. A name's bytes are encoded as they are on disk (a byte
that is not UTF-8 is `%FF`, a newline `%0A`): a URI is lossless. Messages show control characters escaped
(preflight.display), as every format does. Each rule carries the properties GitHub code scanning
documents for a reportingDescriptor: `tags` (the rule's domain, for filtering), `precision`,
`problem.severity`, and for the rules about leaked credentials the `security` tag, a CWE and a
`security-severity` score, which make their results security alerts. A rule's descriptor is preflight's
default; the run's invocation carries the project's [tool.preflight.severity] as rule configuration
overrides, and whether the run completed without an internal error.
"""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import quote

from preflight import __version__, display
from preflight.findings import Finding, Location, Severity
from preflight.rule import Rule

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_PROBLEM_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "recommendation"}
INFORMATION_URI = "https://github.com/preflight-ml/preflight"

# What each rule module is about, as code scanning's tag filter shows it.
_DOMAIN = {
    "AIM": ("experiment-tracking", "aim"),
    "AXO": ("training-config", "axolotl"),
    "ENV": ("launchers",),
    "HF": ("training-config", "transformers"),
    "MLF": ("experiment-tracking", "mlflow"),
    "NEP": ("experiment-tracking", "neptune"),
    "PF": ("preflight",),
    "REP": ("reproducibility",),
    "SEC": ("security", "secrets"),
    "SWP": ("experiment-tracking", "wandb", "sweeps"),
    "TRL": ("training-config", "trl"),
    "WB": ("experiment-tracking", "wandb"),
}
# The tracker a rule of a mixed module (the launchers' ENV, the secrets' SEC) is about, by its summary.
_TRACKERS = {"wandb": ("w&b", "wandb", "sweep"), "mlflow": ("mlflow",)}
# The launchers a rule is about, by whole words of its summary and name, whatever its module (an Aim run in a
# container, a W&B run id shared by a launcher's jobs): each such rule is also tagged `launchers`.
_LAUNCHERS = {
    "ci": ("workflow", "pull_request", "ci job"),
    "docker": ("docker", "dockerfile", "container", "image"),
    "compose": ("compose",),
    "kubernetes": ("kubernetes", "pod"),
    "slurm": ("sbatch", "slurm"),
    "deepspeed": ("deepspeed",),
}
# Credentials written where they leak: each rule's weakness (CWE), GitHub's security-severity score (7.0-8.9
# high, 4.0-6.9 medium) and the domain tags beyond the module's. A key in a committed file or an image can be
# read by everyone who can read the repository or pull the image, and gives write access to the team's runs and
# artifacts; one on a command line is read by the users of the machine and by logs. The leaks through a
# launcher are SEC003 (an image's build arguments and ENV), SEC004 (a launcher's env map: a workflow, compose
# file, Kubernetes manifest, dstack or SkyPilot task, sbatch --export) and SEC005 (a launcher's command line).
# The ENV rules are not security rules: each reports a key that does not reach a job (it crashes at
# wandb.init), never one that is exposed.
_SECURITY = {
    "SEC001": ("798", "7.5", ()),  # Use of Hard-coded Credentials
    "SEC002": ("798", "7.5", ()),
    # Insertion of Sensitive Information into Externally-Accessible File or Directory (the image's layers)
    "SEC003": ("538", "7.5", ("launchers", "docker")),
    "SEC004": ("798", "7.5", ("launchers",)),
    "SEC005": ("214", "5.0", ("launchers",)),  # Invocation of Process Using Visible Sensitive Information
}


def _uri(path: str) -> dict:
    if path.startswith("/"):  # outside the working directory: no source root applies
        return {"uri": "file://" + quote(display.raw_bytes(path), safe="/")}
    return {"uri": quote(display.raw_bytes(path), safe="/"), "uriBaseId": "%SRCROOT%"}


def _region(location: Location) -> dict:
    region = {"startLine": location.line, "startColumn": location.column}
    if (location.end_line, location.end_column) > (location.line, location.column):
        region.update(endLine=location.end_line, endColumn=location.end_column)
    return region


def _physical(location: Location) -> dict:
    return {"physicalLocation": {"artifactLocation": _uri(location.path), "region": _region(location)}}


def tags(rule: type[Rule]) -> list[str]:
    """The prefix, the module's domain, the tracker and the launchers it concerns, and for the credential rules
    the domains of what leaks the key (a launcher, an image) and their CWE."""
    prefix = rule.code.rstrip("0123456789")
    found = [prefix, *_DOMAIN.get(prefix, ())]
    words = f"{rule.summary} {rule.name}".lower()
    found += [tracker for tracker, marks in _TRACKERS.items() if any(mark in words for mark in marks)]
    kinds = [kind for kind, marks in _LAUNCHERS.items() if any(re.search(rf"\b{mark}\b", words) for mark in marks)]
    if kinds or re.search(r"\blaunchers?\b", words):
        found += ["launchers", *kinds]
    if rule.code in _SECURITY:
        cwe, _, domains = _SECURITY[rule.code]
        found += [*domains, f"external/cwe/cwe-{cwe}"]
    return list(dict.fromkeys(found))


def _properties(rule: type[Rule]) -> dict:
    # The rules report only what the analysis decides; preflight's own diagnostics are exact.
    properties = {"tags": tags(rule), "precision": "very-high" if rule.code.startswith("PF") else "high",
                  "problem.severity": _PROBLEM_SEVERITY[rule.severity]}
    if rule.code in _SECURITY:
        properties["security-severity"] = _SECURITY[rule.code][1]
    return properties


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
        "properties": _properties(rule),
    }


def _result(finding: Finding, index: dict[str, int], fingerprint: str, justification: str | None) -> dict:
    result = {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": _LEVEL[finding.severity],
        "message": {"text": display.text(finding.message)},
        "locations": [_physical(finding.location)],
        "partialFingerprints": {"preflightFingerprint/v1": fingerprint},
    }
    if finding.related:
        result["relatedLocations"] = [
            {"id": number, **_physical(r.location), "message": {"text": display.text(r.message)}}
            for number, r in enumerate(finding.related, start=1)
        ]
    if justification is not None:
        shown = display.text(justification or "suppressed inline")
        result["suppressions"] = [{"kind": "inSource", "justification": shown}]
    return result


def render(findings: list[Finding], suppressed: list[tuple[Finding, str]], rules: list[type[Rule]],
           fingerprints: dict[Finding, str], overrides: dict[str, Severity] | None = None,
           successful: bool = True) -> str:
    """`overrides`: the project's severity of a rule, by code ([tool.preflight.severity]). A rule's descriptor
    keeps preflight's own default (`defaultConfiguration`); the invocation says how this run configured it
    (`ruleConfigurationOverrides`), and each result's level is the one it was reported with."""
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
            "invocations": [_invocation(overrides or {}, index, successful)],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(document, indent=2) + "\n"


def _invocation(overrides: dict[str, Severity], index: dict[str, int], successful: bool) -> dict:
    invocation: dict = {"executionSuccessful": successful}
    configured = [{"descriptor": {"id": code, "index": index[code]}, "configuration": {"level": _LEVEL[severity]}}
                  for code, severity in sorted(overrides.items()) if code in index]
    if configured:
        invocation["ruleConfigurationOverrides"] = configured
    return invocation


def _all():
    from preflight.rule import all_rules

    return all_rules()


def _fallback(finding: Finding) -> str:
    text = f"{finding.code}|{finding.location}|{finding.message}"
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()[:32]
