"""A script's own training (`loss.backward()`, `optimizer.step()`; Lightning's `Trainer.fit`, Keras'
`model.fit`; a stochastic scikit-learn estimator) and how it seeds it: always, never, or only when a
`--seed` option is given. Scripts that train with an HF Trainer are left out: it seeds itself
(TrainingArguments.seed = 42). Lightning's Trainer does not (`seed_everything` does), nor does Keras
(`keras.utils.set_random_seed` does); a scikit-learn estimator with `random_state=None` draws from numpy's
global generator, so `np.random.seed` or its own `random_state=` seeds it."""

from __future__ import annotations

import ast

from preflight.findings import Location
from preflight.model import ArgumentParserUse, Seeding, TrainerCall, TrainingLoop
from preflight.sources.pycalls import Library
from preflight.sources.pyscope import Scope, keyword_map, simple_name

SACRED_EXPERIMENTS = {"sacred.Experiment", "sacred.experiment.Experiment"}
_TRACKER_PACKAGES = {"wandb", "mlflow", "neptune", "neptune_scale", "aim", "comet_ml"}
_TRACKER_LOGGERS = {"WandbLogger", "MLFlowLogger", "NeptuneLogger", "CometLogger"}  # Lightning's
_LIGHTNING = ("lightning.", "pytorch_lightning.")
_KERAS = ("keras.", "tensorflow.keras.", "tf_keras.")
# Estimators whose fit draws random numbers with the default random_state=None, so that two fits of the same
# data differ (bootstrap samples and random feature subsets, weight initialisation, shuffling, initial
# centroids), and the split helper that shuffles. Not the single trees and gradient boosting, whose
# random_state only breaks ties between equally good splits (the fitted model is the same in practice).
_STOCHASTIC_ESTIMATORS = {
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
    "MLPClassifier", "MLPRegressor", "SGDClassifier", "SGDRegressor", "KMeans", "MiniBatchKMeans",
    "IsolationForest", "BaggingClassifier", "BaggingRegressor", "train_test_split",
}


class Seeds(Library):
    def finish(self) -> None:
        loop = self._training_loop()
        if loop is not None:
            self.file.add(loop)

    def _training_loop(self) -> TrainingLoop | None:
        module = self.module
        if self.file.trainer or any(isinstance(f, (TrainerCall, ArgumentParserUse)) for f in self.file.facts):
            return None
        imported = set(module.aliases.values())
        if not ({name.split(".")[0] for name in imported} & _TRACKER_PACKAGES
                or {name.rsplit(".", 1)[-1] for name in imported} & _TRACKER_LOGGERS):
            return None  # only runs that are logged to a tracker are checked (and the pre-filter keeps exactly those)
        steps = [(call, how) for call, scope, _ in module.calls
                 if (how := self._training_step(call, scope)) is not None]
        if not steps:
            return None
        # what trains, rather than the split before it: an unseeded forest is the draw to seed even where the
        # split is seeded, unused or only evaluates
        step = next((s for s in steps if "train_test_split" not in s[1]), steps[0])
        # seed calls, not counting the body of a seeding helper (`def set_seed(s): torch.manual_seed(s)`):
        # whether the helper's own call is conditional is what matters
        seeds = [call for call, scope, chain in module.calls if self._seeds(call, scope)
                 and not any("seed" in function.lower() for function in chain)]
        node, how = step
        if not seeds:
            return TrainingLoop(module.location(node), Seeding.NEVER, trains_with=how)
        option = self._seed_option_without_default()
        if option is not None and all(self._guarded_by_seed(call) for call in seeds):
            return TrainingLoop(module.location(node), Seeding.CONDITIONAL, option, trains_with=how)
        return TrainingLoop(module.location(node), Seeding.ALWAYS, trains_with=how)

    def _training_step(self, call: ast.Call, scope: Scope) -> str | None:
        """How this call trains, if it does: its own step, Lightning's or Keras' fit, or an unseeded
        stochastic scikit-learn estimator."""
        if is_training_step(call):
            return "its own loop"
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "fit":
            built = self.module.constructor_of(func.value, scope) or ""
            if built.startswith(_LIGHTNING) and built.endswith(".Trainer"):
                return "Lightning's Trainer.fit"
            if built.startswith(_KERAS) or (isinstance(func.value, ast.Name) and self._compiled(func.value.id)):
                return "Keras' model.fit"
            return None
        name = self.module.qualname(func, scope) or ""
        if name.startswith("sklearn.") and name.rsplit(".", 1)[-1] in _STOCHASTIC_ESTIMATORS \
                and "random_state" not in keyword_map(call):
            return f"scikit-learn's {name.rsplit('.', 1)[-1]} without random_state"
        return None

    def _compiled(self, name: str) -> bool:
        """`name.compile(optimizer=..., loss=...)` in a module that imports Keras: a Keras model."""
        if not any(alias.split(".")[0] in ("keras", "tensorflow", "tf_keras")
                   for alias in self.module.aliases.values()):
            return False
        return any(isinstance(c.func, ast.Attribute) and c.func.attr == "compile" and isinstance(c.func.value, ast.Name)
                   and c.func.value.id == name for c, _, _ in self.module.calls)

    def _seeds(self, call: ast.Call, scope: Scope) -> bool:
        """A call that seeds the run's generators: any `*seed*` function (torch.manual_seed, set_seed,
        seed_everything, keras.utils.set_random_seed), MONAI's set_determinism, or a Sacred Experiment (Sacred
        seeds random, numpy and torch from the run's `seed` config before the main function runs). Not a seed of
        one generator object (`torch.Generator().manual_seed(0)`, a loader's or a split's), nor one in a
        conditional expression (`... if split == "val" else None`): the training's own draws stay unseeded."""
        name = simple_name(call.func)
        if not ("seed" in name.lower() or name == "set_determinism"
                or self.module.qualname(call.func, scope) in SACRED_EXPERIMENTS):
            return False
        if isinstance(call.func, ast.Attribute) and name == "manual_seed" \
                and (self.module.constructor_of(call.func.value, scope) or "").endswith("Generator"):
            return False
        return not self.module.enclosing(call, (ast.IfExp,))

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


def is_training_step(call: ast.Call) -> bool:
    """`loss.backward()`, `optimizer.step()`, `accelerator.backward(loss)`: the script trains by itself."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr == "backward":
        return True
    name = simple_name(func.value)
    return func.attr == "step" and ("optim" in name.lower() or name.lower() in ("opt", "optimiser"))
