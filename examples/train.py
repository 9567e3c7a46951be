"""Supervised fine-tuning of a small causal LM with the HF Trainer, tracked in W&B and MLflow."""

import argparse

import mlflow
from datasets import load_dataset
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    Trainer,
    TrainingArguments,
)


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B")
    parser.add_argument("--dataset", default="tatsu-lab/alpaca")
    parser.add_argument("--max_steps", type=int, default=2000)
    parser.add_argument("--output_dir", default="outputs/sft")
    return parser.parse_args()


def main():
    args = parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model)
    dataset = load_dataset(args.dataset, split="train").train_test_split(test_size=0.02, seed=0)

    training_args = TrainingArguments(
        output_dir=args.output_dir,
        max_steps=args.max_steps,
        per_device_train_batch_size=8,
        learning_rate=2e-5,
        eval_strategy="steps",
        eval_steps=250,
        logging_steps=100,
        report_to=["wandb", "mlflow"],
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=dataset["train"],
        eval_dataset=dataset["test"],
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
    )
    trainer.train()
    trainer.save_model()
    mlflow.log_artifacts("outputs/eval_plots", artifact_path="plots")


if __name__ == "__main__":
    main()
