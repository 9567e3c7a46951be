"""A warm check of one project for the language server: the pipeline of preflight.engine kept in memory.

A command-line check runs every stage and exits. An editor asks again after each edit, so the facts of every
file are kept (collected once, through the facts cache), an edited buffer's are extracted again from its text,
and link, check and filter run on the kept facts: no file is read again. A rule runs again only if something
it read changed since the last check (its findings and what it read are kept: preflight.dependencies); which
linked files changed is found by comparing them with the last check's. Which files' diagnostics change is
found by comparing the rules' findings before and after, file by file, so a changed script updates the
workflow that runs it (and the other way) and nothing else is republished.
"""

from __future__ import annotations

import sys
from pathlib import Path

from preflight import classify
from preflight import discover as discovery
from preflight import engine
from preflight.cache import FactsCache
from preflight.dependencies import WHOLE, Change, changes
from preflight.extract import extract
from preflight.factindex import FactIndex
from preflight.findings import Finding
from preflight.model import FileFacts
from preflight.sourcelines import SourceLines


class Workspace:
    def __init__(self, root: Path, *, config_path: str | None = None, use_cache: bool = True) -> None:
        self.root = root.absolute()
        self.config_path = config_path
        self.use_cache = use_cache
        self.buffers: dict[str, str] = {}  # display path -> the editor's text, in place of the file
        self.errors: list[str] = []
        self._files: dict[str, FileFacts] = {}
        self._raw: dict[str, frozenset[Finding]] = {}  # display path -> the rules' findings touching it
        self._shown: dict[str, list[Finding]] = {}  # display path -> the findings last reported there
        self._dirty: set[str] = set()  # edited since the last check: their suppressions may have changed
        self._stale = True  # some file's facts changed since the last check
        self.request: engine.Request | None = None
        self._sources: SourceLines | None = None
        # the last check's file set and resolved imports: an edit seldom changes what other files import
        self._imports: tuple[frozenset[str], dict[str, list[str]]] = (frozenset(), {})
        self._edited: set[str] = set()  # files whose facts changed since the last check
        self._index: FactIndex | None = None  # the last check's facts by type (Project.fact_index)
        self._importers: dict | None = None  # the last check's reverse import index (Project.importers)
        # what each rule found at the last check and what it read, with the linked files and the link's answers
        # it read them from: a rule that read nothing an edit changed is not run again (preflight.dependencies)
        self._rule_runs: dict[str, engine.RuleRun] = {}
        self._lasting: dict = {}  # the answers of the last check a next one can take (Project.carry)
        self._linked: tuple[dict[str, FileFacts], object] | None = None
        self._outside: set[str] = set()  # files outside the model (an env file) changed since the last check

    # -- loading --------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the settings and collect every file of the project (again, after a settings change)."""
        request = engine.prepare(["."], cwd=self.root, config_path=self.config_path, use_cache=self.use_cache)
        rules = engine._rules(request.config)  # a usage error leaves the last good settings in place
        found = engine._discover(request)
        self.request, self._rules = request, rules
        pairs = [(path, discovery.display_path(path, self.root)) for path in found.files]
        cache = FactsCache(self.request.cache_dir) if self.request.cache_dir is not None else None
        if cache is not None and cache.refused:
            print(f"preflight: {cache.refused}", file=sys.stderr)
            cache = None
        self.errors = []
        try:
            files = engine._collect(self.request, pairs, cache, self.errors, None, {})
        finally:
            if cache is not None:
                cache.close()
        self._files = {f.path: f for f in files}
        self._imports, self._importers = (frozenset(), {}), None  # settings changed: resolved again
        for path, text in self.buffers.items():
            self._files[path] = _extract(path, text)
        self._raw = {}
        self._rule_runs, self._linked, self._lasting = {}, None, {}  # other settings: every rule runs again
        self._stale = True
        # a file shown before may now be excluded; a suppression that suppresses nothing (PF002) is found by the
        # filter, for the files it is given: those holding suppressions, though no rule finds anything in them
        self._dirty = set(self._shown) | set(self.buffers) | {path for path, f in self._files.items() if f.suppressions}

    def display(self, path: Path) -> str:
        return discovery.display_path(path, self.root)

    def knows(self, display: str) -> bool:
        """Whether the project's discovery takes the file (not excluded, a kind preflight reads)."""
        return display in self._files

    # -- edits ----------------------------------------------------------------------------------

    def set_buffer(self, display: str, text: str | None) -> None:
        """An open buffer's text (None: closed, the file on disk counts again)."""
        self._dirty.add(display)
        self._sources = None
        if text is None:
            self.buffers.pop(display, None)
            file = self.root / display
            if display in self._files and file.is_file():
                self._store(display, extract(display, file.read_bytes()))
            return
        self.buffers[display] = text
        if display in self._files or _discoverable(self, display):
            self._store(display, _extract(display, text))

    def file_changed(self, display: str) -> None:
        """A file changed on disk (saved by another program, created or deleted): read it again unless it
        is open, where the buffer counts."""
        self._dirty.add(display)
        if display in self.buffers:
            return
        file = self.root / display
        if file.is_file() and (display in self._files or _discoverable(self, display)):
            self._store(display, extract(display, file.read_bytes()))
        elif self._files.pop(display, None) is not None:
            self._stale = True
        else:  # a file rules may read from disk (an env file a launch names)
            self._outside.add(display)
            self._stale = True

    def _store(self, display: str, facts: FileFacts) -> None:
        """A file's new facts. The same facts as before (an edit in a comment, a blank line at the end, a
        buffer saved) cannot change a finding: the next check has nothing to do."""
        if self._files.get(display) != facts:
            self._files[display] = facts
            self._stale = True
            self._edited.add(display)

    # -- checking -------------------------------------------------------------------------------

    def check(self) -> dict[str, list[Finding]]:
        """Link, check and filter the kept facts; returns the files whose reported findings changed since the
        last check, each with all its findings now (located in it)."""
        request = self.request
        if request is None or not self._stale:  # never loaded (the settings were wrong), or nothing changed
            self._dirty = set()
            return {}
        errors: list[str] = []
        paths, resolved = self._imports
        same = paths == frozenset(self._files)
        reusable = {path: found for path, found in resolved.items() if path not in self._edited} if same else {}
        importers = (self._importers, {path: resolved.get(path, []) for path in self._edited if path.endswith(".py")}) \
            if same and self._importers is not None else None
        project = engine._link(request, list(self._files.values()), {}, None, errors, {}, reusable, self._index,
                               importers)
        linked = (dict(project.files.items()), _link_answers(project))
        project.carry(self._lasting, self._changes(linked))
        raw = engine._check(project, self._rules, errors, self._rule_runs)
        self._linked, self._outside, self._lasting = linked, set(), project.lasting_answers()
        self._imports, self._edited = (frozenset(self._files), project.resolved_imports()), set()
        self._index, self._importers = project.fact_index(), project.importer_index()
        touching: dict[str, set[Finding]] = {}
        for finding in raw:
            for path in finding.paths():
                touching.setdefault(path, set()).add(finding)
        now = {path: frozenset(found) for path, found in touching.items()}
        self._stale = False
        changed = {path for path in set(now) | set(self._raw) if now.get(path) != self._raw.get(path)}
        changed |= self._dirty
        self._dirty = set()
        self._raw = now
        self.errors = errors
        self._sources = None
        if not changed:
            return {}
        subset = [f for f in raw if f.paths() & changed]
        filtered = engine._filter(subset, project, request, changed, self._rules)
        located: dict[str, list[Finding]] = {path: [] for path in changed}
        for finding in filtered.findings:
            if finding.location.path in located:
                located[finding.location.path].append(finding)
        out = {}
        for path, findings in located.items():
            if self._shown.get(path) != findings:
                out[path] = findings
                self._shown[path] = findings
        return out

    def _changes(self, linked: tuple[dict[str, FileFacts], object]) -> dict[str, Change] | None:
        """How the linked files differ from the last check's (None: not comparable, every rule runs)."""
        if self._linked is None or linked[1] != self._linked[1]:
            return None
        found = changes(self._linked[0], linked[0])
        if found is not None:
            found.update((path, WHOLE) for path in self._outside)
        return found

    def findings(self, display: str) -> list[Finding]:
        """The findings last reported in a file."""
        return self._shown.get(display, [])

    def sources(self) -> SourceLines:
        """The text of the project's files as now checked: the buffers, and the files on disk (read once per
        check)."""
        if self._sources is None:
            self._sources = SourceLines(self.root, dict(self.buffers))
        return self._sources


def _link_answers(project) -> tuple:
    """What the link stage worked out besides the files' facts (rules read these without a record)."""
    return (project.readers, project.swept_functions)


def _extract(display: str, text: str) -> FileFacts:
    return extract(display, text.encode("utf-8", errors="surrogateescape"))


def _discoverable(workspace: Workspace, display: str) -> bool:
    """A file the project did not have when it was loaded (created since): whether discovery takes it, with
    the project's excludes (an excluded file gets no diagnostics, even open)."""
    file = workspace.root / display
    if not file.is_file() or classify.kind_by_path(display) is None:
        return False
    try:
        found = discovery.discover([str(file)], _exclude(workspace.request), workspace.request.config.base, True)
    except discovery.DiscoveryError:
        return False
    return any(discovery.display_path(path, workspace.root) == display for path in found.files)


def _exclude(request: engine.Request) -> list[str]:
    return engine.exclude_patterns(request.config)
