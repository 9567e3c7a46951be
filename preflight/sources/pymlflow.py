"""MLflow in Python: the first call that writes to the tracking store, the tracking URI the script
sets, `start_run` and the context it is opened in, metrics logged in a loop without a step, the
model registry's deprecated stages and the calls that promote a version, and where the module names
the experiment its runs go to. (Artifact uploads are `preflight.sources.pyartifacts`.)"""

from __future__ import annotations

import ast
import dataclasses
import re

from preflight.model import (
    EnvWrite, MlflowExperimentUse, RegistryPromotion, RegistryStageUri, Tracker, TrackerCall, TrackerUse,
)
from preflight.sources.pycalls import Call, Library, PythonFile, calls, calls_where, methods
from preflight.sources.pyscope import Scope, argument, child_nodes, is_main_block, position

START_RUN = {"mlflow.start_run", "mlflow.tracking.fluent.start_run"}
SET_TRACKING_URI = {"mlflow.set_tracking_uri", "mlflow.tracking.set_tracking_uri"}
CLIENT = {"mlflow.MlflowClient", "mlflow.tracking.MlflowClient", "mlflow.client.MlflowClient"}
REGISTRY_STAGE_METHODS = {"transition_model_version_stage", "get_latest_versions"}
PROMOTIONS = {"transition_model_version_stage", "set_registered_model_alias"}
SET_EXPERIMENT = {"mlflow.set_experiment", "mlflow.tracking.fluent.set_experiment"}
# `mlflow.run(uri, experiment_name=...)` runs an MLflow Project in the experiment it names
PROJECT_RUN = {"mlflow.run", "mlflow.projects.run"}
# Calls that write to the tracking store (the fluent API, autologging, the client).
USES = {"start_run", "log_metric", "log_metrics", "log_param", "log_params", "log_artifact", "log_artifacts",
        "autolog", "log_model", "set_experiment", "log_dict", "log_text", "log_figure", "log_table", "MlflowClient"}
LOG_METRIC = {"mlflow.log_metric": 2, "mlflow.log_metrics": 1}  # positional index of `step`
_STAGE_URI = re.compile(r"models:/[^/\s'\"]+/(?:Production|Staging|Archived|None)\b")


class Mlflow(Library):
    def __init__(self, file: PythonFile) -> None:
        super().__init__(file)
        self.used = False
        self.starts: list[tuple[Call, TrackerCall]] = []  # every start_run, judged in finish()

    @methods(*REGISTRY_STAGE_METHODS)
    def registry_stage(self, call: Call) -> None:
        node, module = call.node, self.module
        if not any(v.split(".")[0] == "mlflow" for v in module.aliases.values()):
            return
        keywords = tuple(kw.arg for kw in node.keywords if kw.arg)
        if node.func.attr == "transition_model_version_stage" or "stages" in keywords or len(node.args) >= 2:
            receiver, arguments = self._statement_code(node)
            self.file.add(TrackerCall(module.location(node), f"MlflowClient.{node.func.attr}", keywords,
                                      receiver_code=receiver, arguments_code=arguments))

    def _statement_code(self, node: ast.Call) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        """The method call's receiver and arguments as written, when the call is a statement of its own on
        one line (its value unused) and no argument is `*` or `**`: what a rewrite of the call needs."""
        module = self.module
        if not isinstance(module.parents().get(id(node)), ast.Expr) or node.lineno != node.end_lineno \
                or any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return None, ()
        source = module.source

        def text(expr: ast.AST) -> str:
            where = module.location(expr)
            return source.text[source.offset(where.line, where.column):source.offset(where.end_line, where.end_column)]

        arguments = [(str(i), text(a)) for i, a in enumerate(node.args)]
        arguments += [(k.arg, text(k.value)) for k in node.keywords]
        return text(node.func.value), tuple(arguments)

    @methods(*PROMOTIONS)
    def promotion(self, call: Call) -> None:
        """A version moved to a stage or an alias: what a deployment serves changes."""
        node, module = call.node, self.module
        if any(v.split(".")[0] == "mlflow" for v in module.aliases.values()):
            self.file.add(RegistryPromotion(module.location(node), node.func.attr, self.file.site(node)))

    @calls(*SET_EXPERIMENT, *PROJECT_RUN)
    def experiment(self, call: Call) -> None:
        given = {kw.arg for kw in call.node.keywords}
        if call.name in PROJECT_RUN and not {"experiment_name", "experiment_id"} & given:
            return
        self._experiment_use(call, call.name, chooses=True)

    @methods("create_run")
    def create_run(self, call: Call) -> None:
        """`MlflowClient().create_run(experiment_id)`: the experiment is an argument it requires."""
        if any(v.split(".")[0] == "mlflow" for v in self.module.aliases.values()):
            self._experiment_use(call, "MlflowClient.create_run", chooses=True)

    @calls_where(lambda name: name.startswith("mlflow.") and name.endswith(".autolog"))
    def autolog(self, call: Call) -> None:
        """Autologging starts a run in the current experiment when training begins (unless disabled)."""
        disable = argument(call.node, "disable")
        if (disable is not None and self.module.literal(disable, call.scope) != (True, False)) \
                or any(kw.arg is None for kw in call.node.keywords):
            return
        self._experiment_use(call, call.name, chooses=False)

    def _experiment_use(self, call: Call, api: str, chooses: bool) -> None:
        module = self.module
        program = module.source.path.endswith(".ipynb") or any(is_main_block(n) for n in module.tree.body) \
            or not call.chain
        self.file.add(MlflowExperimentUse(module.location(call.node), api, chooses, program))

    @calls_where(lambda name: name.startswith("mlflow.") and name.rsplit(".", 1)[-1] in USES)
    def first_use(self, call: Call) -> None:
        """The first call that needs the tracking store (and so its credentials)."""
        if not self.used:
            self.used = True
            self.file.add(TrackerUse(self.module.location(call.node), Tracker.MLFLOW, call.name,
                                     self.file.site(call.node)))

    @calls(*SET_TRACKING_URI, *CLIENT)
    def tracking_uri(self, call: Call) -> None:
        """The same setting as MLFLOW_TRACKING_URI, for this process."""
        node = call.node
        uri = argument(node, "uri", 0) if call.name in SET_TRACKING_URI else argument(node, "tracking_uri", 0)
        if uri is not None:
            self.file.add(EnvWrite(self.module.location(node), "MLFLOW_TRACKING_URI",
                                   self.module.value(uri, call.scope), self.file.site(node)))

    @calls(*START_RUN)
    def start_run(self, call: Call) -> None:
        node, module = call.node, self.module
        keywords = tuple(kw.arg for kw in node.keywords if kw.arg)
        complete = not any(kw.arg is None for kw in node.keywords) and not node.args[2:3]
        outer = next((w for w in module.enclosing(node, (ast.With, ast.AsyncWith))
                      if all(item.context_expr is not node for item in w.items)
                      and any(self._is_start_run(item.context_expr, call.scope) for item in w.items)), None)
        context = f"inside `with mlflow.start_run()` (line {outer.lineno})" if outer is not None else None
        block = module.parents().get(id(module.parents().get(id(node))))
        empty = isinstance(block, ast.With) and all(
            isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            for s in block.body)
        self.starts.append((call, TrackerCall(module.location(node), "mlflow.start_run", keywords, complete,
                                              context, records=not empty)))
        if "experiment_id" in keywords or node.args[1:2]:
            self._experiment_use(call, "mlflow.start_run(experiment_id=)", chooses=True)
        elif complete and "run_id" not in keywords and not node.args[:1] and not empty:
            self._experiment_use(call, "mlflow.start_run", chooses=False)

    @calls(*LOG_METRIC)
    def log_metric(self, call: Call) -> None:
        """A metric logged in a loop without a step: every iteration overwrites the one point."""
        node, name = call.node, call.name
        keywords = tuple(kw.arg for kw in node.keywords if kw.arg)
        has_step = "step" in keywords or len(node.args) > LOG_METRIC[name]
        loops = self.module.enclosing(node, (ast.For, ast.AsyncFor, ast.While)) if not has_step else []
        if loops and self._key_per_iteration(node, name, loops[0]):
            loops = []  # `for metric in ["rmse", "r2"]: log_metric(metric, ...)`: each key once, no series
        if loops and not any(kw.arg is None for kw in node.keywords):
            self.file.add(TrackerCall(self.module.location(node), name, keywords, True,
                                      f"in the loop at line {loops[0].lineno}"))

    def finish(self) -> None:
        for call, fact in self.starts:
            in_block = fact.context or self._called_inside_a_run(call)
            context = in_block or self._still_active(call)
            self.file.add(dataclasses.replace(fact, context=context, in_block=bool(in_block)))
        self._stage_uris()

    def _still_active(self, call: Call) -> str | None:
        """A `start_run()` at module level after another one that nothing ended: `run = mlflow.start_run()`
        twice with no `mlflow.end_run()` between (a run opened as a `with` block ends with it)."""
        if call.chain or not self._top_level_statement(call.node):
            return None
        module = self.module
        earlier = [other for other, _ in self.starts if not other.chain and other.node.lineno < call.node.lineno
                   and self._top_level_statement(other.node)]
        if not earlier:
            return None
        first = earlier[-1].node
        ends = [node for node, _, chain in module.calls if not chain and (module.qualname(node.func) or "")
                .endswith("end_run") and first.lineno <= node.lineno <= call.node.lineno]
        if ends or self._ended_as_context(first):
            return None
        return f"while the run started at line {first.lineno} is still active (no mlflow.end_run() between)"

    def _called_inside_a_run(self, call: Call) -> str | None:
        """A `start_run()` in a function of this module that is called inside `with mlflow.start_run()`."""
        if not call.chain:
            return None
        function = call.chain[0]
        for node, scope, _ in self.module.calls:
            if not (isinstance(node.func, ast.Name) and node.func.id == function):
                continue
            outer = next((w for w in self.module.enclosing(node, (ast.With, ast.AsyncWith))
                          if any(self._is_start_run(item.context_expr, scope) for item in w.items)), None)
            if outer is not None:
                return (f"in {function}(), which line {node.lineno} calls inside `with mlflow.start_run()` "
                        f"(line {outer.lineno})")
        return None

    def _top_level_statement(self, node: ast.Call) -> bool:
        """The call is a statement of the module itself (`mlflow.start_run()`, `run = mlflow.start_run()`),
        run once, in order: not inside a branch, a loop, a `with` or a `try`."""
        parents = self.module.parents()
        statement = parents.get(id(node))
        return isinstance(statement, (ast.Expr, ast.Assign)) and isinstance(parents.get(id(statement)), ast.Module)

    def _ended_as_context(self, node: ast.Call) -> bool:
        """`run = mlflow.start_run()` ... `with run:`: the block ends it."""
        statement = self.module.parents().get(id(node))
        names = {t.id for t in statement.targets if isinstance(t, ast.Name)} if isinstance(statement, ast.Assign) \
            else set()
        return any(isinstance(item.context_expr, ast.Name) and item.context_expr.id in names
                   for w in ast.walk(self.module.tree) if isinstance(w, (ast.With, ast.AsyncWith)) for item in w.items)

    def _stage_uris(self) -> None:
        """`models:/name/Production` URIs: stage-based registry references, in any string of the module. The
        URI is a string's contents, so a regex reads it; it runs over each string literal as written (an
        f-string whole), so that the finding points at the URI in the file."""
        source, module = self.module.source, self.module
        if "models:/" not in source.text:
            return
        for node in _string_literals(module.tree):
            where = module.location(node)
            start, end = source.offset(where.line, where.column), source.offset(where.end_line, where.end_column)
            for match in _STAGE_URI.finditer(source.text, start, end):
                self.file.add(RegistryStageUri(source.location(match.start(), match.end()), match.group()))

    def _is_start_run(self, expr: ast.AST, scope: Scope) -> bool:
        return isinstance(expr, ast.Call) and self.module.qualname(expr.func, scope) in START_RUN

    @staticmethod
    def _key_per_iteration(call: ast.Call, name: str, loop: ast.AST) -> bool:
        """Does the metric's key change with the loop (it is, or is built from, the loop's variable)?"""
        if not isinstance(loop, (ast.For, ast.AsyncFor)):
            return False
        names = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
        keys = argument(call, "key", 0) if name.endswith("log_metric") else argument(call, "metrics", 0)
        return keys is not None and any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(keys))


def _string_literals(tree: ast.AST) -> list[ast.Constant | ast.JoinedStr]:
    """The module's string literals in source order; an f-string is one (with what its braces hold)."""
    found: list[ast.Constant | ast.JoinedStr] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))):
            found.append(node)
            continue
        stack.extend(reversed(child_nodes(node)))
    return sorted(found, key=position)
