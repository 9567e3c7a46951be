"""MLflow artifact uploads and what the script did to their paths before (rule MLF001).

The question is intraprocedural and textual, like a reviewer would ask it: earlier in the same
function (or at module level), was this path, or a path inside it, written, created, checked
or read, or is the upload inside a `try`? Paths are compared symbolically:
`os.path.join(out, "plots")`, `f"{out}/plots"` and `Path(out) / "plots"` are the same path.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from preflight.model import ArtifactLog
from preflight.sources.pycalls import Library
from preflight.sources.pyscope import Module, Position, Scope, argument, child_nodes, position, simple_name

FLUENT = {
    "mlflow.log_artifacts": True, "mlflow.log_artifact": False,
    "mlflow.tracking.fluent.log_artifacts": True, "mlflow.tracking.fluent.log_artifact": False,
    "wandb.save": False,  # silently saves nothing for a missing path (WB008)
}
_PATH_ARGUMENT = {"wandb.save": "glob_str"}
CLIENTS = {"mlflow.MlflowClient", "mlflow.tracking.MlflowClient", "mlflow.client.MlflowClient",
           "mlflow.tracking.client.MlflowClient"}
PATH_BUILDERS = {"os.path.join", "posixpath.join", "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath",
                 "pathlib.PurePosixPath", "upath.UPath"}
PATH_IDENTITY = {"str", "os.fspath", "os.path.abspath", "os.path.realpath", "os.path.normpath",
                 "os.path.expanduser", "os.path.expandvars"}
PATH_IDENTITY_METHODS = {"resolve", "absolute", "expanduser", "as_posix"}
# Calls that read a path without doing anything to the file system.
PURE_FUNCTIONS = {
    "print", "str", "repr", "len", "format", "isinstance", "type", "bool", "int", "float", "hash", "id",
    "os.path.join", "os.path.basename", "os.path.dirname", "os.path.abspath", "os.path.realpath",
    "os.path.normpath", "os.path.expanduser", "os.path.splitext", "os.path.split", "os.fspath",
    "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.PurePosixPath",
    "mlflow.log_param", "mlflow.log_params", "mlflow.set_tag", "mlflow.set_tags", "mlflow.log_metric",
    "mlflow.log_metrics", "mlflow.log_text", "mlflow.log_dict", "mlflow.set_experiment", "mlflow.start_run",
    "wandb.log", "warnings.warn",
}
PURE_METHODS = {
    "info", "debug", "warning", "warn", "error", "exception", "critical", "log", "print", "format", "join",
    "replace", "joinpath", "with_suffix", "with_name", "as_posix", "resolve", "absolute", "startswith",
    "endswith", "strip", "lower", "upper", "split", "append", "add_argument", "set_description", "write_line",
    "log_param", "log_params", "set_tag", "set_tags", "log_metric", "log_metrics", "log_artifact",
    "log_artifacts", "log_text", "log_dict",
}
TRAINER_SAVES = {"save_model", "save_state"}
_UPLOADS = {"log_artifact", "log_artifacts", "save"}  # the names of the calls that can be uploads
TRAINING_CONFIG_SUFFIXES = ("TrainingArguments", "Config")


@dataclass(slots=True)
class _Event:
    position: Position
    parts: tuple[str, ...]
    description: str
    fills_folder: bool = False  # writes files inside the path (save_pretrained into a folder)


# Writers that add a suffix to the name they are given, unless it already has it (numpy's docs).
SUFFIXING_WRITERS = {"numpy.save": ".npy", "numpy.savez": ".npz", "numpy.savez_compressed": ".npz"}
# Calls that write a folder's files: a file inside the folder they were given counts as written.
FOLDER_WRITERS = {"save_pretrained", "save_model", "save_state", "save_to_disk", "push_to_hub", "save_checkpoint"}


@dataclass(slots=True)
class _Upload:
    call: ast.Call
    api: str
    is_directory: bool
    path: ast.expr
    in_try: bool


class Artifacts(Library):
    """The uploads are judged once every call is known: what happened to a path before its upload is
    read scope by scope, in the order the statements run."""

    def finish(self) -> None:
        self.file.facts.extend(extract(self.module))


def extract(module: Module) -> list[ArtifactLog]:
    uploading = [scope for call, scope, _ in module.calls if simple_name(call.func) in _UPLOADS]
    return _Analysis(module).run(uploading) if uploading else []


class _Analysis:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.output_dirs: list[tuple[str, ...]] = []
        self._writes: dict[str, list[_Event]] = {}

    def run(self, uploading: list[Scope]) -> list[ArtifactLog]:
        # Only the scopes that upload artifacts need their events, and the module scope (it runs first).
        wanted = [self.module.module_scope]
        for scope in uploading:
            if all(scope is not seen for seen in wanted):
                wanted.append(scope)
        per_scope: list[tuple[Scope, list[_Event], list[_Upload]]] = []
        for scope in wanted:
            events, uploads = self._scan(scope)
            per_scope.append((scope, events, uploads))
        module_events = per_scope[0][1]
        results: list[ArtifactLog] = []
        for scope, events, uploads in per_scope:
            for upload in uploads:
                results.append(self._judge(upload, scope, events, module_events))
        return results

    # -- scanning one scope ---------------------------------------------------------------------

    def _scan(self, scope: Scope) -> tuple[list[_Event], list[_Upload]]:
        events: list[_Event] = []
        uploads: list[_Upload] = []
        node = scope.node
        body = node.body if isinstance(node.body, list) else [node.body]
        stack: list[tuple[ast.AST, bool]] = [(child, False) for child in reversed(body)]
        while stack:
            current, in_try = stack.pop()
            if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(current, (ast.Try, getattr(ast, "TryStar", ast.Try))) and current.handlers:
                children = [(c, True) for c in current.body]
                children += [(c, in_try) for c in [*current.handlers, *current.orelse, *current.finalbody]]
                stack.extend(reversed(children))
                continue
            if isinstance(current, ast.With) and any(
                (self.module.qualname(item.context_expr.func, scope) or "") == "contextlib.suppress"
                for item in current.items if isinstance(item.context_expr, ast.Call)
            ):
                in_try = True
            if isinstance(current, ast.Call):
                self._call(current, scope, in_try, events, uploads)
            for child in reversed(child_nodes(current)):
                stack.append((child, in_try))
        return events, uploads

    def _call(self, call: ast.Call, scope: Scope, in_try: bool, events: list[_Event], uploads: list[_Upload]) -> None:
        module = self.module
        name = module.qualname(call.func, scope)
        if name in FLUENT:
            is_dir = FLUENT[name]
            path = argument(call, _PATH_ARGUMENT.get(name, "local_dir" if is_dir else "local_path"), 0)
            if path is not None:
                uploads.append(_Upload(call, name, is_dir, path, in_try))
            return
        if isinstance(call.func, ast.Attribute) and call.func.attr == "save" \
                and module.constructor_of(call.func.value, scope) in ("wandb.init", "wandb.sdk.init"):
            path = argument(call, "glob_str", 0)
            if path is not None:
                uploads.append(_Upload(call, "wandb.save", False, path, in_try))
            return
        if isinstance(call.func, ast.Attribute) and call.func.attr in ("log_artifact", "log_artifacts"):
            if module.constructor_of(call.func.value, scope) in CLIENTS:
                is_dir = call.func.attr == "log_artifacts"
                path = argument(call, "local_dir" if is_dir else "local_path", 1)
                if path is not None:
                    uploads.append(_Upload(call, f"MlflowClient.{call.func.attr}", is_dir, path, in_try))
                return
        if name and name.rsplit(".", 1)[-1].endswith(TRAINING_CONFIG_SUFFIXES):
            output_dir = argument(call, "output_dir", 0)
            parts = self._parts(output_dir, scope) if output_dir is not None else None
            if parts:
                self.output_dirs.append(parts[0])
        described = self._callee(call, name)
        if isinstance(call.func, ast.Name):  # a helper of this module that writes files (`fig.savefig("x.png")`)
            for written in self._written_by(call.func.id):
                events.append(_Event(position(call), written.parts, f"written by {call.func.id}() called on line "
                                     f"{call.lineno}", written.fills_folder))
        if isinstance(call.func, ast.Attribute):
            method = call.func.attr
            if method in TRAINER_SAVES and not call.args and not call.keywords:
                events.append(_Event(position(call), ("<output_dir>",), f"{described}() on line {call.lineno}"))
            if method not in PURE_METHODS and method not in PATH_IDENTITY_METHODS:
                receiver = self._parts(call.func.value, scope)
                if receiver:
                    events.append(_Event(position(call), receiver[0], f".{method}() on line {call.lineno}"))
        if (name or described) in PURE_FUNCTIONS or (name is None and isinstance(call.func, ast.Attribute)
                                                     and call.func.attr in PURE_METHODS):
            return
        suffix = SUFFIXING_WRITERS.get(name or "")
        for arg in [*call.args, *(kw.value for kw in call.keywords)]:
            if isinstance(arg, ast.Starred):
                arg = arg.value
            parts = self._parts(arg, scope)
            if parts:
                written = parts[0]
                if suffix and arg is (call.args[0] if call.args else None) and not written[-1].endswith(suffix):
                    written = (*written[:-1], written[-1] + suffix)  # np.save("weights") writes weights.npy
                events.append(_Event(position(call), written, f"passed to {described}() on line {call.lineno}",
                                     described.rsplit(".", 1)[-1] in FOLDER_WRITERS))

    def _written_by(self, function: str) -> list[_Event]:
        """What a module-level function of this module writes (its calls' path arguments), computed once."""
        if function not in self._writes:
            self._writes[function] = []  # also stops a recursive helper
            node = next((n for n in self.module.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                         and n.name == function), None)
            scope = self.module.scopes.get(id(node)) if node is not None else None
            if scope is not None:
                self._writes[function] = [e for e in self._scan(scope)[0] if e.parts != ("<output_dir>",)]
        return self._writes[function]

    def _callee(self, call: ast.Call, name: str | None) -> str:
        if name:
            return name
        func = call.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
        return "a call"

    # -- judging --------------------------------------------------------------------------------

    def _judge(self, upload: _Upload, scope: Scope, events: list[_Event], module_events: list[_Event]) -> ArtifactLog:
        module = self.module
        parts = self._parts(upload.path, scope)
        static = parts is not None and parts[1]
        evidence = None
        if upload.in_try:
            evidence = "the upload is inside a try block"
        elif parts is not None:
            target = parts[0]
            at = position(upload.call)
            candidates = [e for e in events if e.position < at]
            if scope is not module.module_scope:
                candidates += module_events
            for event in candidates:
                if self._covers(event.parts, target, upload.is_directory) or (
                        event.fills_folder and target[:len(event.parts)] == event.parts):
                    evidence = event.description
                    break
        return ArtifactLog(
            location=module.location(upload.call),
            api=upload.api,
            is_directory=upload.is_directory,
            path_text=module.text(upload.path, 60),
            path_static=static,
            evidence=evidence,
            path_code=self._path_code(upload) if evidence is None and static else None,
        )

    def _path_code(self, upload: _Upload) -> str | None:
        """The path argument as written, when the upload is an expression statement alone on its lines in a
        block (not `if x: upload(p)` nor `a = 1; upload(p)`, where a statement put before it would run in other
        conditions or before what it needs), and the argument is names, attributes and literals on one line,
        which read again without effects."""
        module, call, path = self.module, upload.call, upload.path
        statement = module.parents().get(id(call))
        holder = module.parents().get(id(statement))
        if not isinstance(statement, ast.Expr) or holder is None:
            return None
        body = next((b for b in (getattr(holder, f, None) for f in ("body", "orelse", "finalbody"))
                     if isinstance(b, list) and any(s is statement for s in b)), None)
        if body is None or (not isinstance(holder, ast.Module) and getattr(holder, "lineno", statement.lineno)
                                                      == statement.lineno):
            return None
        if any(s is not statement and s.lineno <= statement.end_lineno and statement.lineno <= s.end_lineno
               for s in body):
            return None
        if path.lineno != path.end_lineno or not all(
                isinstance(n, (ast.Name, ast.Attribute, ast.Load, ast.Constant, ast.JoinedStr, ast.FormattedValue))
                for n in ast.walk(path)):
            return None
        where, source = module.location(path), module.source
        text = source.text[source.offset(where.line, where.column):source.offset(where.end_line, where.end_column)]
        return text if len(text) <= 200 else None

    def _covers(self, event: tuple[str, ...], target: tuple[str, ...], is_directory: bool) -> bool:
        if event == ("<output_dir>",):
            return target in self.output_dirs
        if is_directory:
            return event[: len(target)] == target
        return event == target

    # -- symbolic paths -------------------------------------------------------------------------

    def _parts(self, expr: ast.AST, scope: Scope) -> tuple[tuple[str, ...], bool] | None:
        """(segments, static) of a path expression, or None if it is produced at run time."""
        canon = self._canon(expr, scope, 0)
        if canon is None:
            return None
        text, static = canon
        absolute = text.startswith("/")
        segments = tuple(s for s in text.split("/") if s not in ("", "."))
        if not segments:
            return None
        return (("/", *segments) if absolute else segments), static

    def _canon(self, expr: ast.AST, scope: Scope, depth: int) -> tuple[str, bool] | None:
        if depth > 6:
            return None
        module = self.module
        if isinstance(expr, ast.Constant):
            return (expr.value, True) if isinstance(expr.value, str) else None
        if isinstance(expr, ast.Name):
            kind, binding = module.lookup(expr.id, scope, position(expr))
            if kind == "binding" and binding is not None:
                if binding.kind == "assign" and binding.value is not None:
                    inner = self._canon(binding.value, scope, depth + 1)
                    if inner is not None or not isinstance(binding.value, ast.Call):
                        return inner
                    return None  # produced by a call at run time
                return None
            if kind == "param":
                return "{" + expr.id + "}", False
            if kind == "import":  # a constant from another module: configured, not produced here
                return "{" + expr.id + "}", True
            return None  # a name bound nowhere in sight: nothing can be said
        if isinstance(expr, (ast.Attribute, ast.Subscript)):
            root = expr
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                if isinstance(root, ast.Attribute) and root.attr in ("parent", "name", "stem", "suffix", "parents"):
                    return None
                root = root.value
            if isinstance(expr, ast.Attribute) and isinstance(root, ast.Name) and root.id not in ("self", "cls"):
                return "{" + module.text(expr, 200) + "}", True
            if isinstance(expr, ast.Subscript) and isinstance(root, ast.Name) and root.id not in ("self", "cls"):
                return "{" + module.text(expr, 200) + "}", True
            return None
        if isinstance(expr, ast.JoinedStr):
            pieces, static = [], True
            for value in expr.values:
                if isinstance(value, ast.Constant):
                    pieces.append(str(value.value))
                    continue
                inner = self._canon(value.value, scope, depth + 1) if isinstance(value, ast.FormattedValue) else None
                if inner is None:
                    return None
                pieces.append(inner[0])
                static = static and inner[1]
            return "".join(pieces), static
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Div)):
            left = self._canon(expr.left, scope, depth + 1)
            right = self._canon(expr.right, scope, depth + 1)
            if left is None or right is None:
                return None
            joiner = "/" if isinstance(expr.op, ast.Div) else ""
            return left[0] + joiner + right[0], left[1] and right[1]
        if isinstance(expr, ast.Call):
            name = module.qualname(expr.func, scope) or (expr.func.id if isinstance(expr.func, ast.Name) else None)
            if name in PATH_BUILDERS or name in ("Path", "PurePath"):
                return self._join(expr.args, scope, depth)
            if name in PATH_IDENTITY and expr.args:
                return self._canon(expr.args[0], scope, depth + 1)
            if isinstance(expr.func, ast.Attribute):
                if expr.func.attr in PATH_IDENTITY_METHODS and not expr.args:
                    return self._canon(expr.func.value, scope, depth + 1)
                if expr.func.attr == "joinpath":
                    return self._join([expr.func.value, *expr.args], scope, depth)
        return None

    def _join(self, args: list[ast.expr], scope: Scope, depth: int) -> tuple[str, bool] | None:
        if not args:
            return None
        pieces, static = [], True
        for arg in args:
            inner = self._canon(arg, scope, depth + 1)
            if inner is None:
                return None
            if inner[0].startswith("/"):
                pieces = []
            pieces.append(inner[0])
            static = static and inner[1]
        return "/".join(pieces), static
