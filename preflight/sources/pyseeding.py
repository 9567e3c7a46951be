"""A script's own training loop (`loss.backward()`, `optimizer.step()`) and how it seeds it: always,
never, or only when a `--seed` option is given. Scripts that train with a Trainer are left out: the
HF Trainer seeds itself (TrainingArguments.seed = 42)."""

from __future__ import annotations

import ast

from preflight.findings import Location
from preflight.model import ArgumentParserUse, TrainerCall, TrainingLoop
from preflight.sources.pycalls import Library
from preflight.sources.pyscope import Scope, keyword_map, simple_name

SACRED_EXPERIMENTS = {"sacred.Experiment", "sacred.experiment.Experiment"}
_TRACKER_PACKAGES = {"wandb", "mlflow", "neptune", "neptune_scale", "aim"}


class Seeding(Library):
    def finish(self) -> None:
        loop = self._training_loop()
        if loop is not None:
            self.file.add(loop)

    def _training_loop(self) -> TrainingLoop | None:
        module = self.module
        if self.file.trainer or any(isinstance(f, (TrainerCall, ArgumentParserUse)) for f in self.file.facts):
            return None
        if not {name.split(".")[0] for name in module.aliases.values()} & _TRACKER_PACKAGES:
            return None  # only runs that are logged to a tracker are checked (and the pre-filter keeps exactly those)
        step = next((call for call, _, _ in module.calls if _is_training_step(call)), None)
        if step is None:
            return None
        # seed calls, not counting the body of a seeding helper (`def set_seed(s): torch.manual_seed(s)`):
        # whether the helper's own call is conditional is what matters
        seeds = [call for call, scope, chain in module.calls if self._seeds(call, scope)
                 and not any("seed" in function.lower() for function in chain)]
        if not seeds:
            return TrainingLoop(module.location(step), "never")
        option = self._seed_option_without_default()
        if option is not None and all(self._guarded_by_seed(call) for call in seeds):
            return TrainingLoop(module.location(step), "conditional", option)
        return TrainingLoop(module.location(step), "always")

    def _seeds(self, call: ast.Call, scope: Scope) -> bool:
        """A call that seeds the run's generators: any `*seed*` function (torch.manual_seed, set_seed,
        seed_everything), MONAI's set_determinism, or a Sacred Experiment (Sacred seeds random, numpy and torch
        from the run's `seed` config before the main function runs)."""
        name = simple_name(call.func)
        return "seed" in name.lower() or name == "set_determinism" or \
            self.module.qualname(call.func, scope) in SACRED_EXPERIMENTS

    def _seed_option_without_default(self) -> Location | None:
        module = self.module
        for call, scope, _ in module.calls:
            if isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument" and call.args:
                known, flag = module.literal(call.args[0], scope)
                if not (known and isinstance(flag, str) and flag.lstrip("-").replace("-", "_") == "seed"):
                    continue
                default = keyword_map(call).get("default")
                if default is None or module.literal(default.value, scope) == (True, None):
                    return module.location(call)
        return None

    def _guarded_by_seed(self, call: ast.Call) -> bool:
        """Inside an `if` whose test reads a seed (`if args.seed is not None:`, `if args.seed:`)."""
        for statement in self.module.enclosing(call, (ast.If,)):
            if any("seed" in simple_name(n).lower() for n in ast.walk(statement.test)):
                return True
        return False


def _is_training_step(call: ast.Call) -> bool:
    """`loss.backward()`, `optimizer.step()`, `accelerator.backward(loss)`: the script trains by itself."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr == "backward":
        return True
    name = simple_name(func.value)
    return func.attr == "step" and ("optim" in name.lower() or name.lower() in ("opt", "optimiser"))
