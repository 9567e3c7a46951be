"""MLF007 (a localhost tracking server), MLF008 (promotions without a concurrency group), MLF009 (the default
experiment) and REP003 (a loop's learning rate and grad norm): triggers and the near misses a careless rule
would report."""

from __future__ import annotations

import pytest

LOGS = "import mlflow\n\nmlflow.set_experiment('sft')\nwith mlflow.start_run(run_name='sft'):\n" \
       "    mlflow.log_metric('loss', 0.1, step=1)\n"
LOCAL = "http://localhost:5000"

# -- MLF007 ---------------------------------------------------------------------------------------


def _compose(service: str, uri: str = LOCAL) -> str:
    return f"services:\n  train:\n{service}    environment:\n      MLFLOW_TRACKING_URI: {uri}\n"


@pytest.mark.parametrize("compose, expected", [
    (_compose("    build: .\n    entrypoint: [python, train.py]\n"), ["docker-compose.yml:6:7: MLF007"]),
    (_compose("    build: .\n    entrypoint: [python, train.py]\n", "http://127.0.0.1:5000/"),
     ["docker-compose.yml:6:7: MLF007"]),
    (_compose("    build: .\n    entrypoint: [python, train.py]\n", "http://mlflow:5000"), []),
    (_compose("    build: .\n    entrypoint: [python, train.py]\n    network_mode: host\n"), []),
    (_compose("    build: .\n    entrypoint: [python, train.py]\n    network_mode: 'service:mlflow'\n"), []),
    (_compose("    build: .\n    entrypoint: [sh, -c, 'mlflow server --port 5000 & python train.py']\n"), []),
    (_compose("    build: .\n    command: python train.py\n"), []),
    (_compose("    build: .\n    entrypoint: [python, other.py]\n"), []),
], ids=["compose", "loopback-address", "a-service-name", "host-network", "another-service's-network",
        "server-in-the-command", "image-entrypoint-kept", "a-program-without-mlflow"])
def test_localhost_tracking_uri_in_compose(project, compose, expected):
    files = {"train.py": LOGS, "other.py": "print('no tracking')\n", "docker-compose.yml": compose}
    assert project(files, select=["MLF007"]) == expected


POD = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: train\nspec:\n{host}  containers:\n    - name: train\n"
       "      image: trainer\n      command: [python, train.py]\n      env:\n        - name: MLFLOW_TRACKING_URI\n"
       "          value: http://localhost:5000\n{sidecar}")


@pytest.mark.parametrize("host, sidecar, expected", [
    ("", "", ["pod.yaml:11:17: MLF007"]),
    ("", "    - name: mlflow\n      image: ghcr.io/mlflow/mlflow\n      command: [mlflow, server]\n", []),
    ("  hostNetwork: true\n", "", []),
], ids=["pod", "sidecar", "host-network"])
def test_localhost_tracking_uri_in_a_pod(project, host, sidecar, expected):
    files = {"train.py": LOGS, "pod.yaml": POD.format(host=host, sidecar=sidecar)}
    assert project(files, select=["MLF007"]) == expected


JOB = ("on: push\njobs:\n  train:\n    runs-on: {runner}\n{extra}    steps:\n      - uses: actions/checkout@v4\n"
       "{before}      - run: python train.py\n        env:\n          MLFLOW_TRACKING_URI: http://localhost:5000\n")


@pytest.mark.parametrize("runner, extra, before, expected", [
    ("ubuntu-latest", "", "", [".github/workflows/t.yml:9:11: MLF007"]),
    ("ubuntu-latest", "", "      - run: nohup mlflow ui &\n", []),
    ("ubuntu-latest", "", "      - run: docker compose up -d\n", []),
    ("ubuntu-latest", "    services:\n      mlflow:\n        image: mlflow\n", "", []),
    ("ubuntu-latest", "    container: python:3.11\n    services:\n      mlflow:\n        image: mlflow\n", "",
     [".github/workflows/t.yml:13:11: MLF007"]),
    ("self-hosted", "", "", []),
    ("${{ matrix.os }}", "", "", []),
], ids=["hosted-runner", "server-in-an-earlier-step", "compose-up-earlier", "service-container-on-the-runner",
        "job-container-reaches-services-by-name", "self-hosted", "runner-from-an-expression"])
def test_localhost_tracking_uri_in_a_workflow(project, runner, extra, before, expected):
    files = {"train.py": LOGS, ".github/workflows/t.yml": JOB.format(runner=runner, extra=extra, before=before)}
    assert project(files, select=["MLF007"]) == expected


@pytest.mark.parametrize("script, expected", [
    ("import mlflow\n\nmlflow.set_tracking_uri('http://localhost:5000')\nmlflow.set_experiment('e')\n"
     "with mlflow.start_run(run_name='r'):\n    pass\n    mlflow.log_metric('m', 1, step=1)\n", ["train.py:3:1: MLF007"]),
    ("import mlflow\n\nif False:\n    mlflow.set_tracking_uri('http://localhost:5000')\nmlflow.set_experiment('e')\n",
     []),
    ("import mlflow, os\n\nmlflow.set_tracking_uri(os.environ['URI'])\nmlflow.set_experiment('e')\n", []),
], ids=["set-in-the-code", "never-runs", "not-literal"])
def test_localhost_tracking_uri_set_by_the_program(project, script, expected):
    files = {"train.py": script, "docker-compose.yml": "services:\n  train:\n    build: .\n"
             "    entrypoint: [python, train.py]\n"}
    assert project(files, select=["MLF007"]) == expected


IMAGE = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n{run}\n"
ENTRYPOINT_SH = "#!/bin/sh\nset -e\n{before}exec python train.py \"$@\"\n"


@pytest.mark.parametrize("dockerfile, script, expected", [
    ('CMD ["python", "train.py"]', None, ["docker-compose.yml:5:7: MLF007"]),
    ('ENTRYPOINT ["python"]\nCMD ["train.py"]', None, ["docker-compose.yml:5:7: MLF007"]),
    ('ENTRYPOINT ["./entrypoint.sh"]', "", ["docker-compose.yml:5:7: MLF007"]),
    ('CMD ["bash", "docker/entrypoint.sh"]', "", ["docker-compose.yml:5:7: MLF007"]),
    ('ENTRYPOINT ["./entrypoint.sh"]', "mlflow server --host 0.0.0.0 --port 5000 &\n", []),
    ('ENTRYPOINT ["./entrypoint.sh"]', "docker run --rm img python train.py\n", []),
    ('CMD ["python", "other.py"]', None, []),
], ids=["image-cmd", "image-entrypoint-and-cmd", "entrypoint-script", "cmd-runs-a-script",
        "the-script-starts-the-server", "the-script-starts-a-container", "a-program-without-mlflow"])
def test_a_compose_service_that_keeps_its_images_command(project, dockerfile, script, expected):
    """No `command:` or `entrypoint:`: what runs is the image's, read from the Dockerfile the service builds, and
    through the entrypoint script it runs when that is in the tree."""
    files = {"train.py": LOGS, "other.py": "print('no tracking')\n", "Dockerfile": IMAGE.format(run=dockerfile),
             "docker-compose.yml": _compose("    build: .\n")}
    if script is not None:
        files["docker/entrypoint.sh" if "docker/" in dockerfile else "entrypoint.sh"] = ENTRYPOINT_SH.format(
            before=script)
    assert project(files, select=["MLF007"]) == expected


def test_the_launchers_uri_is_not_judged_where_the_code_sets_its_own(project):
    code = "import mlflow, os\n\nos.environ.setdefault('MLFLOW_TRACKING_URI', 'http://mlflow:5000')\n" + LOGS
    files = {"train.py": code, "docker-compose.yml": _compose("    build: .\n    entrypoint: [python, train.py]\n")}
    assert project(files, select=["MLF007"]) == []

# -- MLF008 ---------------------------------------------------------------------------------------


PROMOTE = "from mlflow import MlflowClient\n\nMlflowClient().transition_model_version_stage('m', 3, 'Production')\n"
WORKFLOW = "on: {on}\n{top}jobs:\n  promote:\n    runs-on: ubuntu-latest\n{job}    steps:\n      - run: {run}\n"


@pytest.mark.parametrize("on, top, job, run, expected", [
    ("push", "", "", "python promote.py", [".github/workflows/p.yml:6:14: MLF008"]),
    ("push", "", "", "bash promote.sh", [".github/workflows/p.yml:6:14: MLF008"]),
    ("push", "concurrency: promote\n", "", "python promote.py", []),
    ("push", "", "    concurrency:\n      group: promote\n", "python promote.py", []),
    ("workflow_call", "", "", "python promote.py", []),
    ("push", "", "", "python train.py", []),
], ids=["push", "through-a-shell-script", "workflow-concurrency", "job-concurrency", "reusable-workflow",
        "a-script-that-does-not-promote"])
def test_promotion_without_concurrency(project, on, top, job, run, expected):
    files = {"promote.py": PROMOTE, "promote.sh": "python promote.py\n", "train.py": LOGS,
             ".github/workflows/p.yml": WORKFLOW.format(on=on, top=top, job=job, run=run)}
    assert project(files, select=["MLF008"]) == expected


def test_a_promotion_in_a_function_the_script_never_calls_is_not_reported(project):
    script = "from mlflow import MlflowClient\n\ndef promote():\n" \
             "    MlflowClient().set_registered_model_alias('m', 'champion', 3)\n\nprint('train only')\n"
    files = {"promote.py": script, ".github/workflows/p.yml": WORKFLOW.format(on="push", top="", job="",
                                                                             run="python promote.py")}
    assert project(files, select=["MLF008"]) == []

# -- MLF009 ---------------------------------------------------------------------------------------


RUN = "import mlflow\n\nwith mlflow.start_run(run_name='r'):\n    mlflow.log_metric('loss', 0.1, step=1)\n"


@pytest.mark.parametrize("files, expected", [
    ({"train.py": RUN}, ["train.py:3:6: MLF009"]),
    ({"train.py": RUN.replace("run_name='r'", "experiment_id='7', run_name='r'")}, []),
    ({"train.py": RUN.replace("run_name='r'", "run_id=resumed")}, []),
    ({"train.py": "import os\n" + RUN.replace("with", "os.environ['MLFLOW_EXPERIMENT_NAME'] = 'e'\nwith")}, []),
    ({"train.py": RUN, "run.sh": "export MLFLOW_EXPERIMENT_NAME=sft\npython train.py\n"}, []),
    ({"train.py": RUN, ".env": "MLFLOW_TRACKING_URI=databricks\n",
      "docker-compose.yml": "services:\n  t:\n    build: .\n    environment:\n"
                            "      MLFLOW_TRACKING_URI: databricks\n"}, []),
    ({"train.py": "# Databricks notebook source\n" + RUN}, []),
    ({"helpers.py": "import mlflow\n\ndef track():\n    with mlflow.start_run():\n        mlflow.log_param('a', 1)\n",
      "main.py": "import mlflow\nfrom helpers import track\n\nmlflow.set_experiment('e')\ntrack()\n"}, []),
    ({"pipeline/train.py": RUN, "pipeline/MLproject": "name: p\nentry_points:\n  main:\n"
                                                      "    command: python train.py\n"}, []),
    ({"train.py": "import mlflow\n\nmlflow.autolog(disable=True)\n"}, []),
], ids=["no-experiment", "experiment-id", "resumed-run", "environment-in-the-code", "launcher-environment",
        "databricks-uri", "databricks-notebook", "an-importer-sets-it", "mlflow-project", "autolog-disabled"])
def test_default_experiment(project, files, expected):
    assert project(files, select=["MLF009"]) == expected

# -- REP003 ---------------------------------------------------------------------------------------


LOOP = """import torch
import wandb
from torch.optim.lr_scheduler import CosineAnnealingLR

run = wandb.init(project="p", name="r", config={{}})
scheduler = CosineAnnealingLR(optimizer, 1000)
for batch in loader:
    loss = model(batch).loss
    loss.backward()
{clip}    optimizer.step()
    scheduler.step()
    run.log({log})
"""


@pytest.mark.parametrize("clip, log, expected", [
    ("", '{"loss": loss.item()}', ["train.py:12:5: REP003"]),
    ("    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n", '{"loss": loss.item(), "lr": lr}',
     ["train.py:13:5: REP003"]),
    ("", '{"loss": loss.item(), "learning_rate": scheduler.get_last_lr()[0]}', []),
    ("", '{"loss": loss.item(), "lr": optimizer.param_groups[0]["lr"]}', []),
    ("    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n",
     '{"loss": loss.item(), "lr": scheduler.get_last_lr()[0]}', []),
    ("", "metrics", []),
    ("", '{"accuracy": acc}', []),
], ids=["no-lr", "dropped-grad-norm", "lr-logged", "lr-from-the-optimizer", "norm-kept-in-a-name",
        "keys-not-readable", "no-loss-logged"])
def test_core_metrics_of_a_loop(project, clip, log, expected):
    assert project({"train.py": LOOP.format(clip=clip, log=log)}, select=["REP003"]) == expected


def test_the_lr_logged_to_tensorboard_counts(project):
    source = LOOP.format(clip="", log='{"loss": loss.item()}') + "    writer.add_scalar('lr', scheduler.get_last_lr()[0])\n"
    assert project({"train.py": source}, select=["REP003"]) == []


def test_a_scheduler_prepared_by_accelerate_is_the_same_scheduler(project):
    source = """from accelerate import Accelerator
from transformers import get_linear_schedule_with_warmup

accelerator = Accelerator(log_with="wandb")
sched = get_linear_schedule_with_warmup(optimizer, 10, 100)
model, optimizer, lr_scheduler = accelerator.prepare(model, optimizer, sched)
accelerator.init_trackers("p")
for batch in loader:
    accelerator.backward(model(batch).loss)
    optimizer.step()
    lr_scheduler.step()
    accelerator.log({"train_loss": 0.1})
"""
    assert project({"train.py": source}, select=["REP003"]) == ["train.py:12:5: REP003"]


@pytest.mark.parametrize("schedule", ["get_constant_schedule(optimizer)", "get_scheduler('constant', optimizer)"])
def test_a_constant_schedule_has_no_rate_to_log(project, schedule):
    source = LOOP.format(clip="", log='{"loss": loss.item()}').replace(
        "from torch.optim.lr_scheduler import CosineAnnealingLR",
        "from transformers import get_constant_schedule, get_scheduler").replace(
        "CosineAnnealingLR(optimizer, 1000)", schedule)
    assert project({"train.py": source}, select=["REP003"]) == []


def test_an_hf_trainer_script_logs_both_itself(project):
    source = LOOP.format(clip="", log='{"loss": loss.item()}') + \
        "from transformers import Trainer\nTrainer(model=model).train()\n"
    assert project({"train.py": source}, select=["REP003"]) == []
