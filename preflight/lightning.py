"""What PyTorch Lightning's Trainer does with the arguments a script gives it: when it logs the training loss,
when it validates, and whether it validates at all. Ported from lightning 2.6.6 (`pytorch/trainer/trainer.py`,
`loops/training_epoch_loop.py`, `loops/fit_loop.py`, `trainer/connectors/logger_connector/logger_connector.py`)
and asked by the HF rules, which judge Lightning runs as they judge TrainingArguments'.

`trainers(project)` is every Trainer the project builds: those a script constructs, and those
`hydra.utils.instantiate(cfg.trainer, ...)` builds from the configuration a launch composes (`preflight.hydra`),
only where that is certain: the instantiate call runs for the launch, it reads the @hydra.main config, the
composition is known, and the node's `_target_` is Lightning's Trainer. A program nothing in the tree launches
is judged with its defaults list, as `python train.py` runs it."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from preflight import hydra
from preflight.findings import Location
from preflight.model import (
    ConfigLoader, EntryKind, HydraInstantiate, LightningHooks, LightningTrainer, Loader, Value,
)
from preflight.program import RUNS, LaunchArguments

# Trainer.__init__ defaults (trainer.py: log_every_n_steps None -> 50, val_check_interval None -> 1.0,
# check_val_every_n_epoch 1, accumulate_grad_batches 1, limit_val_batches None -> 1.0)
DEFAULTS = {"log_every_n_steps": 50, "val_check_interval": 1.0, "check_val_every_n_epoch": 1,
            "accumulate_grad_batches": 1, "limit_val_batches": 1.0, "fast_dev_run": False, "barebones": False}


class Unknown(Exception):
    """An argument whose value is not known statically: no claim."""


@dataclass(frozen=True)
class Cadence:
    """When a Trainer validates (every `batches` training batches, else once per `epochs` epochs) and every how
    many training batches it logs (`log_every_n_steps` optimizer steps of `accumulate_grad_batches` batches)."""

    log_every: int  # log_every_n_steps
    accumulate: int  # accumulate_grad_batches
    batches: int | None  # val_check_interval as an int
    epochs: int | None  # check_val_every_n_epoch (None: counted over all batches)

    @property
    def log_period(self) -> int:
        return self.log_every * self.accumulate


def value(trainer: LightningTrainer, key: str):
    """The literal a Trainer argument has (its default when absent); Unknown when it is not known."""
    given = trainer.get(key)
    if given is None:
        if not trainer.complete:
            raise Unknown(key)
        return DEFAULTS[key]
    if not given.known:
        raise Unknown(key)
    return given.literal


def cadence(trainer: LightningTrainer) -> Cadence | None:
    """The Trainer's logging and validation cadence, None when one of them does not run by batches or epochs
    (no logging, a fraction of an epoch whose length is not known, a time interval, a fast_dev_run)."""
    if value(trainer, "fast_dev_run") or value(trainer, "barebones"):
        return None  # fast_dev_run runs a few batches; barebones turns logging off
    log_every, accumulate = value(trainer, "log_every_n_steps"), value(trainer, "accumulate_grad_batches")
    if not _positive_int(log_every) or not _positive_int(accumulate):
        return None  # 0 turns logging off; a schedule dict of accumulate_grad_batches is not one period
    interval, epochs = value(trainer, "val_check_interval"), value(trainer, "check_val_every_n_epoch")
    if epochs is not None and not _positive_int(epochs):
        return None
    if _positive_int(interval):
        # an int k validates every k training batches: of the epoch (batch_idx), or of the whole run when
        # check_val_every_n_epoch is None (total_batch_idx), training_epoch_loop.py `_should_check_val_fx`
        return Cadence(log_every, accumulate, interval, epochs)
    if isinstance(interval, float) and interval == 1.0 and epochs is not None:
        return Cadence(log_every, accumulate, None, epochs)  # once at the end of every `epochs`-th epoch
    return None  # a fraction of the epoch (int(max_batches * f)) or a duration


def validation_off(project, trainer: LightningTrainer) -> str | None:
    """Why a Trainer's fit never validates, when it can be told: `limit_val_batches=0`, no `validation_step`
    in the project, or fits given no validation data (no val loader, no datamodule) with no `val_dataloader`
    hook in the project (fit_loop.py and trainer.py: validation runs only with a val loader, a validation_step
    and limit_val_batches > 0). None when it validates or that is not known."""
    try:
        limit = value(trainer, "limit_val_batches")
    except Unknown:
        return None
    if isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit == 0:
        return "limit_val_batches=0"
    hooks = {name for hook in project.facts(LightningHooks) for name in hook.methods}
    if "training_step" not in hooks:
        return None  # the LightningModule it trains is not in sight
    if "validation_step" not in hooks:
        return "no LightningModule of the project defines validation_step"
    if trainer.fit_has_val_data is False and "val_dataloader" not in hooks:
        return "fit() is given no val_dataloaders or datamodule and no LightningModule defines val_dataloader"
    return None


def logs_training_loss_per_step(project, trainer: LightningTrainer) -> bool:
    """Do the LightningModules this Trainer's script loads (or its Hydra config names) log in training_step,
    every step? (`self.log` defaults to on_step=True there: fx_validator.py)"""
    modules = [*project.programs.loaded_modules(trainer.location.path), *trainer.modules]
    logs = [log for module in dict.fromkeys(modules)
            for hook in project.facts_in(module, LightningHooks) for log in hook.step_logs]
    return bool(logs) and all(logs)


def _positive_int(literal) -> bool:
    return isinstance(literal, int) and not isinstance(literal, bool) and literal > 0


# -- Trainers built by Hydra -------------------------------------------------------------------------

_PREFIXES = ("lightning.", "pytorch_lightning.")
_CADENCE = tuple(DEFAULTS)
_TRACKER_LOGGERS = ("WandbLogger", "MLFlowLogger", "NeptuneLogger", "CometLogger", "TensorBoardLogger")


def trainers(project) -> list[LightningTrainer]:
    """Every Lightning Trainer: built in a script, or by hydra.utils.instantiate from a composed config."""
    return project.derive("lightning.trainers",
                          lambda: [*project.facts(LightningTrainer), *dict.fromkeys(_hydra_trainers(project))],
                          lasting=True)


def _hydra_runs(project) -> list[tuple[str, LaunchArguments, Location | None]]:
    """(entry script, what the launch gives it, where its overrides are written) for each launch of a Hydra
    program, and the defaults of a Hydra program nothing launches."""
    programs = {loader.location.path for loader in project.facts(ConfigLoader)
                if loader.loader is Loader.HYDRA}
    if not programs or not project.facts(HydraInstantiate):
        return []
    from preflight import launches

    runs, launched = [], set()
    for launch in project.launches():
        if launch.entry.kind not in (EntryKind.PYTHON_SCRIPT, EntryKind.PYTHON_MODULE):
            continue
        script = project.entry(launch).script
        if script in programs:
            launched.add(script)
            arguments = launches.arguments(project, launch)
            if not arguments.flags:  # Hydra's own flags (`-m`, `--config-name`, `--cfg job`) change what runs
                runs.append((script, arguments, launch.location))
    runs += [(path, LaunchArguments(), None) for path in sorted(programs - launched)]
    return runs


def _hydra_trainers(project):
    programs = project.programs
    composed_for: dict[tuple, hydra.Composed | None] = {}  # one composition per config and command line
    for entry, arguments, at in _hydra_runs(project):
        reach = programs.reach(entry, arguments)
        for module in programs.loaded_modules(entry):
            for built in project.facts_in(module, HydraInstantiate):
                function = built.site.function if built.site else None
                if reach.of(module, built.site) != RUNS:
                    continue
                node = reach.hydra_node(built.config, module, function)
                if node is None:
                    continue
                main, (config_path, config_name), keys = node
                if not config_name:
                    continue
                folder = posixpath.normpath(posixpath.join(posixpath.dirname(main), config_path or "."))
                key = (folder, config_name, arguments.overrides, at)
                if key not in composed_for:
                    composed_for[key] = hydra.compose(project, folder, config_name, arguments.overrides, at)
                composed = composed_for[key]
                config = composed.root.get(*keys) if composed is not None else None
                if not isinstance(config, hydra.Node) or not _is_trainer(config.entries.get("_target_")):
                    continue
                if "_partial_" in config.entries or "_args_" in config.entries:
                    continue  # a partial the program calls later (with arguments not seen here), positional ones
                trainer = _trainer(project, entry, module, function, built, composed, config, reach)
                if trainer is not None:
                    yield trainer


def _is_trainer(target) -> bool:
    return isinstance(target, Value) and target.known and isinstance(target.literal, str) and \
        target.literal.startswith(_PREFIXES) and target.literal.endswith(".Trainer")


def _trainer(project, entry, module, function, built: HydraInstantiate, composed, config, reach):
    given = dict(built.keywords)
    args: dict[str, Value] = {}
    complete = built.complete
    for key in _CADENCE:
        found = given.get(key) or config.entries.get(key)
        if isinstance(found, hydra.Node):
            found = Value(location=built.location, text="{...}", known=False)
        if found is not None:
            args[key] = found
    if "logger" in given:
        trackers, known = _logger_trackers(project, module, function, built.logger, composed, reach)
    else:
        trackers, known = _trackers(config.entries.get("logger"))
    return LightningTrainer(
        built.location, tuple(args.items()), complete, trackers, known, built.fits, built.fit_has_val_data,
        built.validates, built.site, _target_modules(project, entry, composed.root))


def _logger_trackers(project, module, function, logger, composed, reach) -> tuple[tuple[str, ...], bool]:
    """The tracker loggers `logger=` builds from the config: instantiate(cfg.logger), or a project function
    given cfg.logger that instantiates what it is given (the template's `instantiate_loggers`)."""
    if logger is None:
        return (), False
    node = reach.hydra_node(logger[-1], module, function)
    if node is None:
        return (), False
    found = composed.root.get(*node[2])
    if logger[0] == "instantiate":
        return _trackers(found)
    targets = project.programs.resolve(module, logger[1])
    if len(targets) != 1:
        return (), False
    helper_module, helper = targets[0]
    if not any(b.site is not None and b.site.function == helper
               for b in project.facts_in(helper_module, HydraInstantiate)):
        return (), False
    if found is None or (isinstance(found, Value) and found.known and found.literal is None):
        return (), True  # `logger: null`: no loggers
    if not isinstance(found, hydra.Node):
        return (), False
    names, known = [], True
    for item in found.entries.values():
        if isinstance(item, hydra.Node) and "_target_" in item.entries:
            item_names, item_known = _trackers(item)
            names += item_names
            known &= item_known
    return tuple(names), known


def _trackers(node) -> tuple[tuple[str, ...], bool]:
    """The tracker loggers one config node instantiates (`_target_: ...WandbLogger`)."""
    if node is None:
        return (), True
    if isinstance(node, Value):
        return (), node.known and (node.literal is None or isinstance(node.literal, bool))
    target = node.entries.get("_target_")
    if not isinstance(target, Value) or not target.known or not isinstance(target.literal, str):
        return (), False
    name = target.literal.rsplit(".", 1)[-1]
    if not target.literal.startswith(_PREFIXES) or not name.endswith("Logger"):
        return (), False
    return ((name,) if name in _TRACKER_LOGGERS else ()), True


def _target_modules(project, entry: str, root) -> tuple[str, ...]:
    """The project modules the composed config's `_target_`s live in (the LightningModule, the datamodule)."""
    found: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        for key, item in node.entries.items():
            if isinstance(item, hydra.Node):
                stack.append(item)
            elif key == "_target_" and item.known and isinstance(item.literal, str) and "." in item.literal:
                located = project.programs.module_file(entry, item.literal, 0)
                if located is not None and located[0] not in found:
                    found.append(located[0])
    return tuple(found)
