"""Weave in Python: `weave.init` logs traces to W&B, so it needs the W&B key like a run does; `@weave.op`
functions are traced only once it has run."""

from __future__ import annotations

import ast

from preflight.model import Tracker, TrackerUse, WeaveOps
from preflight.sources.pycalls import Call, Library, calls
from preflight.sources.pyscope import is_main_block

_OP = "weave.op"


class Weave(Library):
    @calls("weave.init")
    def init(self, call: Call) -> None:
        self.file.add(TrackerUse(self.module.location(call.node), Tracker.WANDB, "weave.init",
                                 self.file.site(call.node)))

    def finish(self) -> None:
        """The `@weave.op` and `@weave.op(...)` decorators of the module's functions and methods."""
        module = self.module
        if not any(name == "weave" or name.startswith("weave.") for name in module.aliases.values()):
            return  # the module does not import weave
        ops = []
        for node in ast.walk(module.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if module.qualname(target) == _OP:
                        ops.append(decorator)
        if not ops:
            return
        first = min(ops, key=lambda d: (d.lineno, d.col_offset))
        program = module.source.path.endswith(".ipynb") or any(is_main_block(n) for n in module.tree.body)
        self.file.add(WeaveOps(module.location(first), len(ops), program))
