"""PyTorch Lightning: the Trainer's logging and validation cadence (HF001), a fit that never validates (HF014)
and the loggers' log_model (WB009), in the shapes Lightning projects take: a LightningModule in its own module,
`pytorch_lightning as pl`, a list of loggers, a datamodule, a Trainer built by Hydra."""

from __future__ import annotations

import pytest

from conftest import write_files
from preflight import engine

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


def test_a_hydra_program_without_a_primary_config_is_not_judged(project):
    """`@hydra.main(config_path=...)` without config_name composes no config from the tree: nothing is known."""
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


# -- Trainers built by Hydra from the config a launch composes -------------------------------------

HYDRA_TRAIN = '''from typing import List

import hydra
from lightning import LightningModule, Trainer
from omegaconf import DictConfig

from utils import instantiate_loggers


def train(cfg: DictConfig) -> None:
    model: LightningModule = hydra.utils.instantiate(cfg.model)
    logger = instantiate_loggers(cfg.get("logger"))
    trainer: Trainer = hydra.utils.instantiate(cfg.trainer, logger=logger)
    trainer.fit(model=model, datamodule=hydra.utils.instantiate(cfg.data))


@hydra.main(version_base="1.3", config_path="configs", config_name="train.yaml")
def main(cfg: DictConfig) -> None:
    train(cfg)


if __name__ == "__main__":
    main()
'''
HYDRA_UTILS = '''import hydra
from omegaconf import DictConfig


def instantiate_loggers(logger_cfg: DictConfig) -> list:
    loggers = []
    if not logger_cfg:
        return loggers
    for _, conf in logger_cfg.items():
        if isinstance(conf, DictConfig) and "_target_" in conf:
            loggers.append(hydra.utils.instantiate(conf))
    return loggers
'''
HYDRA_PRIMARY = ("defaults:\n  - _self_\n  - model: lit\n  - data: mnist\n  - logger: {logger}\n  - trainer: default\n"
                 "  - experiment: null\n")
HYDRA_TRAINER = ("_target_: lightning.pytorch.trainer.Trainer\nmax_epochs: 10\nval_check_interval: 250\n"
                 "log_every_n_steps: 100\n")


def hydra_project(logger: str = "null", trainer: str = HYDRA_TRAINER, model: str = MODEL, **more) -> dict:
    return {"models/__init__.py": "", "models/lit.py": model, "train.py": HYDRA_TRAIN, "utils.py": HYDRA_UTILS,
            "configs/train.yaml": HYDRA_PRIMARY.format(logger=logger),
            "configs/model/lit.yaml": "_target_: models.lit.LitModel\n",
            "configs/data/mnist.yaml": "_target_: data.MNISTDataModule\nbatch_size: 64\n",
            "configs/logger/wandb.yaml": "wandb:\n  _target_: lightning.pytorch.loggers.wandb.WandbLogger\n"
                                         "  project: demo\n",
            "configs/logger/csv.yaml": "csv:\n  _target_: lightning.pytorch.loggers.csv_logs.CSVLogger\n"
                                       "  save_dir: logs\n",
            "configs/trainer/default.yaml": trainer,
            "configs/trainer/gpu.yaml": "defaults:\n  - default\n\naccelerator: gpu\nlog_every_n_steps: 50\n",
            "configs/experiment/fast.yaml": "# @package _global_\ndefaults:\n  - override /trainer: gpu\n\n"
                                            "trainer:\n  val_check_interval: 120\n",
            **more}


HYDRA_CASES = {
    "defaults-list-selects-the-tracker": (hydra_project("wandb"), ["configs/trainer/default.yaml:3:1: HF001"]),
    "launch-selects-the-tracker": (hydra_project(**{"scripts/train.sh": "python train.py logger=wandb\n"}),
                                   ["configs/trainer/default.yaml:3:1: HF001"]),
    "no-tracker-by-default": (hydra_project(), []),
    "a-csv-logger-is-no-tracker": (hydra_project(**{"scripts/train.sh": "python train.py logger=csv\n"}), []),
    "launch-overrides-the-interval": (
        hydra_project("wandb", **{"run.sh": "python train.py trainer.val_check_interval=300\n"}), []),
    "launch-sets-a-misaligned-interval": (
        hydra_project("wandb", HYDRA_TRAINER.replace("250", "300"),
                      **{"run.sh": "python train.py trainer.val_check_interval=250\n"}), ["run.sh:1:1: HF001"]),
    "another-trainer-option-aligns": (hydra_project(**{"run.sh": "python train.py trainer=gpu logger=wandb\n"}), []),
    "an-experiment-overrides-the-trainer": (
        hydra_project(**{"run.sh": "python train.py experiment=fast logger=wandb\n"}),
        ["configs/experiment/fast.yaml:6:3: HF001"]),
    "a-multirun-sweep-is-not-one-value": (
        hydra_project("wandb", **{"run.sh": "python train.py -m trainer.val_check_interval=250,300\n"}), []),
    "a-sweep-without-the-multirun-flag-is-refused": (  # Hydra: "Ambiguous value for argument ..."
        hydra_project("wandb", **{"run.sh": "python train.py trainer.val_check_interval=250,300\n"}), []),
    "another-primary-config": (
        hydra_project("wandb", **{"run.sh": "python train.py --config-name other\n"}), []),
    "an-override-hydra-refuses": (  # the key is not in the config and has no `+`: Hydra stops before training
        hydra_project("wandb", HYDRA_TRAINER.replace("val_check_interval: 250\n", ""),
                      **{"run.sh": "python train.py trainer.val_check_interval=250\n"}), []),
    "pytorch-lightning-target": (
        hydra_project("wandb", HYDRA_TRAINER.replace("lightning.pytorch.trainer.Trainer", "pytorch_lightning.Trainer")),
        ["configs/trainer/default.yaml:3:1: HF001"]),
    "a-target-that-is-not-lightnings-trainer": (
        hydra_project("wandb", HYDRA_TRAINER.replace("lightning.pytorch.trainer.Trainer", "mylib.Trainer")), []),
    "a-partial-the-program-completes": (
        hydra_project("wandb", HYDRA_TRAINER + "_partial_: true\n"), []),
    "the-trainer-config-names-its-logger": (
        {**hydra_project("null", HYDRA_TRAINER + "logger:\n  _target_: "
                         "lightning.pytorch.loggers.WandbLogger\n  project: demo\n"),
         "train.py": HYDRA_TRAIN.replace(", logger=logger)", ")")}, ["configs/trainer/default.yaml:3:1: HF001"]),
    "a-group-chosen-by-interpolation": (
        hydra_project("${oc.env:LOGGER}"), []),
    "training-loss-logged-per-epoch": (
        hydra_project("wandb", model=MODEL.replace("prog_bar=True", "on_step=False, on_epoch=True")), []),
}


@pytest.mark.parametrize("files, expected", HYDRA_CASES.values(), ids=HYDRA_CASES.keys())
def test_a_hydra_built_trainer_is_judged_with_the_composed_config(project, files, expected):
    assert project(files, select=["HF001"]) == expected


def test_a_hydra_built_trainer_behind_an_undecided_condition_is_not_judged(project):
    files = hydra_project("wandb")
    files["train.py"] = HYDRA_TRAIN.replace("    train(cfg)\n", "    if os.environ.get('TRAIN'):\n        train(cfg)\n") \
        .replace("import hydra\n", "import os\n\nimport hydra\n", 1)
    assert project(files, select=["HF001", "HF014"]) == []


def test_a_hydra_built_trainer_that_never_validates(project):
    model = MODEL.split("\n    def validation_step")[0] + "\n"
    assert project(hydra_project("wandb", model=model), select=["HF014"]) == ["train.py:13:24: HF014"]
    assert project(hydra_project(model=model), select=["HF014"]) == []  # no tracker: nothing is recorded


@pytest.mark.parametrize("primary", [
    "defaults: 5\n", "defaults:\n  - {a: b, c: d}\n", "defaults:\n  - trainer: [default, gpu]\n",
    "defaults:\n  - trainer@t: default\n", "defaults:\n  - train\n", "defaults:\n  - /missing: x\n",
    "defaults:\n  - trainer: ???\n", "- a\n- b\n", "defaults:\n  - optional override trainer: gpu\n",
    "defaults:\n  - trainer: default\n---\nx: 1\n", "defaults:\n  - override: x\n",
])
def test_odd_hydra_configs_are_not_judged_and_never_crash(project, primary):
    files = hydra_project("wandb")
    files["configs/train.yaml"] = primary
    assert project(files, select=["HF001", "HF014"]) == []


def test_a_hydra_built_trainer_is_judged_alike_cold_and_warm(tmp_path):
    """HydraInstantiate facts come back from the cache whole: the warm run composes and reports the same."""
    write_files(tmp_path, hydra_project("wandb"))

    def checked():
        result = engine.check(["."], select=["HF001"], cwd=tmp_path, use_cache=True)
        return [f"{f.location.path}:{f.location.line}: {f.code}" for f in result.findings]

    cold = checked()
    (tmp_path / "utils.py").write_text(HYDRA_UTILS + "# changed\n")
    assert cold == ["configs/trainer/default.yaml:3: HF001"] and checked() == cold
