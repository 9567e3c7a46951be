"""What PyTorch Lightning's Trainer does with the arguments a script gives it: when it logs the training loss,
when it validates, and whether it validates at all. Ported from lightning 2.6.6 (`pytorch/trainer/trainer.py`,
`loops/training_epoch_loop.py`, `loops/fit_loop.py`, `trainer/connectors/logger_connector/logger_connector.py`)
and asked by the HF rules, which judge Lightning runs as they judge TrainingArguments'."""

from __future__ import annotations

from dataclasses import dataclass

from preflight.model import LightningHooks, LightningTrainer

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


def logs_training_loss_per_step(project, path: str) -> bool:
    """Do the LightningModules this script loads log in training_step, every step? (`self.log` defaults to
    on_step=True there: fx_validator.py)"""
    logs = [log for module in project.programs.loaded_modules(path)
            for hook in project.facts_in(module, LightningHooks) for log in hook.step_logs]
    return bool(logs) and all(logs)


def _positive_int(literal) -> bool:
    return isinstance(literal, int) and not isinstance(literal, bool) and literal > 0
