"""dstack configurations, SkyPilot tasks and Ray job submissions as launchers: the commands they run reach the
launcher and HF rules with the environment each tool gives them, and a key that only the submitter or the
cluster can give is never called missing. One case per trap."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conftest import write_files
from preflight import engine
from preflight.cli import main
from preflight.launches import undecided

SCRIPT = "import wandb\n\nwandb.init(project='p', name='baseline')\n"
# A script whose flags are TrainingArguments, reporting to W&B: HF001 judges its cadences from the command line.
PARSED = ("from transformers import HfArgumentParser, TrainingArguments\n\n"
          "args, = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n")
CADENCE = "--eval_strategy steps --eval_steps 33 --logging_steps 10 --report_to wandb"
LAUNCHER_RULES = ["ENV", "WB003", "SEC004", "SEC005"]


def run(project, files, select=LAUNCHER_RULES):
    return project({"train.py": SCRIPT, **files}, select=list(select))


def verbose_notes(root) -> list[str]:
    result = CliRunner().invoke(main, ["check", "-v", "--select", "ENV001", str(root)])
    return [line for line in result.stderr.splitlines() if "undecided" in line]


# -- dstack -----------------------------------------------------------------------------------------

def dstack(env: str = "", commands: str = "  - python train.py\n", extra: str = "", kind: str = "task") -> str:
    return f"type: {kind}\nname: sft\npython: '3.11'\n{env}commands:\n{commands}{extra}"


DSTACK = {
    "key-from-the-submitter": (dstack("env:\n  - WANDB_API_KEY\n"), []),
    "key-as-a-dstack-secret": (dstack("env:\n  WANDB_API_KEY: ${{ secrets.wandb }}\n"), []),
    "no-key-the-submitter-may-add-it": (dstack(), []),  # `dstack apply -e WANDB_API_KEY` is not in the scan
    "offline-baked-in": (dstack("env:\n  - WANDB_API_KEY\n  - WANDB_MODE=offline\n"), [".dstack.yml:6:5: ENV008"]),
    "offline-then-synced": (dstack("env:\n  - WANDB_MODE=offline\n",
                                   "  - python train.py\n  - wandb sync --sync-all\n"), []),
    "literal-token": (dstack("env:\n  - HF_TOKEN=hf_Xq7Lm2Nb9Vc4Zr8Tp1Ks6Jd3Wf5Gh0Ay\n"), [".dstack.yml:5:5: SEC004"]),
    "service-replicas-share-a-run-id": (
        dstack("env:\n  - WANDB_API_KEY\n  - WANDB_RUN_ID=sft\n", kind="service", extra="port: 8000\nreplicas: 2\n"),
        [".dstack.yml:6:5: WB003"]),
    "service-replica-range": (
        dstack("env:\n  WANDB_RUN_ID: sft\n", kind="service", extra="port: 8000\nreplicas: 1..4\nscaling: {}\n"),
        [".dstack.yml:5:3: WB003"]),
    "one-replica": (dstack("env:\n  - WANDB_RUN_ID=sft\n", kind="service", extra="port: 8000\nreplicas: 1\n"), []),
    "nodes-are-one-distributed-job": (dstack("env:\n  - WANDB_RUN_ID=sft\n", extra="nodes: 4\n"), []),
    "export-reaches-the-next-command": (
        dstack("", "  - export WANDB_API_KEY=$(cat /secrets/wandb)\n  - docker run img python train.py\n",
               extra="docker: true\n"), [".dstack.yml:6:5: ENV004"]),
    "dev-environment-init": (dstack("env:\n  - WANDB_MODE=disabled\n", kind="dev-environment")
                             .replace("commands:", "ide: vscode\ninit:"), [".dstack.yml:5:5: ENV008"]),
    "a-fleet-runs-nothing": ("type: fleet\nname: f\nnodes: 2\nenv:\n  - WANDB_MODE=offline\n", []),
}


@pytest.mark.parametrize("text, expected", DSTACK.values(), ids=DSTACK.keys())
def test_dstack_configurations(project, text, expected):
    assert run(project, {".dstack.yml": text}) == expected


def test_a_dstack_file_in_a_subfolder_runs_paths_from_the_repository(project):
    files = {"examples/sft/train.py": PARSED,
             "examples/sft/train.dstack.yml": dstack(commands=f"  - python examples/sft/train.py {CADENCE}\n")}
    assert project(files, select=["HF001"]) == ["examples/sft/train.dstack.yml:5:56: HF001"]


def test_a_dstack_entrypoint_gets_the_commands_as_its_arguments(project):
    """`entrypoint:` makes the job `shlex.split(entrypoint) + commands` (dstack 0.22.5, jobs/configurators/base.py
    `_commands`): `python` runs `train.py` with the flags that follow."""
    text = "type: task\nname: sft\nimage: img\nentrypoint: python\ncommands:\n  - train.py\n" + "".join(
        f"  - '{word}'\n" for word in CADENCE.split())
    assert project({"train.py": PARSED, ".dstack.yml": text}, select=["HF001"]) == [".dstack.yml:4:13: HF001"]


def test_a_dstack_shell_entrypoint_runs_the_first_command_alone(project):
    """`entrypoint: bash -c` runs the first command as its script; the next ones are its `$0`, `$1`: never run."""
    text = ("type: task\nname: sft\nimage: img\nentrypoint: 'bash -c'\ncommands:\n"
            f"  - python train.py {CADENCE}\n  - python train.py {CADENCE}\n")
    assert project({"train.py": PARSED, ".dstack.yml": text}, select=["HF001"]) == [".dstack.yml:6:43: HF001"]


def test_a_dstack_mapping_entry_without_a_value_is_not_a_missing_key(project):
    """dstack 0.22.5 rejects `env: {WANDB_API_KEY: null}` when it parses the file (only the list form's `- NAME`
    is taken from the submitter): what the job would get is not known, so nothing is claimed about it."""
    assert run(project, {".dstack.yml": dstack("env:\n  WANDB_API_KEY:\n  WANDB_PROJECT: sft\n")}) == []


def test_a_name_dstack_does_not_read_is_not_a_dstack_file(project):
    assert run(project, {"dstack.yml": dstack("env:\n  - WANDB_MODE=offline\n")}) == []


def test_dstack_says_with_verbose_who_may_give_the_key(project):
    run(project, {".dstack.yml": dstack()})
    notes = verbose_notes(project.root)
    assert len(notes) == 1 and "dstack task 'sft'" in notes[0] and "dstack apply -e" in notes[0]


# -- SkyPilot ---------------------------------------------------------------------------------------

def sky(envs: str = "", run_script: str = "  python train.py\n", extra: str = "") -> str:
    return (f"name: sft\nresources:\n  accelerators: A100:8\nworkdir: .\n{envs}{extra}"
            f"setup: |\n  pip install -r requirements.txt\nrun: |\n{run_script}")


SKYPILOT = {
    "key-as-a-secret-given-at-launch": (sky("secrets:\n  WANDB_API_KEY: null\n"), []),
    "key-as-an-env-given-at-launch": (sky("envs:\n  WANDB_API_KEY:\n"), []),
    "no-key-the-submitter-may-add-it": (sky(), []),
    "offline-baked-in": (sky("envs:\n  WANDB_MODE: offline\n"), ["sky.yaml:6:3: ENV008"]),
    "literal-secret": (sky("secrets:\n  HF_TOKEN: hf_Xq7Lm2Nb9Vc4Zr8Tp1Ks6Jd3Wf5Gh0Ay\n"), ["sky.yaml:6:3: SEC004"]),
    "nodes-are-one-distributed-job": (sky("envs:\n  WANDB_RUN_ID: sft\n", extra="num_nodes: 4\n"), []),
    "docker-run-drops-the-secret": (sky("secrets:\n  WANDB_API_KEY: null\n", "  docker run img python train.py\n"),
                                    ["sky.yaml:10:3: ENV004"]),
    "key-as-a-managed-secret-reference": (sky("secrets:\n  - secrets:WANDB_API_KEY\n"), []),
    "not-skypilot-env-is-not-envs": ("name: sft\nenv:\n  WANDB_MODE: offline\nrun: python train.py\n", []),
    "not-skypilot-run-alone": ("name: sft\nrun: WANDB_MODE=offline python train.py\n", []),
    "not-skypilot-foreign-key": ("resources: {}\nenvs:\n  WANDB_MODE: offline\nrun: x\nsteps: []\n", []),
}


@pytest.mark.parametrize("text, expected", SKYPILOT.values(), ids=SKYPILOT.keys())
def test_skypilot_tasks(project, text, expected):
    assert run(project, {"sky.yaml": text}) == expected


def test_a_skypilot_task_with_setup_and_run_reaches_the_hf_rules(project):
    files = {"train.py": PARSED, "sky/train.yaml": sky(
        "secrets:\n  WANDB_API_KEY: null\n", f"  cd ~/sky_workdir\n  torchrun --nproc_per_node 8 train.py {CADENCE}\n")}
    assert project(files, select=["HF001"]) == ["sky/train.yaml:11:62: HF001"]


def test_a_skypilot_pipeline_has_a_task_per_document(project):
    text = ("name: pipeline\n---\n" + sky("envs:\n  WANDB_MODE: offline\n") + "---\n" +
            sky("envs:\n  WANDB_MODE: disabled\n"))
    assert run(project, {"sky.yaml": text}) == ["sky.yaml:8:3: ENV008", "sky.yaml:19:3: ENV008"]


def test_skypilot_says_with_verbose_who_may_give_the_key(project):
    run(project, {"sky.yaml": sky()})
    notes = verbose_notes(project.root)
    assert len(notes) == 1 and "SkyPilot task 'sft', run" in notes[0] and "sky launch --env" in notes[0]


# -- Ray jobs ---------------------------------------------------------------------------------------

SUBMIT = "ray job submit --address http://head:8265 --working-dir . -- python train.py"


def runtime_env(name: str, value: str) -> str:
    return '--runtime-env-json \'{"env_vars": {"%s": "%s"}}\'' % (name, value)


OFFLINE_JOB = f"ray job submit {runtime_env('WANDB_MODE', 'offline')} -- python train.py\n"
WORKFLOW = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: {}\n"

RAY = {
    "workflow-without-key-the-cluster-may-have-it": ({".github/workflows/t.yml": WORKFLOW.format(SUBMIT)}, []),
    "workflow-script-without-key": ({".github/workflows/t.yml": WORKFLOW.format("bash submit.sh"),
                                     "submit.sh": SUBMIT + "\n"}, []),
    "offline-in-the-runtime-env": ({"submit.sh": OFFLINE_JOB}, ["submit.sh:1:16: ENV008"]),
    "key-in-the-runtime-env-is-sec005-alone": (
        {"submit.sh": f"ray job submit {runtime_env('WANDB_API_KEY', 'abc')} -- python train.py\n"},
        ["submit.sh:1:16: SEC005"]),
    "loop-shares-a-run-id": ({"submit.sh": "for seed in 1 2 3; do\n  ray job submit "
                                           f"{runtime_env('WANDB_RUN_ID', 'sft')} -- python train.py --seed $seed\n"
                                           "done\n"}, ["submit.sh:2:18: WB003"]),
    "runtime-env-file-is-unseen-like-the-cluster": (
        {".github/workflows/t.yml": WORKFLOW.format("ray job submit --runtime-env runtime_env.yaml -- python train.py"),
         "runtime_env.yaml": "env_vars:\n  WANDB_API_KEY: abc\n"}, []),
    "status-is-not-a-launch": ({".github/workflows/t.yml": WORKFLOW.format("ray job status raysubmit_1")}, []),
    "cluster-launcher-is-not-a-job": ({".github/workflows/t.yml": WORKFLOW.format("ray submit cluster.yaml train.py")},
                                      []),
}


@pytest.mark.parametrize("files, expected", RAY.values(), ids=RAY.keys())
def test_ray_job_submissions(project, files, expected):
    assert run(project, files) == expected


@pytest.mark.parametrize("launcher", ["submit.sh", "Makefile", ".github/workflows/t.yml"])
def test_a_ray_entrypoint_reaches_the_hf_rules(project, launcher):
    command = f"ray job submit --working-dir . --no-wait -- python train.py {CADENCE}"
    text = {"submit.sh": command + "\n", "Makefile": f"train:\n\t{command}\n",
            ".github/workflows/t.yml": WORKFLOW.format(command)}[launcher]
    findings = project({"train.py": PARSED, launcher: text}, select=["HF001"])
    assert len(findings) == 1 and findings[0].startswith(f"{launcher}:") and findings[0].endswith("HF001")


def test_a_ray_working_dir_is_where_the_entrypoint_runs(project):
    command = f"ray job submit --working-dir src -- python train.py {CADENCE}\n"
    assert project({"src/train.py": PARSED, "train.py": "print()\n", "submit.sh": command},
                   select=["HF001"]) == ["submit.sh:1:75: HF001"]


def test_ray_says_with_verbose_that_the_cluster_may_give_the_key(project):
    run(project, {".github/workflows/t.yml": WORKFLOW.format(SUBMIT)})
    notes = verbose_notes(project.root)
    assert len(notes) == 1 and "inside `ray job submit`" in notes[0] and "Ray cluster" in notes[0]


# -- hostile input and the cache --------------------------------------------------------------------

@pytest.mark.parametrize("name, text", [
    (".dstack.yml", "type: task\nenv: 5\ncommands: {a: b}\nreplicas: [1, {commands: 3}]\ngroups: x\n"),
    (".dstack.yml", "type: [task]\ncommands: [python train.py]\n"),
    (".dstack.yml", "type: service\nreplicas: '..'\ncommands:\n  - python train.py\n"),
    ("sky.yaml", "resources: {}\nenvs: [1, 2]\nsecrets: [3, {a: b}]\nrun: python train.py\nfile_mounts: 7\n"),
    ("sky.yaml", "num_nodes: x\nrun: ''\nsetup: '|'\n"),
    ("submit.sh", "ray job submit --runtime-env-json '[1]' -- python train.py\nray job submit --working-dir\n"
                  "ray job submit --runtime-env-json '{\"env_vars\": 3}' -- python train.py\n"),
])
def test_odd_launcher_files_never_crash(tmp_path, name, text):
    write_files(tmp_path, {"train.py": SCRIPT, name: text, "Dockerfile": "FROM python:3.11\nENV WANDB_MODE=offline\n"})
    result = engine.check(["."], select=["ALL"], cwd=tmp_path)
    assert not result.internal_errors
    assert "Dockerfile:2:1: ENV008" in [f"{f.location.path}:{f.location.line}:{f.location.column}: {f.code}"
                                        for f in result.findings]


def test_cold_and_warm_runs_report_the_same(tmp_path):
    """The facts of these launchers come back from the cache whole (the changed script makes the rules run again
    over the cached launchers): the same findings, and the same `-v` notes about who may give the key."""
    write_files(tmp_path, {"train.py": SCRIPT, ".dstack.yml": dstack("env:\n  - WANDB_MODE=offline\n"),
                           "sky.yaml": sky(), "submit.sh": OFFLINE_JOB})

    def checked():
        result = engine.check(["."], select=LAUNCHER_RULES, cwd=tmp_path, use_cache=True)
        return [f"{f.location}: {f.code}" for f in result.findings], undecided(result.project)

    cold = checked()
    (tmp_path / "train.py").write_text(SCRIPT + "# changed\n")
    assert len(cold[0]) == 2 and len(cold[1]) == 1 and checked() == cold
