"""What runs when an entry point is launched: calls followed from the entry module, conditions decided
with the launch's own arguments and environment.

A tracker call is a claim about a run only where it runs. From the launched module's top level (its
`if __name__ == "__main__":` block included) the call edges of preflight.sources.pyoutline are followed
into the project's functions, methods and imported modules; every condition on the way is evaluated
against the launch: argparse and dataclass defaults and the flags the launcher passes, Hydra overrides
(`trainer.logger=console`), environment variables the launcher sets, literal values, and parameters
bound at the call sites. A condition that cannot be decided makes what it guards MAYBE: rules report
errors only for what RUNS, and `-v` says what could not be decided. Nothing is imported or executed.
"""

from __future__ import annotations

import ast
import posixpath
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from preflight.model import (
    CodeSite, ConfigLoader, EnvBinding, FunctionInfo, Guard, ModuleOutline, ProgramOption, TrackerUse, WandbRun,
)
from preflight.paths import import_bases

NEVER, MAYBE, RUNS = 0, 1, 2
STATUS_NAMES = {NEVER: "never", MAYBE: "maybe", RUNS: "runs"}
_UNKNOWN = object()  # a value that cannot be known statically
_SOME = object()  # a value known to be set (a secret reference) but not what it is
_MAX_MODULES = 400
_MAX_DEPTH = 3


@dataclass(frozen=True)
class LaunchArguments:
    """What a launch gives the entry point: its flags, Hydra overrides and environment."""

    flags: tuple[tuple[str, str | None], ...] = ()
    overrides: tuple[tuple[str, str], ...] = ()
    env: tuple[EnvBinding, ...] = ()
    env_complete: bool = False  # no environment is inherited unseen: a variable not set here is unset
    config_values: tuple[tuple[str, object], ...] = ()  # the literal values of the argument file it is given

    def flag(self, name: str) -> tuple[bool, str | None]:
        for key, value in reversed(self.flags):
            if key == name:
                return True, value
        return False, None

    def override(self, path: str) -> str | None:
        for key, value in reversed(self.overrides):
            if key.lstrip("+~") == path:
                return value
        return None


@dataclass
class Reach:
    """The statuses of the code an entry point runs: per (module path, function or None), and the launch's
    evaluator of the conditions around a call, so that `of` answers for any fact with a `site`."""

    entry: str
    status: dict[tuple[str, str | None], int] = field(default_factory=dict)
    undecided: list[tuple[str, CodeSite]] = field(default_factory=list)  # (path, site) of MAYBE edges, for -v
    # decides a site's guards for this launch: (path, function, guards) -> status (`_Evaluator.guards`)
    evaluate: Callable[[str, str | None, Iterable[Guard]], int] | None = field(default=None, repr=False)
    # the node of the @hydra.main config a reference reads: (ref, path, function) -> (main module, (config_path,
    # config_name), keys) or None (`_Evaluator.hydra_node`)
    config_node: Callable[[tuple, str, str | None], tuple | None] | None = field(default=None, repr=False)

    def hydra_node(self, ref: tuple, path: str, function: str | None) -> tuple | None:
        """Which node of the program's Hydra configuration `ref` (in `function` of `path`) reads, if known."""
        return self.config_node(ref, path, function) if self.config_node else None

    def of(self, path: str, site: CodeSite | None) -> int:
        """The status (RUNS, MAYBE, NEVER) of a fact at `site` in `path` for this launch."""
        function = site.function if site is not None else None
        status = self.status.get((path, function), NEVER)
        if function is not None and status == NEVER:
            return NEVER
        if site is not None and site.guards:
            status = min(status, self.evaluate(path, function, site.guards) if self.evaluate else MAYBE)
        return status


class Programs:
    """Answers, for a project, what a launched entry point runs. One instance per check; outlines of
    modules the pre-filter skipped are parsed here on demand, only when a launched program reaches them."""

    def __init__(self, project) -> None:
        self.project = project
        # what is kept for the rest of the check is kept by Project.derive, with what it was made from
        self._loaders: dict[str, list[ConfigLoader]] = {}  # filled with each outline
        self._linked: frozenset[str] | None = None  # the modules outlined by the link stage (see `outline`)
        self._reaching: list[set[str]] = []  # the modules each reach being computed has outlined

    # -- modules --------------------------------------------------------------------------------

    def outline(self, path: str, parse: bool = True) -> ModuleOutline | None:
        """A module's outline, parsed on first need (only modules a launched program reaches, or a link
        question names, are outlined); without `parse`, only one already at hand: outlined by the link stage,
        or by the reach being computed. Not one another rule's question happened to outline first, which would
        make a reach depend on the order of the questions (and a warm server's re-check differ from a check)."""
        if parse:
            for outlined in self._reaching:
                outlined.add(path)
        elif not (path in self._linked if self._linked is not None else self.project.derived(("outline", path))) \
                and not any(path in outlined for outlined in self._reaching):
            return None
        return self.project.derive(("outline", path), lambda: self._parse(path) if path.endswith(".py")
                                   and self.project.known(path) else None)

    def freeze(self) -> None:
        """The link stage is over: the modules it outlined are the ones at hand for every question."""
        self._linked = frozenset(key[1] for key in self.project.derived_keys() if key[0:1] == ("outline",))

    def loaders(self, path: str) -> list[ConfigLoader]:
        """How a module reads configuration files."""
        self.outline(path)
        return self._loaders.get(path, [])

    def _tracked(self, path: str) -> bool:
        return bool(self.project.facts_in(path, WandbRun) or self.project.facts_in(path, TrackerUse))

    def _parse(self, path: str) -> ModuleOutline | None:
        text = self.project.read_text(path)
        if text is None:
            return None
        parsed = _outline(path, text)
        if parsed is None:
            return None
        self._loaders[path] = list(parsed[1])
        return parsed[0]

    def module_file(self, from_path: str, dotted: str, level: int) -> tuple[str, str] | None:
        """The project file a dotted name lives in, and the rest of the name inside it:
        `pkg.utils.init_wandb` from a script -> ("src/pkg/utils.py", "init_wandb")."""
        parts = [p for p in dotted.split(".") if p]
        bases = import_bases(from_path, level)
        for length in range(len(parts), 0, -1):
            stem = "/".join(parts[:length])
            for base in bases:
                for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
                    path = posixpath.normpath(posixpath.join(base, candidate)) if base else candidate
                    if path != from_path and self.project.known(path):
                        return path, ".".join(parts[length:])
        if level and not parts:
            init = posixpath.join(bases[0], "__init__.py") if bases[0] else "__init__.py"
            if self.project.known(init):
                return init, ""
        return None

    def resolve(self, path: str, callee: tuple, depth: int = 0) -> list[tuple[str, str]]:
        """The (module, function) a call edge reaches; a class reaches its __init__."""
        if depth > 6:
            return []
        if callee[0] == "local":
            return self._symbol(path, callee[1], depth)
        if callee[0] == "module":
            found = self.module_file(path, callee[1], callee[2])
            if found is None or not found[1]:
                return []
            return self._symbol(found[0], found[1], depth)
        return []

    def _symbol(self, path: str, name: str, depth: int) -> list[tuple[str, str]]:
        outline = self.outline(path)
        if outline is None:
            return []
        functions = {f.name for f in outline.functions}
        classes = dict(outline.classes)
        if name in functions:
            return [(path, name)]
        if name in classes:
            return self._symbol(path, f"{name}.__init__", depth + 1) if f"{name}.__init__" in functions \
                else self._inherited(path, name, "__init__", classes, depth)
        owner, _, method = name.rpartition(".")
        if owner in classes:
            return self._inherited(path, owner, method, classes, depth)
        head, _, rest = name.partition(".")
        alias = dict(outline.aliases).get(head)
        if alias is not None:  # re-exported: `from .utils import init_wandb` in a package's __init__
            dotted = f"{alias[1]}.{rest}" if rest else alias[1]
            return self.resolve(path, ("module", dotted, alias[2]), depth + 1)
        return []

    def _inherited(self, path: str, cls: str, method: str, classes: dict, depth: int) -> list[tuple[str, str]]:
        for base in classes.get(cls, ()):
            if base.startswith("local:"):
                found = self._symbol(path, f"{base[6:]}.{method}", depth + 1)
            elif base.startswith("module:"):
                _, level, dotted = base.split(":", 2)
                found = self.resolve(path, ("module", f"{dotted}.{method}", int(level)), depth + 1)
            else:
                found = []
            if found:
                return found
        return []

    def loaded_modules(self, entry: str) -> list[str]:
        """The entry module and the project modules its imports load, transitively."""
        return self.project.derive(("loaded", entry), lambda: self._load(entry), lasting=True)

    def _load(self, entry: str) -> list[str]:
        seen: dict[str, None] = {}
        queue = [entry]
        while queue and len(seen) < _MAX_MODULES:
            path = queue.pop(0)
            if path not in seen:
                seen[path] = None
                queue.extend(p for p in self.project.imported_files(path) if p not in seen)
        return list(seen)

    # -- reach ----------------------------------------------------------------------------------

    def reach(self, entry: str, arguments: LaunchArguments) -> Reach:
        """What runs when `entry` is launched with `arguments` (`preflight.launches.arguments(project, launch)`;
        `LaunchArguments()` for a file run with none): `reach.of(path, fact.site)` for each fact."""
        return self.project.derive(("reach", entry, arguments), lambda: self._reach(entry, arguments))

    def _reach(self, entry: str, arguments: LaunchArguments) -> Reach:
        self._reaching.append(set())
        try:
            return self._walk_twice(entry, arguments)
        finally:
            self._reaching.pop()

    def _walk_twice(self, entry: str, arguments: LaunchArguments) -> Reach:
        modules = self.loaded_modules(entry)
        evaluator = _Evaluator(self, entry, arguments)
        first = self._walk(entry, modules, evaluator)
        evaluator.incoming = first[1]  # parameters are bound by the call sites the first walk found
        evaluator.callers = first[0].status
        evaluator.options = _options(self, entry, modules)  # from the modules the first walk parsed
        reach = self._walk(entry, modules, evaluator)[0]
        reach.evaluate = evaluator.guards  # what they read later is recorded where they are asked
        reach.config_node = evaluator.hydra_node
        return reach

    def _walk(self, entry: str, modules: list[str], evaluator: "_Evaluator"):
        reach = Reach(entry)
        incoming: dict[tuple[str, str], list[tuple[str, str | None, tuple]]] = defaultdict(list)
        queue: list[tuple[str, str | None]] = []

        def lift(node: tuple[str, str | None], status: int) -> None:
            if reach.status.get(node, NEVER) < status:
                reach.status[node] = status
                queue.append(node)

        for module in modules:
            lift((module, None), RUNS)
        steps = 0
        while queue and steps < 20000:
            steps += 1
            path, function = queue.pop()
            status = reach.status[(path, function)]
            # an imported module's top level is followed only if it uses a tracker itself: parsing every
            # module a package imports costs more than the rare call it would find
            outline = self.outline(path, parse=function is not None or path == entry or self._tracked(path))
            if outline is None:
                continue
            for edge in outline.calls:
                if edge.site.function != function:
                    continue
                guard = evaluator.guards(path, function, edge.site.guards) if edge.site.guards else RUNS
                reached = min(status, guard)
                if reached == NEVER:
                    continue
                if reached == MAYBE and guard == MAYBE:
                    reach.undecided.append((path, edge.site))
                for target in self.resolve(path, edge.callee):
                    incoming[target].append((path, function, edge.arguments))
                    lift(target, reached)
        return reach, incoming


class _Evaluator:
    """Decides conditions for one launch of one entry point (see pyoutline for the condition tuples)."""

    def __init__(self, programs: Programs, entry: str, arguments: LaunchArguments) -> None:
        self.programs = programs
        self.entry = entry
        self.arguments = arguments
        self.incoming: dict[tuple[str, str], list[tuple[str, str | None, tuple]]] = {}
        self.callers: dict[tuple[str, str | None], int] = {}
        self.options: dict[str, ProgramOption] = {}
        self._functions: dict[str, dict[str, FunctionInfo]] = {}

    def guards(self, path: str, function: str | None, guards: Iterable[Guard]) -> int:
        status = RUNS
        for guard in guards:
            value = self.truth(guard.test, path, function, 0)
            if value is None:
                status = MAYBE
            elif value != guard.holds:
                return NEVER
        return status

    # -- three-valued truth ---------------------------------------------------------------------

    def truth(self, test: tuple, path: str, function: str | None, depth: int) -> bool | None:
        kind = test[0]
        if kind == "main":
            return path == self.entry
        if kind == "rank":
            return True
        if kind == "not":
            inner = self.truth(test[1], path, function, depth)
            return None if inner is None else not inner
        if kind in ("and", "or"):
            values = [self.truth(part, path, function, depth) for part in test[1:]]
            if kind == "and":
                return False if False in values else (None if None in values else True)
            return True if True in values else (None if None in values else False)
        if kind == "cmp":
            return self._compare(test[1], self.value(test[2], path, function, depth),
                                 self.value(test[3], path, function, depth))
        if kind in ("lit", "ref"):
            value = self.value(test, path, function, depth)
            if value is _UNKNOWN:
                return None
            return True if value is _SOME else bool(value)
        return None

    @staticmethod
    def _compare(op: str, left, right) -> bool | None:
        if left is _UNKNOWN or right is _UNKNOWN or left is _SOME or right is _SOME:
            if op in ("is", "is not") and (left is _SOME or right is _SOME) and None in (left, right):
                return op == "is not"
            return None
        try:
            if op == "==":
                return left == right
            if op == "!=":
                return left != right
            if op == "is":
                return left is right if None in (left, right) or isinstance(left, bool) else left == right
            if op == "is not":
                return not (left is right if None in (left, right) or isinstance(left, bool) else left == right)
            if op in ("in", "not in"):
                if isinstance(right, str) and not isinstance(left, str):
                    return None
                found = left in right if isinstance(right, (list, tuple, str, dict)) else None
                return None if found is None else (found if op == "in" else not found)
            if isinstance(left, bool) or isinstance(right, bool) or not all(
                    isinstance(v, (int, float)) for v in (left, right)):
                return None
            return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
        except (TypeError, KeyError):
            return None

    # -- values ---------------------------------------------------------------------------------

    def value(self, ref: tuple, path: str, function: str | None, depth: int):
        if ref[0] == "lit":
            return ref[1]
        if ref[0] != "ref" or depth > _MAX_DEPTH:
            return _UNKNOWN
        root = ref[1]
        if root == "env":
            return self._env(ref[2], ref[3] if len(ref) > 3 else None)
        if root == "args":
            return self._option(ref[2:])
        if root == "param":
            return self._parameter(ref[2], ref[3:], path, function, depth)
        if root == "var":
            return self._option(ref[3:])
        return _UNKNOWN

    def _env(self, name: str, default):
        binding = None
        for candidate in self.arguments.env:
            if candidate.name == name:
                binding = candidate
        if binding is not None:
            if binding.reference:
                return _SOME
            return binding.value if binding.value is not None else _UNKNOWN
        if not self.arguments.env_complete:
            return _UNKNOWN
        return _UNKNOWN if default == "<unknown>" else default

    def _option(self, path: tuple):
        """`args.use_wandb`: the option of that name the program defines, under the launch's flags."""
        if len(path) != 1 or not isinstance(path[0], str):
            return _UNKNOWN
        name = path[0]
        option = self.options.get(name)
        given, raw = self.arguments.flag(name)
        if given:
            if raw is None:
                return option.flag_value[1] if option is not None and option.flag_value else True
            return _typed(raw)
        configured = dict(self.arguments.config_values)
        if name in configured:
            return configured[name]
        if option is None or option.default[0] != "lit":
            return _UNKNOWN
        return option.default[1]

    def _parameter(self, name: str, path: tuple, module: str, function: str | None, depth: int):
        info = self._function(module, function)
        if info is not None and info.hydra is not None and info.params and info.params[0] == name:
            return self._hydra(module, info.hydra, path)
        values = []
        for caller, caller_function, arguments in self.incoming.get((module, function or ""), []):
            if self.callers.get((caller, caller_function), NEVER) == NEVER:
                continue
            bound = _bound(info, name, arguments)
            if bound is None:
                return self._option(path) if path else _UNKNOWN
            value = self.value((*bound, *path) if bound[0] == "ref" else _lookup(bound, path),
                               caller, caller_function, depth + 1)
            values.append(value)
        if not values:
            return self._option(path) if path else _UNKNOWN
        first = values[0]
        if all(v is not _UNKNOWN and v == first for v in values):
            return first
        return _UNKNOWN

    def hydra_node(self, ref: tuple, module: str, function: str | None, depth: int = 0):
        """The node of the program's Hydra configuration a reference reads: (the @hydra.main module, its
        (config_path, config_name), the keys), for `cfg.trainer` in the decorated function or in one every
        running caller passes that config to; None when it reads anything else or that is not known."""
        if len(ref) < 3 or ref[:2] != ("ref", "param") or depth > _MAX_DEPTH:
            return None
        name, path = ref[2], tuple(ref[3:])
        if not all(isinstance(part, str) for part in path):
            return None
        info = self._function(module, function)
        if info is not None and info.hydra is not None and info.params and info.params[0] == name:
            return module, info.hydra, path
        found = set()
        for caller, caller_function, arguments in self.incoming.get((module, function or ""), []):
            if self.callers.get((caller, caller_function), NEVER) == NEVER:
                continue
            bound = _bound(info, name, arguments)
            inner = None if bound is None or bound[0] != "ref" else \
                self.hydra_node((*bound, *path), caller, caller_function, depth + 1)
            if inner is None:
                return None
            found.add(inner)
        return found.pop() if len(found) == 1 else None

    def _function(self, module: str, function: str | None) -> FunctionInfo | None:
        outline = self.programs.outline(module)  # asked again each time: what it was read from is recorded
        if module not in self._functions:
            self._functions[module] = {f.name: f for f in outline.functions} if outline else {}
        return self._functions[module].get(function or "")

    def _hydra(self, module: str, hydra: tuple[str | None, str | None], path: tuple):
        """A Hydra config value: the launch's override, else the primary config file's literal value."""
        if not path or not all(isinstance(p, str) for p in path):
            return _UNKNOWN
        dotted = ".".join(path)
        raw = self.arguments.override(dotted)
        if raw is not None:
            return _hydra_value(raw)
        for prefix in range(1, len(path)):
            if self.arguments.override(".".join(path[:prefix])) is not None:
                return _UNKNOWN  # a config group chosen on the command line
        config_path, config_name = hydra
        if not config_name:
            return _UNKNOWN
        folder = posixpath.normpath(posixpath.join(posixpath.dirname(module), config_path or "."))
        name = config_name if config_name.endswith((".yaml", ".yml")) else f"{config_name}.yaml"
        return _yaml_value(self.programs.project, posixpath.join(folder, name), path)


def _options(programs: Programs, entry: str, modules: list[str]) -> dict[str, ProgramOption]:
    """Options by name over the program's modules; the entry module's own win, conflicting ones are unknown."""
    found: dict[str, ProgramOption] = {}
    conflicting: set[str] = set()
    for index, module in enumerate(modules):
        outline = programs.outline(module, parse=False)
        for option in outline.options if outline else ():
            if option.name not in found:
                found[option.name] = option
            elif index and found[option.name] != option:
                conflicting.add(option.name)
    for name in conflicting:
        found[name] = ProgramOption(name, ("unknown",), found[name].flag_value)
    return found


def _bound(info: FunctionInfo | None, name: str, arguments: tuple) -> tuple | None:
    """The reference a call site passes for parameter `name` (None: not recognisable)."""
    given = dict(arguments)
    if name in given:
        return given[name]
    if info is None or name not in info.params:
        return None
    index = info.params.index(name) - (1 if info.method else 0)
    return given.get(str(index)) if index >= 0 else None


def _lookup(literal: tuple, path: tuple) -> tuple:
    value = literal[1]
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return ("unknown",)
    return ("lit", value)


def _typed(raw: str):
    from preflight.runs import command_line_value
    from preflight.findings import Location

    value = command_line_value(raw, Location("", 1, 1))
    return value.literal if value.known else _UNKNOWN


def _hydra_value(raw: str):
    """A Hydra override's value as Hydra's grammar reads it: lists, quoted strings, numbers, booleans."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    if text.startswith("[") and text.endswith("]"):
        items = [part.strip().strip("'\"") for part in text[1:-1].split(",") if part.strip()]
        return items
    if "$" in text:
        return _UNKNOWN
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    return _typed(text)


def _yaml_value(project, path: str, keys: tuple):
    from preflight.sources import yamltree as y

    text = project.read_text(path) if project.known(path) else None
    if text is None:
        return _UNKNOWN
    try:
        documents = y.compose_documents(text)
    except y.YamlFailure:
        return _UNKNOWN
    node = documents[0] if documents else None
    for key in keys:
        node = y.get(node, key) if isinstance(node, y.MappingNode) else None
        if node is None:
            return _UNKNOWN  # perhaps composed from a `defaults:` list: not decided here
    known, value = y.to_python(node)
    if not known or (isinstance(value, str) and "${" in value):
        return _UNKNOWN
    return value


@lru_cache(maxsize=256)
def _outline(path: str, text: str) -> tuple[ModuleOutline, list[ConfigLoader]] | None:
    """A module's outline and configuration loaders, which depend on its text alone: kept for the next check of
    the same text (a warm process, the language server, links the project again after every edit)."""
    from preflight.sources.pyoutline import Outline
    from preflight.sources.pyscope import Module
    from preflight.sources.text import SourceText

    try:
        outline = Outline(Module(SourceText(path, text), ast.parse(text)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return outline.outline(), tuple(outline.loaders)
