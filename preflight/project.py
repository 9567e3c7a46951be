"""The project model: every file's facts, indexed, and the cross-file questions rules ask.

"Which scanned file does this workflow step run?", "does that script (or a module it imports)
start a W&B run?", "is this config part of a sweep?": answered here once, so that rules stay
small and agree with each other.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
import re
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from preflight import reading
from preflight.cache import file_stat
from preflight.dependencies import Reads, Recorder
from preflight.factindex import FactIndex
from preflight.findings import Location
from preflight.model import (
    ARGUMENTS_FILE, ComposeService, EntryKind, EnvDeclaration, EnvWrite, FileFacts, Launch, Launcher, LocalImport,
    SweepDriver, SweepSpec, TrainingConfig, VersionPin,
)
from preflight.paths import import_bases

if TYPE_CHECKING:
    from preflight.versions import Assumed

T = TypeVar("T")
_COMPUTING = object()
_NO_CYCLE = object()
_MISSING = object()
_MAX_ENV_FILE = 1 << 20
_TEST_FOLDERS = {"tests", "test", "testing"}
_TEST_FOLDER_SUFFIXES = ("-tests", "_tests", "-test", "_test")  # `scikit-tests/`, `integration_tests/`
_HOST_CWD = re.compile(r"^(?:\$\{?PWD\}?|\$\(pwd\)|`pwd`)/?")  # the folder `docker run` is started in


class _derived:
    """A property computed once per check with Project.derive: its answer keeps the record of what it was made
    from."""

    def __init__(self, compute: Callable) -> None:
        self.compute = compute
        self.key = compute.__name__
        self.__doc__ = compute.__doc__

    def __get__(self, project, owner=None):
        if project is None:
            return self
        kept = project._kept(self.key)
        if kept is not _MISSING:  # the common case, without a closure
            return kept
        return project.derive(self.key, lambda: self.compute(project), lasting=True, recipe=self.compute)


@dataclass(frozen=True, slots=True)
class ResolvedEntry:
    script: str | None  # the scanned Python file the launcher runs
    config: str | None  # the scanned config file it is given


class Project:
    def __init__(self, files: list[FileFacts], root: Path, versions: dict[str, str] | None = None,
                 cwd: Path | None = None, lazy: dict[str, str] | None = None,
                 loader: Callable[[list[tuple[Path, str]]], list[FileFacts]] | None = None) -> None:
        # what each question looks at, for a warm server's re-checks (preflight.dependencies)
        self.recorder = Recorder()
        self.files: _Files = _Files(((f.path, f) for f in files), self.recorder)
        self.root = root
        self.versions = versions or {}
        self.cwd = cwd or Path.cwd()  # reported paths are relative to it
        # Files known to exist whose facts are read only when a question needs them (the Python files
        # of a large project, when a commit changed one workflow).
        self._lazy: dict[str, str] = dict(lazy or {})  # display path -> absolute path
        self._loader = loader
        # answers derived once per check (Project.derive), each with what it was made from
        self._derived: dict[object, object] = {}
        self._importers_index: dict[str, list[str]] | None = None
        # the answers made (or taken) after link that are plain data: key -> how to derive it again (`recipe`)
        self._lasting: dict[object, Callable | None] = {}
        self._carried: dict = {}  # Project.carry: key -> (answer, record, recipe)
        self._changes: dict | None = None  # since the check the carried answers come from (None: not known)
        self._judged: dict[int, bool] = {}  # records judged against `_changes` (Reads.affected_by)
        # files read during the check beyond the discovered ones, with their stat (for preflight.runcache)
        self.reads: dict[str, tuple[int, int, int] | None] = {}
        self._imports_read: dict[str, list[LocalImport]] = {}
        self._imported: dict[str, list[str]] = {}
        self._importers_seed: tuple[dict, dict] | None = None  # reuse_importers
        self.frozen = False
        self._by_kind: dict[type, list] = {}  # every fact of a kind, for `facts`, while no file changes
        # each file's facts by exact type; a warm server hands it to the next check (reuse_index), where only
        # the files whose facts are not the very objects indexed before are grouped again
        self._index = FactIndex()
        self._indexed_at = -1  # the version of `files` the two indexes describe
        from preflight.program import Programs

        self.programs = Programs(self)  # what launched entry points run (preflight.program)
        self.readers: dict = {}  # who reads each configuration file (preflight.link)
        # functions of a module that wandb.agent in another module runs: path -> [(function, the agent call)]
        self.swept_functions: dict[str, list[tuple[str, Location]]] = {}

    def freeze(self) -> None:
        """After the link stage: the files and their facts no longer change (rules only read them)."""
        self.frozen = True
        self._loader = None
        self.files.frozen = True  # a rule that tried to change it would fail loudly
        self.programs.freeze()

    def known(self, path: str) -> bool:
        return path in self.files or path in self._lazy

    def file(self, path: str) -> FileFacts | None:
        self.recorder.file(path)
        return self._file(path)

    def _file(self, path: str) -> FileFacts | None:
        if path in self._lazy and self._loader is not None and not self.frozen:
            for facts in self._loader([(Path(self._lazy.pop(path)), path)]):
                self.files[facts.path] = facts
        return self.files.unrecorded(path)

    def derive(self, key: object, compute: Callable[[], T], cycle: object = _NO_CYCLE, lasting: bool = False,
               recipe: Callable | None = None) -> T:
        """An answer derived once per check and kept, with the record of what it was made from: asking again
        notes that record again (preflight.dependencies), so whoever reuses it depends on what it read.
        `cycle`: the answer while it is being computed, for a question that can come back to itself.
        `lasting`: the answer is plain data (it holds nothing of this project's): a warm server's next check
        takes it as it is when nothing it was made from changed (Project.carry), if it was made after link.
        `recipe` (a function of the project): how the next check derives it again when something it was made
        from changed; an answer that comes out equal changes nothing for those who used it (`_same_again`)."""
        if self._derived.get(key) is _COMPUTING:
            if cycle is _NO_CYCLE:
                raise RuntimeError(f"{key!r} depends on itself")
            return cycle  # type: ignore[return-value]
        kept = self._kept(key)
        if kept is not _MISSING:
            return kept
        lasting = lasting and self.frozen
        if lasting and key in self._carried:
            value, reads, _ = self._carried[key]
            if not self.affected(reads):
                self._derived[key] = (value, reads)
                self._lasting[key] = recipe
                self.recorder.replay(reads)
                return value
        value = self._compute(key, compute)
        if lasting:
            self._lasting[key] = recipe
        return value

    def _kept(self, key: object):
        """The answer derived for `key` in this check, its record noted again; _MISSING when there is none."""
        entry = self._derived.get(key)
        if entry is None or entry is _COMPUTING:
            return _MISSING
        self.recorder.replay(entry[1])  # type: ignore[index]
        return entry[0]  # type: ignore[index]

    def _compute(self, key: object, compute: Callable[[], T]) -> T:
        self._derived[key] = _COMPUTING
        try:
            with self.recorder.recording(key) as reads:
                value = compute()
        except BaseException:
            del self._derived[key]
            raise
        self._derived[key] = (value, reads)
        return value

    def carry(self, answers: dict, changes: dict | None) -> None:
        """The lasting answers of a warm server's last check (Project.lasting_answers), and how the linked
        files changed since (preflight.dependencies.changes; None: not known, and nothing is taken): an answer
        nothing of which changed is taken."""
        self._carried, self._changes = (answers, changes) if changes is not None else ({}, None)

    def affected(self, reads: Reads) -> bool:
        """Can the changes since the last check alter what this record (of the last check) read? (Always, when
        they are not known.)"""
        return self._changes is None or reads.affected_by(self._changes, self._judged, self._same_again)

    def _same_again(self, reads: Reads) -> bool:
        """Early cutoff: the carried answer this record belongs to, derived again now (by its recipe), comes out
        equal: whatever used it saw what it would see now. The record may be older than the carried answer's
        own (an earlier check derived it again, equal, and the user of this record was taken as it was): a
        record still in use was judged unaffected at every check since, so what it saw is the carried answer.
        An equal answer's older record adopts what it is made from now (Reads.adopt)."""
        key = reads.answer
        carried = self._carried.get(key) if key is not None else None
        recipe = carried[2] if carried is not None else None
        if recipe is None or self._derived.get(key) is _COMPUTING:
            return False
        if key not in self._derived:
            self._compute(key, lambda: recipe(self))
            self._lasting[key] = recipe
        value, record = self._derived[key]
        if value != carried[0]:
            return False
        if record is not reads:
            reads.adopt(record)
        return True

    def lasting_answers(self) -> dict:
        """The lasting answers made or taken in this check, for the next check's `carry`. One this check did
        not ask for is dropped, though it may still hold: what a warm server keeps is what one check needs,
        not every answer an edit ever made (a launch edited a hundred times)."""
        return {key: (*self._derived[key], recipe) for key, recipe in self._lasting.items()}

    def derived_keys(self) -> list:
        return [key for key, entry in self._derived.items() if entry is not _COMPUTING]

    def derived(self, key: object) -> bool:
        """Has this answer been derived in this check (Project.derive)?"""
        entry = self._derived.get(key)
        return entry is not None and entry is not _COMPUTING

    def in_tests(self, path: str) -> bool:
        """Is this file test code: a module pytest collects (test_*.py, *_test.py, conftest.py) or a file
        in a tests/ folder? Tests produce no experiment records: rules whose consequence is a record
        (curves, run names, reproducibility) do not judge them; rules whose consequence is a crash do."""
        return _in_tests(path, self.cwd, self.root)

    # -- facts ----------------------------------------------------------------------------------

    def facts(self, kind: type[T]) -> Iterator[T]:
        """Every fact of `kind`, file by file, as the files are now (a later change does not alter what this
        returns). The answer is kept until a file changes: each rule and link step asks for a few kinds, and
        walking every fact of a large project for each question was most of a check."""
        self.recorder.kind(kind)
        version = self._files_version
        if version != self._indexed_at:
            self._index.update(self.files.unrecorded_values())
            self._by_kind, self._indexed_at = {}, version
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = self._index.facts(kind)
        return iter(found)

    @property
    def _files_version(self) -> int:
        return self.files.version

    def paths_holding(self, kind: type) -> list[str]:
        """The files that hold facts of `kind`, in file order, for a rule that judges each such file's facts
        together. What it reads of each is what it asks of it (Project.facts_in, Project.file): a change to
        another kind in those files, or to any other file, is not something it read."""
        self.facts(kind)  # the index, as the files are now; and any change to the kind can change the answer
        return [file.path for file in self._index.files_holding(kind)]

    def facts_in(self, path: str, kind: type[T]) -> list[T]:
        """The facts of `kind` in one file (do not change the list: it is kept while the file is the same, as
        rules ask the same few kinds of the same file again and again, check after check)."""
        self.recorder.file_kind(path, kind)
        file = self._file(path)
        return self._index.facts_in(file, kind) if file is not None else []

    # -- library versions -----------------------------------------------------------------------

    @_derived
    def pins(self) -> list[VersionPin]:
        """The declarations that decide the versions of the whole project."""
        return [pin for pin in self.facts(VersionPin) if pin.scope is None]

    @_derived
    def _scoped_pins(self) -> dict[str, list[VersionPin]]:
        scoped: dict[str, list[VersionPin]] = {}
        for pin in self.facts(VersionPin):
            if pin.scope is not None:
                scoped.setdefault(pin.scope, []).append(pin)
        return scoped

    def version(self, library: str, path: str | None = None) -> "Assumed":
        """The version of `library` the rules assume for the code of `path` (the whole project when None),
        and why (see preflight.versions). A notebook that installs the library itself (`!pip install
        transformers==4.38.2`) runs with what it installs, whatever the project declares."""
        if path is not None and path not in self._scoped_pins:
            path = None  # a file that installs nothing itself: the project's release, one answer for all of them
        kept = self._kept(("version", library, path))  # asked thousands of times a check: no closure then
        if kept is not _MISSING:
            return kept
        return self.derive(("version", library, path), lambda: self._version(library, path), lasting=True,
                           recipe=lambda project: project._version(library, path))

    def _version(self, library: str, path: str | None) -> "Assumed":
        from preflight import versions

        scoped = self._scoped_pins.get(path, []) if path else []
        if any(pin.library == library for pin in scoped):
            libraries = {pin.library for pin in scoped}
            pins = scoped + [pin for pin in self.pins if pin.library not in libraries]
            return versions.effective(library, self.versions, pins)
        if path is not None:  # it installs other libraries, not this one
            return self.version(library)
        return versions.effective(library, self.versions, self.pins, self._implied_installs())

    def version_undecided(self, library: str, path: str) -> bool:
        """Does nothing decide which release of `library` the code of `path` runs with? So when the project's
        notebooks install it (each its own release) while neither the file nor the project declares it: a
        script or recipe such a notebook runs (`!python run_dpo.py --config recipe.yaml`) gets the release
        of the notebook that runs it, which the newest release is only a guess of."""
        from preflight.versions import NEWEST_SOURCE

        if path.endswith(".ipynb") or any(pin.library == library for pin in self._scoped_pins.get(path, ())):
            return False  # a notebook runs with what it installs, else with what its kernel has
        return self.version(library).source == NEWEST_SOURCE and any(
            pin.library == library for pins in self._scoped_pins.values() for pin in pins)

    def _implied_installs(self) -> tuple[VersionPin, ...]:
        """What the project runs without declaring it: `llamafactory-cli train` (or a file of its arguments)
        runs LLaMA-Factory, whose release bounds the transformers it runs with (preflight.versions.BOUNDING).
        Not in LLaMA-Factory's own repository, whose declarations are its own."""
        return self.derive("implied_installs", self._find_implied_installs, cycle=())

    def _find_implied_installs(self) -> tuple[VersionPin, ...]:
        if self.holds_llamafactory:
            return ()
        found = next((launch.location for launch in self.launches()
                      if launch.entry.kind is EntryKind.LLAMAFACTORY), None)
        if found is None:
            from preflight.link import is_llamafactory_recipe

            found = next((config.location for config in self.facts(TrainingConfig)
                          if config.origin == ARGUMENTS_FILE and is_llamafactory_recipe(config.args)), None)
        return () if found is None else (VersionPin(found, "llamafactory", "", "`llamafactory-cli`"),)

    @_derived
    def holds_llamafactory(self) -> bool:
        """Is this LLaMA-Factory's own source (or a copy of it)? Its argument classes are then the project's own,
        which may differ from any release's."""
        return any(path.endswith("llamafactory/hparams/parser.py") for path in [*self.files, *self._lazy])

    @_derived
    def llamafactory_cli(self) -> str | None:
        """The module `llamafactory-cli` runs when the project holds LLaMA-Factory's source: what a launch
        imports, and so the releases of transformers it can start with."""
        if not self.holds_llamafactory:
            return None
        return next((path for path in [*self.files, *self._lazy] if path.endswith("src/llamafactory/cli.py")), None)

    def installs(self, library: str) -> VersionPin | None:
        """The requirement through which the project installs `library`, if any."""
        from preflight import versions

        return versions.installed(library, self.pins)

    # -- resolving paths ------------------------------------------------------------------------

    @_derived
    def _by_basename(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for path in [*self.files, *self._lazy]:
            index.setdefault(posixpath.basename(path), []).append(path)
        return index

    def resolve(self, base_dir: str, target: str, in_container: bool = False) -> str | None:
        """The scanned file a path written in a launcher refers to, or None if it is not scanned."""
        if not target or "$" in target or "{" in target:
            return None
        if not target.startswith("/"):
            candidate = posixpath.normpath(posixpath.join(base_dir, target))
            if self.known(candidate):
                return candidate
        if not in_container:
            if target.startswith("/"):
                return posixpath.normpath(target) if self.known(posixpath.normpath(target)) else None
            return None
        # A container path (`/app/src/train.py`): the scanned file under the launcher's folder
        # whose path ends with the longest part of it, when exactly one does.
        parts = [p for p in target.split("/") if p not in ("", ".")]
        prefix = "" if base_dir in ("", ".") else base_dir.rstrip("/") + "/"
        candidates = [p for p in self._by_basename.get(parts[-1], []) if p.startswith(prefix)] if parts else []
        for length in range(len(parts), 0, -1):
            suffix = "/".join(parts[-length:])
            matching = [c for c in candidates if c == suffix or c.endswith("/" + suffix)]
            if len(matching) == 1:
                return matching[0]
            if len(matching) > 1:
                return None
        return None

    def resolve_module(self, base_dir: str, module: str, in_container: bool = False) -> str | None:
        """The scanned file `python -m module` runs: beside the launcher, or in a `src/` layout (the
        package is importable there once the project is installed)."""
        relative = module.replace(".", "/")
        for candidate in (f"{relative}.py", f"{relative}/__main__.py", f"src/{relative}.py",
                          f"src/{relative}/__main__.py"):
            found = self.resolve(base_dir, candidate, in_container)
            if found:
                return found
        return None

    def entry(self, launch: Launch) -> ResolvedEntry:
        """The scanned script and config a launch runs. A script that may be started from anywhere
        resolves its paths against its own folder first, then the folders above it."""
        entry = launch.entry
        bases = [launch.base_dir] if launch.cwd_known else self._ancestors(launch.base_dir)
        if launch.in_container and launch.mounts:
            mapped = self._entry_through_mounts(launch, bases)
            if mapped.script or mapped.config:
                return mapped
        if launch.in_container:
            bases = [launch.base_dir]  # container paths: matched by suffix under the launcher's folder
        script = config = None
        for base in bases:
            if script is None and entry.kind in (EntryKind.PYTHON_SCRIPT, EntryKind.SHELL_SCRIPT):
                script = self.resolve(base, entry.target, launch.in_container)
            elif script is None and entry.kind is EntryKind.PYTHON_MODULE:
                script = self.resolve_module(base, entry.target, launch.in_container)
            if config is None and entry.config:
                config = self.resolve(base, entry.config, launch.in_container)
        return ResolvedEntry(script, config)

    def _entry_through_mounts(self, launch: Launch, bases: list[str]) -> ResolvedEntry:
        """`docker run -v "$PWD":/workspace -w /workspace IMAGE python train.py`: the container path is mapped
        back through the volume to the host folder `docker run` started in (for a script: where it is run
        from, its own folder once it `cd`s there)."""
        def host(target: str | None) -> str | None:
            if not target or "$" in target:
                return None
            path = target if target.startswith("/") else (
                posixpath.join(launch.workdir, target) if launch.workdir else None)
            if path is None:
                return None
            path = posixpath.normpath(path)
            for source, mounted in sorted(launch.mounts, key=lambda m: -len(m[1])):
                mounted = posixpath.normpath(mounted)
                if source is None or (path != mounted and not path.startswith(mounted.rstrip("/") + "/")):
                    continue
                folder = _HOST_CWD.sub("", source.strip("\"'"))
                if folder.startswith(("/", "~", "$")):
                    return None  # an absolute host folder: where it is in this tree is not known
                rest = path[len(mounted):].lstrip("/")
                return posixpath.normpath(posixpath.join(folder or ".", rest))
            return None

        entry = launch.entry
        script_path = host(entry.target) if entry.kind is EntryKind.PYTHON_SCRIPT else (
            host(entry.target.replace(".", "/") + ".py") if entry.kind is EntryKind.PYTHON_MODULE else None)
        config_path = host(entry.config)
        script = next((found for base in bases if script_path for found in [self.resolve(base, script_path)]
                       if found), None)
        config = next((found for base in bases if config_path for found in [self.resolve(base, config_path)]
                       if found), None)
        return ResolvedEntry(script, config)

    # -- imports and W&B use --------------------------------------------------------------------

    def _imports(self, path: str) -> list[LocalImport]:
        file = self._file(path)
        if file is None and path in self._lazy:  # a lazy file no launch needed: its imports by a regex
            file = FileFacts(path, "python", imports_pending=True)
        if file is not None and file.imports_pending:  # pre-filtered: its imports are read once, on demand
            self.recorder.file(path)  # they come from its text
            if path not in self._imports_read:
                from preflight.sources.pyimports import imports_only

                text = self.read_text(path) or ""
                self._imports_read[path] = [f for f in imports_only(text) if isinstance(f, LocalImport)]
            return self._imports_read[path]
        return self.facts_in(path, LocalImport)

    def importer_index(self) -> dict[str, list[str]] | None:
        """The reverse import index, if a question built it (for reuse_importers)."""
        return self._importers_index

    def resolved_imports(self) -> dict[str, list[str]]:
        """The imports resolved so far (path -> the scanned modules it imports), for `reuse_imports`."""
        return dict(self._imported)

    def reuse_imports(self, resolved: dict[str, list[str]]) -> None:
        """Imports another check of the same files resolved (a warm server's last check): what a file imports
        depends only on its own imports and on which files exist, so the caller passes those of unchanged
        files of an unchanged file set; each costs a search of the tree when resolved again."""
        self._imported.update(resolved)

    def fact_index(self) -> FactIndex:
        """The facts by type as last indexed, for `reuse_index`."""
        return self._index

    def reuse_index(self, index: FactIndex) -> None:
        """The index another check of the project made (Project.fact_index), patched here where the files
        differ (it is this project's from now on)."""
        self._index = index

    def reuse_importers(self, index: dict[str, list[str]], edited: dict[str, list[str]]) -> None:
        """The reverse import index of another check of the same files (Project.importer_index), valid while each
        edited module (path -> what it imported then) imports what it did."""
        self._importers_seed = (index, edited)

    def imported_files(self, path: str) -> list[str]:
        """Scanned modules a Python file imports (relative imports, and absolute ones that resolve): they
        depend on the file's imports and on which files exist (kept, also from another check: reuse_imports)."""
        if path not in self._imported:
            self._imported[path] = self._resolve_imports(path)
        else:
            self._imports(path)  # what they were resolved from is read again (preflight.dependencies)
        return self._imported[path]

    def importers(self, path: str) -> list[str]:
        """Scanned Python modules that import `path`, directly or through other modules: the programs whose
        start-up code runs before a module's functions are called (open_clip's `main.py` seeds, then calls
        the loop of `train.py`). Asked of the modules whose facts were extracted (those that use a tracker or
        trainer): a pre-filtered module's imports come from its text, and reading every file of a large tree
        again costs as much as the whole check. The reverse index is built on the first question, from every
        module (so whoever asks depends on every file)."""
        self.recorder.everything()
        index = self._importers_index
        if index is None and self._importers_seed is not None:
            seed, edited = self._importers_seed
            if all(self.imported_files(module) == before for module, before in edited.items()):
                index = self._importers_index = seed  # no edited file imports anything else now
        if index is None:
            index = self._importers_index = {}
            for module in [p for p, file in self.files.items() if p.endswith(".py") and not file.imports_pending]:
                for imported in self.imported_files(module):
                    index.setdefault(imported, []).append(module)
        found: dict[str, None] = {}
        pending = list(index.get(path, ()))
        while pending:
            module = pending.pop()
            if module != path and module not in found:
                found[module] = None
                pending.extend(index.get(module, ()))
        return list(found)

    def _resolve_imports(self, path: str) -> list[str]:
        result: list[str] = []
        for imp in self._imports(path):
            bases = import_bases(path, imp.level)
            module = imp.module.replace(".", "/") if imp.module else ""
            for base in bases:
                stems = [posixpath.join(base, module, name) for name in imp.names] + [posixpath.join(base, module)]
                for stem in stems:
                    stem = posixpath.normpath(stem) if stem else stem
                    for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
                        if candidate != path and self.known(candidate):
                            result.append(candidate)
        return list(dict.fromkeys(result))

    # -- launches and sweeps --------------------------------------------------------------------

    @_derived
    def _launches(self) -> list[Launch]:
        """Every launch: those written in launcher files, plus compose services that run their
        image's CMD (the Dockerfile says what runs, the compose file with which environment)."""
        launches = list(self.facts(Launch))
        image_commands = {launch.location.path: launch for launch in launches
                          if launch.launcher is Launcher.DOCKERFILE}
        for service in self.facts(ComposeService):
            image = image_commands.get(service.dockerfile or "")
            if service.has_command or image is None:
                continue
            launches.append(dataclasses.replace(
                image,
                launcher=Launcher.COMPOSE,
                label=f"service '{service.name}' (running the CMD of {image.location.path})",
                entry=dataclasses.replace(image.entry, location=service.location),
                env=(*image.env, *service.env),
                credentials=service.credentials,
                inherits_env=False,
                group=service.name,
                volumes=service.volumes,
            ))
        launches.extend(launch for _, launch in self._sweep_launches)
        return [self._service_command(launch, launches) if launch.entry.kind is EntryKind.COMPOSE_SERVICE else launch
                for launch in launches]

    @_derived
    def _sweep_launches(self) -> list[tuple[SweepSpec, Launch]]:
        """What each sweep's agent runs for a trial, as a launch: `wandb agent` runs the command in its own
        environment (the caller's, unseen here), from wherever it is started (the sweep file's folder or one
        above it)."""
        from preflight.sources.launching import LaunchContext, launch_from_words

        result = []
        for spec in self.facts(SweepSpec):
            if not spec.trial_command:
                continue
            path = spec.location.path
            context = LaunchContext(launcher=Launcher.WANDB_SWEEP, label=f"the trials of the sweep {path}",
                                    base_dir=posixpath.dirname(path) or ".", cwd_known=False, inherits_env=True)
            launch = launch_from_words(list(spec.trial_command), context, spec.command_location or spec.location)
            if launch is not None:
                result.append((spec, launch))
        return result

    def _service_command(self, launch: Launch, launches: list[Launch]) -> Launch:
        """`docker compose run --rm SERVICE` with no command runs the service's own `command:`, with the
        service's environment and the run's `-e` on top."""
        service = self.compose_service(launch.base_dir, launch.entry.target)
        own = next((other for other in launches if service is not None and other.launcher is Launcher.COMPOSE
                    and other.group == service.name and other.location.path == service.location.path), None)
        if own is None:
            return launch
        return dataclasses.replace(
            own, launcher=launch.launcher, label=f"{launch.label} (service '{service.name}')",
            entry=dataclasses.replace(own.entry, location=launch.location), env=(*own.env, *launch.env),
            credentials=(*own.credentials, *launch.credentials), boundary=launch.boundary,
            outer_env=launch.outer_env, group=launch.group, compose_service=None, fan_out=launch.fan_out,
            fan_out_location=launch.fan_out_location)

    def launches(self) -> list[Launch]:
        return self._launches

    def container_volumes(self, launch: Launch) -> tuple[str, ...] | None:
        """The mount targets of the container a launch runs in: () for a container without volumes
        (whatever it writes locally is lost with it), None when not a container or not known here."""
        if launch.compose_service:
            service = self.compose_service(launch.base_dir, launch.compose_service)
            return service.volumes if service else None
        return launch.volumes if launch.in_container else None

    def compose_service(self, base_dir: str, name: str) -> ComposeService | None:
        """The service `docker compose run NAME` starts: from a compose file in that folder."""
        prefix = "" if base_dir in ("", ".") else base_dir.rstrip("/") + "/"
        for service in self.facts(ComposeService):
            path = service.location.path
            if service.name == name and path.startswith(prefix) and "/" not in path[len(prefix):]:
                return service
        return None

    @_derived
    def _launch_index(self) -> dict[str, list[Launch]]:
        index: dict[str, list[Launch]] = {}
        for launch in self.launches():
            resolved = self.entry(launch)
            for path in {resolved.script, resolved.config} - {None}:
                index.setdefault(path, []).append(launch)
        return index

    def launches_of(self, path: str) -> list[Launch]:
        return self._launch_index.get(path, [])

    @_derived
    def _sweep_index(self) -> dict[str, SweepSpec]:
        """Files (programs, configs) that a sweep configuration in the project runs: what its trial command
        runs, else its `program` (a command preflight does not recognise still names it)."""
        index: dict[str, SweepSpec] = {}
        for spec in self.facts(SweepSpec):
            if spec.runs_here:  # wandb.agent(function=...) runs the trials in this very file
                index.setdefault(spec.location.path, spec)
        launched = dict(self._sweep_launches)
        for spec in self.facts(SweepSpec):
            launch = launched.get(spec)
            if launch is not None:
                resolved = self.entry(launch)
                targets = [path for path in (resolved.script, resolved.config) if path]
            elif spec.program:
                directory = posixpath.dirname(spec.location.path)
                targets = next(([found] for base in self._ancestors(directory)
                                if (found := self.resolve(base, spec.program))), [])
            else:
                targets = []
            for target in targets:
                index.setdefault(target, spec)
        return index

    @staticmethod
    def _ancestors(directory: str) -> list[str]:
        result, current = [], directory or "."
        while True:
            result.append(current)
            parent = posixpath.dirname(current)
            if current in ("", ".", "/") or parent == current:
                break
            current = parent or "."
        return result

    def sweep_targets(self, spec: SweepSpec) -> list[str]:
        """The scanned files (program, configs) a sweep configuration runs."""
        return [path for path, found in self._sweep_index.items() if found is spec]

    def sweep_program_files(self, spec: SweepSpec, limit: int = 30) -> list[str]:
        """What a sweep runs: its program and configs, and the modules the program imports."""
        files, queue = [], list(self.sweep_targets(spec))
        while queue and len(files) < limit:
            path = queue.pop(0)
            if path in files:
                continue
            files.append(path)
            if path.endswith(".py"):
                queue.extend(self.imported_files(path))
        return files

    def sweep_running(self, path: str) -> SweepSpec | None:
        """The sweep configuration whose program or command runs this file, if any."""
        return self._sweep_index.get(path)

    def whole_file_swept(self, path: str) -> bool:
        """Is every run this file starts a sweep trial? When a sweep's program or command runs it. Not when
        the file calls wandb.agent itself: only the runs inside the agent's function are trials there."""
        spec = self._sweep_index.get(path)
        return spec is not None and not (spec.runs_here and spec.location.path == path)

    def sweep_context(self, path: str) -> str | None:
        """Why the runs of this file are sweep trials (for messages), or None."""
        drivers = self.facts_in(path, SweepDriver)
        if drivers:
            return f"the script calls {drivers[0].api} (line {drivers[0].location.line})"
        for function, agent in self.swept_functions.get(path, [])[:1]:
            return f"wandb.agent at {agent.path}:{agent.line} runs its {function}()"
        spec = self._sweep_index.get(path)
        if spec is not None:
            return f"the sweep {spec.location.path} runs it"
        return None

    def framework_of(self, config: TrainingConfig) -> str:
        """Whose defaults apply to an argument file: the parser that reads it decides, else its keys."""
        if config.framework != "unknown":
            return config.framework
        for reader in self.readers.get(config.location.path, []):
            if reader.trl_command is not None:
                return "trl"
            if reader.parser is not None:
                return reader.parser.framework
        return "unknown"

    # -- environment settings -------------------------------------------------------------------

    def env_settings(self, variable: str, scripts: bool = True) -> Iterator[tuple[Location, str | None, str]]:
        """Every place that sets `variable`, once each: (location, literal value or None, what sets it).
        Launcher files, images and configs always; with `scripts`, `os.environ` writes in Python too."""
        seen: set[Location] = set()
        found: list[tuple[Location, str | None, str]] = []
        for declaration in self.facts(EnvDeclaration):
            binding = declaration.binding
            if binding.name == variable:
                found.append((binding.location, binding.value, declaration.declared_by.label))
        for launch in self.launches():
            found += [(b.location, b.value, launch.launcher.label) for b in launch.env
                      if b.name == variable and b.on_command]
        if scripts:
            found += [(w.location, str(w.value.literal) if w.value.known else None, "script")
                      for w in self.facts(EnvWrite) if w.name == variable]
        for location, value, where in found:
            if location not in seen:
                seen.add(location)
                yield location, value, where

    # -- files outside the model ----------------------------------------------------------------

    def _read_inside(self, path: str, limit: int = _MAX_ENV_FILE) -> bytes | None:
        """A file's bytes, or None when it cannot be read here. Never outside the project, never
        through a link that leaves it."""
        self.recorder.file(path)
        absolute = Path(path) if Path(path).is_absolute() else self.cwd / path
        self.reads[str(absolute)] = file_stat(absolute)
        try:
            resolved = absolute.resolve(strict=True)
            resolved.relative_to(self.root)
            return reading.read_bytes(resolved, limit)
        except (OSError, ValueError, RuntimeError):
            return None

    def read_bytes(self, path: str) -> bytes | None:
        return self._read_inside(path, 16 << 20)

    def read_text(self, path: str) -> str | None:
        """A scanned file's text, for the rare question its facts do not answer (None if unreadable)."""
        data = self._read_inside(path, 16 << 20)
        return None if data is None else data.decode("utf-8", errors="replace")

    def env_file(self, path: str) -> dict[str, str] | None:
        """The variables an env file sets (`.env`, `--env-file`, `.deepspeed_env`), or None when it
        cannot be read here: often it is created at deploy time and not committed."""
        data = self._read_inside(path)
        if data is None:
            return None
        from preflight.sources.dotenv import variables

        return variables(data.decode("utf-8", errors="replace"))

    def env_file_defines(self, path: str, variable: str) -> bool | None:
        """Does this env file set a non-empty `variable`? None when it cannot be read."""
        variables = self.env_file(path)
        return None if variables is None else bool(variables.get(variable))


class _Files(Mapping):
    """The project's files by display path. Reading a file's facts through it is recorded
    (preflight.dependencies): one file by name, or every file when all are walked; which names exist is not
    (a changed file set re-runs every rule). Changes are counted (the link stage replaces a file's facts, a
    lazy file is loaded): Project.facts keeps its answers while the count stays. Read-only once frozen."""

    __slots__ = ("_files", "_recorder", "version", "frozen")

    def __init__(self, items, recorder: Recorder) -> None:
        self._files: dict[str, FileFacts] = dict(items)
        self._recorder = recorder
        self.version = 0
        self.frozen = False

    def __getitem__(self, path: str) -> FileFacts:
        self._recorder.file(path)
        return self._files[path]

    def get(self, path: str, default=None):
        self._recorder.file(path)
        return self._files.get(path, default)

    def unrecorded(self, path: str) -> FileFacts | None:
        return self._files.get(path)

    def unrecorded_values(self) -> list[FileFacts]:
        return list(self._files.values())

    def __contains__(self, path: object) -> bool:
        return path in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def keys(self):
        return self._files.keys()

    def values(self):
        self._recorder.everything()
        return self._files.values()

    def items(self):
        self._recorder.everything()
        return self._files.items()

    def __setitem__(self, path: str, facts: FileFacts) -> None:
        if self.frozen:
            raise TypeError("the project's files are frozen: rules only read them")
        self._files[path] = facts
        self.version += 1

    def __delitem__(self, path: str) -> None:
        if self.frozen:
            raise TypeError("the project's files are frozen: rules only read them")
        del self._files[path]
        self.version += 1


@lru_cache(maxsize=16384)
def _in_tests(path: str, cwd: Path, root: Path) -> bool:
    """Project.in_tests, which depends on the path alone (kept: rules ask it of every finding, every check)."""
    absolute = Path(path) if Path(path).is_absolute() else cwd / path
    try:
        parts = absolute.relative_to(root).parts
    except ValueError:
        parts = Path(path).parts
    name = parts[-1] if parts else ""
    return any(part in _TEST_FOLDERS or part.endswith(_TEST_FOLDER_SUFFIXES) for part in parts[:-1]) or \
        name in ("conftest.py", "test.py", "tests.py") or (
            name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")))
