"""How the Python extractor hands each call to the libraries that understand it.

What preflight knows of a library's Python API is one module (`pywandb`, `pymlflow`, `pyhf`, ...) with
one `Library` subclass, whose methods say which calls they read:

    class Aim(Library):
        @calls("aim.Run", "aim.sdk.Run", "aim.sdk.run.Run")
        def run(self, call: Call) -> None:
            self.file.add(AimRun(self.module.location(call.node), ...))

`@calls(*names)` matches the qualified name a call stands for through the module's imports (`from aim
import Run as R; R()` calls `aim.Run`), `@calls_where(test)` a test of that name (any `trl.*Config`),
`@methods(*names)` a method name whatever its receiver (`client.get_latest_versions(...)`,
`parser.parse_yaml_file(...)`). A handler runs once for a call it matches, however many of its
registrations match it; the handlers of one call run in the order they are registered. Besides calls, a
library may read the module's imports (`imported`) and assignments (`assigned`), claim the calls of names
the module defines itself (`local_calls`: a Trainer subclass written in the script), and add what needs
the whole file in `finish`, which runs after every call was handed out, library by library in the order
of `preflight.sources.python.LIBRARIES`.

Nothing is matched on the source text: the dispatcher asks the syntax tree and the module's name
resolution (`preflight.sources.pyscope`), once per call.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from preflight.model import CodeSite, Fact, RunStart, WandbRun
from preflight.sources import pyoutline
from preflight.sources.pyimports import local_imports
from preflight.sources.pyscope import Module, Scope

Chain = tuple[str, ...]


@dataclass(slots=True)
class Call:
    """One call as a handler receives it."""

    node: ast.Call
    scope: Scope
    chain: Chain  # the functions it is written in, outermost first
    name: str | None  # the qualified name it calls through imports; None when no import names it


class PythonFile:
    """One Python file being read: its module, the facts found so far, and what several libraries
    add to (a W&B run is started by wandb.init, by Lightning's WandbLogger, by `report_to` in training
    arguments and by Accelerate's init_trackers; W&B decides, at the end, which of them a sweep runs)."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.facts: list[Fact] = []
        self.runs: list[tuple[WandbRun, Chain]] = []  # W&B run starts, with the functions around them
        self.trainer = False  # an HF/TRL Trainer trains here (it logs through the tracker integrations)
        self._sites: pyoutline.SiteFinder | None = None
        self._scopes: dict[int, Scope] | None = None

    def add(self, fact: Fact) -> None:
        self.facts.append(fact)

    def site(self, node: ast.AST) -> CodeSite:
        """Where a call (or an assignment) sits, for the link stage's reachability."""
        if self._sites is None:
            module = self.module
            self._sites = pyoutline.SiteFinder(module, module.parents())
            self._scopes = {id(n): scope for n, scope, *_ in (*module.calls, *module.assignments)}
        return self._sites.site(node, self._scopes.get(id(node), self.module.module_scope))

    def start_run(self, call: Call, started_by: RunStart, **fields) -> None:
        """A W&B run this call starts; `fields` are WandbRun's (`location` defaults to the call)."""
        fields.setdefault("location", self.module.location(call.node))
        run = WandbRun(started_by=started_by, function=call.chain[-1] if call.chain else None,
                       site=self.site(call.node), **fields)
        self.runs.append((run, call.chain))


Handler = Callable[["Library", Call], None]


def calls(*names: str) -> Callable[[Handler], Handler]:
    """The handler reads calls of these qualified names."""
    return _registration("names", names)


def calls_where(test: Callable[[str], bool]) -> Callable[[Handler], Handler]:
    """The handler reads calls whose qualified name passes `test`."""
    return _registration("tests", (test,))


def methods(*names: str) -> Callable[[Handler], Handler]:
    """The handler reads method calls of these names (`x.name(...)`), whatever `x` is."""
    return _registration("methods", names)


def _registration(table: str, keys: Iterable) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        handler.__dict__.setdefault("_registrations", []).append((table, tuple(keys)))
        return handler
    return register


class Library:
    """What one library's Python API means, read from one file. One instance per file: its attributes
    are what it gathers there."""

    def __init__(self, file: PythonFile) -> None:
        self.file = file
        self.module = file.module

    def imported(self, node: ast.Import | ast.ImportFrom) -> None:
        """An import statement of the module."""

    def assigned(self, node: ast.Assign, scope: Scope) -> None:
        """An assignment statement of the module."""

    def local_calls(self) -> dict[str, Callable[[Call], None]]:
        """Names the module defines whose calls this library reads (by the name called)."""
        return {}

    def finish(self) -> None:
        """Every call was handed out: add what needs the whole file."""


_Entry = tuple[int, int, Handler]  # (registration order, index of the library, handler)


class Dispatcher:
    """The tables of every library's registrations, built once; `extract` reads one module with them."""

    def __init__(self, libraries: tuple[type[Library], ...]) -> None:
        self.libraries = libraries
        self.names: dict[str, list[_Entry]] = {}
        self.methods: dict[str, list[_Entry]] = {}
        self.tests: list[tuple[Callable[[str], bool], _Entry]] = []
        order = 0
        for index, library in enumerate(libraries):
            for handler in _handlers(library):
                for table, keys in handler._registrations:
                    entry = (order, index, handler)
                    if table == "tests":
                        self.tests.extend((test, entry) for test in keys)
                    else:
                        for key in keys:
                            getattr(self, table).setdefault(key, []).append(entry)
                order += 1
        self._with_hook = {hook: [i for i, library in enumerate(libraries)
                                  if getattr(library, hook) is not getattr(Library, hook)]
                           for hook in ("imported", "assigned", "local_calls", "finish")}

    def extract(self, module: Module) -> list[Fact]:
        file = PythonFile(module)
        libraries = [library(file) for library in self.libraries]
        imported = [libraries[i].imported for i in self._with_hook["imported"]]
        for node in module.imports:
            file.facts.extend(local_imports(node))
            for hook in imported:
                hook(node)
        assigned = [libraries[i].assigned for i in self._with_hook["assigned"]]
        for node, scope in module.assignments:
            for hook in assigned:
                hook(node, scope)
        local: dict[str, Callable[[Call], None]] = {}
        for i in self._with_hook["local_calls"]:
            local.update(libraries[i].local_calls())
        names, methods, tests, qualname = self.names, self.methods, self.tests, module.qualname
        for node, scope, chain in module.calls:
            func = node.func
            name = qualname(func, scope)
            if name is not None:
                found = [*names.get(name, ()), *(entry for test, entry in tests if test(name))]
            else:
                found = []
                if local and type(func) is ast.Name and func.id in local:
                    local[func.id](Call(node, scope, chain, name))
            if type(func) is ast.Attribute and func.attr in methods:
                found += methods[func.attr]
            if not found:
                continue
            if len(found) > 1:
                found = sorted(set(found), key=lambda entry: entry[0])
            call = Call(node, scope, chain, name)
            for _, index, handler in found:
                handler(libraries[index], call)
        for i in self._with_hook["finish"]:
            libraries[i].finish()
        return file.facts


def _handlers(library: type[Library]) -> list[Handler]:
    """The library's registered handlers, base classes' first, each in the order it is written."""
    found: dict[str, Handler] = {}
    for cls in reversed(library.__mro__):
        for attribute, value in vars(cls).items():
            if callable(value) and "_registrations" in getattr(value, "__dict__", {}):
                found[attribute] = value
    return list(found.values())
