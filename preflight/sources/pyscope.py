"""Cheap name resolution for one Python module, built on the standard `ast`.

Why not libcst metadata: scope and qualified-name providers cost ~50x an `ast.parse` of the same
file (measured on this project's benchmark corpus), and the rules only need three answers: what an imported name
stands for (`wb.init` is `wandb.init`; `import trackio as wandb` is not W&B), what value a local
name was last given before a use, and whether a name is a function parameter. This module
answers exactly those, statically: nothing is imported or evaluated.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from preflight.findings import Location
from preflight.model import Value
from preflight.sources.text import SourceText

Position = tuple[int, int]
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
ScopeNode = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef

NONDETERMINISTIC_PREFIXES = (
    "time.", "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
    "datetime.date.today", "uuid.uuid1", "uuid.uuid4", "random.", "numpy.random.", "secrets.",
    "os.urandom", "wandb.util.generate_id", "wandb.sdk.lib.runid.generate_id", "pandas.Timestamp.now",
)
_DETERMINISTIC_TIME = {"time.sleep"}


@dataclass(slots=True)
class Binding:
    position: Position
    kind: str  # "assign", "loop", "with", "import", "other"
    value: ast.expr | None = None


@dataclass(slots=True)
class Scope:
    node: ScopeNode
    parent: "Scope | None"
    params: set[str] = field(default_factory=set)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)

    @property
    def is_function(self) -> bool:
        return isinstance(self.node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))

    @property
    def name(self) -> str | None:
        return getattr(self.node, "name", None)

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)


_SCOPE_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_AST = ast.AST


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """ast.iter_child_nodes without the generator overhead (the walk is the extractor's hot loop)."""
    result = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            result.extend(item for item in value if isinstance(item, _AST))
        elif isinstance(value, _AST):
            result.append(value)
    return result


def simple_name(node: ast.AST) -> str:
    """The last name of `x` or `a.b.x` ("" for anything else): how a call or owner is named as written."""
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


_MUTATORS = {"update", "setdefault", "pop", "popitem", "clear", "append", "extend", "__setitem__"}


def dict_mutated(name: str, scope: Scope) -> bool:
    """Is the dict bound to `name` changed after it is built (`cfg["a"]["b"] = 1`, `del cfg["x"]`,
    `cfg.update(...)`)? Then its literal is not what the code ends up using."""
    for node in ast.walk(scope.node):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            target = node
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            target = node.func.value
        else:
            continue
        while isinstance(target, (ast.Subscript, ast.Attribute)):
            target = target.value
        if isinstance(target, ast.Name) and target.id == name:
            return True
    return False


def is_main_block(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":` at the top level."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare) or len(node.test.ops) != 1:
        return False
    left, right = node.test.left, node.test.comparators[0]
    return isinstance(node.test.ops[0], ast.Eq) and isinstance(left, ast.Name) and left.id == "__name__" \
        and isinstance(right, ast.Constant) and right.value == "__main__"


def position(node: ast.AST) -> Position:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


class Module:
    """One parsed module with its imports, scopes and bindings."""

    def __init__(self, source: SourceText, tree: ast.Module) -> None:
        self.source = source
        self.tree = tree
        self.aliases: dict[str, str] = {}
        self.relative: dict[str, tuple[str, int, str]] = {}  # `from .x import y as z`: z -> ("x", 1, "y")
        self.scopes: dict[int, Scope] = {}
        self.module_scope = Scope(tree, None)
        self.scopes[id(tree)] = self.module_scope
        # what the extractors visit, gathered in the same single walk as the bindings
        self.calls: list[tuple[ast.Call, Scope, tuple[str, ...]]] = []
        self.imports: list[ast.Import | ast.ImportFrom] = []
        self.assignments: list[tuple[ast.Assign, Scope]] = []
        self.config_uses: list[tuple[ast.Attribute, ast.AST]] = []  # `<x>.config` and the node around it
        self._parents: dict[int, ast.AST] | None = None
        self._collect(tree, self.module_scope)

    # -- building -------------------------------------------------------------------------------

    def _collect(self, root: ast.AST, scope: Scope) -> None:
        stack: list[tuple[ast.AST, Scope, tuple[str, ...]]] = [
            (child, scope, ()) for child in reversed(child_nodes(root))]
        calls, pop, push = self.calls, stack.pop, stack.append
        while stack:
            node, current, chain = pop()
            kind = type(node)
            if kind is ast.Call:
                calls.append((node, current, chain))
            elif kind in _SCOPE_TYPES:
                is_function = kind is not ast.ClassDef
                if kind is not ast.Lambda:
                    current.bind(node.name, Binding(position(node), "other"))
                    for deco in node.decorator_list:
                        push((deco, current, chain))
                inner = Scope(node, current)
                self.scopes[id(node)] = inner
                if is_function:
                    args = node.args
                    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                        if arg is not None:
                            inner.params.add(arg.arg)
                    for default in [*args.defaults, *args.kw_defaults]:
                        if default is not None:
                            push((default, current, chain))
                inner_chain = (*chain, node.name) if kind in (ast.FunctionDef, ast.AsyncFunctionDef) else chain
                body = node.body if isinstance(node.body, list) else [node.body]
                for child in reversed(body):
                    push((child, inner, inner_chain))
                continue
            elif kind is ast.Import or kind is ast.ImportFrom:
                self.imports.append(node)
                self._record_import(node, current)
            elif kind is ast.Assign:
                self.assignments.append((node, current))
                for target in node.targets:
                    self._bind_target(target, current, "assign", node.value, node)
            elif kind is ast.AnnAssign and node.value is not None:
                self._bind_target(node.target, current, "assign", node.value, node)
            elif kind is ast.AugAssign:
                self._bind_target(node.target, current, "other", None, node)
            elif kind is ast.NamedExpr:
                self._bind_target(node.target, current, "assign", node.value, node)
            elif kind is ast.For or kind is ast.AsyncFor:
                self._bind_target(node.target, current, "loop", None, node)
            elif kind is ast.With or kind is ast.AsyncWith:
                for item in node.items:
                    if item.optional_vars is not None:
                        self._bind_target(item.optional_vars, current, "with", item.context_expr, node)
            elif kind is ast.ExceptHandler and node.name:
                current.bind(node.name, Binding(position(node), "other"))
            for child in reversed(child_nodes(node)):
                if type(child) is ast.Attribute and child.attr == "config":
                    self.config_uses.append((child, node))
                push((child, current, chain))

    def _bind_target(self, target: ast.AST, scope: Scope, kind: str, value: ast.expr | None, stmt: ast.AST) -> None:
        if isinstance(target, ast.Name):
            scope.bind(target.id, Binding(position(stmt), kind, value))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element, scope, "other" if kind == "assign" else kind, None, stmt)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, scope, "other", None, stmt)

    def _record_import(self, node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                    scope.bind(alias.asname, Binding(position(node), "import"))
                else:
                    top = alias.name.split(".")[0]
                    self.aliases[top] = top
                    scope.bind(top, Binding(position(node), "import"))
        elif node.level == 0 and node.module:
            for alias in node.names:
                if alias.name == "*":
                    continue
                local = alias.asname or alias.name
                self.aliases[local] = f"{node.module}.{alias.name}"
                scope.bind(local, Binding(position(node), "import"))
        elif node.level:
            for alias in node.names:
                if alias.name != "*":
                    local = alias.asname or alias.name
                    self.relative[local] = (node.module or "", node.level, alias.name)
                    scope.bind(local, Binding(position(node), "import"))

    # -- queries --------------------------------------------------------------------------------

    def scope_of(self, node: ast.AST) -> Scope:
        return self.scopes.get(id(node), self.module_scope)

    def lookup(self, name: str, scope: Scope, at: Position | None) -> tuple[str, Binding | None]:
        """("binding", b) for the latest binding before `at`, ("param", None), ("import", None) or ("unknown", None)."""
        current: Scope | None = scope
        while current is not None:
            found = current.bindings.get(name)
            if found:
                before = [b for b in found if at is None or b.position < at]
                if before:
                    latest = before[-1]
                    return ("import", latest) if latest.kind == "import" else ("binding", latest)
                if current.is_function:  # local name used before it is bound here
                    return "unknown", None
            if current.is_function and name in current.params:
                return "param", None
            current = current.parent
            while current is not None and isinstance(current.node, ast.ClassDef):
                current = current.parent
            at = None  # an enclosing scope's bindings are all in place when an inner function runs
        if name in self.aliases:
            return "import", None
        return "unknown", None

    def qualname(self, expr: ast.AST, scope: Scope | None = None) -> str | None:
        """The dotted name an expression stands for through imports (`wb.init` -> `wandb.init`)."""
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        base = self.aliases.get(expr.id)
        if base is None:
            return None
        if scope is not None:
            kind, _ = self.lookup(expr.id, scope, position(expr))
            if kind not in ("import",):
                return None
        return ".".join([base, *reversed(parts)])

    def constructor_of(self, expr: ast.AST, scope: Scope, depth: int = 0) -> str | None:
        """The qualified class an expression was built from (`client = MlflowClient()` -> ...MlflowClient)."""
        if isinstance(expr, ast.Call):
            return self.qualname(expr.func, scope)
        if isinstance(expr, ast.Name) and depth < 4:
            kind, binding = self.lookup(expr.id, scope, position(expr))
            if kind == "binding" and binding and binding.kind == "assign" and binding.value is not None:
                return self.constructor_of(binding.value, scope, depth + 1)
        return None

    def resolve_name(self, expr: ast.Name, scope: Scope) -> ast.expr | None:
        kind, binding = self.lookup(expr.id, scope, position(expr))
        if kind == "binding" and binding and binding.kind == "assign":
            return binding.value
        return None

    # -- values ---------------------------------------------------------------------------------

    def location(self, node: ast.AST) -> Location:
        source = self.source
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        column = source.char_column(line, getattr(node, "col_offset", 0))
        end_column = source.char_column(end_line, getattr(node, "end_col_offset", 0) or 0)
        return Location(source.path, line, column, end_line, end_column)

    def text(self, node: ast.AST, limit: int = 80) -> str:
        """The node's source, whitespace folded (ast.get_source_segment re-splits the whole file)."""
        location = self.location(node)
        source = self.source
        segment = source.text[source.offset(location.line, location.column):
                              source.offset(location.end_line, location.end_column)]
        segment = " ".join(segment.split())
        return segment if len(segment) <= limit else segment[: limit - 3] + "..."

    def value(self, expr: ast.expr, scope: Scope, key: ast.AST | Location | None = None) -> Value:
        known, literal = self.literal(expr, scope)
        key_location = key if isinstance(key, Location) or key is None else self.location(key)
        return Value(
            location=self.location(expr),
            text=self.text(expr),
            known=known,
            literal=literal,
            key_location=key_location,
            nondeterministic=self.nondeterministic_source(expr, scope),
        )

    def field_defaults(self, node: ast.ClassDef) -> tuple[tuple[str, Value], ...]:
        """The defaults a dataclass's own fields declare (`x: str = "none"`, `field(default="none")`), as
        Values at the default; a `default_factory` (or a default that is not a literal) is a Value not
        known. A field with no default is left out: the caller must give it."""
        scope = self.scopes.get(id(node), self.module_scope)
        found = []
        for statement in node.body:
            if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name) \
                    or statement.value is None:
                continue
            default = statement.value
            if isinstance(default, ast.Call) and self.qualname(default.func, scope) == "dataclasses.field":
                given = {k.arg: k.value for k in default.keywords if k.arg in ("default", "default_factory")}
                if not given:
                    continue
                default = given.get("default")
                if default is None:  # default_factory: built at run time
                    found.append((statement.target.id, Value(self.location(statement.value), self.text(statement.value),
                                                             key_location=self.location(statement.target))))
                    continue
            found.append((statement.target.id, self.value(default, scope, statement.target)))
        return tuple(found)

    def literal(self, expr: ast.AST, scope: Scope, depth: int = 0) -> tuple[bool, Any]:
        """Statically known value of a literal expression (following simple local assignments)."""
        if depth > 6:
            return False, None
        if isinstance(expr, ast.Constant):
            if isinstance(expr.value, (str, int, float, bool)) or expr.value is None:
                return True, expr.value
            return False, None
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
            known, value = self.literal(expr.operand, scope, depth + 1)
            if known and isinstance(value, (int, float)) and not isinstance(value, bool):
                return True, -value if isinstance(expr.op, ast.USub) else value
            return False, None
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
            values = []
            for element in expr.elts:
                known, value = self.literal(element, scope, depth + 1)
                if not known:
                    return False, None
                values.append(value)
            return True, values
        if isinstance(expr, ast.Dict):
            result = {}
            for k, v in zip(expr.keys, expr.values):
                if k is None:
                    return False, None
                known_k, key = self.literal(k, scope, depth + 1)
                known_v, value = self.literal(v, scope, depth + 1)
                if not (known_k and known_v) or not isinstance(key, (str, int, float, bool)):
                    return False, None
                result[key] = value
            return True, result
        if isinstance(expr, ast.Name):
            target = self.resolve_name(expr, scope)
            if target is not None:
                return self.literal(target, scope, depth + 1)
        return False, None

    def nondeterministic_source(self, expr: ast.AST, scope: Scope, depth: int = 0) -> str | None:
        """The clock/random call a value is built from, following local assignments."""
        if depth > 4:
            return None
        for node in ast.walk(expr):
            if isinstance(node, ast.Call):
                name = self.qualname(node.func, scope)
                if name and name not in _DETERMINISTIC_TIME and name.startswith(NONDETERMINISTIC_PREFIXES):
                    return name + "()"
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                target = self.resolve_name(node, scope)
                if target is not None and target is not expr:
                    found = self.nondeterministic_source(target, scope, depth + 1)
                    if found:
                        return found
        return None


    # -- structure around a node (computed only for the few calls that need it) -------------------

    def parents(self) -> dict[int, ast.AST]:
        """Each node's parent, by id: built on the first question, since most files never ask one."""
        if self._parents is None:
            parents: dict[int, ast.AST] = {}
            stack: list[ast.AST] = [self.tree]
            while stack:
                node = stack.pop()
                for child in child_nodes(node):
                    parents[id(child)] = node
                    stack.append(child)
            self._parents = parents
        return self._parents

    def enclosing(self, node: ast.AST, kinds: tuple[type, ...]) -> list[ast.AST]:
        """Ancestors of the given kinds, innermost first, up to the enclosing function."""
        parents, found = self.parents(), []
        current = parents.get(id(node))
        while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if isinstance(current, kinds):
                found.append(current)
            current = parents.get(id(current))
        return found

    def assigned(self, name: ast.Name, scope: Scope) -> list[ast.expr]:
        """Every value assigned to `name` in the scope it is bound in (`if tracking: acc = A(log_with=...)
        else: acc = A()` gives both: the branch a later use runs on is not known here)."""
        current: Scope | None = scope
        while current is not None:
            bindings = current.bindings.get(name.id)
            if bindings:
                return [b.value for b in bindings if b.kind == "assign" and b.value is not None]
            current = current.parent
        return []

    # -- arguments ------------------------------------------------------------------------------

    def keyword_location(self, kw: ast.keyword) -> Location:
        """Where a keyword's name is written (`ast` gives the keyword's start, not its name's end)."""
        source = self.source
        line = kw.lineno
        column = source.char_column(line, kw.col_offset)
        return Location(source.path, line, column, line, column + len(kw.arg or ""))

    def kwargs(self, call: ast.Call, scope: Scope, positional: tuple[str, ...] = ()) -> tuple[dict[str, Value], bool]:
        """Keyword arguments as Values (the first positional ones under the names given); `**dict_literal`
        merged; complete=False if anything is opaque."""
        result: dict[str, Value] = {}
        complete = True
        for index, arg in enumerate(call.args):
            if isinstance(arg, ast.Starred):
                complete = False
                break
            if index < len(positional):
                result[positional[index]] = self.value(arg, scope)
        for kw in call.keywords:
            if kw.arg is not None:
                result[kw.arg] = self.value(kw.value, scope, self.keyword_location(kw))
                continue
            entries, entries_complete = self.dict_entries(kw.value, scope)
            complete = complete and entries_complete
            for key, value in entries.items():
                result.setdefault(key, value)
        return result, complete

    def dict_expression(self, expr: ast.AST, scope: Scope) -> ast.Dict | ast.Call | None:
        """The dict literal or `dict(...)` call an expression stands for (through local names whose dict is
        not changed after it is built), or None."""
        for _ in range(4):
            if isinstance(expr, ast.Dict):
                return expr
            if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict" \
                    and self.lookup("dict", scope, position(expr))[0] == "unknown":
                return expr
            if isinstance(expr, ast.Name) and not dict_mutated(expr.id, scope):
                target = self.resolve_name(expr, scope)
                if target is None:
                    return None
                expr = target
                continue
            return None
        return None

    def dict_entries(self, expr: ast.AST, scope: Scope) -> tuple[dict[str, Value], bool]:
        """The string-keyed entries of the dict an expression stands for, as Values; complete=False when some
        key is not literal or the dict cannot be seen."""
        found = self.dict_expression(expr, scope)
        if isinstance(found, ast.Dict):
            result: dict[str, Value] = {}
            complete = True
            for key, value in zip(found.keys, found.values):
                if key is None:
                    nested, nested_complete = self.dict_entries(value, scope)
                    result.update(nested)
                    complete = complete and nested_complete
                    continue
                known, name = self.literal(key, scope)
                if known and isinstance(name, str):
                    result[name] = self.value(value, scope, self.location(key))
                else:
                    complete = False
            return result, complete
        if isinstance(found, ast.Call):
            return self.kwargs(found, scope)
        return {}, False

    def dict_entry(self, expr: ast.AST, key: str, scope: Scope) -> ast.AST | None | bool:
        """The value node stored under `key` in a dict literal; None if absent; False if unknown."""
        found = self.dict_expression(expr, scope)
        if isinstance(found, ast.Dict):
            for k, v in zip(found.keys, found.values):
                if k is None:
                    return False
                known, name = self.literal(k, scope)
                if not known:
                    return False
                if name == key:
                    return v
            return None
        if isinstance(found, ast.Call):
            for kw in found.keywords:
                if kw.arg is None:
                    return False
                if kw.arg == key:
                    return kw.value
            return None
        return False


def keyword_map(call: ast.Call) -> dict[str, ast.keyword]:
    return {kw.arg: kw for kw in call.keywords if kw.arg is not None}


def argument(call: ast.Call, name: str, index: int | None = None) -> ast.expr | None:
    """A call argument by keyword, else by position (positions counted before any `*args`)."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if index is not None:
        positional = []
        for arg in call.args:
            if isinstance(arg, ast.Starred):
                break
            positional.append(arg)
        if index < len(positional):
            return positional[index]
    return None

