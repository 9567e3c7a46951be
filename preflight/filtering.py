"""The filter stage: which of the rules' findings are reported, and which were suppressed.

In order: info-level findings only for rules selected by name; only findings about the files being
reported (with explicit files, the rest of the project is context; a buffer read alone from standard input
has its own findings only); the per-file ignores; the inline
suppressions, and PF002 for those that suppressed nothing; then declared precedence between rules; then the
severity each rule is given in [tool.preflight.severity].
Every message is masked for secrets here, so that no output format can carry one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple

from preflight import secrets, selection
from preflight.config import Settings
from preflight.findings import Finding, Severity
from preflight.project import Project
from preflight.rule import Rule, rule_by_key
from preflight.suppress import Suppression

UNUSED_SUPPRESSION = "PF002"


class Filtered(NamedTuple):
    findings: list[Finding]  # reported, sorted, without duplicates
    suppressed: list[tuple[Finding, str]]  # (finding, the suppression's reason), sorted
    yielded: list[Finding]  # dropped for a more specific rule's finding about the same subject


class Scope(NamedTuple):
    """What the filter needs besides the findings: the settings, where paths are relative to, and which
    files' findings are shown (None: every file's)."""

    settings: Settings
    base: Path  # the configuration's folder: per-file-ignores patterns are relative to it
    cwd: Path  # reported paths are relative to it
    reported_paths: set[str] | None
    enabled: list[type[Rule]]
    show_info: set[str]  # codes whose info-level findings are shown (selected explicitly)
    # Only findings located in a reported file, not those elsewhere that name it (standard input: an editor
    # shows the buffer's own findings, a finding on the workflow that runs it has no place there).
    located_only: bool = False


def apply(raw: list[Finding], project: Project, scope: Scope) -> Filtered:
    visible = [_scrubbed(f) for f in raw if f.severity is not Severity.INFO or f.code in scope.show_info]
    findings, suppressed = _suppressions(visible, project, scope)
    findings, yielded = _precedence(findings, scope.enabled)
    overrides = severity_overrides(scope.settings.severity)
    findings = [_overridden(f, overrides) for f in findings]
    suppressed = [(_overridden(f, overrides), reason) for f, reason in suppressed]
    return Filtered(sorted(set(findings), key=lambda f: f.sort_key),
                    sorted(set(suppressed), key=lambda s: s[0].sort_key), yielded)


def severity_overrides(overrides: dict[str, str]) -> dict[str, Severity]:
    """[tool.preflight.severity] by rule code (its keys are codes or names)."""
    return {rule.code: Severity(level) for key, level in overrides.items() if (rule := rule_by_key(key))}


def _overridden(finding: Finding, overrides: dict[str, Severity]) -> Finding:
    """[tool.preflight.severity]: the finding with the severity its rule is given there. Applied after the
    info filter: an override changes how a finding is reported and whether it fails the check (`fail-on`),
    never which rules run."""
    severity = overrides.get(finding.code)
    return dataclasses.replace(finding, severity=severity) if severity is not None else finding


def _suppressions(raw: list[Finding], project: Project, scope: Scope) -> tuple[list[Finding],
                                                                                  list[tuple[Finding, str]]]:
    enabled_codes = {r.code for r in scope.enabled}
    per_file_ignores = scope.settings.per_file_ignores
    reported_paths = scope.reported_paths
    used: set[tuple[Suppression, str]] = set()
    kept: list[Finding] = []
    suppressed_findings: list[tuple[Finding, str]] = []
    for finding in raw:
        about = {finding.location.path} if scope.located_only else finding.paths()
        if reported_paths is not None and not (about & reported_paths):
            continue
        relative = _relative_to_base(finding.location.path, scope.base, scope.cwd)
        if selection.ignored_by_path(finding.code, finding.name, relative, per_file_ignores):
            continue
        file = project.files.get(finding.location.path)
        suppressed = False
        for suppression in file.suppressions if file else []:
            if suppression.matches(finding):
                used.add((suppression, finding.code))
                used.add((suppression, finding.name))
                if not suppressed:
                    suppressed_findings.append((finding, suppression.reason))
                suppressed = True
        if not suppressed:
            kept.append(finding)
    if UNUSED_SUPPRESSION in enabled_codes:
        # PF002 is about the suppressions themselves: only now, with every finding matched, is it known which
        # suppressed nothing. The rule (rules/pf.py, UnusedSuppression.unused) words the findings; the
        # filter applies the per-file ignores to them, like to any other finding.
        unused_rule = rule_by_key(UNUSED_SUPPRESSION)()
        for file in project.files.values():
            if reported_paths is not None and file.path not in reported_paths:
                continue
            for suppression in file.suppressions:
                relative = _relative_to_base(suppression.location.path, scope.base, scope.cwd)
                if selection.ignored_by_path(unused_rule.code, unused_rule.name, relative, per_file_ignores):
                    continue
                kept.extend(unused_rule.unused(suppression, used, enabled_codes))
    return kept, suppressed_findings


def _precedence(findings: list[Finding], enabled: list[type[Rule]]) -> tuple[list[Finding], list[Finding]]:
    """Drop the findings of general rules about a subject a more specific rule reports (ENV001 yields to
    ENV004 for a `docker run` that drops the key): one root cause, one finding. Only reported findings
    count, so ignoring or suppressing the specific rule brings the general one back."""
    yields = {rule.code: set(rule.yields_to) for rule in enabled if rule.yields_to}
    if not yields:
        return findings, []
    reported = {(f.code, f.subject) for f in findings if f.subject is not None}
    kept, yielded = [], []
    for finding in findings:
        specific = yields.get(finding.code, ())
        if finding.subject is not None and any((code, finding.subject) in reported for code in specific):
            yielded.append(finding)
        else:
            kept.append(finding)
    return kept, yielded


def _scrubbed(finding: Finding) -> Finding:
    """No output format may carry a secret: mask anything key-shaped in the messages."""
    related = tuple(dataclasses.replace(r, message=secrets.scrub(r.message)) for r in finding.related)
    return dataclasses.replace(finding, message=secrets.scrub(finding.message), related=related)


def _relative_to_base(display: str, base: Path, cwd: Path) -> str | None:
    path = Path(display)
    absolute = path if path.is_absolute() else cwd / path
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return None
