"""Hydra in Python: `hydra.utils.instantiate(cfg.x, ...)`, an object built from a node of the program's composed
configuration (`preflight.hydra` composes it for a launch). What the node is, which keywords replace its keys,
what `logger=` is built from, and the Lightning `fit`/`validate` calls on the result, so that a Lightning Trainer
built this way is judged like one written in the script (`preflight.lightning.trainers`)."""

from __future__ import annotations

import ast

from preflight.model import HydraInstantiate
from preflight.sources import pyoutline
from preflight.sources.pycalls import Call, Library, calls
from preflight.sources.pylightning import fit_has_val_data, val_data
from preflight.sources.pyscope import keyword_map

INSTANTIATE = ("hydra.utils.instantiate", "hydra._internal.instantiate._instantiate2.instantiate")


class Hydra(Library):
    def __init__(self, file) -> None:
        super().__init__(file)
        self.built: list[Call] = []

    @calls(*INSTANTIATE)
    def instantiate(self, call: Call) -> None:
        self.built.append(call)

    def finish(self) -> None:
        if not self.built:
            return
        conditions = pyoutline.Conditions(self.module)
        methods = self._methods()
        for call in self.built:
            node = call.node
            config = node.args[0] if node.args else keyword_map(node).get("config")
            config = config.value if isinstance(config, ast.keyword) else config
            if config is None or isinstance(config, ast.Starred):
                continue
            reference = conditions.reference(config, call.scope)  # any: a helper's `instantiate(conf)` counts too
            complete = len(node.args) <= 1 and all(k.arg is not None for k in node.keywords)
            keywords = tuple((k.arg, self.module.value(k.value, call.scope, self.module.keyword_location(k)))
                             for k in node.keywords if k.arg not in (None, "config"))
            fits = [(fit, has) for fit, has, built in methods if built is node and fit is not None]
            self.file.add(HydraInstantiate(
                self.module.location(node), reference, keywords, complete,
                self._logger(conditions, keyword_map(node).get("logger"), call),
                tuple(self.module.location(f) for f, _ in fits), val_data([has for _, has in fits]) if fits else None,
                any(built is node and fit is None for fit, _, built in methods), self.file.site(node)))

    def _logger(self, conditions: pyoutline.Conditions, keyword, call: Call) -> tuple | None:
        """What `logger=` is built from: hydra.utils.instantiate(cfg.logger) or a project function given
        cfg.logger (`logger = instantiate_loggers(cfg.get("logger"))`), directly or through a name."""
        expr = keyword.value if keyword is not None else None
        if isinstance(expr, ast.Name):
            expr = self.module.resolve_name(expr, call.scope)
        if not isinstance(expr, ast.Call) or len(expr.args) != 1 or expr.keywords:
            return None
        reference = conditions.reference(expr.args[0], call.scope)
        if reference[:2] != ("ref", "param"):
            return None
        name = self.module.qualname(expr.func, call.scope)
        if name in INSTANTIATE:
            return ("instantiate", reference)
        if isinstance(expr.func, ast.Name) and name and "." in name:  # imported: `from src.utils import f`
            return ("call", ("module", name, 0), reference)
        if isinstance(expr.func, ast.Name) and any(
                isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef)) and d.name == expr.func.id
                for d in self.module.tree.body):
            return ("call", ("local", expr.func.id), reference)
        return None

    def _methods(self) -> list[tuple[ast.Call | None, bool | None, ast.Call]]:
        """(fit call or None for a validate call, whether the fit gets validation data, the instantiate call
        its receiver was built by)."""
        found = []
        for node, scope, _ in self.module.calls:
            func = node.func
            if not isinstance(func, ast.Attribute) or func.attr not in ("fit", "validate") or \
                    not isinstance(func.value, ast.Name):
                continue
            built = self.module.resolve_name(func.value, scope)
            if not isinstance(built, ast.Call) or self.module.qualname(built.func, scope) not in INSTANTIATE:
                continue
            if func.attr == "validate":
                found.append((None, None, built))
            else:
                found.append((node, fit_has_val_data(self.module, node, scope), built))
        return found
