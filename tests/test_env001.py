"""ENV001 tracking-key-not-passed for GitHub Actions workflows and docker-compose services."""

from __future__ import annotations

import pytest

from preflight import engine

SCRIPT = "import wandb\n\nwandb.init(project='p', name='baseline')\n"
WF = ".github/workflows/train.yml"


def workflow(step: str = "", job: str = "", top: str = "", run: str = "python train.py", earlier: str = "") -> str:
    return (f"on: push\n{top}jobs:\n  train:\n    runs-on: ubuntu-latest\n{job}    steps:\n"
            f"      - uses: actions/checkout@v4\n{earlier}      - name: Train\n{step}        run: {run}\n")


def check(project, files: dict[str, str]) -> list[str]:
    return project(files, select=["ENV001"])


def test_missing_key_is_reported_at_the_command(project):
    assert check(project, {"train.py": SCRIPT, WF: workflow()}) == [f"{WF}:8:14: ENV001"]
    [finding] = engine.check(["."], select=["ENV001"]).findings
    assert "runs train.py" in finding.message and "crash at wandb.init" in finding.message
    assert "secrets.WANDB_API_KEY" in finding.message
    assert finding.related[0].location.path == "train.py" and finding.related[0].location.line == 3


SECRET = "${{ secrets.WANDB_API_KEY }}"
CHANNELS = {
    "step-env": dict(step=f"        env:\n          WANDB_API_KEY: {SECRET}\n"),
    "job-env": dict(job=f"    env:\n      WANDB_API_KEY: {SECRET}\n"),
    "workflow-env": dict(top=f"env:\n  WANDB_API_KEY: {SECRET}\n"),
    "container-env": dict(job=f"    container:\n      image: pytorch/pytorch\n      env:\n        WANDB_API_KEY: {SECRET}\n"),
    "identity-token": dict(job="    env:\n      WANDB_IDENTITY_TOKEN_FILE: /var/run/secrets/wandb\n"),
    "login-earlier-step": dict(earlier=f"      - run: wandb login {SECRET}\n"),
    "github-env-write": dict(earlier=f"      - run: echo \"WANDB_API_KEY={SECRET}\" >> $GITHUB_ENV\n"),
    "prefix": dict(run=f"WANDB_API_KEY={SECRET} python train.py"),
    "export-in-run": dict(run=f"|\n          export WANDB_API_KEY={SECRET}\n          python train.py"),
    "login-in-run": dict(run="|\n          wandb login --relogin \"$KEY\"\n          python train.py"),
    "mode-offline": dict(step="        env:\n          WANDB_MODE: offline\n"),
    "mode-disabled-prefix": dict(run="WANDB_MODE=disabled python train.py"),
    "netrc-written-earlier": dict(earlier=f"      - run: echo \"machine api.wandb.ai password {SECRET}\" > ~/.netrc\n"),
    "docker-run-netrc": dict(run="docker run -v $HOME/.netrc:/root/.netrc:ro img python train.py"),
    "docker-run-passes-key": dict(job=f"    env:\n      WANDB_API_KEY: {SECRET}\n",
                                  run="docker run --gpus all -e WANDB_API_KEY -v $PWD:/w img python /w/train.py"),
}


@pytest.mark.parametrize("parts", CHANNELS.values(), ids=CHANNELS.keys())
def test_key_channels(project, parts):
    assert check(project, {"train.py": SCRIPT, WF: workflow(**parts)}) == []


def test_empty_key_is_no_key(project):
    assert check(project, {"train.py": SCRIPT, WF: workflow(step="        env:\n          WANDB_API_KEY: ''\n")}) == \
        [f"{WF}:10:14: ENV001"]


def test_docker_run_without_the_key_is_env004_not_env001(project):
    files = {"train.py": SCRIPT,
             WF: workflow(job=f"    env:\n      WANDB_API_KEY: {SECRET}\n", run="docker run img python train.py")}
    assert project(files, select=["ENV"]) == [f"{WF}:10:14: ENV004"]


def test_docker_run_without_any_key_is_env001(project):
    files = {"train.py": SCRIPT, WF: workflow(run="docker run img python train.py")}
    assert project(files, select=["ENV"]) == [f"{WF}:8:14: ENV001"]


def test_login_in_another_job_is_env012_not_env001(project):
    text = (f"on: push\njobs:\n  login:\n    runs-on: ubuntu-latest\n    steps:\n      - run: wandb login {SECRET}\n"
            "  train:\n    runs-on: ubuntu-latest\n    steps:\n      - run: python train.py\n")
    assert project({"train.py": SCRIPT, WF: text}, select=["ENV", "SEC"]) == [
        f"{WF}:6:26: SEC005", f"{WF}:10:14: ENV012"]


ENTRY_POINTS = {
    "accelerate": ("accelerate launch --num_processes 2 --mixed_precision bf16 train.py --lr 1e-4", {"train.py": SCRIPT}),
    "torchrun": ("torchrun --nproc_per_node=8 train.py", {"train.py": SCRIPT}),
    "python-module": ("python -m pkg.train", {"pkg/train.py": SCRIPT, "pkg/__init__.py": ""}),
    "python3-unbuffered": ("python3 -u train.py", {"train.py": SCRIPT}),
    "uv-run": ("uv run python train.py", {"train.py": SCRIPT}),
    "axolotl": ("axolotl train cfg.yml", {"cfg.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_name: n\n"}),
    "axolotl-module": ("accelerate launch -m axolotl.cli.train cfg.yml",
                       {"cfg.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_name: n\n"}),
    "trl": ("trl sft --config sft.yaml", {"sft.yaml": "output_dir: o\nlogging_steps: 5\nreport_to: wandb\nrun_name: r\n"}),
    "cli-report-to": ("python hf.py --report_to wandb --run_name r",
                      {"hf.py": "from transformers import HfArgumentParser, TrainingArguments\n"}),
    "weave": ("python agent.py", {"agent.py": "import weave\n\nweave.init('team/project')\n"}),
    "imported-module": ("python train.py", {"train.py": "from tracking import start\n\nstart()\n",
                                            "tracking.py": "import wandb\n\ndef start():\n    wandb.init(name='x')\n"}),
    "relative-import": ("python -m app.main", {"app/__init__.py": "", "app/main.py": "from .track import go\n",
                                               "app/track.py": "import wandb\nwandb.init(name='x')\n"}),
}


@pytest.mark.parametrize("command, files", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
def test_entry_points(project, command, files):
    assert check(project, {**files, WF: workflow(run=command)}) == [f"{WF}:8:14: ENV001"]


def test_cd_before_the_command(project):
    files = {"training/train.py": SCRIPT, WF: workflow(run="cd training && python train.py")}
    assert check(project, files) == [f"{WF}:8:29: ENV001"]


def test_working_directory(project):
    files = {"ml/train.py": SCRIPT, WF: workflow(step="        working-directory: ml\n")}
    assert check(project, files) == [f"{WF}:9:14: ENV001"]


NOT_WANDB = {
    "trackio-as-wandb": {"train.py": "import trackio as wandb\n\nwandb.init(project='p')\n"},
    "no-tracker": {"train.py": "import torch\nprint(torch.__version__)\n"},
    "disabled-in-code": {"train.py": "import wandb\n\nwandb.init(mode='disabled')\n"},
    "offline-env-in-code": {"train.py": "import os\nimport wandb\n\nos.environ['WANDB_MODE'] = 'offline'\nwandb.init(name='x')\n"},
    "script-not-scanned": {},
    "report-to-none-on-cli": {"train.py": "from transformers import TrainingArguments\n\n"
                                          "TrainingArguments(output_dir='o', report_to='wandb', run_name='r')\n",
                              "cmd": "python train.py --report_to none"},
    "login-with-key-in-script": {"train.py": "import wandb\n\nwandb.login(key=read_secret())\nwandb.init(name='x')\n"},
}


@pytest.mark.parametrize("files", NOT_WANDB.values(), ids=NOT_WANDB.keys())
def test_entry_points_that_need_no_key(project, files):
    files = dict(files)
    command = files.pop("cmd", "python train.py")
    assert check(project, {**files, WF: workflow(run=command)}) == []


def test_key_read_from_env_in_script_still_needs_the_env(project):
    files = {"train.py": "import os, wandb\n\nwandb.login(key=os.environ['WANDB_API_KEY'])\nwandb.init(name='x')\n",
             WF: workflow()}
    assert check(project, files) == [f"{WF}:8:14: ENV001"]


def test_multiline_run_block_position(project):
    run = "|\n          pip install -r requirements.txt\n          echo start\n          python train.py --epochs 3"
    assert check(project, {"train.py": SCRIPT, WF: workflow(run=run)}) == [f"{WF}:11:11: ENV001"]


# -- docker compose ------------------------------------------------------------------------------

DC = "docker-compose.yml"


def compose(service: str) -> str:
    return "services:\n  trainer:\n    image: trainer:latest\n" + service


COMPOSE_CASES = {
    "missing": ("    command: python train.py\n", [f"{DC}:4:14"]),
    "list-command": ("    command: [\"python\", \"train.py\"]\n", [f"{DC}:4:15"]),
    "container-path": ("    command: python /app/train.py\n", [f"{DC}:4:14"]),
    "bash-c": ("    command: bash -c \"cd /app && python train.py\"\n", [f"{DC}:4:34"]),
    "entrypoint-and-command": ("    entrypoint: [\"python\"]\n    command: [\"train.py\"]\n", [f"{DC}:5:15"]),
    "map-env": ("    command: python train.py\n    environment:\n      WANDB_API_KEY: ${WANDB_API_KEY:?missing}\n", []),
    "list-env": ("    command: python train.py\n    environment:\n      - WANDB_API_KEY=${WANDB_API_KEY}\n", []),
    "pass-through": ("    command: python train.py\n    environment:\n      - WANDB_API_KEY\n", []),
    "null-map-value": ("    command: python train.py\n    environment:\n      WANDB_API_KEY:\n", []),
    "mode-disabled": ("    command: python train.py\n    environment:\n      WANDB_MODE: disabled\n", []),
    "netrc-volume": ("    command: python train.py\n    volumes:\n      - ~/.netrc:/root/.netrc:ro\n", []),
    "env-file-unreadable": ("    command: python train.py\n    env_file: .env.secret\n", []),
    "other-env-only": ("    command: python train.py\n    environment:\n      WANDB_PROJECT: p\n", [f"{DC}:4:14"]),
    "no-command": ("    environment:\n      WANDB_PROJECT: p\n", []),
}


@pytest.mark.parametrize("service, expected", COMPOSE_CASES.values(), ids=COMPOSE_CASES.keys())
def test_compose(project, service, expected):
    assert check(project, {"train.py": SCRIPT, DC: compose(service)}) == [f"{e}: ENV001" for e in expected]


def test_empty_compose_value_is_env005_not_env001(project):
    service = "    command: python train.py\n    environment:\n      - WANDB_API_KEY=\n"
    assert project({"train.py": SCRIPT, DC: compose(service)}, select=["ENV"]) == [f"{DC}:6:9: ENV005"]


@pytest.mark.parametrize("dot_env, expected", [
    ("WANDB_API_KEY= # fill in\n", ["docker-compose.yml:6:7: ENV005"]),  # a comment, not a value
    ("WANDB_API_KEY=abc # the team key\n", []),
    ("WANDB_API_KEY='# not a comment'\n", []),
])
def test_an_env_file_is_read_one_way(project, dot_env, expected):
    """The .env beside a compose file is read by the same parser as every other env file."""
    service = "    command: python train.py\n    environment:\n      WANDB_API_KEY: ${WANDB_API_KEY}\n"
    files = {"train.py": SCRIPT, DC: compose(service), ".env": dot_env}
    assert project(files, select=["ENV005"]) == expected


def test_compose_env_file_contents(project):
    files = {
        "train.py": SCRIPT,
        "with-key.env": "# secrets\nexport WANDB_API_KEY=abc123\n",
        "without-key.env": "WANDB_PROJECT=p\nWANDB_API_KEY=\n",
        DC: ("services:\n  a:\n    command: python train.py\n    env_file: with-key.env\n"
             "  b:\n    command: python train.py\n    env_file: [without-key.env]\n"),
    }
    assert check(project, files) == [f"{DC}:6:14: ENV001"]


def test_compose_anchor_and_merge_key(project):
    text = ("x-env: &env\n  environment:\n    WANDB_API_KEY: ${WANDB_API_KEY:?}\n"
            "services:\n  a:\n    <<: *env\n    command: python train.py\n  b:\n    command: python train.py\n")
    assert check(project, {"train.py": SCRIPT, DC: text}) == [f"{DC}:9:14: ENV001"]


def test_container_path_must_be_unambiguous(project):
    files = {"a/train.py": SCRIPT, "b/train.py": SCRIPT, DC: compose("    command: python /app/train.py\n")}
    assert check(project, files) == []


def _key_fixed(project, files: dict[str, str]) -> dict[str, str]:
    from preflight import api

    project(files)
    result = engine.check(["."], select=["ENV001"])
    api.write_changes([c for c in api.plan_fixes(result, unsafe=True) if c.after != c.before], project.root)
    return {path: (project.root / path).read_bytes().decode() for path in files}


@pytest.mark.parametrize("path, text, fixed", [
    (WF, workflow(step="        env:\n          HF_HOME: /tmp/hf  # cache\n"),
     workflow(step=f"        env:\n          WANDB_API_KEY: {SECRET}\n          HF_HOME: /tmp/hf  # cache\n")),
    (WF, workflow().replace("\n", "\r\n"),
     workflow(step=f"        env:\n          WANDB_API_KEY: {SECRET}\n").replace("\n", "\r\n")),
    ("docker-compose.yml", "services:\n  trainer:\n    build: .\n    command: python train.py\n"
                           "    environment:\n        HF_HOME: /data\n",
     "services:\n  trainer:\n    build: .\n    command: python train.py\n    environment:\n"
     "        WANDB_API_KEY: ${WANDB_API_KEY:?set WANDB_API_KEY}\n        HF_HOME: /data\n"),
    ("docker-compose.yml", "services:\n  trainer:\n    build: .\n    command: python train.py\n",
     "services:\n  trainer:\n    build: .\n    environment:\n      WANDB_API_KEY: ${WANDB_API_KEY:?set WANDB_API_KEY}\n"
     "    command: python train.py\n"),
], ids=["step-env", "crlf", "compose-map", "compose-new"])
def test_the_key_is_added_where_the_launcher_takes_it(project, path, text, fixed):
    assert _key_fixed(project, {"train.py": SCRIPT, path: text})[path] == fixed
    assert check(project, {}) == []


@pytest.mark.parametrize("path, text", [
    (WF, "on: push\njobs:\n  train:\n    runs-on: ubuntu-latest\n    steps:\n      - run: python train.py\n"),
    (WF, "on: push\njobs:\n  train:\n    runs-on: ubuntu-latest\n    steps:\n"
         "      - {name: Train, run: python train.py}\n"),  # a flow mapping
    (WF, workflow(step="        env: {HF_HOME: /tmp/hf}\n")),  # a flow env
    ("docker-compose.yml", "x-base: &base\n  environment:\n    HF_HOME: /data\nservices:\n  trainer:\n"
                           "    <<: *base\n    build: .\n    command: python train.py\n"),  # an own one would hide it
    ("docker-compose.yml", "x-env: &env\n  HF_HOME: /data\nservices:\n  trainer:\n    build: .\n"
                           "    command: python train.py\n    environment: *env\n"),  # shared with others
    ("docker-compose.yml", "services:\n  trainer:\n    build: .\n    command: python train.py\n"
                           "    environment: &env\n      HF_HOME: /data\n"),  # an anchor others may share
], ids=["single-key-step", "flow-step", "flow-env", "merge-key", "aliased-env", "anchored-env"])
def test_no_key_added_where_the_place_is_not_exactly_known(project, path, text):
    files = {"train.py": SCRIPT, path: text}
    assert check(project, files) != []
    assert _key_fixed(project, files) == files


def _required_fixed(project, files: dict[str, str]) -> str:
    from preflight import api

    project(files)
    result = engine.check(["."], select=["ENV005"])
    api.write_changes([c for c in api.plan_fixes(result, unsafe=True) if c.after != c.before], project.root)
    return (project.root / DC).read_text()


@pytest.mark.parametrize("entry, fixed", [
    ("      WANDB_API_KEY: \"${WANDB_API_KEY}\"  # from the shell\n",
     "      WANDB_API_KEY: \"${WANDB_API_KEY:?set WANDB_API_KEY}\"  # from the shell\n"),
    ("      WANDB_API_KEY: $TEAM_KEY\n", "      WANDB_API_KEY: ${TEAM_KEY:?set TEAM_KEY}\n"),
    ("      WANDB_API_KEY: ${TEAM_KEY:-}\n", "      WANDB_API_KEY: ${TEAM_KEY:?set TEAM_KEY}\n"),
    ("      WANDB_API_KEY: ''\n", "      WANDB_API_KEY: '${WANDB_API_KEY:?set WANDB_API_KEY}'\n"),
    ("      - \"WANDB_API_KEY=${WANDB_API_KEY}\"\n", "      - \"WANDB_API_KEY=${WANDB_API_KEY:?set WANDB_API_KEY}\"\n"),
    ("      WANDB_API_KEY: >-\n        ${WANDB_API_KEY}\n", None),  # a folded scalar: not one line as read
], ids=["quoted", "bare-dollar", "empty-default", "empty", "list-quoted", "folded"])
def test_a_blank_interpolation_becomes_required(project, entry, fixed):
    text = compose("    command: python train.py\n    environment:\n" + entry)
    assert project({"train.py": SCRIPT, DC: text}, select=["ENV005"]) == [f"{DC}:6:{len(entry) - len(entry.lstrip(' -')) + 1}: ENV005"]
    expected = compose("    command: python train.py\n    environment:\n" + (fixed or entry))
    assert _required_fixed(project, {"train.py": SCRIPT, DC: text}) == expected
    assert fixed is None or project({}, select=["ENV005"]) == []
