"""REP: reproducibility: what a run must record to be rerun."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from preflight.findings import Finding, Related, Severity
from preflight.model import Hyperparameters, LoopLogging, RunStart, Seeding, TrainingLoop, WandbRun
from preflight.project import Project
from preflight.rule import Bad, Good, Rule


_SEED_CALL = re.compile(r"\w*seed\w*\s*\(", re.IGNORECASE)


@lru_cache(maxsize=512)
def _calls_a_seed(text: str) -> bool:
    """Kept per text: the modules a script imports are often large, and a warm process (the language server)
    asks again after every edit."""
    return _SEED_CALL.search(text) is not None


_SEED_ADVICE = {
    "Lightning's": "call lightning.seed_everything(seed) before building the model",
    "Keras'": "call keras.utils.set_random_seed(seed) at start-up",
    "scikit-learn's": "pass random_state=seed (or seed numpy once at start-up)",
    "": "seed once at start-up (e.g. transformers.set_seed(args.seed) or lightning.seed_everything)",
}


class UnseededTraining(Rule):
    code = "REP001"
    name = "unseeded-training"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "A tracked training loop that never seeds its random generators (or only when --seed is given)"
    why = (
        "A run whose weights initialisation, data order and dropout come from unseeded generators cannot be "
        "reproduced, and two runs that differ in one hyperparameter differ in noise too: the comparison the "
        "tracker exists for is meaningless. Seed once at start-up (`transformers.set_seed`, "
        "`lightning.seed_everything`, or `random`/`numpy`/`torch` together). A `--seed` option whose default is "
        "None, with seeding only `if args.seed is not None`, leaves every run launched without it unseeded. "
        "Scripts built on the HF Trainer (TRL, Axolotl) are seeded by TrainingArguments.seed and never reported; "
        "checked are scripts that log to a tracker and train by themselves: their own steps (`loss.backward()`, "
        "`optimizer.step()`), Lightning's `Trainer.fit` (Lightning seeds nothing unless `seed_everything` is "
        "called), Keras' `model.fit` (`keras.utils.set_random_seed`), or a scikit-learn estimator that draws "
        "random numbers with `random_state=None` (forests, bagging, MLPs, SGD, k-means, `train_test_split`: "
        "numpy's global generator, so `np.random.seed` or the estimator's own `random_state` seeds it). A seed of "
        "one generator object (`torch.Generator().manual_seed(0)` for a loader) or in a conditional expression "
        "(`... if split == 'val' else None`) is not a seed of the training. A script that imports a project module "
        "with a seeding call is trusted to use it, and so is a module whose loop a seeding program imports "
        "(`main.py` seeds, then calls `train_one_epoch` of `train.py`)."
    )
    examples = [
        Bad("train.py", "import torch\nimport wandb\n\nrun = wandb.init(project='p', name='r', config={'lr': 1e-3})\n"
            "for batch in loader:\n    loss = model(batch).loss\n    loss.backward()\n    optimizer.step()\n",
            expect="train.py:7:5"),
        Bad("train.py", "import argparse\nimport torch\nimport wandb\n\nparser = argparse.ArgumentParser()\n"
            "parser.add_argument('--seed', type=int)\nargs = parser.parse_args()\nif args.seed is not None:\n"
            "    torch.manual_seed(args.seed)\nrun = wandb.init(project='p', name='r', config=vars(args))\n"
            "for batch in loader:\n    model(batch).loss.backward()\n", expect="train.py:6:1"),
        Good("train.py", "import torch\nimport wandb\nfrom transformers import set_seed\n\nset_seed(42)\n"
             "run = wandb.init(project='p', name='r', config={'lr': 1e-3})\nfor batch in loader:\n"
             "    model(batch).loss.backward()\n"),
        Bad("train.py", "import lightning as L\nfrom lightning.pytorch.loggers import WandbLogger\n\n"
            "trainer = L.Trainer(max_epochs=3, logger=WandbLogger(project='p', name='r'))\ntrainer.fit(model, data)\n",
            expect="train.py:5:1", note="Lightning's Trainer seeds nothing by itself"),
        Good("train.py", "import lightning as L\nfrom lightning.pytorch.loggers import WandbLogger\n\n"
             "L.seed_everything(42)\ntrainer = L.Trainer(max_epochs=3, logger=WandbLogger(project='p', name='r'))\n"
             "trainer.fit(model, data)\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for loop in project.facts(TrainingLoop):
            if loop.seeding is Seeding.NEVER and self._seeds_elsewhere(project, loop.location.path):
                continue  # a module it imports, or the program that imports it, may seed: no guess
            if loop.seeding is Seeding.NEVER:
                yield self.finding(loop.location, f"this script trains ({loop.trains_with}) and logs runs but never "
                                   "seeds its random generators: no run can be reproduced; "
                                   f"{_SEED_ADVICE.get(loop.trains_with.split()[0], _SEED_ADVICE[''])}")
            elif loop.seeding is Seeding.CONDITIONAL and loop.seed_option is not None:
                yield self.finding(loop.seed_option, "--seed defaults to None and the script seeds only when it is "
                                   "given: every run launched without it is unseeded; give --seed a default "
                                   "(e.g. default=42)")

    @staticmethod
    def _seeds_elsewhere(project: Project, path: str) -> bool:
        for module in [*project.imported_files(path), *project.importers(path)]:
            if _calls_a_seed(project.read_text(module) or ""):
                return True
        return False


class UntrackedHyperparameters(Rule):
    code = "REP002"
    name = "untracked-hyperparameters"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "A W&B run without config= in a script that takes hyperparameters"
    why = (
        "A run that does not record its configuration cannot be reproduced or compared from the tracker: the "
        "learning rate, batch size and seed of the best run are known only to whoever launched it. Pass the parsed "
        "arguments as `config=` (`wandb.init(config=vars(args))`) or update `run.config`. Runs started by the HF "
        "Trainer integration record the TrainingArguments themselves and are not reported."
    )
    examples = [
        Bad("train.py", "import argparse\nimport wandb\n\nparser = argparse.ArgumentParser()\n"
            "parser.add_argument('--lr', type=float, default=1e-4)\nargs = parser.parse_args()\n"
            "run = wandb.init(project='p', name=f'lr{args.lr}')\n", expect="train.py:7:7"),
        Good("train.py", "import argparse\nimport wandb\n\nparser = argparse.ArgumentParser()\n"
             "parser.add_argument('--lr', type=float, default=1e-4)\nargs = parser.parse_args()\n"
             "run = wandb.init(project='p', name=f'lr{args.lr}', config=vars(args))\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for path in project.paths_holding(WandbRun):
            runs = [f for f in project.facts_in(path, WandbRun) if f.started_by is RunStart.WANDB_INIT]
            if not runs or not project.facts_in(path, Hyperparameters):
                continue
            for run in runs:
                if run.config_given or run.offline_or_disabled or run.in_sweep_function:
                    continue
                yield self.finding(run.location, "this W&B run records no configuration, though the script takes "
                                   "hyperparameters: the run cannot be reproduced or compared from W&B; pass "
                                   "config=vars(args) (or update run.config)")


_LOOP = """import torch
import wandb
from transformers import get_cosine_schedule_with_warmup

run = wandb.init(project="sft", name="lr3e-4", config={"lr": 3e-4})
scheduler = get_cosine_schedule_with_warmup(optimizer, 100, 10_000)
for step, batch in enumerate(loader):
    loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    run.log({"train/loss": loss.item()}, step=step)
"""


class CoreMetricsNotLogged(Rule):
    code = "REP003"
    name = "core-metrics-not-logged"
    severity = Severity.INFO
    skips_test_code = True  # the consequence is an experiment record
    summary = "A hand-written training loop logs its loss but not its scheduler's learning rate or its grad norm"
    why = (
        "The loss curve alone cannot say why a run diverged or stalled: a warmup that never ended, a schedule "
        "that decayed to zero, a gradient that exploded before the loss did. The HF Trainer logs "
        "`learning_rate` and `grad_norm` with every loss; a loop written by hand logs only what it is told. "
        "`clip_grad_norm_` already returns the total norm of the gradients (before clipping), and the "
        "scheduler knows the rate it set (`scheduler.get_last_lr()[0]`): log them with the loss. Reported for a "
        "script that trains by itself (`loss.backward()`, `optimizer.step()`), logs a loss to W&B "
        "(`wandb.log`, `run.log`), MLflow (`mlflow.log_metric(s)`) or Accelerate (`accelerator.log`), and either "
        "steps a learning-rate scheduler it builds (torch's `lr_scheduler`, transformers', diffusers' or timm's "
        "schedules; not a diffusion noise scheduler nor a constant schedule) while no logging call mentions a learning "
        "rate, or calls `clip_grad_norm_` as a statement of its own (its result dropped) while no logging call "
        "mentions a norm. Not reported when some tracker call's keys cannot be read (a dict built elsewhere, "
        "`**metrics`): it may hold them; nor for scripts built on the HF Trainer, which logs both."
    )
    examples = [
        Bad("train.py", _LOOP, expect="train.py:14:5"),
        Good("train.py", _LOOP.replace("    torch.nn.utils.clip_grad_norm_(",
                                       "    grad_norm = torch.nn.utils.clip_grad_norm_(")
             .replace('run.log({"train/loss": loss.item()}', 'run.log({"train/loss": loss.item(), '
                      '"train/lr": scheduler.get_last_lr()[0], "train/grad_norm": grad_norm.item()}')),
        Good("train.py", _LOOP.replace('run.log({"train/loss": loss.item()}, step=step)',
                                       "run.log(metrics, step=step)"),
             note="the logged dict is built elsewhere: it may hold both"),
        Good("sample.py", """import torch
import wandb
from diffusers import DDPMScheduler

run = wandb.init(project="ddpm", name="base", config={"lr": 1e-4})
noise_scheduler = DDPMScheduler(num_train_timesteps=1000)
for batch in loader:
    loss = torch.nn.functional.mse_loss(model(batch), batch)
    loss.backward()
    optimizer.step()
    run.log({"loss": loss.item()})
""", note="a constant learning rate and no clipping: nothing else to log; a noise scheduler is not a learning-rate "
           "scheduler"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for loop in project.facts(LoopLogging):
            missing, related = [], []
            if loop.scheduler is not None:
                missing.append("the learning rate its scheduler sets ('lr': scheduler.get_last_lr()[0])")
                related.append(Related(loop.scheduler, "the learning-rate scheduler's step"))
            if loop.grad_norm is not None:
                missing.append("the grad norm clip_grad_norm_ returns (keep its result and log it)")
                related.append(Related(loop.grad_norm, "clip_grad_norm_ computes the norm and it is dropped"))
            yield self.finding(loop.location, f"this loop logs its loss to {loop.tracker} but never "
                               f"{' nor '.join(missing)}: a diverging or stalled run cannot be explained from "
                               "its curves; log them with the loss", related=related)
