"""The check pipeline. `run` calls the stages in order, each one function below:

    discover  the files to read (preflight/discover.py)
    collect   each file's facts, extracted once (preflight/collect.py); the facts cache wraps extraction
    link      the whole project's model, linked once and then frozen (preflight/link.py)
    check     the enabled rules over the frozen model
    filter    what is reported (preflight/filtering.py)

Reporting the result (formats, code frames, fixes, baselines) is preflight.api's and preflight.report's.
The result cache (preflight/runcache.py) stands in for collect, link, check and filter together: its key
is everything they read (every discovered file's stat, the settings, the request), so an unchanged tree
is answered without reading a file or importing the rule pack.
"""

from __future__ import annotations

import dataclasses
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from preflight import config as config_module
from preflight import discover as discovery
from preflight import display as show
from preflight import runcache, selection
from preflight import options as rule_options
from preflight.cache import DIRECTORY as CACHE_DIRECTORY
from preflight.cache import FactsCache, file_stat
from preflight.collect import collect, worker_count
from preflight.dependencies import Reads
from preflight.factindex import FactIndex
from preflight.extract import extract
from preflight.findings import Finding, Severity
from preflight.model import FileFacts
from preflight.project import Project
from preflight.rule import Rule, all_rules, rule_by_key
from preflight.sourcelines import SourceLines


class UsageError(Exception):
    """A problem with the command line or the configuration (exit code 2)."""


class Buffer(NamedTuple):
    """A file's text from memory (standard input, an editor's unsaved buffer), checked in its project's
    context in place of what is on disk."""

    path: Path  # absolute
    text: str


class Request(NamedTuple):
    """One check: what to look at, with which settings (the configuration loaded, validated and with the
    command line's selection applied) and which caches."""

    paths: tuple[str, ...]  # absolute
    cwd: Path  # reported paths are relative to it
    root: Path  # the project's root (preflight.discover.project_root of the first path)
    config: config_module.LoadedConfig
    force_exclude: bool = False
    buffer: Buffer | None = None
    cache_dir: Path | None = None  # None: no cache is read or written
    workers: int | None = None  # caps the process pool (1: serial)
    # Files checked with another text than the one on disk (display path -> text, a byte-order mark as
    # "\ufeff"): what `--diff` checks again after a round of fixes it shows and does not write
    texts: dict[str, str] | None = None


@dataclass
class CheckResult:
    """What a check found, ready to be reported."""

    findings: list[Finding]  # reported, sorted
    suppressed: list[tuple[Finding, str]]  # (finding, the suppression's reason)
    yielded: list[Finding]  # dropped for a more specific rule's finding
    files: int  # files examined
    rules: tuple[str, ...]  # the enabled rules' codes
    checked_paths: set[str]  # the files whose findings are shown
    skipped: list[tuple[str, str]]  # (path, why) of files not analysed
    internal_errors: list[str]
    cwd: Path
    sources: SourceLines
    project: Project | None = None  # the frozen model; None when the result cache answered
    fail_on: Severity = Severity.INFO  # the least severity that fails the check (`fail-on`)
    severity: dict[str, str] = field(default_factory=dict)  # [tool.preflight.severity], as configured
    _fingerprints: dict[Finding, str] | None = field(default=None, repr=False, compare=False)

    def severity_overrides(self) -> dict[str, Severity]:
        """The severity each overridden rule's findings are reported with, by code (importing the rule pack)."""
        from preflight.filtering import severity_overrides

        return severity_overrides(self.severity)

    def enabled_rules(self) -> list[type[Rule]]:
        """The enabled rules' classes (importing the rule pack)."""
        return [rule for rule in all_rules() if rule.code in self.rules]

    def fingerprints(self) -> dict[Finding, str]:
        """The baseline fingerprint of each reported and suppressed finding (preflight.baseline), computed on
        first use: they read the flagged lines, which only baselines and some formats need."""
        if self._fingerprints is None:
            from preflight import baseline

            self._fingerprints = baseline.fingerprints(self.findings + [f for f, _ in self.suppressed], self.sources)
        return self._fingerprints


class _Rules(NamedTuple):
    """What the check stage runs: the enabled rules, with their options, and whose info findings show."""

    enabled: list[type[Rule]]
    options: dict[str, object]
    show_info: set[str]


def check(paths, **options) -> CheckResult:
    """Check `paths` (see `prepare` for the options)."""
    return run(prepare(paths, **options))


def prepare(paths, *, config_path: str | None = None, select: list[str] | None = None,
            extend_select: list[str] | None = None, ignore: list[str] | None = None, cwd: Path | None = None,
            force_exclude: bool = False, buffer: tuple[str, str] | None = None, use_cache: bool = False,
            cache_dir: Path | None = None, workers: int | None = None, texts: dict[str, str] | None = None) -> Request:
    """The request for checking `paths` (default: the current directory, unless a buffer is given):
    loads the configuration that applies to the first of them. `buffer` is (filename, text) of one file
    given in memory. With `use_cache`, facts and results are cached in `cache_dir` (default:
    .preflight_cache beside the configuration)."""
    cwd = (cwd or Path.cwd()).absolute()
    try:
        workers = worker_count(workers)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    absolute = tuple(raw if Path(raw).is_absolute() else str(cwd / raw)
                     for raw in (list(paths) or ([] if buffer else ["."])))
    in_memory = None
    if buffer is not None:
        in_memory = Buffer(Path(buffer[0]) if Path(buffer[0]).is_absolute() else cwd / buffer[0], buffer[1])
    start = Path(absolute[0]) if absolute else in_memory.path
    root = discovery.project_root(start.absolute()).resolve()
    try:
        loaded = config_module.load(config_path, start, fallback_base=root, remember=use_cache, cache_dir=cache_dir)
    except config_module.ConfigError as exc:
        raise UsageError(str(exc)) from None
    for other in loaded.shadowed:
        ignored = f"[tool.preflight] in {other.name}" if other.name == "pyproject.toml" else other.name
        print(f"preflight: {show.path(str(loaded.path))} is the configuration; {show.path(ignored)} beside it "
              f"is not read", file=sys.stderr)
    loaded = dataclasses.replace(loaded, settings=loaded.settings.selecting(select, extend_select, ignore))
    return Request(absolute, cwd, root, loaded, force_exclude, in_memory,
                   (cache_dir or loaded.folder / CACHE_DIRECTORY) if use_cache else None, workers, texts or None)


def run(request: Request) -> CheckResult:
    """discover, then collect → link → check → filter, or the result cache's answer for those four."""
    found = _discover(request)
    pairs = [(path, discovery.display_path(path, request.cwd)) for path in found.files]
    lazy = _lazy(request, found)
    cache = FactsCache(request.cache_dir) if request.cache_dir is not None else None
    if cache is not None and cache.refused:  # a folder that would send the cache's writes elsewhere
        print(f"preflight: {show.text(cache.refused)}", file=sys.stderr)
        cache = None
    try:
        stats = run_key = None
        if cache is not None and request.buffer is None and not request.texts:  # the key covers the files read
            stats = {display: file_stat(path) for path, display in pairs}
            run_key = runcache.key(stats, request.config.settings, {
                "force_exclude": request.force_exclude, "cwd": str(request.cwd),
                "config": str(request.config.path), "paths": list(request.paths), "lazy": sorted(lazy)})
            reused = _reused(cache, run_key, request.cwd) if run_key else None
            if reused is not None:
                return _configured(reused, request)
        result = _configured(_analyse(request, found, pairs, lazy, cache, stats), request)
        if run_key is not None and not result.internal_errors:
            cache.put_result(run_key, runcache.encode(result.findings, result.suppressed, result.files, result.rules,
                                                      result.checked_paths, result.skipped, result.project.reads,
                                                      result.sources.digests(), result.sources.secrets()))
        return result
    finally:
        if cache is not None:
            cache.close()
            if cache.unwritten:  # the results stand; only the next run is slower
                print(f"preflight: {show.text(cache.unwritten)}", file=sys.stderr)


def _configured(result: CheckResult, request: Request) -> CheckResult:
    """What the settings say about reporting the result, which the result cache does not store (the settings
    are part of its key)."""
    result.fail_on = Severity(request.config.settings.fail_on)
    result.severity = dict(request.config.settings.severity)
    return result


def _analyse(request: Request, found: discovery.Discovery, pairs: list[tuple[Path, str]], lazy: dict[str, str],
             cache: FactsCache | None, stats: dict[str, runcache.Stat | None] | None) -> CheckResult:
    errors: list[str] = []
    digests: dict[str, str] = {}  # of the files read that may have findings: what the report must see
    rules = _rules(request.config)
    files = _collect(request, pairs, cache, errors, stats, digests)
    project = _link(request, files, lazy, cache, errors, digests)
    raw = _check(project, rules, errors)
    reported = _reported_paths(request, found)
    filtered = _filter(raw, project, request, reported, rules)
    return CheckResult(filtered.findings, filtered.suppressed, filtered.yielded, len(project.files),
                       tuple(r.code for r in rules.enabled), reported if reported is not None else set(project.files),
                       [(file.path, file.note) for file in files if file.note], errors, request.cwd,
                       SourceLines(request.cwd, _buffer_text(request), digests,
                                   {path: file.secrets for path, file in project.files.items() if file.secrets}),
                       project)


def _reused(cache: FactsCache, run_key: str, cwd: Path) -> CheckResult | None:
    """The stored result of the same run on the same tree, if any: then the rule pack need not even load."""
    payload = cache.result(run_key)
    stored = runcache.decode(payload) if payload else None
    if stored is None:
        return None
    return CheckResult(stored.findings, stored.suppressed, [], stored.files, stored.rules, stored.checked,
                       stored.skipped, [], cwd, SourceLines(cwd, digests=stored.digests, secrets=stored.secrets))


def model(request: Request) -> Project:
    """The project's linked model alone (discover, collect, link; no rule runs, no cache): what
    `--show-settings` asks the library versions of."""
    found = _discover(request)
    pairs = [(path, discovery.display_path(path, request.cwd)) for path in found.files]
    errors: list[str] = []
    digests: dict[str, str] = {}
    files = _collect(request, pairs, None, errors, None, digests)
    return _link(request, files, _lazy(request, found), None, errors, digests)


def enabled_codes(loaded: config_module.LoadedConfig) -> tuple[str, ...]:
    """The codes of the rules these settings run (a usage error for an unknown selector or option)."""
    return tuple(rule.code for rule in _rules(loaded).enabled)


# -- the stages -------------------------------------------------------------------------------------


def exclude_patterns(loaded: config_module.LoadedConfig) -> list[str]:
    """`exclude` (else the defaults) and `extend-exclude`, relative to `loaded.base`. The defaults belong to
    the configuration's own folder: one that extends a file above it has them match below its folder only
    (`build` is not the name of a folder above the project)."""
    settings = loaded.settings
    if settings.exclude is not None:
        exclude = list(settings.exclude)
    elif loaded.home:
        from preflight import globs

        exclude = [globs.moved(pattern, loaded.home, loaded.home) for pattern in discovery.DEFAULT_EXCLUDE]
    else:
        exclude = list(discovery.DEFAULT_EXCLUDE)
    return exclude + list(settings.extend_exclude)


def _discover(request: Request) -> discovery.Discovery:
    exclude = exclude_patterns(request.config)
    context_of = [request.buffer.path] if request.buffer is not None else []
    try:
        return discovery.discover(list(request.paths), exclude, request.config.base, request.force_exclude,
                                  context_of=context_of)
    except discovery.DiscoveryError as exc:
        raise UsageError(str(exc)) from None


def _collect(request: Request, pairs: list[tuple[Path, str]], cache: FactsCache | None, errors: list[str],
             stats: dict[str, runcache.Stat | None] | None, digests: dict[str, str]) -> list[FileFacts]:
    """Every discovered file's facts, given (path, display path) pairs; a buffer's from its text, in place of
    the file on disk."""
    files = collect(pairs, cache, errors, request.workers, stats, digests)
    if request.texts:
        files = [extract(f.path, request.texts[f.path].encode("utf-8", errors="surrogateescape"))
                 if f.path in request.texts else f for f in files]
    if request.buffer is not None:
        display = discovery.display_path(request.buffer.path, request.cwd)
        files = [f for f in files if f.path != display]
        files.append(extract(display, request.buffer.text.encode("utf-8", errors="surrogateescape")))
    return files


def _link(request: Request, files: list[FileFacts], lazy: dict[str, str], cache: FactsCache | None,
          errors: list[str], digests: dict[str, str], imports: dict[str, list[str]] | None = None,
          index: FactIndex | None = None, importers: tuple[dict, dict] | None = None) -> Project:
    """The project model, linked and frozen. The lazily kept files are collected only if linking needs them;
    `imports`, `index`, `importers`: what a warm server's last check worked out that still holds
    (Project.reuse_imports, reuse_index, reuse_importers)."""
    from preflight.link import link  # not needed (nor imported) when the result cache answers

    def load_lazy(items):  # a lazy file the run reads is part of what a reused run depends on
        project.reads.update((str(path), file_stat(path)) for path, _ in items)
        return collect(items, cache, errors, 1, digests=digests)

    project = Project(files, request.root, dict(request.config.settings.versions), request.cwd, lazy, load_lazy)
    if imports:
        project.reuse_imports(imports)
    if index is not None:
        project.reuse_index(index)
    if importers is not None:
        project.reuse_importers(*importers)
    link(project)
    return project


class RuleRun(NamedTuple):
    """One rule's findings in a check, and what they were made from (None: the rule failed)."""

    findings: list[Finding]
    reads: Reads | None


def _check(project: Project, rules: _Rules, errors: list[str], runs: dict[str, RuleRun] | None = None) -> list[Finding]:
    """Every enabled rule's findings over the frozen model; a rule that fails is an internal error and
    does not hide the others' findings. With `runs` (a warm server's, rule code -> its last RuleRun, updated
    here), a rule whose last findings were made from nothing that changed since (Project.carry) is not run
    again (preflight.dependencies)."""
    raw: list[Finding] = []
    for rule_class in rules.enabled:
        last = runs.get(rule_class.code) if runs is not None else None
        if last is not None and last.reads is not None and not project.affected(last.reads):
            raw.extend(last.findings)
            continue
        rule = rule_class(rules.options.get(rule_class.code))
        produced: list[Finding] = []
        reads: Reads | None = None
        try:
            with project.recorder.recording() as reads:
                for finding in rule.check(project):
                    if not (rule_class.skips_test_code and project.in_tests(finding.location.path)):
                        produced.append(finding)
        except Exception:
            reads = None  # what it would have found is not known: run again next time
            errors.append(f"rule {rule_class.code} failed:\n{traceback.format_exc()}")
        raw.extend(produced)
        if runs is not None:
            runs[rule_class.code] = RuleRun(produced, reads)
    return raw


def _filter(raw: list[Finding], project: Project, request: Request, reported: set[str] | None, rules: _Rules):
    from preflight import filtering  # not needed (nor imported) when the result cache answers

    return filtering.apply(raw, project, filtering.Scope(request.config.settings, request.config.base, request.cwd,
                                                         reported, rules.enabled, rules.show_info,
                                                         located_only=request.buffer is not None and not request.paths))


# -- what the stages are given ----------------------------------------------------------------------


def _rules(loaded: config_module.LoadedConfig) -> _Rules:
    """The enabled rules, their options and whose info findings show (importing the rule pack); an unknown
    selector or a bad option is a usage error."""
    settings = loaded.settings
    rules = all_rules()
    try:
        enabled = selection.enabled_rules(rules, settings.select, settings.extend_select, settings.ignore)
        for pattern, selectors in settings.per_file_ignores.items():
            selection.validate(selectors, rules, f"per-file-ignores[{pattern!r}]")
    except selection.UnknownSelector as exc:
        raise UsageError(str(exc)) from None
    _validate_severity(settings, loaded.path)
    show_info = selection.explicitly_selected(rules, settings.select, settings.extend_select)
    return _Rules(enabled, _rule_options(settings, loaded.path), show_info)


def _validate_severity(settings: config_module.Settings, source: Path | None) -> None:
    """Every key of [tool.preflight.severity] names one rule: a misspelt code would leave a CI gate at the
    severity its owner meant to change."""
    for key in settings.severity:
        if rule_by_key(key) is None:
            where = f"{source}: " if source else ""
            raise UsageError(f"{where}[tool.preflight.severity].{key}: unknown rule{selection.not_one_rule(key)}")


def _rule_options(settings: config_module.Settings, source: Path | None) -> dict[str, object]:
    options: dict[str, object] = {}
    where = f"{source}: " if source else ""
    for key, values in settings.rules.items():
        rule = rule_by_key(key)
        if rule is None:
            raise UsageError(f"{where}[tool.preflight.rules.{key}]: unknown rule{selection.not_one_rule(key)}")
        try:
            options[rule.code] = rule_options.validate(rule.Options, values)
        except rule_options.OptionsError as exc:
            raise UsageError(f"{where}[tool.preflight.rules.{key}]: {exc}") from None
    return options


def _lazy(request: Request, found: discovery.Discovery) -> dict[str, str]:
    """With explicit files, the project's other Python files (display path -> absolute path), collected only
    if linking needs them."""
    lazy = {discovery.display_text(text, request.cwd): text for text in found.lazy_python}
    if request.buffer is not None:
        lazy.pop(discovery.display_path(request.buffer.path, request.cwd), None)
    return lazy


def _reported_paths(request: Request, found: discovery.Discovery) -> set[str] | None:
    """The display paths whose findings are shown; None: every file's."""
    reported = set(found.reported) if found.reported is not None else None
    if request.buffer is not None:
        reported = (reported or set()) | {request.buffer.path}
    return None if reported is None else {discovery.display_path(p, request.cwd) for p in reported}


def _buffer_text(request: Request) -> dict[str, str]:
    texts = dict(request.texts or {})
    if request.buffer is not None:
        texts[discovery.display_path(request.buffer.path, request.cwd)] = request.buffer.text
    return texts
