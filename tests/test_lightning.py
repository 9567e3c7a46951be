"""PyTorch Lightning: the Trainer's logging and validation cadence (HF001), a fit that never validates (HF014)
and the loggers' log_model (WB009), in the shapes Lightning projects take: a LightningModule in its own module,
`pytorch_lightning as pl`, a list of loggers, a datamodule, a Trainer built by Hydra."""

from __future__ import annotations

import pytest

MODEL = '''import lightning as L


class LitModel(L.LightningModule):
    def training_step(self, batch, batch_idx):
        loss = self.loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self.loss(batch))
'''

TRAIN = '''import lightning as L
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from torch.utils.data import DataLoader

from models.lit import LitModel


def main():
    L.seed_everything(42)
    logger = [WandbLogger(project="demo", name="run-1"), CSVLogger("logs")]
    trainer = L.Trainer(logger=logger, {trainer})
    trainer.fit(LitModel(), {fit})


if __name__ == "__main__":
    main()
'''


def files(trainer: str = "max_epochs=3", fit: str = "DataLoader(train), DataLoader(val)", model: str = MODEL):
    return {"models/__init__.py": "", "models/lit.py": model, "train.py": TRAIN.format(trainer=trainer, fit=fit)}


@pytest.mark.parametrize("trainer, expected", [
    ("val_check_interval=250, log_every_n_steps=100", ["train.py:11:40: HF001"]),
    ("val_check_interval=75", ["train.py:11:40: HF001"]),  # the default log_every_n_steps is 50
    ("val_check_interval=100", []),
    ("val_check_interval=150, accumulate_grad_batches=2", ["train.py:11:40: HF001"]),  # logs every 100 batches
    ("val_check_interval=200, accumulate_grad_batches=2", []),
    ("val_check_interval=250, log_every_n_steps=100, check_val_every_n_epoch=None", ["train.py:11:40: HF001"]),
    ("val_check_interval=250, log_every_n_steps=100, check_val_every_n_epoch=2", []),  # depends on epoch length
    ("val_check_interval=0.5, log_every_n_steps=100", []),
    ("val_check_interval='00:00:15:00', log_every_n_steps=100", []),
    ("val_check_interval=250, log_every_n_steps=0", []),  # no logging
    ("val_check_interval=steps, log_every_n_steps=100", []),  # not known
    ("val_check_interval=250, log_every_n_steps=100, limit_val_batches=0", []),  # never validates
    ("max_epochs=3", []),  # validates per epoch: Lightning's normal shape
])
def test_lightning_cadence(project, trainer, expected):
    assert project(files(trainer), select=["HF001"]) == expected


def test_strict_mode_reports_per_epoch_validation_with_step_logging(project):
    options = {"pyproject.toml": "[tool.preflight.rules.HF001]\nstrict = true\n"}
    assert project({**files(), **options}, select=["HF001"]) == ["train.py:11:15: HF001"]


def test_a_training_loss_logged_per_epoch_has_no_step_cadence(project):
    model = MODEL.replace("prog_bar=True)", "prog_bar=True, on_step=False, on_epoch=True)")
    assert project(files("val_check_interval=250, log_every_n_steps=100", model=model), select=["HF001"]) == []


def test_pytorch_lightning_and_a_logger_built_in_the_call(project):
    script = ("import pytorch_lightning as pl\nfrom pytorch_lightning.loggers import MLFlowLogger\n"
              "from models.lit import LitModel\n\n"
              "trainer = pl.Trainer(logger=MLFlowLogger(experiment_name='e'), val_check_interval=30)\n"
              "trainer.fit(LitModel(), datamodule=dm)\n")
    model = MODEL.replace("import lightning as L", "import pytorch_lightning as L")
    assert project({"models/__init__.py": "", "models/lit.py": model, "train.py": script},
                   select=["HF001"]) == ["train.py:5:64: HF001"]


@pytest.mark.parametrize("logger", ["None", "False", "get_logger(cfg)", "True"])
def test_no_tracker_or_an_unresolved_logger_is_not_judged(project, logger):
    script = TRAIN.format(trainer="val_check_interval=250, log_every_n_steps=100", fit="dm").replace(
        'logger = [WandbLogger(project="demo", name="run-1"), CSVLogger("logs")]', f"logger = {logger}")
    assert project({"models/__init__.py": "", "models/lit.py": MODEL, "train.py": script}, select=["HF001"]) == []


def test_a_trainer_built_by_hydra_is_not_judged(project):
    """lightning-hydra-template: `hydra.utils.instantiate(cfg.trainer, logger=logger)`; the values are the
    composed config's."""
    script = ("import hydra\nfrom models.lit import LitModel\n\n\n@hydra.main(config_path='configs')\n"
              "def main(cfg):\n    trainer = hydra.utils.instantiate(cfg.trainer)\n"
              "    trainer.fit(LitModel(), datamodule=hydra.utils.instantiate(cfg.data))\n\n\nmain()\n")
    config = "_target_: lightning.pytorch.trainer.Trainer\nval_check_interval: 250\nlog_every_n_steps: 100\n"
    assert project({"models/__init__.py": "", "models/lit.py": MODEL, "train.py": script,
                    "configs/trainer/default.yaml": config}, select=["HF001", "HF014"]) == []


@pytest.mark.parametrize("fit, model, expected", [
    ("DataLoader(train)", MODEL, ["train.py:11:15: HF014"]),
    ("train_dataloaders=DataLoader(train)", MODEL, ["train.py:11:15: HF014"]),
    ("DataLoader(train), DataLoader(val)", MODEL, []),
    ("DataLoader(train), val_dataloaders=DataLoader(val)", MODEL, []),
    ("datamodule=dm", MODEL, []),
    ("dm", MODEL, []),  # a datamodule given positionally: it may hold a val loader
    ("DataLoader(train), DataLoader(val)", MODEL.split("\n    def validation_step")[0] + "\n",
     ["train.py:11:15: HF014"]),  # no validation_step: the val loader is never used
    ("DataLoader(train)", MODEL + "\n    def val_dataloader(self):\n        return DataLoader(val)\n", []),
])
def test_a_lightning_fit_without_validation(project, fit, model, expected):
    assert project(files(fit=fit, model=model), select=["HF014"]) == expected


def test_limit_val_batches_zero_never_validates_and_validate_calls_do(project):
    assert project(files("limit_val_batches=0"), select=["HF014"]) == ["train.py:11:15: HF014"]
    script = TRAIN.format(trainer="max_epochs=3", fit="DataLoader(train)") + "\n\ntrainer.validate(m, dl)\n"
    assert project({**files(), "train.py": script}, select=["HF014"]) == []


def test_a_fit_of_a_model_the_project_does_not_define_is_not_judged(project):
    script = TRAIN.format(trainer="max_epochs=3", fit="DataLoader(train)").replace(
        "from models.lit import LitModel", "from timm_lightning import LitModel")
    assert project({"train.py": script}, select=["HF014"]) == []


@pytest.mark.parametrize("value, expected", [
    ("'checkpoint'", ["train.py:3:45: WB009"]),
    ("'end'", ["train.py:3:45: WB009"]),
    ("'true'", ["train.py:3:45: WB009"]),
    ("1", ["train.py:3:45: WB009"]),  # compared with `is True`
    ("True", []),
    ("'all'", []),
    ("False", []),
    ("cfg.log_model", []),
])
def test_lightning_log_model(project, value, expected):
    script = f"from lightning.pytorch.loggers import WandbLogger\n\nlogger = WandbLogger(project='p', name='r', " \
             f"log_model={value})\n"
    assert project({"train.py": script}, select=["WB009"]) == expected
