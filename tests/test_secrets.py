"""SEC rules, and the guarantee behind them: no output of preflight ever contains a secret it read."""

from __future__ import annotations

import json

import pytest
from conftest import write_files
from click.testing import CliRunner

from preflight.cli import main
from preflight.secrets import find_wandb_keys, mask, scrub

NEW_KEY = "wandb_v1_" + "Hx4Kq9Lm2Nb7Vc1Zr8Tp3Ks6Jd5" + "_" + "Wf0Gh2Ay7Bq4Cx9Dz1Ew6Fv3Gu8Ht5Is2Jr7Kq4Lp9Mo1Nn6Om"
OLD_KEY = "8f3e2a1b9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
HF = "hf_Zq8Wx3Ec7Rv1Tb5Yn9Um2Ik6Ol4Pa0SdFgHj"

PLANTED = {
    "train.py": f'import wandb\n\n# old key: WANDB_API_KEY={OLD_KEY}\nwandb.login(key="{NEW_KEY}")\nwandb.init()\n',
    "configs/sft.yaml": f"output_dir: o\nlogging_steps: 5\nreport_to: wandb\nenv:\n  WANDB_API_KEY: {NEW_KEY}\n",
    "configs/ax.yml": f"base_model: m\ndatasets: []\nwandb_project: p\ncomet_api_key: {OLD_KEY}\n",
    ".github/workflows/t.yml": f"on: push\njobs:\n  t:\n    runs-on: x\n    env:\n      WANDB_API_KEY: {NEW_KEY}\n"
                              f"    steps:\n      - run: wandb login {OLD_KEY} && python train.py\n",
    "docker-compose.yml": f"services:\n  t:\n    command: python train.py\n    environment:\n      - WANDB_API_KEY={NEW_KEY}\n"
                          f"      - HF_TOKEN={HF}\n",
    "Dockerfile": f"FROM python:3.11\nENV WANDB_API_KEY={NEW_KEY}\nRUN wandb login {OLD_KEY}\nCMD python train.py\n",
    "k8s/job.yaml": f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j}}\nspec:\n  template:\n    spec:\n      containers:\n"
                    f"        - name: c\n          command: [python, train.py]\n          env:\n"
                    f"            - {{name: WANDB_API_KEY, value: {NEW_KEY}}}\n",
    "run.sbatch": f"#!/bin/bash\n#SBATCH --export=ALL\nexport WANDB_API_KEY={NEW_KEY}\n"
                  f"docker run -e WANDB_API_KEY={OLD_KEY} img python train.py\n",
    "Makefile": f"train:\n\tWANDB_API_KEY={NEW_KEY} python train.py\n",
    ".env.production": f"WANDB_API_KEY={NEW_KEY}\nHF_TOKEN={HF}\n",
    ".netrc": f"machine api.wandb.ai\n  login user\n  password {OLD_KEY}\n",
}


@pytest.fixture
def planted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path, PLANTED)
    return tmp_path


@pytest.mark.parametrize("args", [
    ["check"], ["check", "--select", "ALL"], ["check", "--format", "json", "--select", "ALL"],
    ["check", "--statistics", "--select", "ALL"], ["check", "--no-show-source", "--select", "ALL"],
])
def test_no_output_contains_a_planted_secret(planted, args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 1
    output = result.output + (result.stderr if result.stderr_bytes else "")
    for secret in (NEW_KEY, OLD_KEY, HF, NEW_KEY[9:30], OLD_KEY[:20]):
        assert secret not in output


def test_every_file_kind_reports_its_secret(planted):
    result = CliRunner().invoke(main, ["check", "--format", "json", "--select", "SEC"], catch_exceptions=False)
    found = {(f["location"]["path"], f["code"]) for f in json.loads(result.output)["findings"]}
    for path in PLANTED:
        assert any(p == path for p, _ in found), path
    assert ("Dockerfile", "SEC003") in found and (".github/workflows/t.yml", "SEC005") in found
    assert ("docker-compose.yml", "SEC004") in found and ("train.py", "SEC002") in found


def test_masking():
    assert mask(NEW_KEY) == "****" + NEW_KEY[-4:]
    assert mask("short") == "****"
    assert scrub(f"x = '{OLD_KEY}'") == f"x = '{OLD_KEY}'"  # no W&B context: a commit hash
    assert OLD_KEY not in scrub(f"WANDB_API_KEY={OLD_KEY}")


@pytest.mark.parametrize("text", [
    "git checkout 8f3e2a1b9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f",
    "pip install git+https://github.com/wandb/wandb@8f3e2a1b9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f",
    "WANDB_API_KEY=0000000000000000000000000000000000000000",
    "WANDB_API_KEY=<your key>",
    "wandb.login(key=os.environ['WANDB_API_KEY'])",
])
def test_not_keys(text):
    assert find_wandb_keys(text) == []


@pytest.mark.parametrize("path, text, column", [
    ("train.sh", "python train.py logging.wandb_key_api=8f3e2a1b9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f\n", 39),
    ("configs/logging/wandb.yaml", "project: sft\nwandb_key_api: 8f3e2a1b9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f\n", 16),
], ids=["hydra-override", "hydra-config"])
def test_a_key_in_a_wandb_named_hydra_setting(project, path, text, column):
    line = text.count("\n", 0, text.index("8f3e")) + 1
    assert project({path: text}, select=["SEC001"]) == [f"{path}:{line}:{column}: SEC001"]


def test_a_wandb_setting_that_is_not_a_key_is_not_one(project):
    text = "python train.py logging.wandb_key_prefix=run logger.wandb.commit=8f3e2a1b9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f\n"
    assert project({"train.sh": text}, select=["SEC001"]) == []


SEC_CASES = {
    "literal-login": ('import wandb\nwandb.login(key="8f3e2a1b9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f")\n', ["train.py:2:1: SEC002",
                                                                                                  "train.py:2:18: SEC001"]),
    "login-without-key": ("import wandb\nwandb.login()\n", []),
}


@pytest.mark.parametrize("source, expected", SEC_CASES.values(), ids=SEC_CASES.keys())
def test_python_logins(project, source, expected):
    assert project({"train.py": source}, select=["SEC"]) == expected


def test_login_with_a_variable_is_info_shown_only_when_selected(project):
    from preflight import engine

    files = {"train.py": "import wandb\nwandb.login(key=args.key)\nwandb.init(name='x')\n"}
    assert project(files) == []
    [finding] = engine.check(["."], select=["SEC002"]).findings
    assert finding.severity.value == "info" and finding.location.line == 2


@pytest.mark.parametrize("value", ["${{ secrets.WANDB_API_KEY }}", "''", "changeme", "<your-key>", "${WANDB_API_KEY}"])
def test_references_and_placeholders_are_not_literal_secrets(project, value):
    files = {".github/workflows/t.yml": f"on: push\njobs:\n  t:\n    env:\n      WANDB_API_KEY: {value}\n    steps: []\n"}
    assert project(files, select=["SEC004"]) == []


def test_dockerfile_build_secret_and_runtime_env(project):
    files = {"Dockerfile": "FROM x\nRUN --mount=type=secret,id=wandb wandb login $(cat /run/secrets/wandb)\n"
                           "ENV WANDB_PROJECT=p\n"}
    assert project(files, select=["SEC003"]) == []


@pytest.mark.parametrize("command, expected", [
    ("docker run -e WANDB_API_KEY=$WANDB_API_KEY img", ["run.sh:1:15: SEC005"]),
    ("docker run --env=HF_TOKEN=$HF_TOKEN img", ["run.sh:1:18: SEC005"]),
    ("python train.py --wandb_key $KEY", ["run.sh:1:17: SEC005"]),
    ("wandb login $WANDB_API_KEY", ["run.sh:1:13: SEC005"]),
    ("python train.py --logger.wandb.key $TOKEN", ["run.sh:1:17: SEC005"]),
    ("python train.py --trainer.logger.wandb_api_key=$TOKEN", ["run.sh:1:17: SEC005"]),
    ("python train.py --use_wandb $WANDB_API_KEY", ["run.sh:1:17: SEC005"]),
    ("python train.py --use_wandb wandb_v1_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", ["run.sh:1:17: SEC005"]),
    ("ray job submit --address http://head:8265 -- python train.py --wandb_key $K", ["run.sh:1:62: SEC005"]),
    ("srun --ntasks 8 python train.py --neptune_api_token $T", ["run.sh:1:33: SEC005"]),
    ("ray job submit --runtime-env-json '{\"env_vars\": {\"WANDB_API_KEY\": \"$K\"}}' -- python t.py",
     ["run.sh:1:16: SEC005"]),
    ("docker run -e WANDB_API_KEY img", []),
    ("echo $WANDB_API_KEY | wandb login", []),
    ("wandb login --relogin", []),
    ("python train.py --use_wandb true --wandb_project sft", []),
    ("python train.py --logger.wandb.project sft --logger.wandb.key_prefix run", []),
    ("python train.py --use_wandb $USE_WANDB", []),
    ("ray job submit --runtime-env-json '{\"env_vars\": {\"WANDB_PROJECT\": \"p\"}}' -- python t.py", []),
], ids=["docker-env", "docker-env-equals", "key-flag", "wandb-login", "dotted-config-flag", "dotted-equals",
        "key-variable-as-value", "literal-key-as-value", "ray-forwarded", "srun-forwarded", "ray-runtime-env",
        "docker-env-without-value", "login-from-stdin", "relogin", "a-boolean-flag", "key-prefix-is-not-a-key",
        "not-a-key-variable", "runtime-env-without-a-key"])
def test_secret_on_command_line(project, command, expected):
    assert project({"run.sh": command + "\n"}, select=["SEC005"]) == expected


MAKE_ESCAPES = ("train:\n\tdocker run -e WANDB_API_KEY=$$WANDB_API_KEY trainer python train.py\n"
                "x:\n\techo $$HOME $$PWD && docker run -e WANDB_API_KEY=$$WANDB_API_KEY t python train.py \\\n"
                "\t  --lr 1 && docker run -e HF_TOKEN=$${HF_TOKEN} t python train.py\n")


def test_positions_in_a_makefile_recipe_are_those_of_the_makefile(project):
    """make reads `$$` as one `$` and joins continued lines with a space before the shell sees a recipe
    line; positions are mapped back to the Makefile (they ran one character short per `$$` and two per
    continuation, and the fix wrote `WANDB_API_KEYY`). The fix round-trips: every key goes, nothing else."""
    from preflight import api, engine

    assert project({"Makefile": MAKE_ESCAPES}, select=["SEC005"]) == [
        "Makefile:2:16: SEC005", "Makefile:4:37: SEC005", "Makefile:5:28: SEC005"]
    result = engine.check(["."], select=["SEC005"], cwd=project.root)
    spans = {(f.location.line, f.location.column, f.location.end_column) for f in result.findings}
    assert spans == {(2, 16, 16 + len("WANDB_API_KEY=$$WANDB_API_KEY")),
                     (4, 37, 37 + len("WANDB_API_KEY=$$WANDB_API_KEY")), (5, 28, 28 + len("HF_TOKEN=$${HF_TOKEN}"))}
    api.write_changes([c for c in api.plan_fixes(result) if c.after != c.before], project.root)
    assert (project.root / "Makefile").read_text() == (
        "train:\n\tdocker run -e WANDB_API_KEY trainer python train.py\n"
        "x:\n\techo $$HOME $$PWD && docker run -e WANDB_API_KEY t python train.py \\\n"
        "\t  --lr 1 && docker run -e HF_TOKEN t python train.py\n")
    assert project({}, select=["SEC005"]) == []


def _build_secret_fixed(project, text: str) -> str:
    from preflight import api, engine

    project({"Dockerfile": text})
    result = engine.check(["."], select=["SEC003"])
    api.write_changes([c for c in api.plan_fixes(result, unsafe=True) if c.after != c.before], project.root)
    return (project.root / "Dockerfile").read_bytes().decode()


@pytest.mark.parametrize("text, fixed", [
    ("# syntax=docker/dockerfile:1.10\nFROM python:3.11 AS build\nARG HF_TOKEN\n"
     "RUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n"
     "FROM python:3.11-slim\nRUN echo done\n",
     "# syntax=docker/dockerfile:1.10\nFROM python:3.11 AS build\nRUN --mount=type=secret,id=hf_token,env=HF_TOKEN "
     "--mount=type=cache,target=/root/.cache pip install -r requirements.txt\nFROM python:3.11-slim\nRUN echo done\n"),
    ("FROM python:3.11-slim\r\nENV WANDB_API_KEY=$WANDB_API_KEY\r\nCMD python train.py\r\n",
     "FROM python:3.11-slim\r\nCMD python train.py\r\n"),
    ("# syntax=docker/dockerfile:1.9\nFROM python:3.11-slim\nARG WANDB_API_KEY\nRUN python prefetch.py\n", None),
    ("FROM python:3.11-slim\nENV WANDB_API_KEY=$WANDB_API_KEY WANDB_PROJECT=p\n", None),  # not alone
    ("FROM python:3.11-slim\nENV WANDB_API_KEY=$WANDB_API_KEY\nFROM python:3.11-slim\nRUN python prefetch.py\n",
     None),  # a later stage may be built from this one
    ("ARG WANDB_API_KEY\nFROM python:3.11-slim\n", None),  # before the first stage: only FROM lines read it
], ids=["other-stage-untouched", "crlf-env", "frontend-1.9", "two-variables", "later-stage", "global-arg"])
def test_a_key_in_an_image_becomes_a_build_secret(project, text, fixed):
    assert project({"Dockerfile": text}, select=["SEC003"]) != []
    assert _build_secret_fixed(project, text) == (fixed or text)
    assert fixed is None or project({}, select=["SEC003"]) == []


@pytest.mark.parametrize("command", [
    "wandb login --host https://wandb.example.com opaque-on-prem-credential-77aa",
    "wandb login --relogin --host=https://wandb.example.com opaque-on-prem-credential-77aa",
    "wandb login opaque-on-prem-credential-77aa",
])
def test_the_key_wandb_login_takes_is_masked_whatever_its_form(command):
    """`wandb login [--host URL] KEY`: the argument is the key, even in a form no pattern knows (an on-prem
    server's); the host's URL is not."""
    from preflight import secrets

    masked, _ = secrets.mask_line(command, secrets.spans(command))
    assert "opaque-on-prem-credential" not in masked and masked.endswith("77aa")
    assert "wandb.example.com" in masked or "--host" not in command
