"""The structure of a Python module that reachability needs, in one walk of its statements.

A tracker call is a claim about a run only when it runs on the path from the launched entry point: not
when it sits in a function nobody calls, nor behind `if "wandb" in loggers` while the launch passes
`trainer.logger=console`. This module records what the link stage (preflight.program) needs to decide
that: every function and class, every call edge to code the project may define, and for every call the
function it is in and the conditions around it.

Conditions are kept as small tuples, evaluated later against a launch's flags and environment:

    ("lit", value)                 a constant
    ("ref", root, *path)           a value read from somewhere (see `reference`)
    ("main",)                      `__name__ == "__main__"`
    ("rank",)                      a test for the main process (`rank == 0`, `is_main_process`): some
                                   process of the job passes it, and that one runs the tracker
    ("not", c), ("and", c, ...), ("or", c, ...)
    ("cmp", op, a, b)              `a op b` for ==, !=, in, not in, is, is not, <, <=, >, >=
    ("opaque", text)               anything else: never decided

References: ("ref", "param", name, *path) a parameter of the enclosing function; ("ref", "args", *path)
the namespace `parse_args()` returned; ("ref", "env", NAME) an environment variable; ("ref", "var",
name, *path) any other name; ("ref", "self", *path) an instance attribute.
"""

from __future__ import annotations

import ast
import re
import sys

from preflight.model import CallEdge, CodeSite, ConfigLoader, FunctionInfo, Loader, Guard, ModuleOutline, ProgramOption
from preflight.sources.pyscope import Module, Scope, argument, child_nodes, keyword_map, position, simple_name

OPAQUE = ("opaque",)
UNKNOWN = ("unknown",)
_RANK_NAMES = re.compile(r"(?:^|_)rank$|^is_(?:local_)?main_process$|^is_world_process_zero$|^is_global_zero$"
                         r"|^is_main$|^process_index$|^local_process_index$|^main_process$|^is_master$|^master$")
# Packages that are never part of the scanned project in practice: calls into them are not edges.
_EXTERNAL = frozenset(sys.stdlib_module_names) | {
    "torch", "numpy", "pandas", "transformers", "datasets", "accelerate", "trl", "peft", "deepspeed", "wandb",
    "mlflow", "tqdm", "yaml", "hydra", "omegaconf", "ray", "lightning", "pytorch_lightning", "sklearn", "scipy",
    "jax", "flax", "optax", "tensorflow", "keras", "huggingface_hub", "safetensors", "tokenizers", "evaluate",
    "vllm", "einops", "click", "typer", "fire", "rich", "matplotlib", "PIL", "weave", "neptune", "aim", "tensorboard",
    "torchvision", "torchaudio", "timm", "sentencepiece", "requests", "pydantic", "packaging", "absl", "gym",
    "gymnasium", "bitsandbytes", "xformers", "flash_attn", "liger_kernel", "megatron", "apex", "wandb_workspaces",
}
_LOADERS = {"hydra.main": Loader.HYDRA, "omegaconf.OmegaConf.load": Loader.OMEGACONF,
            "omegaconf.omegaconf.OmegaConf.load": Loader.OMEGACONF,
            "yaml.safe_load": Loader.YAML, "yaml.load": Loader.YAML, "yaml.full_load": Loader.YAML,
            "yaml.unsafe_load": Loader.YAML, "json.load": Loader.JSON}
LOADER_NAMES = frozenset(_LOADERS)
LOADER_METHODS = frozenset({"parse_yaml_file", "parse_json_file", "parse_args_and_config", "parse_dict"})
_TERMINATORS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
_EXITS = {"sys.exit", "exit", "quit", "os._exit"}


class _Context:
    """Where the walk is: the function (None at module level), the prefix of names defined here, the
    class whose body this is, and the scope names are looked up in."""

    __slots__ = ("function", "prefix", "cls", "scope")

    def __init__(self, function: str | None, prefix: str, cls: str | None, scope: Scope) -> None:
        self.function, self.prefix, self.cls, self.scope = function, prefix, cls, scope


class Conditions:
    """How conditions and the values they test are encoded (the tuple language of the module docstring)."""

    def __init__(self, module: Module) -> None:
        self.module = module

    def terminates(self, body: list[ast.stmt], scope: Scope) -> bool:
        """Does this block end the function or loop (`return`, `raise`, `continue`, `sys.exit()`)? Then
        the code after an `if` with it runs only when the test failed."""
        last = body[-1] if body else None
        if isinstance(last, _TERMINATORS):
            return True
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
            func = last.value.func
            return self.module.qualname(func, scope) in _EXITS or (
                isinstance(func, ast.Name) and func.id in ("exit", "quit"))
        return False

    # -- conditions and references --------------------------------------------------------------

    def condition(self, test: ast.AST, scope: Scope) -> tuple:
        return self._condition(test, scope, 0)

    def _condition(self, node: ast.AST, scope: Scope, depth: int) -> tuple:
        if depth > 8:
            return OPAQUE
        if _tests_rank(node):
            return _rank_condition(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ("not", self._condition(node.operand, scope, depth + 1))
        if isinstance(node, ast.BoolOp):
            return ("and" if isinstance(node.op, ast.And) else "or",
                    *(self._condition(v, scope, depth + 1) for v in node.values))
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = node.left, node.comparators[0]
            if isinstance(left, ast.Name) and left.id == "__name__" and isinstance(right, ast.Constant) \
                    and right.value == "__main__":
                return ("main",) if isinstance(node.ops[0], ast.Eq) else ("not", ("main",))
            op = _OPERATORS.get(type(node.ops[0]))
            if op is None:
                return ("opaque", "compare")
            return ("cmp", op, self.reference(left, scope), self.reference(right, scope))
        if isinstance(node, ast.Call):
            name = self.module.qualname(node.func, scope) or ""
            if name.startswith("wandb.") or name.endswith(("is_wandb_available", "is_mlflow_available")):
                return ("rank",)  # the program asks whether the tracker is there: it means to use it
            if isinstance(node.func, ast.Name) and node.func.id == "bool" and len(node.args) == 1:
                return self._condition(node.args[0], scope, depth + 1)
        if _tests_tracker_state(node, self.module, scope):
            return ("rank",)
        ref = self.reference(node, scope)
        return ref if ref != UNKNOWN else ("opaque", type(node).__name__)

    def reference(self, node: ast.AST, scope: Scope, depth: int = 0) -> tuple:
        """A value as the evaluator can look it up: a literal, an option, a parameter, an env variable."""
        if depth > 6:
            return UNKNOWN
        if isinstance(node, (ast.Constant, ast.List, ast.Tuple)):
            known, value = self.module.literal(node, scope)
            return ("lit", value) if known else UNKNOWN
        environ = _environment_variable(node, self.module, scope)
        if environ is not None:
            return environ
        path: list[object] = []
        base = node
        while True:
            if isinstance(base, ast.Attribute):
                path.append(base.attr)
                base = base.value
            elif isinstance(base, ast.Subscript) and isinstance(base.slice, ast.Constant):
                path.append(base.slice.value)
                base = base.value
            elif isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr == "get" \
                    and base.args and isinstance(base.args[0], ast.Constant):
                path.append(base.args[0].value)  # `cfg.get("logger")`
                base = base.func.value
            else:
                break
        path.reverse()
        if isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and \
                base.func.attr in ("parse_args", "parse_known_args"):
            return ("ref", "args", *path)
        if not isinstance(base, ast.Name):
            return UNKNOWN
        if base.id == "self":
            return ("ref", "self", *path)
        kind, binding = self.module.lookup(base.id, scope, position(base))
        if kind == "param":
            return ("ref", "param", base.id, *path)
        if kind == "binding" and binding is not None and binding.kind == "assign" and binding.value is not None:
            value = binding.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                    value.func.attr in ("parse_args", "parse_known_args"):
                return ("ref", "args", *path)
            inner = self.reference(value, scope, depth + 1)
            if inner[0] == "lit" and not path:
                return inner
            if inner[0] == "ref":
                return (*inner, *path)
        if kind == "import":
            return UNKNOWN
        return ("ref", "var", base.id, *path)




class Outline(Conditions):
    """Walks a module once; `sites` maps each call node to where it sits, `outline()` is the fact."""

    def __init__(self, module: Module) -> None:
        super().__init__(module)
        self.sites: dict[int, CodeSite] = {}
        self._functions: list[FunctionInfo] = []
        self._classes: list[tuple[str, tuple[str, ...]]] = []
        self._calls: list[CallEdge] = []
        self._options: list[ProgramOption] = []
        self._fields: list[tuple[str, tuple[str, ...]]] = []
        self._defaults: list[tuple[str, tuple]] = []
        self.loaders: list[ConfigLoader] = []
        self._defined: dict[int, dict[str, str]] = {}  # id(scope node) -> name -> qualified name of a def/class
        self._class_of: dict[str, str] = {}  # qualified method name -> its class's qualified name
        self._local_classes: set[str] = set()
        self._index_definitions(module.tree.body, module.tree, "")
        self._block(module.tree.body, _Context(None, "", None, module.module_scope), ())

    def outline(self) -> ModuleOutline:
        aliases = tuple((local, ("module", dotted, level)) for local, (dotted, level) in self._import_targets().items())
        return ModuleOutline(tuple(self._functions), tuple(self._classes), tuple(self._calls), tuple(self._options),
                             aliases, tuple(self._fields), tuple(self._defaults))

    # -- definitions ----------------------------------------------------------------------------

    def _index_definitions(self, body: list[ast.stmt], owner: ast.AST, prefix: str) -> None:
        """Qualified names of the functions and classes each scope defines, before the walk needs them."""
        names = self._defined.setdefault(id(owner), {})
        for statement in _nested_statements(body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualified = prefix + statement.name
                names.setdefault(statement.name, qualified)
                if isinstance(statement, ast.ClassDef):
                    self._local_classes.add(qualified)
                    self._index_definitions(statement.body, statement, qualified + ".")
                    for inner in statement.body:
                        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            self._class_of[qualified + "." + inner.name] = qualified
                else:
                    self._index_definitions(statement.body, statement, qualified + ".")

    def _definition(self, name: str, scope: Scope) -> str | None:
        """The qualified name of the def or class `name` refers to from `scope`, if the module defines it."""
        current: Scope | None = scope
        while current is not None:
            if not isinstance(current.node, ast.ClassDef):
                found = self._defined.get(id(current.node), {}).get(name)
                if found:
                    return found
            current = current.parent
        return None

    def _import_targets(self) -> dict[str, tuple[str, int]]:
        """Names imported from modules the project may define, as (dotted path, level)."""
        targets: dict[str, tuple[str, int]] = {}
        for local, dotted in self.module.aliases.items():
            if dotted.split(".")[0] not in _EXTERNAL:
                targets[local] = (dotted, 0)
        for local, (module, level, name) in self.module.relative.items():
            targets[local] = (f"{module}.{name}" if module else name, level)
        return targets

    # -- statements -----------------------------------------------------------------------------

    def _block(self, body, ctx: "_Context", guards: tuple[Guard, ...]) -> None:
        current = list(guards)
        for statement in body:
            self._statement(statement, ctx, tuple(current))
            if isinstance(statement, ast.If) and not statement.orelse and self.terminates(statement.body, ctx.scope):
                current.append(Guard(self.condition(statement.test, ctx.scope), False))  # `if x: return`

    def _statement(self, node: ast.stmt, ctx: "_Context", guards) -> None:
        kind = type(node)
        if kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            self._function(node, ctx, guards)
        elif kind is ast.ClassDef:
            for expression in [*node.bases, *node.keywords, *node.decorator_list]:
                self._expression(expression, ctx, guards)
            name = ctx.prefix + node.name
            self._classes.append((name, tuple(self._written(base, ctx.scope) for base in node.bases)))
            self._fields.append((name, tuple(statement.target.id for statement in node.body
                                             if isinstance(statement, ast.AnnAssign)
                                             and isinstance(statement.target, ast.Name))))
            if any(isinstance(statement, ast.AnnAssign) and statement.value is not None for statement in node.body):
                self._defaults.append((name, self.module.field_defaults(node)))
            if any(_decorator_name(d) == "dataclass" for d in node.decorator_list):
                self._dataclass_options(node)
            inner = self.module.scopes.get(id(node), ctx.scope)
            self._block(node.body, _Context(ctx.function, name + ".", name, inner), guards)
        elif kind is ast.If:
            self._expression(node.test, ctx, guards)
            test = self.condition(node.test, ctx.scope)
            self._block(node.body, ctx, (*guards, Guard(test, True)))
            self._block(node.orelse, ctx, (*guards, Guard(test, False)))
        elif kind is ast.While:
            self._expression(node.test, ctx, guards)
            self._block(node.body, ctx, (*guards, Guard(self.condition(node.test, ctx.scope), True)))
            self._block(node.orelse, ctx, guards)
        elif kind in (ast.For, ast.AsyncFor):
            self._expression(node.iter, ctx, guards)
            self._block(node.body, ctx, guards)
            self._block(node.orelse, ctx, guards)
        elif kind in (ast.With, ast.AsyncWith):
            for item in node.items:
                self._expression(item.context_expr, ctx, guards)
            self._block(node.body, ctx, guards)
        elif kind is ast.Try or kind.__name__ == "TryStar":
            self._block(node.body, ctx, guards)
            for handler in node.handlers:  # runs only when something failed
                self._block(handler.body, ctx, (*guards, Guard(("opaque", "except"), True)))
            self._block(node.orelse, ctx, guards)
            self._block(node.finalbody, ctx, guards)
        elif kind.__name__ == "Match":
            self._expression(node.subject, ctx, guards)
            for case in node.cases:
                self._block(case.body, ctx, (*guards, Guard(("opaque", "case"), True)))
        else:
            self.sites[id(node)] = CodeSite(ctx.function, guards)  # `os.environ["X"] = ...` sits somewhere too
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expression(child, ctx, guards)

    def _function(self, node, ctx: "_Context", guards) -> None:
        name = ctx.prefix + node.name
        for expression in [*node.decorator_list, *node.args.defaults, *[d for d in node.args.kw_defaults if d]]:
            self._expression(expression, ctx, guards)
        args = node.args
        params = tuple(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])
        static = any(_decorator_name(d) == "staticmethod" for d in node.decorator_list)
        hydra = next((self._hydra(d) for d in node.decorator_list if isinstance(d, ast.Call)
                      and self.module.qualname(d.func) == "hydra.main"), None)
        self._functions.append(FunctionInfo(name, params, ctx.cls is not None and not static, hydra))
        inner = self.module.scopes.get(id(node), ctx.scope)
        self._block(node.body, _Context(name, name + ".", None, inner), ())

    def _hydra(self, call: ast.Call) -> tuple[str | None, str | None]:
        values = []
        for keyword, index in (("config_path", 0), ("config_name", 1)):
            node = argument(call, keyword, index)
            known, value = self.module.literal(node, self.module.module_scope) if node is not None else (False, None)
            values.append(value if known and isinstance(value, str) else None)
        return values[0], values[1]

    # -- expressions ----------------------------------------------------------------------------

    def _expression(self, node: ast.AST, ctx: "_Context", guards: tuple[Guard, ...]) -> None:
        """Every call inside an expression, with the conditions of `a if c else b` and `c and f()`."""
        stack = [(node, guards, ctx.scope)]
        while stack:
            current, around, scope = stack.pop()
            kind = type(current)
            if kind is ast.Lambda:  # its body reads its own parameters
                scope = self.module.scopes.get(id(current), scope)
            if kind is ast.IfExp:
                test = self.condition(current.test, scope)
                stack += [(current.test, around, scope), (current.body, (*around, Guard(test, True)), scope),
                          (current.orelse, (*around, Guard(test, False)), scope)]
                continue
            if kind is ast.BoolOp:
                conjunction = isinstance(current.op, ast.And)
                before = around
                for value in current.values:
                    stack.append((value, before, scope))
                    before = (*before, Guard(self.condition(value, scope), conjunction))
                continue
            if kind is ast.Call:
                self._call(current, ctx if scope is ctx.scope else _Context(ctx.function, ctx.prefix, ctx.cls, scope),
                           around)
            for child in child_nodes(current):
                stack.append((child, around, scope))

    def _call(self, call: ast.Call, ctx: "_Context", guards: tuple[Guard, ...]) -> None:
        site = CodeSite(ctx.function, guards)
        self.sites[id(call)] = site
        scope = ctx.scope
        callee = self.callee(call.func, scope, ctx.function)
        if callee is not None and callee[0] != "unknown":
            self._calls.append(CallEdge(callee, site, self._arguments(call, scope)))
        for value in [*call.args, *(kw.value for kw in call.keywords)]:
            if isinstance(value, (ast.Name, ast.Attribute)):  # a function handed on: `agent(function=train)`
                handed = self.callee(value, scope, ctx.function)
                if handed is not None and handed[0] != "unknown":
                    self._calls.append(CallEdge(handed, site))
        if isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument":
            self._argparse_option(call, scope)
        loader = config_loader(self.module, call, scope, site)
        if loader is not None:
            self.loaders.append(loader)

    def _arguments(self, call: ast.Call, scope: Scope) -> tuple[tuple[str, tuple], ...]:
        found = []
        for index, value in enumerate(call.args):
            if isinstance(value, ast.Starred):
                break
            found.append((str(index), self.reference(value, scope)))
        found += [(kw.arg, self.reference(kw.value, scope)) for kw in call.keywords if kw.arg]
        return tuple((key, ref) for key, ref in found if ref != UNKNOWN)

    # -- what a call reaches --------------------------------------------------------------------

    def callee(self, func: ast.AST, scope: Scope, function: str | None = None, depth: int = 0) -> tuple | None:
        """How a called expression is named, for resolution against the project (None: not project code)."""
        if depth > 4:
            return None
        if isinstance(func, ast.Name):
            kind, _ = self.module.lookup(func.id, scope, position(func))
            if kind == "import":
                return self._imported(func.id, ())
            if kind == "binding" or kind == "unknown":
                defined = self._definition(func.id, scope)
                if defined:
                    return ("local", defined)
            return None
        if not isinstance(func, ast.Attribute):
            return None
        parts: list[str] = []
        base = func
        while isinstance(base, ast.Attribute):
            parts.append(base.attr)
            base = base.value
        parts.reverse()
        if not isinstance(base, ast.Name):
            return ("unknown", func.attr)
        if base.id == "self" and len(parts) == 1:
            owner = self._owner(function)
            return ("local", f"{owner}.{parts[0]}") if owner else ("unknown", func.attr)
        kind, binding = self.module.lookup(base.id, scope, position(base))
        if kind == "import":
            return self._imported(base.id, tuple(parts))
        if kind == "binding" and binding is not None and binding.kind == "assign" and len(parts) == 1 \
                and isinstance(binding.value, ast.Call):
            # `trainer = Trainer(...)`; `trainer.train()`
            built = self.callee(binding.value.func, scope, function, depth + 1)
            if built is not None and built[0] == "local" and built[1] in self._local_classes:
                return ("local", f"{built[1]}.{parts[0]}")
            if built is not None and built[0] == "module":  # resolved only if the project defines a class there
                return ("module", f"{built[1]}.{parts[0]}", built[2])
        return ("unknown", func.attr)

    def _imported(self, local: str, parts: tuple[str, ...]) -> tuple | None:
        if local in self.module.relative:
            module, level, name = self.module.relative[local]
            dotted = ".".join(p for p in (module, name, *parts) if p)
            return ("module", dotted, level)
        dotted = self.module.aliases.get(local)
        if dotted is None or dotted.split(".")[0] in _EXTERNAL:
            return None
        return ("module", ".".join((dotted, *parts)), 0)

    def _owner(self, function: str | None) -> str | None:
        """The class whose instance `self` is in this function (a method, or a function nested in one)."""
        while function:
            if function in self._class_of:
                return self._class_of[function]
            function = function.rpartition(".")[0]
        return None

    def _written(self, expr: ast.AST, scope: Scope) -> str:
        """A base class as written, resolved through imports ("transformers.Trainer", "local:Base")."""
        qualified = self.module.qualname(expr, scope)
        if qualified:
            return qualified
        callee = self.callee(expr, scope) if isinstance(expr, (ast.Name, ast.Attribute)) else None
        if callee and callee[0] == "local":
            return "local:" + callee[1]
        if callee and callee[0] == "module":
            return f"module:{callee[2]}:{callee[1]}"
        return ""

    # -- options --------------------------------------------------------------------------------

    def _argparse_option(self, call: ast.Call, scope: Scope) -> None:
        flags = [v for v in (self.module.literal(a, scope) for a in call.args) if v[0] and isinstance(v[1], str)]
        long = next((flag for _, flag in flags if flag.startswith("--")), None)
        keywords = keyword_map(call)
        dest_node = keywords.get("dest")
        dest = self.module.literal(dest_node.value, scope)[1] if dest_node else None
        if not isinstance(dest, str):
            if long is None:
                return
            dest = long[2:].replace("-", "_")
        action_node = keywords.get("action")
        action = self.module.literal(action_node.value, scope)[1] if action_node else None
        if action_node is not None and not isinstance(action, str):
            action = ast.unparse(action_node.value).rsplit(".", 1)[-1]
        defaults = {"store_true": False, "store_false": True}
        flag_value = {"store_true": ("lit", True), "store_false": ("lit", False),
                      "BooleanOptionalAction": ("lit", True)}.get(action or "")
        if "default" in keywords:
            default = self.reference(keywords["default"].value, scope)
            default = default if default[0] == "lit" else UNKNOWN
        else:
            default = ("lit", defaults.get(action or "", None))
        self._options.append(ProgramOption(dest, default, flag_value))

    def _dataclass_options(self, node: ast.ClassDef) -> None:
        scope = self.module.scopes.get(id(node), self.module.module_scope)
        for statement in node.body:
            if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
                continue
            default = UNKNOWN
            value = statement.value
            if isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) == "field":
                value = keyword_map(value)["default"].value if "default" in keyword_map(value) else None
            if value is not None:
                known, literal = self.module.literal(value, scope)
                default = ("lit", literal) if known else UNKNOWN
            is_bool = isinstance(statement.annotation, ast.Name) and statement.annotation.id == "bool"
            self._options.append(ProgramOption(statement.target.id, default, ("lit", True) if is_bool else None))

class SiteFinder(Conditions):
    """The site of one call, found by walking up from it: what the extractor needs for the few calls that
    become facts, without the whole-module walk of `Outline` (the link stage runs that only for the modules
    a launch reaches). It agrees with `Outline.sites` (tests/test_reachability.py checks it)."""

    def __init__(self, module: Module, parents: dict[int, ast.AST]) -> None:
        super().__init__(module)
        self.parents = parents

    def site(self, node: ast.AST, scope: Scope) -> CodeSite:
        levels: list[list[Guard]] = []  # innermost first; each level's guards outermost first
        names: list[tuple[str, bool]] = []  # enclosing definitions whose body holds the node: (name, is def)
        guarding = True  # guards count up to the function the node is in: a function starts afresh
        child, parent = node, self.parents.get(id(node))
        while parent is not None:
            kind = type(parent)
            body = getattr(parent, "body", None)
            in_body = isinstance(body, list) and child in body
            if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef) and in_body:
                names.append((parent.name, kind is not ast.ClassDef))
                if guarding:
                    levels.append(self._early_returns(parent.body, child, scope))
                guarding = guarding and kind is ast.ClassDef
            elif guarding:
                levels.append(self._level(parent, child, scope))
            if kind in (ast.Lambda, ast.ClassDef) and scope.node is parent and scope.parent is not None:
                scope = scope.parent  # tests around it are read where the lambda or class is written
            child, parent = parent, self.parents.get(id(parent))
        names.reverse()
        innermost = max((i for i, (_, is_def) in enumerate(names) if is_def), default=None)
        function = ".".join(name for name, _ in names[:innermost + 1]) if innermost is not None else None
        return CodeSite(function, tuple(g for level in reversed(levels) for g in level))

    def _level(self, parent: ast.AST, child: ast.AST, scope: Scope) -> list[Guard]:
        """The guards one enclosing node adds, as `Outline` adds them on its way down."""
        found: list[Guard] = []
        kind = type(parent)
        if kind is ast.If and child is not parent.test:
            found.append(Guard(self.condition(parent.test, scope), child in parent.body))
        elif kind is ast.While and child in parent.body:
            found.append(Guard(self.condition(parent.test, scope), True))
        elif kind is ast.ExceptHandler:
            found.append(Guard(("opaque", "except"), True))
        elif kind.__name__ == "match_case" and child in parent.body:
            found.append(Guard(("opaque", "case"), True))
        elif kind is ast.IfExp and child is not parent.test:
            found.append(Guard(self.condition(parent.test, scope), child is parent.body))
        elif kind is ast.BoolOp:
            conjunction = isinstance(parent.op, ast.And)
            for value in parent.values[:parent.values.index(child)] if child in parent.values else ():
                found.append(Guard(self.condition(value, scope), conjunction))
        for field in ("body", "orelse", "finalbody"):
            block = getattr(parent, field, None)
            if isinstance(block, list) and child in block:
                found += self._early_returns(block, child, scope)
        return found

    def _early_returns(self, block: list[ast.stmt], child: ast.AST, scope: Scope) -> list[Guard]:
        """`if x: return` before the statement in its block: it runs only when x was false."""
        return [Guard(self.condition(statement.test, scope), False) for statement in block[:block.index(child)]
                if isinstance(statement, ast.If) and not statement.orelse and self.terminates(statement.body, scope)]


_OPERATORS = {ast.Eq: "==", ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
              ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _nested_statements(body: list[ast.stmt]):
    """The statements of a block and of the compound statements inside it (not of nested scopes)."""
    stack = list(body)
    while stack:
        statement = stack.pop()
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in getattr(statement, field, []) or []:
                if isinstance(child, ast.stmt):
                    stack.append(child)
                elif hasattr(child, "body"):
                    stack.extend(child.body)


def _decorator_name(node: ast.AST) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""


def _identifiers(node: ast.AST) -> list[str]:
    return [n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(node)
            if isinstance(n, (ast.Attribute, ast.Name))]


def _tests_rank(node: ast.AST) -> bool:
    """Is this a test of which process is the main one (`rank == 0`, `accelerator.is_main_process`)?"""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _tests_rank(node.operand)
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, (ast.Attribute, ast.Name)):
        name = node.attr if isinstance(node, ast.Attribute) else node.id
        return bool(_RANK_NAMES.search(name)) and "rank" not in name or name in ("is_main_process",)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left = node.left.func if isinstance(node.left, ast.Call) else node.left
        name = left.attr if isinstance(left, ast.Attribute) else left.id if isinstance(left, ast.Name) else ""
        return bool(_RANK_NAMES.search(name)) and all(isinstance(c, (ast.Constant, ast.List, ast.Tuple, ast.UnaryOp))
                                                       for c in node.comparators)
    return False


def _rank_condition(node: ast.AST) -> tuple:
    """("rank",) when the test holds on the main process, ("not", ("rank",)) when it holds elsewhere."""
    if isinstance(node, ast.UnaryOp):
        return ("not", _rank_condition(node.operand))
    if not isinstance(node, ast.Compare):
        return ("rank",)
    op, right = node.ops[0], node.comparators[0]
    try:
        value = ast.literal_eval(right)
    except (ValueError, SyntaxError, TypeError):
        return ("opaque", "rank")
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    main = any(v in (0, -1) for v in values if isinstance(v, int))
    holds_on_main = {ast.Eq: main, ast.In: main, ast.LtE: value == 0 if isinstance(value, int) else None,
                     ast.Lt: value == 1 if isinstance(value, int) else None, ast.NotEq: not main,
                     ast.NotIn: not main, ast.Gt: False if isinstance(value, int) and value >= 0 else None,
                     ast.GtE: value <= 0 if isinstance(value, int) else None}.get(type(op))
    if holds_on_main is None:
        return ("opaque", "rank")
    return ("rank",) if holds_on_main else ("not", ("rank",))


def _tests_tracker_state(node: ast.AST, module: Module, scope: Scope) -> bool:
    """`wandb.run is None`: the program asks whether its run started yet, meaning to start it."""
    if isinstance(node, ast.Compare):
        return any((module.qualname(part, scope) or "").startswith(("wandb.", "mlflow."))
                   for part in (node.left, *node.comparators))
    return False


def _environment_variable(node: ast.AST, module: Module, scope: Scope) -> tuple | None:
    """`os.environ.get("X")`, `os.getenv("X")`, `os.environ["X"]` as ("ref", "env", "X")."""
    if isinstance(node, ast.Call):
        name = module.qualname(node.func, scope)
        if name in ("os.environ.get", "os.getenv") and node.args and isinstance(node.args[0], ast.Constant):
            default = module.literal(node.args[1], scope) if len(node.args) > 1 else (True, None)
            return ("ref", "env", node.args[0].value, default[1] if default[0] else "<unknown>")
    if isinstance(node, ast.Subscript) and module.qualname(node.value, scope) == "os.environ" and \
            isinstance(node.slice, ast.Constant):
        return ("ref", "env", node.slice.value, None)
    return None


def config_loader(module: Module, call: ast.Call, scope: Scope, site: CodeSite | None) -> ConfigLoader | None:
    """The configuration file this call reads, and with which library (so which types its values get)."""
    kind = _loader_kind(module, call, scope)
    if kind is None:
        return None
    if kind is Loader.HYDRA:  # @hydra.main(config_path=..., config_name=...): the folder is the program's config
        node = argument(call, "config_path", 0)
        known, folder = module.literal(node, scope) if node is not None else (False, None)
        return ConfigLoader(module.location(call), kind, False, folder if known and isinstance(folder, str)
                            else None, site)
    path = _named_path(module, call, scope)
    return ConfigLoader(module.location(call), kind, path is None, path, site=site)


def _loader_kind(module: Module, call: ast.Call, scope: Scope) -> Loader | None:
    name = module.qualname(call.func, scope)
    if name in _LOADERS:
        return _LOADERS[name]
    method = call.func.attr if isinstance(call.func, ast.Attribute) else None
    if method in ("parse_yaml_file", "parse_json_file"):
        return Loader.HF_YAML if method == "parse_yaml_file" else Loader.HF_JSON
    if method == "parse_args_and_config":
        return Loader.TRL
    if method == "parse_dict" and call.args and isinstance(call.args[0], ast.Call):
        inner = _LOADERS.get(module.qualname(call.args[0].func, scope) or "")
        return {Loader.OMEGACONF: Loader.HF_OMEGACONF, Loader.YAML: Loader.HF_YAML,
                Loader.JSON: Loader.HF_JSON}.get(inner)
    return None


def _named_path(module: Module, call: ast.Call, scope: Scope) -> str | None:
    """The file the call names (`open("cfg.yaml")` too), or None when it comes from the command line."""
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Call) and simple_name(first.func) == "open" and first.args:
        first = first.args[0]
    if first is not None:
        known, value = module.literal(first, scope)
        if known and isinstance(value, str):
            return value
    return None
