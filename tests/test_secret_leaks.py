"""No credential preflight reads leaves it unmasked: keys of every form, planted in every file kind preflight
reads, appear in no output format, no diff, no statistics, no baseline, no cache file and no stderr, on a
cold run and on a warm one (facts and a whole run reused from the cache)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_files
from click.testing import CliRunner

from preflight.cli import main
from preflight.secrets import mask

_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


def _alnum(seed: str, length: int) -> str:
    digest = hashlib.sha512(seed.encode()).digest()
    return "".join(_ALNUM[b % len(_ALNUM)] for b in digest)[:length]


def wandb_v1(seed: str) -> str:
    return f"wandb_v1_{_alnum(seed, 27)}_{_alnum(seed + '/2', 48)}"


def hex40(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def hf(seed: str) -> str:
    return "hf_" + _alnum(seed, 34)


def plain(seed: str) -> str:
    """A credential with no recognisable form: only its place says it is one."""
    return _alnum(seed, 22)


SECRETS: list[str] = []


def planted(seed: str, make) -> str:
    value = make(seed)
    SECRETS.append(value)
    return value


k = planted  # short, for the table below

FILES = {
    "train.py": (
        "import os\nimport wandb\n\n"
        f"# an old key: WANDB_API_KEY={k('py-comment', hex40)}\n"
        f"wandb.login(\n    key=\"{k('py-login', wandb_v1)}\")\n"
        f"os.environ[\"HF_TOKEN\"] = \"{k('py-environ', hf)}\"\n"
        f"api_key = \"{k('py-api-key', plain)}\"\n"
        "wandb.init(project='p', name='r1')\n"
    ),
    "login.py": f"import wandb\nwandb.login(\n    key=\"{k('py-login-hex', hex40)}\",\n)\nwandb.init(name='r')\n",
    "notebook.ipynb": json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                            "source": ["import wandb\n",
                                                       f"wandb.login(key=\"{k('notebook', wandb_v1)}\")\n",
                                                       "wandb.init(name='n')\n"]}],
                                 "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
    "configs/sft.yaml": (f"output_dir: o\nlogging_steps: 5\nreport_to: wandb\nenv:\n  WANDB_API_KEY: {k('trl', wandb_v1)}\n"
                         f"  HF_TOKEN:\n    {k('trl-next-line', hf)}\n"),
    "configs/ax.yml": f"base_model: m\ndatasets: []\nwandb_project: p\ncomet_api_key: {k('axolotl', plain)}\n",
    ".github/workflows/t.yml": (
        "on: push\njobs:\n  t:\n    runs-on: x\n    env:\n"
        f"      WANDB_API_KEY:\n        {k('workflow-next-line', hex40)}\n"
        f"      HF_TOKEN: \"{k('workflow-quoted', hf)}\"\n"
        "    steps:\n"
        f"      - run: wandb login {k('workflow-login', hex40)} && python train.py\n"
        f"      - run: docker run -e WANDB_API_KEY=$WANDB_API_KEY img python train.py --wandb_key "
        f"{k('workflow-flag', wandb_v1)}\n"
        f"      - run: python train.py --hf_token {k('workflow-plain-flag', plain)}\n"
    ),
    "docker-compose.yml": (
        "services:\n  t:\n    command: python train.py\n    environment:\n"
        f"      WANDB_API_KEY:\n        {k('compose-next-line', wandb_v1)}\n"
        f"      COMET_API_KEY: {k('compose-plain', plain)}\n"
        "  u:\n    command: python train.py\n    environment:\n"
        f"      - HF_TOKEN={k('compose-list', hf)}\n"
        f"      - NEPTUNE_API_TOKEN={k('compose-list-plain', plain)}\n"
    ),
    "Dockerfile": (f"FROM python:3.11\nENV WANDB_API_KEY={k('dockerfile-env', wandb_v1)}\n"
                   f"RUN wandb login {k('dockerfile-login', hex40)}\nCMD python train.py\n"),
    "k8s/job.yaml": (
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers:\n"
        "        - name: c\n          command: [python, train.py]\n          env:\n"
        f"            - {{name: WANDB_API_KEY, value: {k('k8s-flow', hex40)}}}\n"
        f"            - {{name: COMET_API_KEY, value: \"{k('k8s-flow-plain', plain)}\"}}\n"
        f"            - name: HF_TOKEN\n              value: {k('k8s-block', hf)}\n"
    ),
    "run.sbatch": (f"#!/bin/bash\n#SBATCH --export=ALL,WANDB_API_KEY={k('sbatch-export', hex40)}\n"
                   f"export HF_TOKEN={k('sbatch-shell', hf)}\n"
                   f"docker run -e WANDB_API_KEY={k('sbatch-docker', wandb_v1)} img python train.py\n"),
    "run.sh": (f"#!/bin/bash\ndocker run -e WANDB_API_KEY=$WANDB_API_KEY -e HF_TOKEN={k('sh-docker', hf)} img "
               f"python train.py --wandb_key {k('sh-flag', wandb_v1)} --api-key {k('sh-plain-flag', plain)}\n"),
    "Makefile": (f"train:\n\tdocker run -e WANDB_API_KEY=$$WANDB_API_KEY img python train.py --wandb_key "
                 f"{k('make-flag', wandb_v1)}\n"),
    ".env": (f"WANDB_API_KEY=ab;cd{k('env-semicolon', hex40)}\n"
             f"HF_TOKEN=xy z{k('env-space', plain)}\n"
             f"COMET_API_KEY=qq,rr{k('env-comma', plain)}\n"
             f"NEPTUNE_API_TOKEN=ab`cd{k('env-backtick', plain)}\n"
             f"MLFLOW_TRACKING_PASSWORD=\"{k('env-quoted', plain)}\"\n"),
    ".env.production": f"WANDB_API_KEY={k('env-production', wandb_v1)}\n",
    ".netrc": f"machine api.wandb.ai\n  login user\n  password {k('netrc', hex40)}\n",
    ".dstack.yml": (f"type: task\nname: t\ncommands:\n  - python train.py\nenv:\n  - WANDB_API_KEY={k('dstack', hex40)}\n"
                    f"  - HF_TOKEN={k('dstack-hf', hf)}\n"),
    "sky.yaml": (f"resources:\n  accelerators: A100\nenvs:\n  WANDB_API_KEY: {k('skypilot', wandb_v1)}\n"
                 "run: python train.py\n"),
}
def leaks(text: str) -> list[str]:
    """The planted secrets `text` shows: whole, or all but their last 4 characters (what a mask leaves out)."""
    return [secret for secret in SECRETS if secret[:-4] in text or secret[4:16] in text]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path, FILES)
    return tmp_path


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.output + (result.stderr if result.stderr_bytes else "")


def _cache_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in (root / ".preflight_cache").iterdir() if p.is_file()}


FORMATS = ["text", "json", "json-lines", "sarif", "github", "gitlab", "junit"]


def test_the_planted_keys_are_found(tree):
    """The test plants what preflight reads: the secret rules report every file but the ones no SEC rule is
    about, so the outputs below really go through the findings, frames and facts of those files."""
    findings = json.loads(_invoke(["check", "--format", "json", "--select", "SEC", "--no-cache"]))["findings"]
    assert {f["location"]["path"] for f in findings} >= set(FILES) - {"sky.yaml", "configs/ax.yml", "login.py"}
    assert mask(SECRETS[0]) == "****" + SECRETS[0][-4:]


@pytest.mark.parametrize("run", ["cold", "warm"])
def test_no_output_cache_or_baseline_holds_a_planted_key(tree, run):
    if run == "warm":  # facts, and then whole runs, come from the cache
        _invoke(["check", "--select", "ALL"])
    outputs = {}
    for fmt in FORMATS:
        outputs[fmt] = _invoke(["check", "--select", "ALL", "--format", fmt, "-v"])
    outputs["file and sarif file"] = _invoke(["check", "--select", "ALL", "-o", "report.txt",
                                             "--sarif-output", "report.sarif"])
    outputs["report.txt"] = (tree / "report.txt").read_text()
    outputs["report.sarif"] = (tree / "report.sarif").read_text()
    outputs["statistics"] = _invoke(["check", "--select", "ALL", "--statistics"])
    outputs["diff"] = _invoke(["check", "--select", "ALL", "--diff", "--unsafe-fixes"])
    outputs["write-baseline"] = _invoke(["check", "--select", "ALL", "--write-baseline", "baseline.json"])
    outputs["baseline.json"] = (tree / "baseline.json").read_text()
    outputs["with baseline"] = _invoke(["check", "--select", "ALL", "--baseline", "baseline.json"])
    outputs["show-settings"] = _invoke(["check", "--show-settings"])
    for code in ("SEC001", "SEC002", "SEC003", "SEC004", "SEC005"):
        outputs[f"explain {code}"] = _invoke(["explain", code])
    for name, data in _cache_files(tree).items():
        outputs[name] = data.decode("latin-1")
    assert any(name.endswith("facts.sqlite3") for name in outputs)
    found = {name: leaks(text) for name, text in outputs.items() if leaks(text)}
    assert found == {}


def test_the_cache_is_private(tree):
    _invoke(["check", "--select", "ALL"])
    folder = tree / ".preflight_cache"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name


def test_a_code_frame_masks_every_key_on_the_lines_it_shows(tree):
    """The frame of a finding about something else on a line with a key (the flag, the variable's name)
    masks the key too, and its marker stays under what the finding points at."""
    out = _invoke(["check", "--select", "SEC005", "run.sh"])
    lines = out.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith("run.sh:2:")]
    assert len(heads) == 4  # -e WANDB_API_KEY=..., -e HF_TOKEN=..., --wandb_key, --api-key
    marked = []
    for head in heads:
        shown, marker = lines[head + 2], lines[head + 3]
        assert shown.startswith("2 | docker run") and leaks(shown) == []
        assert "--wandb_key ****" in shown and "HF_TOKEN=****" in shown and "--api-key ****" in shown
        start = marker.index("^")
        marked.append(shown[start:start + marker.count("^")])
    # each marker under what its finding points at, after the masked values before it on the line
    assert marked == ["WANDB_API_KEY=$WANDB_API_KEY", f"HF_TOKEN={mask(hf('sh-docker'))}", "--wandb_key", "--api-key"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_preflight_run_shows_its_command_line_masked(tmp_path, fmt):
    key, token, other, old = wandb_v1("run-flag"), hf("run-equals"), plain("run-plain"), hex40("run")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("WANDB_", "MLFLOW_"))}
    env.update(HOME=str(tmp_path), NETRC=str(tmp_path / "no-netrc"), NO_COLOR="1")
    result = subprocess.run([sys.executable, "-m", "preflight", "run", "--format", fmt, "--warn-only", "--", "true",
                             "--wandb_key", key, f"--hf_token={token}", "--api-key", other, f"WANDB_API_KEY={old}"],
                            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "--wandb_key" in shown
    for secret in (key, token, other, old):
        assert secret[:-4] not in shown and "****" + secret[-4:] in shown


def test_a_fix_never_writes_a_masked_value(tmp_path):
    """Facts hold credentials masked: an edit built from one (`****abcd`) would replace the real value with
    the mask. Such a fix is refused; the file's other fixes still apply."""
    from preflight import fixes
    from preflight.findings import Edit, Fix, Location
    from preflight.sourcelines import SourceLines

    text = "#!/bin/bash\ndocker run -e WANDB_API_KEY=$K -e HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH img\n"
    sources = SourceLines(tmp_path, {"run.sh": text})
    masked = Fix("pass HF_TOKEN", (Edit(Location("run.sh", 2, 33, 2, 80), "HF_TOKEN=****EFGH"),))
    fine = Fix("pass WANDB_API_KEY", (Edit(Location("run.sh", 2, 15, 2, 31), "WANDB_API_KEY"),))
    [change] = fixes.plan([masked, fine], sources)
    assert change.after == text.replace("WANDB_API_KEY=$K", "WANDB_API_KEY")
    assert change.fixed == 1 and change.refused == 1
    assert "hf_abcdefgh" not in change.diff() and "HF_TOKEN=****EFGH" in change.diff()
