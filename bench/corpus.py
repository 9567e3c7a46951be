"""Build the benchmark corpus: the sources of a released transformers wheel (a large, real Python
tree where few files concern tracking), plus a generated fine-tuning project whose scripts,
configs and launchers do trigger rules. Reproducible: pinned wheel, seeded generator."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

TRANSFORMERS = "transformers==5.24.0"
HERE = Path(__file__).resolve().parent


def transformers_sources(target: Path, downloads: Path) -> None:
    downloads.mkdir(parents=True, exist_ok=True)
    wheels = list(downloads.glob("transformers-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d",
                        str(downloads), TRANSFORMERS], check=True)
        wheels = list(downloads.glob("transformers-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        for name in wheel.namelist():
            if name.endswith(".py"):
                wheel.extract(name, target)


_SCRIPT = '''"""Generated training script {index}."""
import os
import mlflow
import wandb
from transformers import Trainer, TrainingArguments


def main(args):
    run = wandb.init(project="bench", {name})
    training_args = TrainingArguments(
        output_dir="outputs/run-{index}",
        eval_strategy="steps",
        eval_steps={eval_steps},
        logging_steps={logging_steps},
        report_to=["wandb"],
        run_name="run-{index}",
    )
    trainer = Trainer(model=args.model, args=training_args)
    trainer.train()
    {artifact}
    run.finish()
'''


def generated_project(target: Path, count: int = 200, seed: int = 7) -> None:
    rng = random.Random(seed)
    scripts = target / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        named = rng.random() < 0.5
        source = _SCRIPT.format(
            index=index,
            name=f'name="run-{index}"' if named else 'config={"i": %d}' % index,
            eval_steps=rng.choice([100, 250, 500]),
            logging_steps=rng.choice([50, 100]),
            artifact=(f'os.makedirs("plots-{index}", exist_ok=True)\n    mlflow.log_artifacts("plots-{index}")'
                      if rng.random() < 0.5 else f'mlflow.log_artifacts("plots-{index}")'),
        )
        (scripts / f"train_{index:03d}.py").write_text(source)
    configs = target / "configs"
    configs.mkdir(exist_ok=True)
    for index in range(count // 4):
        (configs / f"axolotl_{index:03d}.yml").write_text(
            f"base_model: meta-llama/Llama-3.2-1B\ndatasets:\n  - path: tatsu-lab/alpaca\n    type: alpaca\n"
            f"val_set_size: 0.05\neval_steps: {rng.choice([50, 100])}\nlogging_steps: {rng.choice([20, 25])}\n"
            f"wandb_project: bench\n" + ("wandb_name: run\n" if rng.random() < 0.5 else ""))
    workflows = target / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    steps = "".join(f"      - run: python scripts/train_{i:03d}.py\n" for i in range(0, count, 10))
    (workflows / "train.yml").write_text(f"on: push\njobs:\n  train:\n    runs-on: ubuntu-latest\n    steps:\n{steps}")
    (target / "docker-compose.yml").write_text(
        "services:\n" + "".join(f"  t{i}:\n    image: trainer\n    command: python scripts/train_{i:03d}.py\n"
                                for i in range(0, count, 20)))


def build(root: Path) -> Path:
    corpus = root / "corpus"
    if (corpus / ".built").exists():
        return corpus
    if corpus.exists():
        shutil.rmtree(corpus)
    transformers_sources(corpus / "transformers", root / "downloads")
    generated_project(corpus / "finetune")
    subprocess.run(["git", "init", "-q", str(corpus)], check=True)
    subprocess.run(["git", "-C", str(corpus), "add", "-A"], check=True)
    (corpus / ".built").write_text("ok\n")
    return corpus
