"""Accelerate in Python: `Accelerator(log_with=...)` and the W&B run its `init_trackers(...)` starts,
with the name and id given in `init_kwargs={"wandb": {...}}`."""

from __future__ import annotations

import ast

from preflight.sources.pycalls import Call, Library, PythonFile, calls, methods
from preflight.sources.pyscope import Scope, argument
from preflight.model import RunStart

ACCELERATOR = {"accelerate.Accelerator", "accelerate.accelerator.Accelerator"}


class Accelerate(Library):
    def __init__(self, file: PythonFile) -> None:
        super().__init__(file)
        self.logs_to_wandb: list[bool | None] = []  # per Accelerator built in the file (None: cannot tell)
        self.init_trackers: list[Call] = []

    @calls(*ACCELERATOR)
    def accelerator(self, call: Call) -> None:
        self.logs_to_wandb.append(self._uses_wandb(call.node, call.scope))

    @methods("init_trackers")
    def start_trackers(self, call: Call) -> None:
        if call.name is None:
            self.init_trackers.append(call)

    def finish(self) -> None:
        if True not in self.logs_to_wandb:
            return
        module = self.module
        for call in self.init_trackers:
            node, scope = call.node, call.scope
            if self._init_trackers_wandb(node, scope) is not True:
                continue
            init_kwargs = argument(node, "init_kwargs", 2)
            name = run_id = None
            complete = True
            if init_kwargs is not None:
                wandb_kwargs = module.dict_entry(init_kwargs, "wandb", scope)
                if wandb_kwargs is False:
                    complete = False
                elif wandb_kwargs is not None:
                    entries, complete = module.dict_entries(wandb_kwargs, scope)
                    name, run_id = entries.get("name"), entries.get("id")
            self.file.start_run(call, RunStart.INIT_TRACKERS, name=name, run_id=run_id, identity_known=complete)

    def _uses_wandb(self, call: ast.Call, scope: Scope) -> bool | None:
        log_with = argument(call, "log_with", 3)
        if log_with is None:
            return False
        elements = log_with.elts if isinstance(log_with, (ast.List, ast.Tuple)) else [log_with]
        answer: bool | None = False
        for element in elements:
            known, value = self.module.literal(element, scope)
            if known and isinstance(value, str):
                if value.lower() == "wandb":
                    return True
                if value.lower() == "all":
                    answer = None
            elif isinstance(element, ast.Attribute) and element.attr.upper() == "WANDB":
                return True
            else:
                answer = None
        return answer

    def _init_trackers_wandb(self, call: ast.Call, scope: Scope) -> bool | None:
        """Does the Accelerator this `init_trackers` is called on log to W&B? Its receiver is followed to
        the `Accelerator(log_with=...)` it was built from; when that cannot be seen, the file's only
        Accelerator decides, if there is one."""
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        candidates: list[ast.AST] = []
        for built in self.module.assigned(receiver, scope) if isinstance(receiver, ast.Name) else []:
            candidates += [built.body, built.orelse] if isinstance(built, ast.IfExp) else [built]
        answers = [self._uses_wandb(c, scope) for c in candidates
                   if isinstance(c, ast.Call) and self.module.qualname(c.func, scope) in ACCELERATOR]
        if answers:
            return True if True in answers else (None if None in answers else False)
        return self.logs_to_wandb[0] if len(self.logs_to_wandb) == 1 else None
