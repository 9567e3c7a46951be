"""W&B in Python: the runs a script starts (`wandb.init`, Lightning's `WandbLogger`; the other libraries
that start one add theirs to `PythonFile.runs`), `wandb.login`, sweeps (`wandb.sweep`, `wandb.agent` and
the functions the agent runs), and the metrics logged (`wandb.log`, `run.log`, Lightning's `self.log`)."""

from __future__ import annotations

import ast
import dataclasses

from preflight.findings import Location
from preflight.model import LoggedMetrics, RunStart, SweepDriver, TrackerCall, Value, WandbLogin
from preflight.sources import pysweeps
from preflight.sources.pycalls import Call, Library, PythonFile, calls, calls_where, methods
from preflight.sources.pyscope import Scope, argument, keyword_map, position, simple_name

INIT = {"wandb.init", "wandb.sdk.init", "wandb.sdk.wandb_init.init"}
AGENT = {"wandb.agent", "wandb.wandb_agent.agent"}
SWEEP = {"wandb.sweep", "wandb.sdk.wandb_sweep.sweep"}
LOGIN = {"wandb.login", "wandb.sdk.wandb_login.login"}
LIGHTNING_PREFIXES = ("lightning.", "pytorch_lightning.", "lightning_fabric.")
_RUN_CONSTRUCTORS = ("wandb.init", "wandb.sdk.init")  # what a run object (`run.log`, `run.config`) is built by


class Wandb(Library):
    def __init__(self, file: PythonFile) -> None:
        super().__init__(file)
        self.agent_functions: set[str] = set()
        self.sweep_calls: list[Call] = []
        self.logged: list[str] = []
        self.logged_unknown = False
        self.step_logs: list[tuple[ast.Call, Scope, bool]] = []  # (log call, scope, has step=)
        self._config_updated: bool | None = None

    @calls(*INIT)
    def init(self, call: Call) -> None:
        node, module = call.node, self.module
        kwargs, complete = module.kwargs(node, call.scope)
        loop = self._loop_without_finish(node, kwargs)
        if loop is not None:
            keywords = tuple(kw.arg for kw in node.keywords if kw.arg)
            self.file.add(TrackerCall(module.location(node), "wandb.init", keywords, complete,
                                      f"in the loop at line {loop}"))
        name, run_id = kwargs.get("name"), kwargs.get("id")
        settings = argument(node, "settings")
        if settings is not None:
            if isinstance(settings, ast.Call) \
                    and (module.qualname(settings.func, call.scope) or "").endswith("Settings"):
                settings_kwargs, settings_complete = module.kwargs(settings, call.scope)
                name = name or settings_kwargs.get("run_name")
                run_id = run_id or settings_kwargs.get("run_id")
                complete = complete and settings_complete
            else:
                complete = False
        self.file.start_run(call, RunStart.WANDB_INIT, name=name, run_id=run_id, mode=kwargs.get("mode"),
                            identity_known=complete, project=kwargs.get("project"), resume=kwargs.get("resume"),
                            config_given="config" in kwargs or not complete or self._config_updated_later(),
                            directory=kwargs.get("dir"), config_code=self._config_code(node))

    def _config_code(self, node: ast.Call) -> str | None:
        """The config= argument as written, when evaluating it again has no effect: a name, an attribute
        chain, or a literal on one line."""
        config = next((kw.value for kw in node.keywords if kw.arg == "config"), None)
        if config is None or getattr(config, "lineno", 0) != getattr(config, "end_lineno", -1):
            return None
        plain = all(isinstance(n, (ast.Name, ast.Attribute, ast.Load, ast.Constant, ast.Dict, ast.List, ast.Tuple,
                                   ast.UnaryOp, ast.USub))
                    for n in ast.walk(config))
        if not plain:
            return None
        where, source = self.module.location(config), self.module.source
        text = source.text[source.offset(where.line, where.column):source.offset(where.end_line, where.end_column)]
        return text if len(text) <= 200 else None

    @calls_where(lambda name: name.startswith(LIGHTNING_PREFIXES) and name.endswith(".WandbLogger"))
    def lightning_logger(self, call: Call) -> None:
        kwargs, complete = self.module.kwargs(call.node, call.scope, positional=("name", "save_dir", "version"))
        run_id = kwargs.get("id") or kwargs.get("version")
        self.file.start_run(call, RunStart.LIGHTNING_LOGGER, name=kwargs.get("name"), run_id=run_id,
                            mode=kwargs.get("mode"), identity_known=complete, project=kwargs.get("project"))

    @calls(*LOGIN)
    def login(self, call: Call) -> None:
        node = call.node
        key = argument(node, "key", 0)
        from_env = key is not None and self._reads_env(key, call.scope, "WANDB_API_KEY")
        literal = key is not None and self.module.literal(key, call.scope)[0]
        self.file.add(WandbLogin(self.module.location(node), key is not None, from_env, literal, self.file.site(node)))

    @calls(*AGENT)
    def agent(self, call: Call) -> None:
        function = argument(call.node, "function", 1)
        if function is not None:
            self.agent_functions.update(_function_names(function))
        self.file.add(SweepDriver(self.module.location(call.node), "wandb.agent",
                                  self._imported_function(function, call) if function is not None else None))

    def _imported_function(self, expr: ast.AST, call: Call) -> tuple[str, int] | None:
        """The function of another module `wandb.agent(function=...)` runs (`train` imported from a module,
        `lib.train`, `functools.partial(train, cfg)`), as a dotted name and import level."""
        if isinstance(expr, ast.Call) and expr.args and (self.module.qualname(expr.func, call.scope) or "").endswith(
                "partial"):
            expr = expr.args[0]
        if isinstance(expr, ast.Name) and expr.id in self.module.relative:
            module, level, name = self.module.relative[expr.id]
            return (f"{module}.{name}" if module else name, level)
        qualname = self.module.qualname(expr, call.scope)
        return (qualname, 0) if qualname and "." in qualname else None

    @calls(*SWEEP)
    def sweep(self, call: Call) -> None:
        self.file.add(SweepDriver(self.module.location(call.node), "wandb.sweep"))
        self.sweep_calls.append(call)

    @calls("wandb.log")
    @methods("log", "log_dict")
    def log(self, call: Call) -> None:
        """Keys of wandb.log / run.log / Lightning's self.log and log_dict (for SWP001), and which logs give
        a step (WB005)."""
        node, scope, func, module = call.node, call.scope, call.node.func, self.module
        is_wandb_log = call.name == "wandb.log" or (
            isinstance(func, ast.Attribute) and func.attr == "log"
            and module.constructor_of(func.value, scope) in _RUN_CONSTRUCTORS)
        is_lightning = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id == "self" and func.attr in ("log", "log_dict") and any(
                v.startswith(LIGHTNING_PREFIXES) for v in module.aliases.values())
        if not (is_wandb_log or is_lightning):
            return
        if is_wandb_log:
            committed = keyword_map(node).get("commit")
            if committed is None or module.literal(committed.value, scope) != (True, False):
                self.step_logs.append((node, scope, argument(node, "step", 1) is not None))
        first = node.args[0] if node.args else argument(node, "data") or argument(node, "name") or argument(
            node, "dictionary")
        if is_lightning and func.attr == "log":
            known, key = module.literal(first, scope) if first is not None else (False, None)
            if known and isinstance(key, str):
                self.logged.append(key)
            else:
                self.logged_unknown = True
            return
        entries = module.dict_expression(first, scope) if first is not None else None
        if isinstance(entries, ast.Dict) and all(k is not None for k in entries.keys):
            for key in entries.keys:
                known, text = module.literal(key, scope)
                if known and isinstance(text, str):
                    self.logged.append(text)
                else:
                    self.logged_unknown = True
        else:
            self.logged_unknown = True

    def finish(self) -> None:
        file = self.file
        for call in self.sweep_calls:
            spec = pysweeps.sweep_spec(self.module, call.node, call.scope, runs_here=bool(self.agent_functions))
            if spec is not None:
                file.add(spec)
        if self.logged or self.logged_unknown or file.trainer:
            file.add(LoggedMetrics(tuple(dict.fromkeys(self.logged)), self.logged_unknown, file.trainer,
                                   tuple(self._step_conflicts())))
        swept = self._sweep_functions()
        for run, chain in file.runs:
            if swept.intersection(chain):
                run = dataclasses.replace(run, in_sweep_function=True)
            file.add(run)

    # -- runs -----------------------------------------------------------------------------------

    def _loop_without_finish(self, call: ast.Call, kwargs: dict[str, Value]) -> int | None:
        """The line of a loop that runs this wandb.init repeatedly with nothing finishing the run."""
        reinit = kwargs.get("reinit")
        if reinit is not None and (not reinit.known or reinit.literal in (True, "finish_previous", "create_new")):
            return None
        parent = self.module.parents().get(id(call))
        if isinstance(parent, ast.withitem):
            return None  # `with wandb.init() as run:` finishes the run at the end of the block
        for loop in self.module.enclosing(call, (ast.For, ast.AsyncFor, ast.While)):
            finishes = any(isinstance(n, ast.Call) and simple_name(n.func) == "finish" for n in ast.walk(loop))
            if not finishes:
                return loop.lineno
        return None

    def _config_updated_later(self) -> bool:
        """`wandb.config.update(...)`, `run.config.setdefaults(...)`, `run.config[key] = ...` or
        `run.config.lr = ...` anywhere (on any `.config`: whose it is is not followed), or wandb's config
        handed on whole (`config = wandb.config`, `log_params(wandb.config)`), to be filled there."""
        if self._config_updated is None:
            self._config_updated = any(self._updates_config(node, parent) for node, parent in self.module.config_uses)
        return self._config_updated

    def _updates_config(self, node: ast.Attribute, parent: ast.AST) -> bool:
        if isinstance(parent, ast.Attribute) and parent.attr in ("update", "setdefaults"):
            called = self.module.parents().get(id(parent))
            return isinstance(called, ast.Call) and called.func is parent
        if isinstance(parent, (ast.Attribute, ast.Subscript)) and isinstance(parent.ctx, ast.Store):
            return parent.value is node
        return (self.module.qualname(node.value) or "") == "wandb" and (
            isinstance(parent, (ast.Assign, ast.AnnAssign, ast.keyword)) or
            (isinstance(parent, ast.Call) and node in parent.args))

    def _reads_env(self, expr: ast.AST, scope: Scope, variable: str) -> bool:
        for node in ast.walk(expr):
            if isinstance(node, ast.Constant) and node.value == variable:
                return True
        if isinstance(expr, ast.Name):
            target = self.module.resolve_name(expr, scope)
            return target is not None and self._reads_env(target, scope, variable)
        return False

    # -- sweeps ---------------------------------------------------------------------------------

    def _sweep_functions(self) -> set[str]:
        """The functions `wandb.agent` runs and every function they call by name, in this module."""
        if not self.agent_functions:
            return set()
        calls_by_function: dict[str, set[str]] = {}
        for node, _, chain in self.module.calls:
            if chain and isinstance(node.func, ast.Name):
                calls_by_function.setdefault(chain[-1], set()).add(node.func.id)
        seen: set[str] = set()
        stack = list(self.agent_functions)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(calls_by_function.get(name, ()))
        return seen

    # -- logged steps ---------------------------------------------------------------------------

    def _step_conflicts(self) -> list[tuple[Location, Location, str]]:
        """Explicit-step logs an implicit log of the same run gets ahead of. Each `log()` without step= logs
        at W&B's current step and moves it on by one; a `log(step=s)` with s below it is dropped with a
        warning (verified with wandb 0.31). With the step counting the iterations of its loop, that happens
        when an implicit log precedes it in the iteration, when two do, or when implicit logs before the loop
        move the step past the first iterations. An implicit log after the loop drops nothing."""
        found = []
        enclosing = self.module.enclosing
        implicit = [(c, s) for c, s, has_step in self.step_logs if not has_step]
        for call, scope, has_step in self.step_logs:
            loop = next(iter(enclosing(call, (ast.For, ast.AsyncFor))), None)
            if not has_step or loop is None or not _counts_iterations(argument(call, "step", 1), loop):
                continue
            mine = [c for c, s in implicit if s is scope and self._same_run(c, call)]
            inside = [c for c in mine if loop in enclosing(c, (ast.For, ast.AsyncFor))]
            before = [c for c in inside if position(c) < position(call)]
            ahead = [c for c in mine if c not in inside and position(c) < position(loop) and _starts_at_zero(loop)]
            if before:
                found.append((call, before[0], "earlier in the same iteration"))
            elif len(inside) >= 2:
                found.append((call, inside[0], f"{len(inside)} times in each iteration"))
            elif ahead:
                found.append((call, ahead[0], "before the loop, so the first steps are already passed"))
        return [(self.module.location(a), self.module.location(b), how) for a, b, how in found]

    def _same_run(self, one: ast.Call, other: ast.Call) -> bool:
        """Both log to the same run: `wandb.log` and a run object are the one run when the file starts one."""
        a, b = one.func.value, other.func.value  # type: ignore[attr-defined]
        if ast.dump(a) == ast.dump(b):
            return True
        starts = sum(1 for run, _ in self.file.runs if run.started_by is RunStart.WANDB_INIT)
        return starts <= 1


def _function_names(expr: ast.AST) -> set[str]:
    """The functions an argument names (`train`, `self.train`, `lambda: train(c)`, `partial(train, c)`)."""
    if isinstance(expr, ast.Name):
        return {expr.id}
    if isinstance(expr, ast.Attribute):
        return {expr.attr}
    if isinstance(expr, ast.Lambda):
        return {n.func.id for n in ast.walk(expr.body) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    if isinstance(expr, ast.Call):  # functools.partial(train, ...)
        return set().union(*(_function_names(a) for a in expr.args[:1])) if expr.args else set()
    return set()


def _counts_iterations(step: ast.AST | None, loop: ast.For) -> bool:
    """Is the step the loop's own counter (`for step in range(n)`, `for i, batch in enumerate(...)`)?"""
    names = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
    return isinstance(step, ast.Name) and step.id in names and isinstance(loop.iter, ast.Call) and \
        simple_name(loop.iter.func) in ("range", "enumerate")


def _starts_at_zero(loop: ast.For) -> bool:
    """`range(n)`, `range(0, n)`, `enumerate(x)`: the loop's counter starts at 0."""
    call = loop.iter
    if not isinstance(call, ast.Call):
        return False
    if simple_name(call.func) == "enumerate":
        start = argument(call, "start", 1)
        return start is None or (isinstance(start, ast.Constant) and start.value == 0)
    return len(call.args) == 1 or (len(call.args) >= 2 and isinstance(call.args[0], ast.Constant)
                                   and call.args[0].value == 0)
