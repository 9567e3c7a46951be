"""What a script's own training loop logs to its tracker beside the loss: the learning rate its scheduler
sets and the grad norm `clip_grad_norm_` returns. Only a loop that trains by itself (`loss.backward()`,
`optimizer.step()`) and logs a loss to W&B, MLflow or Accelerate's trackers is read; what it logs must be
readable (literal keys) in every tracker call, else nothing is claimed."""

from __future__ import annotations

import ast
import re

from preflight.model import ArgumentParserUse, LoopLogging, TrainerCall
from preflight.sources.pycalls import Library
from preflight.sources.pyscope import Scope, simple_name
from preflight.sources.pyseeding import is_training_step

_WANDB_RUNS = ("wandb.init", "wandb.sdk.init")
_ACCELERATORS = ("accelerate.Accelerator", "accelerate.accelerator.Accelerator")
# The learning-rate schedulers of torch, transformers, diffusers and timm (a diffusion model's noise
# scheduler, whose `step(model_output, t, sample)` denoises, is none of them)
_LR_SCHEDULER_MODULES = ("torch.optim.lr_scheduler.", "timm.scheduler.")
_LR_SCHEDULER_FACTORY = re.compile(r"^(?:transformers|diffusers|timm)\..*(?:get_scheduler|_schedule(?:_with_warmup)?"
                                   r"|create_scheduler\w*)$")
_CLIP = "clip_grad_norm_"
# What a logging call's text holds when it logs the learning rate or a gradient norm
_LR_TEXT = re.compile(r"(?<![A-Za-z])lr(?![a-z])|learning[_ -]?rate|get_last_lr|get_lr\(|param_groups", re.IGNORECASE)
_NORM_TEXT = re.compile(r"norm", re.IGNORECASE)
# Other logging calls (TensorBoard, a project's logger, Aim): their text counts as logged, never as a loss
_OTHER_LOGS = {"log", "log_metric", "log_metrics", "log_dict", "add_scalar", "add_scalars", "log_scalar",
               "log_scalars", "track", "log_stats", "update"}


class LoopMetrics(Library):
    def finish(self) -> None:
        module, file = self.module, self.file
        if file.trainer or any(isinstance(f, (TrainerCall, ArgumentParserUse)) for f in file.facts):
            return  # the HF Trainer logs learning_rate and grad_norm itself
        if not any(is_training_step(call) for call, _, _ in module.calls):
            return
        tracker_calls: list[tuple[ast.Call, str, list[str] | None]] = []
        texts: list[str] = []
        for call, scope, _ in module.calls:
            found = self._tracker_log(call, scope)
            if found is not None:
                tracker_calls.append((call, *found))
                texts.append(self._logged_text(call, scope))
            elif isinstance(call.func, ast.Attribute) and call.func.attr in _OTHER_LOGS:
                texts.append(self._logged_text(call, scope))
        if not tracker_calls or any(keys is None for _, _, keys in tracker_calls):
            return  # no tracker logging, or some of it cannot be read: it may hold the learning rate
        losses = [(call, tracker) for call, tracker, keys in tracker_calls if any("loss" in k.lower() for k in keys)]
        if not losses:
            return
        logged = "\n".join(texts)
        scheduler = None if _LR_TEXT.search(logged) else self._scheduler_step()
        grad_norm = None if _NORM_TEXT.search(logged) else self._dropped_grad_norm()
        if scheduler is None and grad_norm is None:
            return
        call, tracker = losses[0]
        file.add(LoopLogging(module.location(call), tracker,
                             module.location(scheduler) if scheduler is not None else None,
                             module.location(grad_norm) if grad_norm is not None else None))

    def _tracker_log(self, call: ast.Call, scope: Scope) -> tuple[str, list[str] | None] | None:
        """(tracker, the keys it logs or None when they cannot be read) for a call that logs to a tracker."""
        module, func = self.module, call.func
        name = module.qualname(func, scope)
        if name in ("mlflow.log_metric", "mlflow.log_metrics"):
            first = call.args[0] if call.args else next(
                (kw.value for kw in call.keywords if kw.arg in ("key", "metrics")), None)
            if name == "mlflow.log_metric":
                known, key = module.literal(first, scope) if first is not None else (False, None)
                return "MLflow", [key] if known and isinstance(key, str) else None
            return "MLflow", self._dict_keys(first, scope)
        if not isinstance(func, ast.Attribute) or func.attr != "log":
            return None
        if name in ("wandb.log", "wandb.run.log") or module.constructor_of(func.value, scope) in _WANDB_RUNS:
            tracker = "W&B"
        elif module.constructor_of(func.value, scope) in _ACCELERATORS:
            tracker = "Accelerate's trackers"
        else:
            return None
        first = call.args[0] if call.args else next((kw.value for kw in call.keywords if kw.arg in ("data", "values")),
                                                    None)
        return tracker, self._dict_keys(first, scope)

    def _dict_keys(self, expr: ast.AST | None, scope: Scope) -> list[str] | None:
        found = self.module.dict_expression(expr, scope) if expr is not None else None
        if not isinstance(found, ast.Dict):
            return None
        keys = []
        for key in found.keys:
            known, text = self.module.literal(key, scope) if key is not None else (False, None)
            if not (known and isinstance(text, str)):
                return None
            keys.append(text)
        return keys

    def _logged_text(self, call: ast.Call, scope: Scope) -> str:
        """The call as written, and the dict literal a name it passes stands for."""
        module = self.module
        parts = [module.text(call, limit=100_000)]
        for arg in [*call.args, *(kw.value for kw in call.keywords)]:
            found = module.dict_expression(arg, scope) if isinstance(arg, ast.Name) else None
            if found is not None:
                parts.append(module.text(found, limit=100_000))
        return " ".join(parts)

    def _scheduler_step(self) -> ast.Call | None:
        """The first `scheduler.step()` of a learning-rate scheduler the module builds (also once handed
        through `accelerator.prepare`)."""
        names = self._scheduler_names()
        for call, _, _ in self.module.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "step" and simple_name(func.value) in names \
                    and len(call.args) <= 1:
                return call
        return None

    def _scheduler_names(self) -> set[str]:
        module = self.module
        names: set[str] = set()
        for statement, scope in module.assignments:
            value = statement.value
            if isinstance(value, ast.Call) and self._builds_lr_scheduler(value, scope):
                names.update(simple_name(t) for t in statement.targets if isinstance(t, (ast.Name, ast.Attribute)))
        for statement, _ in module.assignments:  # `model, opt, sched = accelerator.prepare(model, opt, sched)`
            value = statement.value
            if isinstance(value, ast.Call) and simple_name(value.func) == "prepare" and statement.targets \
                    and isinstance(statement.targets[0], ast.Tuple):
                for target, arg in zip(statement.targets[0].elts, value.args):
                    if simple_name(arg) in names:
                        names.add(simple_name(target))
        names.discard("")
        return names

    def _builds_lr_scheduler(self, call: ast.Call, scope: Scope) -> bool:
        """A scheduler that changes the learning rate (`get_constant_schedule` keeps it as it is)."""
        name = self.module.qualname(call.func, scope) or ""
        if name.rsplit(".", 1)[-1] == "get_constant_schedule":
            return False
        if name.endswith("get_scheduler"):  # get_scheduler("constant", ...)
            kind = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "name"), None)
            if kind is not None and self.module.literal(kind, scope) == (True, "constant"):
                return False
        return name.startswith(_LR_SCHEDULER_MODULES) or bool(_LR_SCHEDULER_FACTORY.match(name))

    def _dropped_grad_norm(self) -> ast.Call | None:
        """The first `clip_grad_norm_(...)` whose result (the total norm of the gradients) the module drops:
        a statement of its own. A result kept in a name is trusted to be used."""
        parents = self.module.parents()
        for call, _, _ in self.module.calls:
            if simple_name(call.func) == _CLIP and isinstance(parents.get(id(call)), ast.Expr):
                return call
        return None
