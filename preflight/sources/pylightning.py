"""PyTorch Lightning in Python: the `Trainer` a script builds (its logging and validation cadence, the tracker
loggers it is given, what its `fit` gets), the LightningModule hooks a module defines (`validation_step`,
`val_dataloader`, the `self.log` calls of `training_step`), and the `log_model` of the tracker loggers."""

from __future__ import annotations

import ast

from preflight.model import LightningHooks, LightningTrainer, LoggerModelLogging
from preflight.sources.pycalls import Call, Library, calls_where
from preflight.sources.pyscope import Scope, keyword_map

PREFIXES = ("lightning.", "pytorch_lightning.")
# The Trainer arguments that decide when it logs and validates (lightning 2.6 trainer/trainer.py `__init__`)
CADENCE = ("log_every_n_steps", "val_check_interval", "check_val_every_n_epoch", "accumulate_grad_batches",
           "limit_val_batches", "fast_dev_run", "barebones")
TRACKER_LOGGERS = ("WandbLogger", "MLFlowLogger", "NeptuneLogger", "CometLogger", "TensorBoardLogger")
_MODEL_LOGGING = ("WandbLogger", "MLFlowLogger")  # the loggers with log_model (loggers/wandb.py, loggers/mlflow.py)
_HOOKS = ("training_step", "validation_step", "val_dataloader")


def _is_trainer(name: str) -> bool:
    return name.startswith(PREFIXES) and name.endswith(".Trainer")


class Lightning(Library):
    def __init__(self, file) -> None:
        super().__init__(file)
        self.trainers: list[Call] = []

    @calls_where(_is_trainer)
    def trainer(self, call: Call) -> None:
        self.trainers.append(call)

    @calls_where(lambda name: name.startswith(PREFIXES) and name.rsplit(".", 1)[-1] in _MODEL_LOGGING)
    def logger(self, call: Call) -> None:
        value = keyword_map(call.node).get("log_model")
        if value is not None:
            self.file.add(LoggerModelLogging(self.module.location(call.node), call.name.rsplit(".", 1)[-1],
                                             self.module.value(value.value, call.scope,
                                                               self.module.keyword_location(value))))

    def finish(self) -> None:
        self._hooks()
        if not self.trainers:
            return
        fits, validates = self._trainer_methods()
        only = len(self.trainers) == 1
        for call in self.trainers:
            module = self.module
            kwargs, complete = module.kwargs(call.node, call.scope)
            trackers, known = self._trackers(call)
            self.file.add(LightningTrainer(
                module.location(call.node), tuple((k, v) for k, v in kwargs.items() if k in CADENCE), complete,
                trackers, known, tuple(module.location(f) for f, _ in fits) if only else (),
                val_data([has for _, has in fits]) if only and fits else None, validates,
                self.file.site(call.node)))

    def _trackers(self, call: Call) -> tuple[tuple[str, ...], bool]:
        """The tracker loggers of `logger=` (a logger, a name bound to one, a list of them), and whether
        every element could be resolved."""
        value = keyword_map(call.node).get("logger")
        if value is None:
            return (), True  # Lightning's default: TensorBoard or CSV files in lightning_logs/
        expr = value.value
        for _ in range(3):  # `logger = [WandbLogger(...), CSVLogger(...)]`, then `logger=logger`
            if isinstance(expr, ast.Name) and isinstance(resolved := self.module.resolve_name(expr, call.scope),
                                                         (ast.List, ast.Tuple, ast.Name)):
                expr = resolved
        elements = expr.elts if isinstance(expr, (ast.List, ast.Tuple)) else [expr]
        found, known = [], True
        for element in elements:
            if isinstance(element, ast.Constant):
                continue  # True (the default logger), False/None (none)
            built = self.module.constructor_of(element, call.scope) or ""
            name = built.rsplit(".", 1)[-1]
            if not built.startswith(PREFIXES) or not name.endswith("Logger"):
                known = False
            elif name in TRACKER_LOGGERS:
                found.append(name)
        return tuple(found), known

    def _trainer_methods(self) -> tuple[list[tuple[ast.Call, bool | None]], bool]:
        """Each `.fit(...)` on a Lightning Trainer with whether it is given validation data, and whether a
        `.validate(...)` is called on one."""
        fits, validates = [], False
        for node, scope, _ in self.module.calls:
            func = node.func
            if not isinstance(func, ast.Attribute) or func.attr not in ("fit", "validate"):
                continue
            if not _is_trainer(self.module.constructor_of(func.value, scope) or ""):
                continue
            if func.attr == "validate":
                validates = True
            else:
                fits.append((node, fit_has_val_data(self.module, node, scope)))
        return fits, validates

    def _hooks(self) -> None:
        if not any(name in self.module.source.text for name in _HOOKS):
            return  # no method of that name: the walk of the whole tree would find none
        found: list[ast.FunctionDef] = []
        step_logs: list[bool] = []
        for node in ast.walk(self.module.tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in _HOOKS:
                    found.append(item)
                    if item.name == "training_step":
                        step_logs += [_per_step(c) for c in ast.walk(item) if _is_self_log(c)]
        if found:
            first = min(found, key=lambda f: (f.lineno, f.col_offset))
            self.file.add(LightningHooks(self.module.location(first), tuple(sorted({f.name for f in found})),
                                         tuple(step_logs)))


def fit_has_val_data(module, node: ast.Call, scope: Scope) -> bool | None:
    """`fit(model, train_dataloaders=None, val_dataloaders=None, datamodule=None, ...)` (lightning 2.6): a
    val loader or a datamodule (which may hold one) is validation data; a train DataLoader alone is none.
    A second positional argument that is not a DataLoader may be a datamodule: not known."""
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return None
    keywords = {k.arg: k.value for k in node.keywords}
    if len(node.args) >= 3 or "val_dataloaders" in keywords or "datamodule" in keywords:
        return True
    train = node.args[1] if len(node.args) >= 2 else keywords.get("train_dataloaders")
    if train is None:
        return False
    built = module.constructor_of(train, scope) or ""
    return False if built.endswith(".DataLoader") else None


def val_data(answers: list[bool | None]) -> bool | None:
    if any(a is True for a in answers):
        return True
    return None if any(a is None for a in answers) else False


def _is_self_log(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and node.func.attr in ("log", "log_dict") and isinstance(node.func.value, ast.Name) \
        and node.func.value.id == "self"


def _per_step(call: ast.Call) -> bool:
    """Does this `self.log` in training_step log every step? on_step defaults to True there (lightning 2.6
    core/module.py `log`, trainer/connectors/logger_connector/fx_validator.py: training_step allows on_step,
    default on_step=True, on_epoch=False); only a literal answer counts."""
    keyword = keyword_map(call).get("on_step")
    if keyword is None:
        return not any(k.arg is None for k in call.keywords)
    return isinstance(keyword.value, ast.Constant) and keyword.value.value is True
