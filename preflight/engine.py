"""One check, four stages: discover files, extract facts per file, run rules over the project
model, then filter (selection, per-file ignores, inline suppressions) into the reported findings."""

from __future__ import annotations

import dataclasses
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from preflight import config as config_module
from preflight import discover as discovery
from preflight import options as rule_options
from preflight import secrets, selection
from preflight import runcache
from preflight.cache import DIRECTORY as CACHE_DIRECTORY
from preflight.cache import FactsCache, file_stat
from preflight.collect import collect, worker_count
from preflight.extract import extract
from preflight.findings import Finding, Severity
from preflight.project import Project
from preflight.rule import Rule, all_rules, rule_by_key
from preflight.model import FileFacts
from preflight.sourcelines import SourceLines
from preflight.suppress import Suppression

UNUSED_SUPPRESSION = "PF002"


class UsageError(Exception):
    """A problem with the command line or the configuration (exit code 2)."""


@dataclass
class CheckResult:
    findings: list[Finding]
    files: int
    rules: list[type[Rule]] | Callable[[], list[type[Rule]]]  # enabled rules (computed on demand for a reused run)
    internal_errors: list[str] = field(default_factory=list)
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, the suppression's reason)
    cwd: Path = field(default_factory=Path.cwd)
    sources: SourceLines = field(default_factory=SourceLines)
    checked_paths: set[str] = field(default_factory=set)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of files not analysed
    project: Project | None = None
    yielded: list[Finding] = field(default_factory=list)  # dropped for a more specific rule's finding

    def enabled_rules(self) -> list[type[Rule]]:
        if callable(self.rules):
            self.rules = self.rules()
        return self.rules


def _rule_options(settings: config_module.Settings, source: Path | None) -> dict[str, object]:
    options: dict[str, object] = {}
    where = f"{source}: " if source else ""
    for key, values in settings.rules.items():
        rule = rule_by_key(key)
        if rule is None:
            raise UsageError(f"{where}[tool.preflight.rules.{key}]: unknown rule")
        try:
            options[rule.code] = rule_options.validate(rule.Options, values)
        except rule_options.OptionsError as exc:
            raise UsageError(f"{where}[tool.preflight.rules.{key}]: {exc}") from None
    return options


def check(
    paths: Sequence[str],
    *,
    config_path: str | None = None,
    select: list[str] | None = None,
    extend_select: list[str] | None = None,
    ignore: list[str] | None = None,
    cwd: Path | None = None,
    force_exclude: bool = False,
    stdin: tuple[str, str] | None = None,
    use_cache: bool = False,
    cache_dir: Path | None = None,
    workers: int | None = None,
) -> CheckResult:
    """Check `paths`; `stdin` is (filename, text) for one file given on standard input. With
    `use_cache`, facts are cached in `cache_dir` (default: .preflight_cache beside the configuration);
    `workers` caps the process pool (1: serial)."""
    cwd = (cwd or Path.cwd()).absolute()
    try:
        workers = worker_count(workers)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    paths = [raw if Path(raw).is_absolute() else str(cwd / raw) for raw in (list(paths) or ["."])]
    stdin_path = None
    if stdin is not None:
        stdin_path = Path(stdin[0]) if Path(stdin[0]).is_absolute() else cwd / stdin[0]
        paths = [p for p in paths if p != str(cwd / "-")]
    start = Path(paths[0]) if paths else stdin_path
    root = discovery.project_root(start.absolute()).resolve()
    try:
        loaded = config_module.load(config_path, start, fallback_base=root, remember=use_cache, cache_dir=cache_dir)
    except config_module.ConfigError as exc:
        raise UsageError(str(exc)) from None
    settings = loaded.settings.selecting(select, extend_select, ignore)

    def choose_rules():
        """The enabled rules, which info rules show, and their options (importing the rule pack)."""
        rules = all_rules()
        try:
            enabled = selection.enabled_rules(rules, settings.select, settings.extend_select, settings.ignore)
            for pattern, selectors in settings.per_file_ignores.items():
                selection.validate(selectors, rules, f"per-file-ignores[{pattern!r}]")
        except selection.UnknownSelector as exc:
            raise UsageError(str(exc)) from None
        show_info = selection.explicitly_selected(rules, settings.select, settings.extend_select)
        return enabled, show_info, _rule_options(settings, loaded.path)

    exclude = list(settings.exclude if settings.exclude is not None else discovery.DEFAULT_EXCLUDE)
    exclude += settings.extend_exclude
    try:
        found = discovery.discover(paths, exclude, loaded.base, force_exclude,
                                   context_of=[stdin_path] if stdin_path else [])
    except discovery.DiscoveryError as exc:
        raise UsageError(str(exc)) from None

    internal_errors: list[str] = []
    cache = FactsCache(cache_dir or loaded.base / CACHE_DIRECTORY) if use_cache else None
    try:
        pairs = [(path, discovery.display_path(path, cwd)) for path in found.files]
        # explicit files: the project's other Python files are read on demand
        lazy: dict[str, str] = {discovery.display_text(text, cwd): text for text in found.lazy_python}
        run_key = stats = None
        if cache is not None and stdin is None:  # reusable: the key covers every file it reads, or its reads do
            stats = {display: file_stat(path) for path, display in pairs}
            run_key = runcache.key(stats, settings, {
                "force_exclude": force_exclude, "cwd": str(cwd), "config": str(loaded.path), "paths": paths,
                "lazy": sorted(lazy)})
            payload = cache.result(run_key) if run_key else None
            reused = runcache.decode(payload) if payload else None
            if reused is not None:  # the same selection succeeded before: the rule pack need not even load
                return CheckResult(reused.findings, reused.files, lambda: choose_rules()[0], [], reused.suppressed,
                                   cwd, SourceLines(cwd), reused.checked, reused.skipped, None)
        enabled, show_info, options = choose_rules()
        files = collect(pairs, cache, internal_errors, workers, stats)
        overrides: dict[str, str] = {}
        if stdin_path is not None and stdin is not None:
            display = discovery.display_path(stdin_path, cwd)
            files = [f for f in files if f.path != display]
            lazy.pop(display, None)
            files.append(extract(display, stdin[1].encode("utf-8", errors="surrogateescape")))
            overrides[display] = stdin[1]
            found.reported = (found.reported or set()) | {stdin_path}

        def load_lazy(items):  # a lazy file the run reads is part of what a reused run depends on
            project.reads.update((str(path), file_stat(path)) for path, _ in items)
            return collect(items, cache, internal_errors, 1)

        project = Project(files, root, dict(settings.versions), cwd, lazy, load_lazy)
        from preflight.link import link  # not needed (nor imported) when a previous run is reused

        link(project)
        result = _run_rules(project, files, enabled, options, settings, loaded, cwd, found, show_info, overrides,
                            internal_errors)
        if run_key is not None and not internal_errors:
            cache.put_result(run_key, runcache.encode(result.findings, result.suppressed, result.files,
                                                      result.checked_paths, result.skipped, project.reads))
        return result
    finally:
        if cache is not None:
            cache.close()


def _run_rules(project, files, enabled, options, settings, loaded, cwd, found, show_info, overrides,
               internal_errors) -> CheckResult:
    raw: list[Finding] = []
    for rule_class in enabled:
        rule = rule_class(options.get(rule_class.code))
        try:
            produced = rule.check(project)
            if rule_class.skips_test_code:
                produced = (f for f in produced if not project.in_tests(f.location.path))
            raw.extend(produced)
        except Exception:  # a bug in one rule must not hide the others' findings
            internal_errors.append(f"rule {rule_class.code} failed:\n{traceback.format_exc()}")

    reported_paths = None if found.reported is None else {discovery.display_path(p, cwd) for p in found.reported}
    raw = [_scrubbed(f) for f in raw if f.severity is not Severity.INFO or f.code in show_info]
    findings, suppressed = _filter(raw, project, settings, loaded.base, cwd, reported_paths, enabled)
    findings, yielded = _precedence(findings, enabled)
    for message in internal_errors:
        print(f"preflight: internal error: {secrets.scrub(message)}", file=sys.stderr)
    checked = reported_paths if reported_paths is not None else set(project.files)
    return CheckResult(sorted(set(findings), key=lambda f: f.sort_key), len(project.files), enabled, internal_errors,
                       sorted(set(suppressed), key=lambda s: s[0].sort_key), cwd, SourceLines(cwd, overrides),
                       checked, _skipped(files), project, yielded)


def _precedence(findings: list[Finding], enabled) -> tuple[list[Finding], list[Finding]]:
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


def _skipped(files: list[FileFacts]) -> list[tuple[str, str]]:
    """Files preflight looked at but did not analyse, and why (for --verbose)."""
    return [(file.path, file.note) for file in files if file.note]


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


def _filter(raw, project: Project, settings, base: Path, cwd: Path, reported_paths, enabled) -> list[Finding]:
    enabled_codes = {r.code for r in enabled}
    used: set[tuple[Suppression, str]] = set()
    kept: list[Finding] = []
    suppressed_findings: list[tuple[Finding, str]] = []
    for finding in raw:
        if reported_paths is not None and not (finding.paths() & reported_paths):
            continue
        relative = _relative_to_base(finding.location.path, base, cwd)
        if selection.ignored_by_path(finding.code, finding.name, relative, settings.per_file_ignores):
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
        # engine applies the per-file ignores to them, like to any other finding.
        unused_rule = rule_by_key(UNUSED_SUPPRESSION)()
        for file in project.files.values():
            if reported_paths is not None and file.path not in reported_paths:
                continue
            for suppression in file.suppressions:
                relative = _relative_to_base(suppression.location.path, base, cwd)
                if selection.ignored_by_path(unused_rule.code, unused_rule.name, relative, settings.per_file_ignores):
                    continue
                kept.extend(unused_rule.unused(suppression, used, enabled_codes))
    return kept, suppressed_findings
