"""The public API: check files or an editor's buffer, and act on what was found (report, fix, suppress,
baseline). The command line (preflight.cli), `preflight run` (preflight.launchrun) and the language server
(preflight.server) are thin layers over these functions; a program embedding preflight uses them too.

    result = api.check(["."])                       # the whole project, as `preflight check .`
    for file in api.results(["train.py"]):           # per file, every file whose findings are shown
        print(file.path, len(file.findings))
    findings = api.check_source("train.py", text)    # an unsaved buffer, in its project's context
    api.write_changes(api.plan_fixes(result), result.cwd)
    project = api.Workspace(root); project.load()     # warm: edit buffers, check again (the language server)

Options are those of preflight.engine.prepare (config_path, select, extend_select, ignore, cwd,
force_exclude, use_cache, cache_dir, workers). Nothing here prints: messages are the caller's to show.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from preflight import engine
from preflight.engine import CheckResult, UsageError
from preflight.findings import Finding, Fix, Severity
from preflight.fixes import FileChange
from preflight.sourcelines import SourceLines
from preflight.workspace import Workspace

__all__ = ["CheckResult", "FileChange", "FileResult", "IgnorePlan", "UsageError", "Workspace", "apply_baseline",
           "check", "check_source", "ignore_comments", "plan_fixes", "plan_ignores", "render", "resolve_fix", "results",
           "undecided", "write_baseline", "write_changes"]


@dataclass(frozen=True)
class FileResult:
    """One checked file's share of a check: its reported findings (sorted) and the suppressed ones."""

    path: str  # as reported: relative to the check's working directory where it is below it
    findings: tuple[Finding, ...]
    suppressed: tuple[tuple[Finding, str], ...]  # (finding, the suppression's reason)


@dataclass(frozen=True)
class IgnorePlan:
    """The suppression comments `--add-ignores` writes: the changes to make and what cannot be done inline."""

    changes: list[FileChange]
    comments: int  # comments added or extended
    skipped: int  # findings on a line that takes no comment (JSON, a continued shell line, PF001)


def check(paths=(), **options) -> CheckResult:
    """Check `paths` (default: the current directory) with the configuration that applies to them.
    Raises UsageError for a bad path, selector or configuration."""
    return engine.check(list(paths), **options)


def results(paths=(), **options) -> Iterator[FileResult]:
    """Check `paths` and yield one FileResult per file whose findings are shown (those named, or every file
    of the project), with or without findings, in path order: a caller that shows files one by one (an
    editor clearing a fixed file's diagnostics) sees every file it asked about."""
    yield from by_file(check(paths, **options))


def by_file(result: CheckResult) -> Iterator[FileResult]:
    """A check's findings, grouped per checked file (see `results`)."""
    found: dict[str, list[Finding]] = {}
    hidden: dict[str, list[tuple[Finding, str]]] = {}
    for finding in result.findings:
        found.setdefault(finding.location.path, []).append(finding)
    for pair in result.suppressed:
        hidden.setdefault(pair[0].location.path, []).append(pair)
    for path in sorted(set(result.checked_paths) | set(found)):
        yield FileResult(path, tuple(found.get(path, ())), tuple(hidden.get(path, ())))


def check_source(path: str | Path, text: str, **options) -> CheckResult:
    """Check one file's text from memory (an editor's unsaved buffer, standard input) in place of the file
    on disk, with the rest of its project (found from `path`) as context: the result holds that file's
    findings only. `path` may be relative to `cwd`."""
    return engine.check([], buffer=(str(path), text), **options)


def failing(findings: list[Finding], fail_on: Severity | str) -> list[Finding]:
    """The findings that fail a check whose threshold is `fail_on` (`--fail-on`, `fail-on`): those of that
    severity or a more serious one."""
    threshold = Severity(fail_on).rank
    return [f for f in findings if f.severity.rank <= threshold]


def plan_fixes(result: CheckResult, *, unsafe: bool = False) -> list[FileChange]:
    """The change each fixable file gets from its findings' fixes: the safe fixes, and the unsafe ones too
    with `unsafe`. A file that changed since the check is left out."""
    from preflight import fixes

    return fixes.plan([f.fix for f in result.findings if f.fix is not None and (unsafe or f.fix.safe)],
                      result.sources)


def resolve_fix(fix: Fix, sources: SourceLines) -> Fix | None:
    """The fix as text edits against the files as the check read them (a Python fix is a libcst transform
    until then), for a caller that applies them itself (an editor's code action); None when it no longer
    applies (the file changed since, or its code is not where the finding was)."""
    from preflight import fixes

    return fixes.resolve(fix, sources)


def plan_ignores(result: CheckResult, reason: str = "", findings: list[Finding] | None = None) -> IgnorePlan:
    """The `# preflight: ignore[...]` comments (with `reason`) that suppress `findings` (default: every
    reported finding) on their lines."""
    from preflight import fixes

    comments, skipped = ignore_comments(result.findings if findings is None else findings, result.sources, reason)
    return IgnorePlan(fixes.plan(comments, result.sources, keep_tree=True), len(comments), skipped)


def ignore_comments(findings: list[Finding], sources: SourceLines, reason: str = "") -> tuple[list[Fix], int]:
    """The suppression comments for `findings` as fixes (one per flagged line, in the comment syntax of the
    file's kind), for a caller that applies them itself (an editor's code action); also how many findings
    cannot be suppressed inline."""
    from preflight import ignores

    return ignores.fixes(findings, sources, reason)


def write_changes(changes: list[FileChange], cwd: Path) -> list[FileChange]:
    """Write planned changes (fixes or comments) to their files; paths are relative to `cwd`. The changes of
    files edited since the check read them are not written, and are returned."""
    from preflight import fixes

    return fixes.write(changes, cwd)


def undecided(result: CheckResult) -> list[str]:
    """What the check could not decide and so did not report (`-v`); empty when the result cache answered."""
    if result.project is None:
        return []
    from preflight.launches import undecided as notes

    return notes(result.project)


def write_baseline(result: CheckResult, path: Path) -> int:
    """Record the reported findings in a baseline file; returns how many."""
    from preflight import baseline

    return baseline.write(path, result.findings, result.fingerprints(), within=result.cwd)


def apply_baseline(result: CheckResult, path: Path, findings: list[Finding] | None = None):
    """`findings` (default: the reported ones) less those the baseline at `path` records, with how many it
    hid and its stale entries (preflight.baseline.Applied). Raises preflight.baseline.BaselineError."""
    from preflight import baseline

    return baseline.apply(result.findings if findings is None else findings, result.fingerprints(),
                          baseline.load(path), result.checked_paths)


def render(result: CheckResult, findings: list[Finding] | None = None, output_format: str = "text", *,
           statistics: bool = False, show_source: bool = True, colour: bool = False, summarise: bool = True) -> str:
    """The report of `findings` (default: the reported ones) in one of preflight.report.FORMATS; the text
    format summarises repeated findings of one rule and cause unless `summarise` is off."""
    from preflight import report

    return report.render(result, result.findings if findings is None else findings, output_format,
                         fingerprints=result.fingerprints, statistics=statistics, show_source=show_source,
                         colour=colour, summarise=summarise)
