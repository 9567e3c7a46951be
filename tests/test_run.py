"""`preflight run -- CMD`: each live check with real folders, environment variables and a local HTTP
server on 127.0.0.1; the command really replaces preflight (its output and exit code are its own)."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

KEY = "0123456789abcdef0123456789abcdef01234567"
SCRIPT = ("import sys, wandb\nfrom transformers import TrainingArguments\n"
          "TrainingArguments(output_dir='out', report_to='wandb', run_name='r1')\nprint('training started')\n"
          "sys.exit(7)\n")


@pytest.fixture
def job(tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "MLFLOW_"))}
    base_env.update(HOME=str(tmp_path), NETRC=str(tmp_path / "no-netrc"), NO_COLOR="1")

    def run(*args: str, env: dict | None = None, command: list[str] | None = None):
        # the "training" command is a stub with the same arguments: python runs a copy that needs no libraries
        argv = [sys.executable, "-m", "preflight", "run", *args, "--", *(command or ["python", "train.py"])]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, env={**base_env, **(env or {})},
                              timeout=120)

    run.root = tmp_path
    return run


@pytest.fixture(autouse=True)
def fake_python(tmp_path, monkeypatch):
    """`python train.py` must start without wandb or transformers installed: a shim on PATH runs it
    with stubs for those modules (the real libraries are not what these tests are about)."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "wandb.py").write_text("")
    (stubs / "transformers.py").write_text("def TrainingArguments(**kw):\n    return kw\n")
    shim = tmp_path / "bin" / "python"
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\nPYTHONPATH={stubs} exec {sys.executable} \"$@\"\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")


def test_missing_key_stops_the_job_before_it_starts(job):
    result = job()
    assert result.returncode == 2
    assert "training started" not in result.stdout
    assert "FAIL W&B key" in result.stderr and "not starting" in result.stderr


def test_well_formed_key_starts_the_job_by_exec(job):
    result = job(env={"WANDB_API_KEY": KEY})
    assert result.returncode == 7  # the job's own exit code: preflight replaced itself
    assert result.stdout == "training started\n"
    assert "ok   W&B key" in result.stderr and KEY not in result.stderr + result.stdout
    assert "run name r1" in result.stderr


def test_malformed_key(job):
    result = job(env={"WANDB_API_KEY": "abc123"})
    assert result.returncode == 2 and "malformed (6 characters" in result.stderr and "abc123" not in result.stderr


def test_netrc_and_identity_token(job):
    netrc = job.root / "netrc"
    netrc.write_text(f"machine api.wandb.ai\n  login user\n  password {KEY}\n")
    assert job(env={"NETRC": str(netrc)}).returncode == 7
    token = job.root / "token"
    token.write_text("jwt")
    assert job(env={"WANDB_IDENTITY_TOKEN_FILE": str(token)}).returncode == 7
    assert job(env={"WANDB_IDENTITY_TOKEN_FILE": str(job.root / "missing")}).returncode == 2


def test_a_netrc_that_cannot_be_read(job):
    """A FIFO (opening it would wait for a writer forever), a device, a netrc in another encoding: the key
    check says why it found no key, and --warn-only still starts the job."""
    fifo = job.root / "netrc-fifo"
    os.mkfifo(fifo)
    latin = job.root / "netrc-latin1"
    latin.write_bytes(f"machine api.wandb.ai\n  login caf\xe9\n  password {KEY}\n".encode("latin-1"))
    for path, why in ((fifo, "not a regular file (a FIFO)"), ("/dev/zero", "a character device"),
                      (latin, "is not UTF-8 text")):
        result = job(env={"NETRC": str(path)})
        assert result.returncode == 2 and why in result.stderr and "Traceback" not in result.stderr
        assert job("--warn-only", env={"NETRC": str(path)}).returncode == 7
        assert job(env={"NETRC": str(path), "WANDB_API_KEY": KEY}).returncode == 7  # the key comes from elsewhere
    (job.root / ".netrc").write_bytes(latin.read_bytes())  # ~/.netrc, found through HOME
    home = job(env={"NETRC": ""})
    assert home.returncode == 2 and "is not UTF-8 text" in home.stderr and "Traceback" not in home.stderr
    assert job(env={"NETRC": "", "WANDB_API_KEY": KEY}).returncode == 7
    netrc = job.root / "netrc"
    netrc.write_text(f"macdef init\n  machine api.wandb.ai password {KEY}\n\nmachine example.com\n")
    assert job(env={"NETRC": str(netrc)}).returncode == 2  # a macro's body is not an entry


def test_offline_mode_warns_but_starts(job):
    result = job(env={"WANDB_MODE": "offline"})
    assert result.returncode == 7 and "WARN W&B mode: WANDB_MODE=offline" in result.stderr


def test_warn_only_never_blocks(job):
    result = job("--warn-only")
    assert result.returncode == 7 and "despite failures" in result.stderr


def test_json_report(job):
    result = job("--format", "json", env={"WANDB_API_KEY": KEY})
    document = json.loads(result.stderr.strip().splitlines()[-1])
    assert document["start"] is True and any(c["name"] == "W&B key" and c["status"] == "ok" for c in document["checks"])


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_online_wandb_host(job, server):
    assert job("--online", env={"WANDB_API_KEY": KEY, "WANDB_BASE_URL": server}).returncode == 7
    result = job("--online", "--timeout", "2",
                 env={"WANDB_API_KEY": KEY, "WANDB_BASE_URL": f"http://127.0.0.1:{_closed_port()}"})
    assert result.returncode == 2 and "is not reachable" in result.stderr


def test_mlflow_store(job, server):
    (job.root / "train.py").write_text("import sys, mlflow\nmlflow.log_metric('x', 1)\nsys.exit(0)\n")
    (job.root / "stubs" / "mlflow.py").write_text("def log_metric(*a):\n    pass\n")
    unset = job()
    assert unset.returncode == 0 and "WARN MLflow store: MLFLOW_TRACKING_URI is not set" in unset.stderr
    store, scratch = job.root / "mlruns-store", job.root / "scratch"
    store.mkdir()
    scratch.mkdir()
    persistent = job(env={"MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db", "TMPDIR": str(scratch)})
    assert "ok   MLflow store" in persistent.stderr
    temporary = job(env={"MLFLOW_TRACKING_URI": f"sqlite:///{scratch}/mlflow.db", "TMPDIR": str(scratch)})
    assert temporary.returncode == 0 and "is in a temporary folder" in temporary.stderr
    (job.root / "a-file").write_text("not a folder")
    readonly = job(env={"MLFLOW_TRACKING_URI": f"sqlite:///{job.root}/a-file/mlflow.db"})
    assert readonly.returncode == 2 and "not writable" in readonly.stderr
    assert job("--online", env={"MLFLOW_TRACKING_URI": server}).returncode == 0
    down = job("--online", "--timeout", "2", env={"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{_closed_port()}"})
    assert down.returncode == 2 and "MLflow server" in down.stderr


def test_paths(job):
    (job.root / "train.py").write_text(
        "import sys, wandb\nfrom transformers import TrainingArguments\n"
        "TrainingArguments(output_dir='out', report_to='none', resume_from_checkpoint='out/checkpoint-500')\n"
        "sys.exit(0)\n")
    result = job()
    assert result.returncode == 2
    assert "ok   output_dir: out is writable" in result.stderr and "ok   disk space" in result.stderr
    assert "FAIL resume_from_checkpoint: out/checkpoint-500 does not exist" in result.stderr
    (job.root / "out" / "checkpoint-500").mkdir(parents=True)
    assert job().returncode == 0
    assert job("--min-free-gb", "1000000").returncode == 2


def test_dataset_paths_and_artifact_paths(job):
    (job.root / "cfg.yml").write_text("base_model: m\ndatasets:\n  - path: ./data/train.jsonl\n    type: alpaca\n"
                                      "  - path: tatsu-lab/alpaca\n    type: alpaca\noutput_dir: ./out\n")
    result = job(command=["axolotl", "train", "cfg.yml"])
    assert "FAIL dataset (datasets[].path): ./data/train.jsonl does not exist" in result.stderr
    assert "tatsu-lab/alpaca" not in result.stderr  # a hub id is not a path
    (job.root / "train.py").write_text("import sys, mlflow\nmlflow.log_artifacts('plots')\nsys.exit(0)\n")
    (job.root / "stubs" / "mlflow.py").write_text("def log_artifacts(*a):\n    pass\n")
    result = job(env={"MLFLOW_TRACKING_URI": "http://tracking.internal"})
    assert "WARN artifact path: plots does not exist" in result.stderr


def test_versions_against_the_configuration(job):
    (job.root / "pyproject.toml").write_text('[tool.preflight.versions]\nclick = "1.0"\n')
    assert job(env={"WANDB_API_KEY": KEY}).returncode == 2  # a bad configuration is a usage error
    (job.root / "pyproject.toml").write_text('[tool.preflight.versions]\nmlflow = "0.0.1"\n')
    result = job(env={"WANDB_API_KEY": KEY})
    assert result.returncode == 7  # a version mismatch warns, it does not block
    warning = next(line for line in result.stderr.splitlines() if "WARN mlflow version" in line)
    assert "0.0.1" in warning


def test_static_errors_block(job):
    (job.root / "train.py").write_text("import sys, mlflow\nmlflow.log_artifacts('never-written')\nsys.exit(0)\n")
    (job.root / "stubs" / "mlflow.py").write_text("def log_artifacts(*a):\n    pass\n")
    result = job(env={"MLFLOW_TRACKING_URI": "http://tracking.internal"})
    assert result.returncode == 2 and "MLF001" in result.stderr


def test_unknown_command_runs_after_environment_checks(job):
    result = job(command=["sh", "-c", "echo hello; exit 3"])
    assert result.returncode == 3 and result.stdout == "hello\n"


# -- which static findings stop a launch ---------------------------------------------------------------

OTHER_LAUNCHERS = {
    # each runs train.py without the key: findings about these launchers, not about `preflight run`'s job
    ".github/workflows/ci.yml": "on: push\njobs:\n  smoke:\n    runs-on: ubuntu-latest\n    steps:\n"
                                "      - uses: actions/checkout@v4\n      - run: python train.py\n",
    "compose.yaml": "services:\n  trainer:\n    image: python:3.12\n    command: python train.py\n",
    "job.sbatch": "#!/bin/bash\n#SBATCH --export=NIL\nsrun python train.py\n",
}


def _project(job, files: dict[str, str], git: bool = True):
    for name, text in files.items():
        path = job.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if git:  # a real repository, as a job's checkout is
        for argv in (["git", "init", "-q"], ["git", "add", "-A"]):
            subprocess.run(argv, cwd=job.root, check=True, capture_output=True)


def _check(job, *paths: str):
    return subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", *paths], cwd=job.root,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("git", [True, False], ids=["git", "no-git"])
def test_findings_about_other_launchers_never_stop_the_job(job, git):
    _project(job, OTHER_LAUNCHERS, git)
    named = _check(job, "train.py")  # the findings are real: a check of the script reports the workflow's
    assert named.returncode == 1 and ".github/workflows/ci.yml:7:14: ENV001" in named.stdout
    assert "compose.yaml:4:14: ENV001" in named.stdout
    result = job(env={"WANDB_API_KEY": KEY})
    assert result.returncode == 7, result.stderr  # started: its own environment has the key
    assert result.stdout == "training started\n"
    assert "ENV001" not in result.stderr and "ci.yml" not in result.stderr
    assert "other findings: 2 findings about launchers or files this command does not run" in result.stderr
    assert "ok   W&B key" in result.stderr and "starting the job\n" in result.stderr
    document = json.loads(job("--format", "json", env={"WANDB_API_KEY": KEY}).stderr.strip().splitlines()[-1])
    assert document["start"] is True and document["findings"] == [] and document["other_findings"] == 2
    assert job().returncode == 2  # without the key, the live check still stops it


def test_findings_in_what_the_command_runs_stop_it(job):
    """A project module the script imports, and what a shell script launches, are part of the command."""
    _project(job, {
        **OTHER_LAUNCHERS,
        "train.py": SCRIPT.replace("print(", "import helpers\nhelpers.upload()\nprint("),
        "helpers.py": "import mlflow\n\n\ndef upload():\n    mlflow.log_artifacts('never-written')\n",
        "launch.sh": "#!/bin/bash\npython train.py\n",
        "other.py": "import mlflow\nmlflow.log_artifacts('also-never-written')\n",  # not run by the command
    })
    (job.root / "stubs" / "mlflow.py").write_text("def log_artifacts(*a):\n    pass\n")
    env = {"WANDB_API_KEY": KEY, "MLFLOW_TRACKING_URI": "http://tracking.internal"}
    for command in (["python", "train.py"], ["bash", "launch.sh"]):
        result = job(env=env, command=command)
        assert result.returncode == 2, result.stderr
        assert "FAIL helpers.py:5:5: MLF001" in result.stderr and "training started" not in result.stdout
        assert "other.py" not in result.stderr and "ENV001" not in result.stderr
    (job.root / "helpers.py").write_text("def upload():\n    pass\n")
    assert job(env=env).returncode == 7
    other = job(env=env, command=["python", "other.py"])
    assert other.returncode == 2 and "FAIL other.py:2:1: MLF001" in other.stderr


def test_a_config_the_script_reads_is_part_of_the_command(job):
    """A finding in a config file the script loads by a literal path stops the launch; the same finding in
    a config that nothing this command runs reads does not."""
    removed = "output_dir: out\nreport_to: none\nevaluation_strategy: steps\n"  # HF007: rejected at start-up
    _project(job, {
        "train.py": "import sys, wandb\nfrom transformers import HfArgumentParser, TrainingArguments\n"
                    "(args,) = HfArgumentParser(TrainingArguments).parse_yaml_file('conf/train.yaml')\n"
                    "print('training started')\nsys.exit(7)\n",
        "other.py": "from transformers import HfArgumentParser, TrainingArguments\n"
                    "HfArgumentParser(TrainingArguments).parse_yaml_file('conf/other.yaml')\n",
        "conf/train.yaml": removed,
        "conf/other.yaml": removed,
    })
    (job.root / "stubs" / "transformers.py").write_text(
        "class TrainingArguments:\n    pass\n\n\nclass HfArgumentParser:\n    def __init__(self, *a):\n        pass\n\n"
        "    def parse_yaml_file(self, path):\n        return (None,)\n")
    result = job()
    assert result.returncode == 2 and "FAIL conf/train.yaml:3:1: HF007" in result.stderr
    assert "conf/other.yaml" not in result.stderr
    (job.root / "conf" / "train.yaml").write_text("output_dir: out\nreport_to: none\neval_strategy: steps\n")
    result = job()
    assert result.returncode == 7 and result.stdout == "training started\n", result.stderr
