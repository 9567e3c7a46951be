"""Launchers beyond workflows and compose: shell and sbatch scripts, Kubernetes, Dockerfiles,
Makefiles; and the launcher rules ENV002-ENV008, ENV012, ENV013, WB003. One case per trap."""

from __future__ import annotations

import pytest

SCRIPT = "import wandb\n\nwandb.init(project='p', name='baseline')\n"
NO_WANDB = "print('hello')\n"


def run(project, files, select=("ENV", "WB003")):
    return project({"train.py": SCRIPT, **files}, select=list(select))


# -- shell and sbatch scripts ---------------------------------------------------------------------

SHELL = {
    "inherits-the-callers-env": ("python train.py\n", []),
    "sbatch-default-export": ("#!/bin/bash\n#SBATCH -N 1\nsrun python train.py\n", []),
    "sbatch-export-all-with-vars": ("#!/bin/bash\n#SBATCH --export=ALL,NCCL_DEBUG=INFO\nsrun python train.py\n", []),
    "sbatch-export-nil": ("#!/bin/bash\n#SBATCH --export=NIL\nsrun python train.py\n", ["job.sh:2:1: ENV007"]),
    "sbatch-export-list-without-key": ("#!/bin/bash\n#SBATCH --export=PATH,HOME\npython train.py\n",
                                       ["job.sh:2:1: ENV007"]),
    "sbatch-export-list-with-key": ("#!/bin/bash\n#SBATCH --export=PATH,WANDB_API_KEY\npython train.py\n", []),
    "sbatch-export-none-key-in-script": (
        "#!/bin/bash\n#SBATCH --export=NONE\nexport WANDB_API_KEY=$(cat ~/.wandb_key)\nsrun python train.py\n", []),
    "sbatch-export-none-no-wandb": ("#!/bin/bash\n#SBATCH --export=NONE\npython other.py\n", []),
    "docker-run-without-key": ("docker run --gpus all img python train.py\n", ["job.sh:1:1: ENV001"]),
    "docker-run-passes-inherited-key": ("docker run --gpus all -e WANDB_API_KEY img python train.py\n", []),
    "docker-run-env-file-not-committed": ("docker run --env-file secrets.env img python train.py\n", []),
    "docker-run-after-export": ("export WANDB_API_KEY=$(cat key)\ndocker run img python train.py\n",
                                ["job.sh:2:1: ENV004"]),
    "apptainer-cleanenv": ("apptainer exec --cleanenv --nv train.sif python train.py\n", ["job.sh:1:1: ENV001"]),
    "apptainer-cleanenv-with-prefix": (
        "export APPTAINERENV_WANDB_API_KEY=$WANDB_API_KEY\napptainer exec -e train.sif python train.py\n", []),
    "apptainer-cleanenv-with-env": ("singularity exec --cleanenv --env WANDB_API_KEY=$K x.sif python train.py\n", []),
    "apptainer-inherits": ("apptainer exec --nv train.sif python train.py\n", []),
    "compose-run-service-has-key": ("docker compose run trainer\n", []),
    "compose-run-service-without-key": ("docker compose run evaluator python train.py\n", ["job.sh:1:1: ENV001"]),
    "array-constant-run-id": ("#!/bin/bash\n#SBATCH --array=1-4\nexport WANDB_RUN_ID=sft-run\nsrun python train.py\n",
                              ["job.sh:3:1: WB003"]),
    "array-run-id-from-index": (
        "#!/bin/bash\n#SBATCH --array=1-4\nexport WANDB_RUN_ID=sft-$SLURM_ARRAY_TASK_ID\nsrun python train.py\n", []),
    "loop-constant-run-id": ("for seed in 1 2 3; do\n  WANDB_RUN_ID=exp python train.py --seed $seed &\ndone\n",
                             ["job.sh:2:3: WB003"]),
    "loop-run-id-from-variable": ("for seed in 1 2 3; do\n  WANDB_RUN_ID=exp-$seed python train.py &\ndone\n", []),
    "no-fan-out-constant-id": ("export WANDB_RUN_ID=sft-run\npython train.py\n", []),
    "deepspeed-multinode": ("deepspeed --hostfile hosts --num_nodes 2 train.py\n", ["job.sh:1:1: ENV013"]),
    "deepspeed-single-node": ("deepspeed --num_gpus 8 train.py\n", []),
    "deepspeed-hostfile-one-node": ("deepspeed --hostfile hosts --num_nodes 1 train.py\n", []),
}
COMPOSE_FOR_RUN = ("services:\n  trainer:\n    image: t\n    command: python train.py\n    environment:\n"
                   "      WANDB_API_KEY: ${WANDB_API_KEY:?}\n  evaluator:\n    image: t\n")


@pytest.mark.parametrize("script, expected", SHELL.values(), ids=SHELL.keys())
def test_shell_scripts(project, script, expected):
    assert run(project, {"job.sh": script, "docker-compose.yml": COMPOSE_FOR_RUN}) == expected


def test_constant_id_in_the_program_of_an_array_job(project):
    files = {"train.py": "import wandb\nwandb.init(project='p', id='sft-1', resume='allow')\n",
             "job.sbatch": "#!/bin/bash\n#SBATCH --array=0-9\nsrun python train.py\n"}
    assert project(files, select=["WB003"]) == ["train.py:2:25: WB003"]


def test_deepspeed_env_file_forwards_wandb(project):
    files = {"job.sh": "deepspeed --hostfile hosts train.py\n", ".deepspeed_env": "WANDB_API_KEY=abc\nWANDB_PROJECT=p\n"}
    assert run(project, files) == []


# -- Kubernetes -------------------------------------------------------------------------------------

def job(env: str = "", extra: str = "", spec: str = "", command: str = "command: [python, train.py]") -> str:
    return ("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: finetune\nspec:\n" + spec +
            "  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: trainer\n"
            f"          image: trainer:1\n          {command}\n" + env + extra)


K8S = {
    "missing-key": (job(), ["k8s/job.yaml:12:21: ENV001"]),
    "secret-key-ref": (job("          env:\n            - name: WANDB_API_KEY\n              valueFrom:\n"
                           "                secretKeyRef: {name: wandb, key: api-key}\n"), []),
    "env-from-secret": (job("          envFrom:\n            - secretRef: {name: tracking}\n"), []),
    "optional-secret-ref": (job("          env:\n            - name: WANDB_API_KEY\n              valueFrom:\n"
                                "                secretKeyRef: {name: wandb, key: k, optional: true}\n"),
                            ["k8s/job.yaml:14:21: ENV006"]),
    "mode-disabled": (job("          env:\n            - {name: WANDB_MODE, value: disabled}\n"),
                      ["k8s/job.yaml:14:22: ENV008"]),
    "bash-c": (job(command='command: ["bash", "-c", "cd /app && python train.py --lr 1e-4"]'),
               ["k8s/job.yaml:12:47: ENV001"]),
    "no-command": (job(command="args: [--lr, '1e-4']"), []),
    "parallel-constant-id": (job("          env:\n            - {name: WANDB_API_KEY, valueFrom: {secretKeyRef: "
                                 "{name: w, key: k}}}\n            - {name: WANDB_RUN_ID, value: finetune}\n",
                                 spec="  parallelism: 4\n"), ["k8s/job.yaml:16:22: WB003"]),
    "parallel-id-from-index": (job("          env:\n            - {name: WANDB_API_KEY, valueFrom: {secretKeyRef: "
                                   "{name: w, key: k}}}\n            - {name: WANDB_RUN_ID, value: "
                                   "'ft-$(JOB_COMPLETION_INDEX)'}\n", spec="  parallelism: 4\n"), []),
}


@pytest.mark.parametrize("manifest, expected", K8S.values(), ids=K8S.keys())
def test_kubernetes(project, manifest, expected):
    assert run(project, {"k8s/job.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: w}\n---\n" + manifest}) \
        == [e.replace("yaml:", "yaml:", 1) for e in _shift(expected, 4)]


def _shift(expected: list[str], lines: int) -> list[str]:
    """The manifests above are prefixed with a 4-line Secret document."""
    shifted = []
    for item in expected:
        where, code = item.rsplit(": ", 1)
        path, line, column = where.split(":")
        shifted.append(f"{path}:{int(line) + lines}:{column}: {code}")
    return shifted


# -- Dockerfiles and compose services that run the image's CMD --------------------------------------

DOCKERFILE = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"train.py\"]\n"


def test_dockerfile_alone_is_never_asked_for_the_key(project):
    assert run(project, {"Dockerfile": DOCKERFILE}) == []


def test_compose_service_running_the_image_cmd(project):
    files = {"Dockerfile": DOCKERFILE, "docker-compose.yml": "services:\n  trainer:\n    build: .\n"}
    assert run(project, files) == ["docker-compose.yml:2:3: ENV001"]
    files["docker-compose.yml"] += "    environment:\n      - WANDB_API_KEY\n"
    assert run(project, files) == []


def test_dockerfile_offline_mode_and_sync(project):
    files = {"Dockerfile": "FROM x\nENV WANDB_MODE=offline\nCMD [\"bash\", \"-c\", \"python train.py && wandb sync\"]\n"}
    assert run(project, files, select=["ENV008"]) == ["Dockerfile:2:1: ENV008"]


# -- Makefiles --------------------------------------------------------------------------------------

def test_makefile_recipes(project):
    files = {"Makefile": "IMAGE ?= trainer\n\ntrain:\n\tpython train.py --lr 1e-4\n\ntrain-docker:\n"
                         "\t@docker run --gpus all $(IMAGE) python train.py\n"}
    assert run(project, files) == ["Makefile:7:3: ENV001"]


# -- GitHub Actions ---------------------------------------------------------------------------------

SECRET = "${{ secrets.WANDB_API_KEY }}"


def workflow(on: str, job_extra: str = "", env: str = f"      WANDB_API_KEY: {SECRET}\n", run: str = "python train.py") -> str:
    return (f"on: {on}\njobs:\n  train:\n    runs-on: ubuntu-latest\n{job_extra}    env:\n{env}    steps:\n"
            f"      - run: {run}\n")


WORKFLOWS = {
    "pull-request": (workflow("[push, pull_request]"), [".github/workflows/t.yml:8:14: ENV002"]),
    "pull-request-map": (workflow("{pull_request: {branches: [main]}}"), [".github/workflows/t.yml:8:14: ENV002"]),
    "pull-request-target": (workflow("pull_request_target"), []),
    "push-only": (workflow("push"), []),
    "fork-gated-job": (workflow("pull_request", "    if: github.event.pull_request.head.repo.fork == false\n"), []),
    "same-repo-gate": (workflow("pull_request", "    if: github.event.pull_request.head.repo.full_name == "
                                                "github.repository\n"), []),
    "matrix-constant-id": (workflow("push", "    strategy:\n      matrix:\n        seed: [1, 2, 3]\n",
                                    env=f"      WANDB_API_KEY: {SECRET}\n      WANDB_RUN_ID: sft\n"),
                           [".github/workflows/t.yml:10:7: WB003"]),
    "matrix-id-from-matrix": (workflow("push", "    strategy:\n      matrix:\n        seed: [1, 2, 3]\n",
                                       env=f"      WANDB_API_KEY: {SECRET}\n      WANDB_RUN_ID: sft-${{{{ matrix.seed }}}}\n"),
                              []),
    "offline-without-sync": (workflow("push", env="      WANDB_MODE: offline\n"),
                             [".github/workflows/t.yml:6:7: ENV008"]),
    "offline-with-sync": (workflow("push", env="      WANDB_MODE: offline\n",
                                   run="|\n          python train.py\n          wandb sync --sync-all"), []),
}


@pytest.mark.parametrize("text, expected", WORKFLOWS.values(), ids=WORKFLOWS.keys())
def test_workflows(project, text, expected):
    assert run(project, {".github/workflows/t.yml": text}, select=("ENV", "WB003")) == expected


CALLEE = (f"on:\n  workflow_call:\n    secrets:\n      WANDB_API_KEY: {{required: true}}\njobs:\n  train:\n"
          f"    runs-on: ubuntu-latest\n    steps:\n      - env:\n          WANDB_API_KEY: {SECRET}\n"
          "        run: python train.py\n")


@pytest.mark.parametrize("caller_secrets, expected", [
    ("", [".github/workflows/nightly.yml:4:11: ENV003"]),
    ("    secrets: inherit\n", []),
    (f"    secrets:\n      WANDB_API_KEY: {SECRET}\n", []),
    ("    secrets:\n      HF_TOKEN: ${{ secrets.HF_TOKEN }}\n", [".github/workflows/nightly.yml:4:11: ENV003"]),
], ids=["no-secrets", "inherit", "map-with-key", "map-without-key"])
def test_reusable_workflows(project, caller_secrets, expected):
    files = {".github/workflows/train.yml": CALLEE,
             ".github/workflows/nightly.yml": "on: push\njobs:\n  nightly:\n    uses: ./.github/workflows/train.yml\n"
                                              + caller_secrets}
    assert run(project, files) == expected


def test_remote_reusable_workflow_is_not_guessed(project):
    files = {".github/workflows/nightly.yml": "on: push\njobs:\n  n:\n    uses: org/repo/.github/workflows/t.yml@v1\n"}
    assert run(project, files) == []


def test_prefix_assignment_position_in_a_run_block(project):
    text = workflow("push", "    strategy:\n      matrix:\n        seed: [1, 2]\n",
                    run="WANDB_RUN_ID=fixed python train.py --seed ${{ matrix.seed }}")
    assert run(project, {".github/workflows/t.yml": text}, select=("WB003",)) == [".github/workflows/t.yml:11:14: WB003"]


@pytest.mark.parametrize("command", ["bash scripts/train.sh", "./scripts/train.sh --fast", "sbatch scripts/train.sh",
                                     "sbatch --parsable -p gpu scripts/train.sh"])
def test_workflow_step_running_a_script_that_runs_wandb(project, command):
    files = {"scripts/train.sh": "#!/bin/bash\nset -e\npython train.py --lr 1e-4\n",
             ".github/workflows/t.yml": f"on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: {command}\n"}
    assert run(project, files) == [".github/workflows/t.yml:6:14: ENV001"]


def test_script_that_sets_the_key_itself(project):
    files = {"scripts/train.sh": "#!/bin/bash\nexport WANDB_API_KEY=$(cat /run/secrets/wandb)\npython train.py\n",
             ".github/workflows/t.yml": "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: bash scripts/train.sh\n"}
    assert run(project, files) == []


TRAIN = "import wandb\nwandb.init(project='p', name='r')\n"
STEP_WITH_KEY = ("on: push\njobs:\n  t:\n    runs-on: [self-hosted]\n    env:\n"
                 "      WANDB_API_KEY: ${{{{ secrets.WANDB_API_KEY }}}}\n    steps:\n      - run: {run}\n")


@pytest.mark.parametrize("files, expected", [
    # a script in a folder, run from the repository root: $PWD is the root, /workspace/train.py is ./train.py
    ({"scripts/train.sh": "docker run --gpus all -v \"$PWD\":/workspace -w /workspace img python train.py\n",
      "train.py": TRAIN, ".github/workflows/t.yml": STEP_WITH_KEY.format(run="bash scripts/train.sh")},
     ["scripts/train.sh:1:1: ENV004"]),
    # the same without a caller that has the key: the container gets nothing, whatever the caller has
    ({"scripts/train.sh": "docker run --gpus all -v \"$PWD\":/workspace -w /workspace img python train.py\n",
      "train.py": TRAIN}, ["scripts/train.sh:1:1: ENV001"]),
    # a script that cds to its own folder mounts that folder
    ({"jobs/run.sh": "cd \"$(dirname \"$0\")\"\ndocker run -v $(pwd):/app img python /app/train.py\n",
      "jobs/train.py": TRAIN}, ["jobs/run.sh:2:1: ENV001"]),
    ({"jobs/run.sh": "cd \"$(dirname \"$0\")\"\ndocker run -e WANDB_API_KEY -v $(pwd):/app img python /app/train.py\n",
      "jobs/train.py": TRAIN}, []),
    # `docker compose run SERVICE` with no command runs the service's own command
    ({"docker-compose.yml": "services:\n  trainer:\n    image: t\n    command: python train.py\n"
                            "    environment:\n      - WANDB_API_KEY\n",
      "train.py": TRAIN, ".github/workflows/t.yml": STEP_WITH_KEY.format(run="docker compose run --rm trainer")},
     []),
    ({"docker-compose.yml": "services:\n  trainer:\n    image: t\n    command: python train.py\n",
      "train.py": TRAIN, ".github/workflows/t.yml": STEP_WITH_KEY.format(run="docker compose run --rm trainer")},
     [".github/workflows/t.yml:8:14: ENV004", "docker-compose.yml:4:14: ENV001"]),
], ids=["script-in-a-folder", "no-caller", "cd-to-own-folder", "key-passed", "compose-run-passes-it",
        "compose-run-drops-it"])
def test_a_container_started_by_a_script_or_compose_run(project, files, expected):
    assert project(files, select=["ENV"]) == expected


START = "docker run -d --name trainer --gpus all -v \"$PWD\":/workspace -w /workspace img sleep infinity\n"


@pytest.mark.parametrize("files, expected", [
    # the container was started in the same script without the key: exec'ing into it cannot give it one
    ({"scripts/train.sh": START + "docker exec trainer python train.py\n", "train.py": TRAIN},
     ["scripts/train.sh:2:1: ENV001"]),
    ({"scripts/train.sh": START + "docker exec trainer python train.py\n", "train.py": TRAIN,
      ".github/workflows/t.yml": STEP_WITH_KEY.format(run="bash scripts/train.sh")}, ["scripts/train.sh:2:1: ENV004"]),
    ({"scripts/train.sh": START + "docker exec -e WANDB_API_KEY trainer python train.py\n", "train.py": TRAIN}, []),
    ({"run.sh": START.replace("--gpus all", "--gpus all -e WANDB_API_KEY") + "docker exec -it trainer python train.py\n",
      "train.py": TRAIN}, []),
    # a container started elsewhere: its environment is not seen here, so nothing is claimed
    ({"run.sh": "docker exec trainer python train.py\n", "train.py": TRAIN}, []),
    # `docker compose exec SERVICE` runs in the service's container, with the service's environment
    ({"docker-compose.yml": "services:\n  trainer:\n    image: t\n    command: sleep infinity\n",
      "run.sh": "docker compose exec trainer python train.py\n", "train.py": TRAIN}, ["run.sh:1:1: ENV001"]),
    ({"docker-compose.yml": "services:\n  trainer:\n    image: t\n    command: sleep infinity\n"
                            "    environment:\n      - WANDB_API_KEY\n",
      "run.sh": "docker compose exec -T trainer python train.py\n", "train.py": TRAIN}, []),
], ids=["started-here-without-key", "caller-has-the-key", "exec-passes-it", "container-has-it",
        "container-started-elsewhere", "compose-exec-without-key", "compose-exec-service-has-it"])
def test_a_command_run_in_a_running_container(project, files, expected):
    assert project(files, select=["ENV"]) == expected


K8S = """apiVersion: batch/v1
kind: Job
metadata: {{name: train}}
spec:
  template:
    spec:
      containers:
        - name: t
          image: trainer
          command: [python, train.py]
{mounts}{volumes}"""


@pytest.mark.parametrize("mounts, volumes, expected", [
    ("", "", ["job.yaml:10:21: ENV001"]),
    ("          volumeMounts:\n            - {name: creds, mountPath: /root/.netrc, subPath: .netrc}\n",
     "      volumes:\n        - {name: creds, secret: {secretName: wandb-netrc}}\n", []),
    ("          volumeMounts:\n            - {name: creds, mountPath: /root}\n",
     "      volumes:\n        - name: creds\n          secret:\n            secretName: wandb\n"
     "            items: [{key: netrc, path: .netrc}]\n", []),
    ("          volumeMounts:\n            - {name: data, mountPath: /data}\n",
     "      volumes:\n        - {name: data, emptyDir: {}}\n", ["job.yaml:10:21: ENV001"]),
], ids=["no-key", "secret-at-netrc", "secret-items-over-home", "unrelated-volume"])
def test_a_kubernetes_secret_mounted_as_netrc_gives_the_key(project, mounts, volumes, expected):
    files = {"job.yaml": K8S.format(mounts=mounts, volumes=volumes), "train.py": TRAIN}
    assert project(files, select=["ENV001"]) == expected


OFFLINE_RECIPE = "model_name_or_path: m\ndataset_name: d\noutput_dir: out\nenv:\n  WANDB_MODE: offline\n"


@pytest.mark.parametrize("files, expected", [
    ({".github/workflows/t.yml": workflow("push", run="|\n          trl sft --config cfg.yaml\n"
                                                      "          wandb sync --sync-all")}, []),
    ({".github/workflows/t.yml": workflow("push", run="|\n          bash scripts/train.sh\n"
                                                      "          wandb sync --sync-all"),
      "scripts/train.sh": "trl sft --config cfg.yaml\n"}, []),
    ({".github/workflows/t.yml": workflow("push", run="bash scripts/train.sh"),
      "scripts/train.sh": "trl sft --config cfg.yaml\nwandb sync --sync-all\n"}, []),
    ({".github/workflows/t.yml": workflow("push", run="bash scripts/train.sh"),
      "scripts/train.sh": "trl sft --config cfg.yaml\n"}, ["cfg.yaml:5:3: ENV008"]),
    ({".github/workflows/t.yml": workflow("push", run="trl sft --config cfg.yaml"),
      "other.sh": "wandb sync --sync-all\n"}, ["cfg.yaml:5:3: ENV008"]),
], ids=["sync-beside-the-command", "sync-in-the-workflow-two-hops", "sync-in-the-script", "no-sync",
        "sync-in-an-unrelated-script"])
def test_offline_config_synced_by_its_launcher(project, files, expected):
    """WANDB_MODE=offline set in a recipe: a `wandb sync` in whatever launches it uploads the runs."""
    assert project({"cfg.yaml": OFFLINE_RECIPE, **files}, select=["ENV008"]) == expected


NO_TRACKER = ("from transformers import Trainer, TrainingArguments\n\n"
              "args = TrainingArguments(output_dir='o', report_to='none')\nTrainer(model=None, args=args).train()\n")
OWN_REPORT_TO = ("from dataclasses import dataclass, field\nfrom transformers import HfArgumentParser, TrainingArguments\n\n"
                 "@dataclass\nclass ScriptArguments:\n    report_to: str = field(default='none')\n\n"
                 "(script_args,) = HfArgumentParser(ScriptArguments).parse_args_into_dataclasses()\n"
                 "args = TrainingArguments(output_dir='o', report_to=script_args.report_to)\n")
LOGS_TO_WANDB = "import wandb\n\nrun = wandb.init(project='p', name='n')\nrun.log({'loss': 1.0})\n"


def in_ci(script: str) -> dict[str, str]:
    """A workflow job runs the script: its runner, and the wandb/ folder, are gone when the job ends."""
    return {".github/workflows/train.yml": f"on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                                           f"      - run: bash {script}\n"}


@pytest.mark.parametrize("files, expected", [
    ({"scripts/train_rm.sh": "#!/bin/bash\nexport WANDB_MODE=offline\naccelerate launch --num_processes 4 "
      "train/rm.py --log_dir out\n", "train/rm.py": NO_TRACKER, **in_ci("scripts/train_rm.sh")}, []),
    ({"job.sh": "#!/bin/bash\nWANDB_MODE=offline python train.py\n", "train.py": NO_TRACKER, **in_ci("job.sh")}, []),
    ({"job.sh": "#!/bin/bash\nWANDB_MODE=offline python train.py\n", "train.py": LOGS_TO_WANDB, **in_ci("job.sh")},
     ["job.sh:2:1: ENV008"]),
    ({"scripts/train_rm.sh": "#!/bin/bash\nexport WANDB_MODE=offline\naccelerate launch train/rm.py\n"
      "python other.py\n", "train/rm.py": NO_TRACKER, "other.py": LOGS_TO_WANDB, **in_ci("scripts/train_rm.sh")},
     ["scripts/train_rm.sh:2:1: ENV008"]),
    ({"run.sh": "#!/bin/bash\nexport WANDB_MODE=offline\npython -m somepackage.train\n", **in_ci("run.sh")},
     ["run.sh:2:1: ENV008"]),
    # report_to comes from the script's own argument, whose value is not followed: the Trainer may log to W&B
    ({"run.sh": "#!/bin/bash\nexport WANDB_MODE=offline\npython train.py\n", "train.py": OWN_REPORT_TO,
      **in_ci("run.sh")}, ["run.sh:2:1: ENV008"]),
], ids=["export-program-logs-nowhere", "prefix-program-logs-nowhere", "program-logs-to-wandb",
        "one-of-two-programs-logs", "program-not-read-here", "report-to-not-literal"])
def test_offline_mode_matters_only_where_a_program_logs_to_wandb(project, files, expected):
    assert run(project, files, select=["ENV008"]) == expected


@pytest.mark.parametrize("files, expected", [
    ({"job.sbatch": "#!/bin/bash\n#SBATCH --gres=gpu:2\nWANDB_MODE=offline python train.py\n"}, []),
    ({"scripts/train.sh": "#!/bin/bash\nexport WANDB_MODE=offline\npython train.py\n",
      "Makefile": "train:\n\tbash scripts/train.sh\n"}, []),
    ({"scripts/train.sh": "#!/bin/bash\nexport WANDB_MODE=offline\npython train.py\n",
      "Dockerfile": "FROM python:3.11\nCOPY . .\nCMD [\"bash\", \"scripts/train.sh\"]\n"},
     ["scripts/train.sh:2:1: ENV008"]),
    ({"scripts/train.sh": "#!/bin/bash\nexport WANDB_MODE=offline\npython train.py\n", **in_ci("scripts/train.sh")},
     ["scripts/train.sh:2:1: ENV008"]),
], ids=["sbatch-on-the-cluster", "script-a-makefile-runs", "script-an-image-runs", "script-a-workflow-runs"])
def test_offline_runs_stay_on_the_machine_a_script_runs_on(project, files, expected):
    """A script run on a workstation or a cluster keeps its offline runs on that filesystem; a runner or a
    container does not outlive the job."""
    assert run(project, {**files, "train.py": LOGS_TO_WANDB}, select=["ENV008"]) == expected
