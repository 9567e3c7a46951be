"""Hostile input: every row of docs/hostile-inputs.md is one of these tests. Each input is thrown at
a project that also holds a real finding, which must still be reported."""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from pathlib import Path

import pytest

from preflight import engine

REAL = {"train.py": "import wandb\n\nwandb.init(project='p')\n"}
REAL_FINDING = "train.py:3:1: WB001"


def scan(root: Path, files: dict[str, bytes | str], select=("ALL",), seconds: float = 20.0) -> list[str]:
    for name, content in {**REAL, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    start = time.monotonic()
    result = engine.check(["."], select=list(select), cwd=root)
    assert time.monotonic() - start < seconds
    assert not result.internal_errors
    found = [f"{f.location.path}:{f.location.line}:{f.location.column}: {f.code}" for f in result.findings]
    assert REAL_FINDING in found
    lines = {}
    for name in files:
        if (root / name).is_file():
            with open(root / name, "rb") as handle:
                lines[name] = handle.read().count(b"\n") + 1
    for finding in result.findings:
        assert finding.location.line >= 1 and finding.location.column >= 1
        if finding.location.path in lines:
            assert finding.location.line <= lines[finding.location.path]
    return [f for f in found if f != REAL_FINDING]


CASES = {
    # name: (files, expected findings other than the real one)
    "binary-py": ({"model.py": b"import wandb\x00\x00\xff\xfe" * 100}, ["model.py:1:1: PF001"]),
    "binary-irrelevant": ({"blob.py": b"\x00\x01\x02\xff" * 1000}, []),
    "invalid-utf8": ({"bad.py": "import wandb\nname = 'caf\xe9'\n".encode("latin-1")}, ["bad.py:1:1: PF001"]),
    "mixed-encodings": ({"mixed.py": "import wandb\n# é\n".encode() + "x = 'é'\n".encode("latin-1")},
                        ["mixed.py:1:1: PF001"]),
    "bom": ({"bom.py": "\ufeffimport wandb\nwandb.init(project='p')\n".encode("utf-8")}, ["bom.py:2:1: WB001"]),
    "crlf": ({"crlf.py": b"import wandb\r\n\r\nwandb.init(project='p')\r\n"}, ["crlf.py:3:1: WB001"]),
    "crlf-yaml": ({"ax.yml": b"base_model: m\r\ndatasets: []\r\nwandb_project: p\r\n"}, ["ax.yml:3:1: WB001"]),
    "empty-files": ({"empty.py": b"", "empty.yml": b"", ".github/workflows/e.yml": b"", "Dockerfile": b""}, []),
    "whitespace-only": ({"blank.yml": b"\n\n   \n", "blank.py": b"\n\n"}, []),
    "python2": ({"old.py": "import wandb\nprint 'hello'\n"}, ["old.py:2:1: PF001"]),
    "unterminated-string": ({"open.py": "import wandb\nx = 'abc\n"}, ["open.py:2:5: PF001"]),
    "unterminated-triple": ({"open3.py": 'import wandb\nx = """abc\n'}, ["open3.py:2:5: PF001"]),
    "yaml-tabs": ({"docker-compose.yml": "services:\n\tt:\n\t\timage: x\n"}, ["docker-compose.yml:2:1: PF001"]),
    "yaml-duplicate-keys": ({"ax.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_project: q\n"},
                            ["ax.yml:4:1: WB001"]),
    "yaml-multi-document": ({"k8s.yaml": "apiVersion: v1\nkind: Secret\n---\n---\napiVersion: v1\nkind: Pod\n"
                                         "metadata: {name: p}\nspec:\n  containers: []\n"}, []),
    "yaml-python-tag": ({"ax.yml": "base_model: !!python/object/apply:os.system ['touch pwned']\n"
                                   "datasets: []\nwandb_project: p\n"}, ["ax.yml:3:1: WB001"]),
    "jinja-template": ({"templates/job.yaml": "apiVersion: batch/v1\n{% if x %}\nkind: Job\n{% endif %}\n"}, []),
    "helm-template": ({"chart/templates/d.yaml": "apiVersion: apps/v1\nkind: {{ .Values.kind }}\nspec:\n"
                                                 "  replicas: {{ .Values.n }}\n"}, []),
    "chat-template-in-yaml": ({"ax.yml": "base_model: m\ndatasets: []\nchat_template_jinja: \"{{ bos_token }}{% for m in "
                                         "messages %}{{ m.content }}{% endfor %}\"\nwandb_project: p\nwandb_name: n\n"}, []),
    "notebook-invalid-json": ({"analysis.ipynb": b"{ not json"}, []),
    "json-invalid": ({"args.json": '{"report_to": "wandb", "eval_steps": }'}, ["args.json:1:38: PF001"]),
    "shell-unbalanced-quotes": ({"run.sh": "python train.py --name 'oops\ndocker run img python train.py\n"},
                                ["run.sh:2:1: ENV001"]),
    "dockerfile-garbage": ({"Dockerfile": "FROM\n\\\n\\\nRUN \\\n"}, []),
    "makefile-garbage": ({"Makefile": "\t\t\n:::\n\tpython train.py\n"}, []),
}


@pytest.mark.parametrize("files, expected", CASES.values(), ids=CASES.keys())
def test_hostile_file(tmp_path, files, expected):
    assert scan(tmp_path, files) == expected
    assert not (tmp_path / "pwned").exists()


def test_ten_megabyte_files(tmp_path):
    big_python = b"import wandb\n" + b"x = [1, 2, 3]  # padding\n" * 420_000  # ~10 MB: over the Python limit
    big_yaml = b"base_model: m\ndatasets: []\nwandb_project: p\n" + b"# padding line for the size\n" * 380_000
    irrelevant = b"x = 1\n" * 1_700_000  # ~10 MB that names no tracker: read, never parsed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = scan(tmp_path, {"big.py": big_python, "big.yml": big_yaml, "other.py": irrelevant}, seconds=30)
    assert found == ["big.py:1:1: PF001", "big.yml:3:1: WB001"]
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 500


def test_deep_nesting(tmp_path):
    files = {
        "deep.py": "import wandb\nx = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
        "deep_lists.py": "import wandb\nx = " + "[" * 300 + "]" * 300 + "\n",
        "deep.yml": "base_model: " + "[" * 20000 + "]" * 20000 + "\n",
        "deep_map.yml": "".join("  " * i + f"k{i}:\n" for i in range(3000)) + "wandb_project: p\n",
    }
    found = scan(tmp_path, files, seconds=60)
    assert "deep.py:2:5: PF001" in found or any(f.startswith("deep.py:") and f.endswith("PF001") for f in found)


def test_alias_bomb(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    files = {"bomb.yml": "base_model: m\nwandb_project: p\nwandb_name: n\n" + bomb,
             "docker-compose.yml": "x-a: &a [1, 1, 1, 1, 1, 1, 1, 1]\nx-b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                                   "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nservices:\n  t:\n    image: x\n"
                                   "    command: [*c, *c, *c, *c]\n"}
    # a..j are not Axolotl keys (AXO006), which is all there is to say about this file
    assert scan(tmp_path, files, seconds=30) == [f"bomb.yml:{line}:1: AXO006" for line in range(4, 14)]


def test_symlink_loop_and_escape(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "outside.py").write_text(REAL["train.py"])
    (root / "escape.py").symlink_to(tmp_path / "outside.py")
    (root / "loop").symlink_to(root / "loop")
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    (root / "dir_escape").symlink_to(tmp_path, target_is_directory=True)
    assert scan(root, {}) == []


def test_unreadable_file_and_directory(tmp_path, monkeypatch):
    """Permission problems (simulated: the tests run as root, which reads everything)."""
    from preflight import reading

    original = reading.read_bytes

    def read_bytes(path, limit):
        if Path(path).name == "locked.py":
            raise PermissionError(13, "Permission denied")
        return original(path, limit)

    monkeypatch.setattr(reading, "read_bytes", read_bytes)
    found = scan(tmp_path, {"locked.py": "import wandb\n"})
    assert found == ["locked.py:1:1: PF001"]
    closed = tmp_path / "closed"
    closed.mkdir()
    (closed / "x.py").write_text("import wandb\nwandb.init()\n")
    if os.geteuid() != 0:
        closed.chmod(0)
        try:
            assert scan(tmp_path, {}) == ["locked.py:1:1: PF001"]
        finally:
            closed.chmod(0o755)


def test_file_deleted_during_the_scan(tmp_path, monkeypatch):
    from preflight import collect

    original = collect._read

    def vanish(path, display, *rest):
        if display == "gone.py":
            path.unlink()
        return original(path, display, *rest)

    monkeypatch.setattr(collect, "_read", vanish)
    assert scan(tmp_path, {"gone.py": "import wandb\nwandb.init()\n"}) == []


def _without_hanging(work, fifos: list[Path], seconds: float = 60.0):
    """Run `work` in a thread; if it is still blocked after `seconds` (on a FIFO nobody writes), open the
    FIFOs' write ends to let it go, and fail."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = work()
        except BaseException as exc:  # reported by the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for fifo in fifos:
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        pytest.fail("blocked on a FIFO")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_file_swapped_for_a_fifo_during_the_scan(tmp_path, monkeypatch):
    """A file discovered as a regular file and replaced by a FIFO (or an env file a compose service names
    that is one) is skipped: opening a FIFO to read it would wait for a writer forever."""
    from preflight import collect

    original = collect._read
    fifos = [tmp_path / "swapped.py", tmp_path / "secrets.env"]

    def swap(path, display, *rest):
        if display == "swapped.py":
            path.unlink()
            os.mkfifo(path)
        return original(path, display, *rest)

    monkeypatch.setattr(collect, "_read", swap)
    os.mkfifo(tmp_path / "secrets.env")
    compose = "services:\n  t:\n    image: x\n    command: python train.py\n    env_file: secrets.env\n"
    found = _without_hanging(lambda: scan(tmp_path, {"swapped.py": "import wandb\nwandb.init()\n",
                                                     "docker-compose.yml": compose}), fifos)
    assert not [f for f in found if f.startswith("swapped.py")]


def test_reading_refuses_what_is_not_a_regular_file(tmp_path):
    from preflight import reading

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a FIFO"), ("/dev/zero", "a character device"), (tmp_path, "a folder")):
        with pytest.raises(reading.NotRegular, match=kind):
            _without_hanging(lambda: reading.read_bytes(path, 1 << 20), [fifo])
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(reading.TooLarge, match="larger than 1000 bytes"):
        reading.read_bytes(big, 1000)
    assert reading.read_bytes(big, 2000) == b"x" * 2000


def test_nothing_is_executed(tmp_path):
    marker = tmp_path / "executed"
    files = {
        "evil.py": f"import wandb\nopen({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\n",
        "conftest.py": f"open({str(marker)!r}, 'w').write('x')\n",
        "setup.py": f"import wandb\n__import__('os').system('touch {marker}')\n",
        "evil.yml": f"base_model: !!python/object/apply:os.system ['touch {marker}']\nwandb_project: p\nwandb_name: n\n",
    }
    scan(tmp_path, files)
    assert not marker.exists()


def _cli(root: Path, *args: str):
    from click.testing import CliRunner

    from preflight.cli import main

    (root / "train.py").write_text(REAL["train.py"])
    previous = Path.cwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(previous)


def test_a_baseline_that_is_not_a_file(tmp_path):
    """`--baseline /dev/zero` would read without end, a FIFO wait for a writer: both are refused."""
    fifo = tmp_path / "baseline.fifo"
    os.mkfifo(fifo)
    for path, why in (("/dev/zero", "a character device"), (str(fifo), "a FIFO")):
        result = _without_hanging(lambda: _cli(tmp_path, "check", "--baseline", path), [fifo])
        assert result.exit_code == 2 and why in result.output and "Traceback" not in result.output


DEEP = "[" * 100_000 + "]" * 100_000
BAD_VALUES = {
    # name: (files, environment, arguments, what the message says)
    "exclude-range": ({"pyproject.toml": "[tool.preflight]\nexclude = ['[z-a]']\n"}, {}, ["check"],
                      "'[z-a]' is not a valid pattern"),
    "extend-exclude-empty-class": ({"pyproject.toml": "[tool.preflight]\nextend-exclude = ['[!]']\n"}, {}, ["check"],
                                   "'[!]' is not a valid pattern"),
    "per-file-ignores": ({"pyproject.toml": "[tool.preflight.per-file-ignores]\n'src/[z-a]/*.py' = ['WB001']\n"}, {},
                         ["check"], "is not a valid pattern"),
    "per-file-ignores-negated": ({"pyproject.toml": "[tool.preflight.per-file-ignores]\n'!/' = ['WB001']\n"}, {},
                                 ["check"], "'/' is not a valid pattern"),
    "version-digits": ({"pyproject.toml": "[tool.preflight.versions]\nmlflow = '3." + "1" * 5000 + "'\n"}, {},
                       ["check"], "is not a version number"),
    "baseline-not-objects": ({"b.json": '{"tool": "preflight", "entries": [1, "x"]}'}, {}, ["check", "--baseline",
                             "b.json"], "not a list of objects"),
    "baseline-not-a-list": ({"b.json": '{"tool": "preflight", "entries": "abc"}'}, {}, ["check", "--baseline",
                            "b.json"], "not a list of objects"),
    "baseline-deep": ({"b.json": '{"tool": "preflight", "entries": ' + DEEP + "}"}, {}, ["check", "--baseline",
                      "b.json"], "nested too deeply"),
    "workers-text": ({}, {"PREFLIGHT_WORKERS": "abc"}, ["check"], "not a whole number of worker processes"),
    "workers-huge": ({}, {"PREFLIGHT_WORKERS": "100000"}, ["check"], "must be from 1 to"),
    "workers-zero": ({}, {"PREFLIGHT_WORKERS": "-1"}, ["check"], "must be from 1 to"),
    "run-empty-command": ({}, {}, ["run", "--", ""], "needs a command"),
    "run-no-command": ({}, {}, ["run", "--"], "Missing argument"),
    "run-min-free-nan": ({}, {}, ["run", "--min-free-gb", "nan", "--", "python", "train.py"], "not a finite number"),
    "run-min-free-negative": ({}, {}, ["run", "--min-free-gb", "-1", "--", "python", "train.py"], "not a finite"),
    "run-timeout-inf": ({}, {}, ["run", "--timeout", "inf", "--", "python", "train.py"], "not a finite number"),
}


@pytest.mark.parametrize("files, environment, arguments, says", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_values_are_usage_errors(tmp_path, monkeypatch, files, environment, arguments, says):
    """A bad setting, environment variable or argument is a usage error (exit 2) that says what is wrong,
    never a traceback."""
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = _cli(tmp_path, *arguments)
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output
    assert "\\n" not in result.output  # a message of several lines keeps them (only names are escaped)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_standard_input_is_read_to_a_limit(tmp_path):
    """`preflight check - --stdin-filename train.py < /dev/zero` would read (and keep) bytes without end."""
    import subprocess
    import sys

    with open("/dev/zero", "rb") as zero:
        result = subprocess.run([sys.executable, "-m", "preflight", "check", "--stdin-filename", "train.py", "-"],
                                cwd=tmp_path, stdin=zero, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "the standard input is larger than 64.0 MiB" in result.stderr
    assert "Traceback" not in result.stderr


def test_implausible_version_numbers_are_not_pins(tmp_path):
    """`mlflow==3.<5000 digits>` is not a version pip can install (Python will not even convert the number):
    the declaration is set aside, and the rules that depend on the MLflow version still run."""
    found = scan(tmp_path, {"requirements.txt": "mlflow==3." + "1" * 5000 + "\nhuggingface-hub>=1." + "2" * 5000 + "\n",
                            "track.py": "import mlflow\nmlflow.set_tracking_uri('file:./mlruns')\n"})
    assert found == ["track.py:2:1: ENV010"]


def test_warn_only_starts_the_job_whatever_fails(tmp_path):
    """A configuration error (or a failure of preflight itself) stops a job only without --warn-only."""
    (tmp_path / "pyproject.toml").write_text("[tool.preflight]\nselect = 3\n")
    script = tmp_path / "job.py"
    script.write_text("print('started')\n")
    import subprocess
    import sys

    for flags, code in (([], 2), (["--warn-only"], 0)):
        result = subprocess.run([sys.executable, "-m", "preflight", "run", *flags, "--", sys.executable, "job.py"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == code and "Traceback" not in result.stderr, result.stderr
        assert ("started" in result.stdout) == (code == 0)


def test_run_keeps_the_commands_own_double_dash(tmp_path, monkeypatch):
    started = []

    def execvp(program, argv):
        started.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execvp", execvp)
    assert _cli(tmp_path, "run", "--warn-only", "--", "torchrun", "x.py", "--", "--lr", "1").exit_code == 0
    assert started == [["torchrun", "x.py", "--", "--lr", "1"]]


YAML_TAGS = ("!!binary aGVsbG8=", "2024-01-01", "2024-01-01 10:00:00", "!!set {a, b}", "!!omap [a: 1, b: 2]",
             "!!pairs [a: 1, a: 2]", "!!timestamp 2001-12-14t21:59:43.10-05:00", "{? [a, b]: c}")


@pytest.mark.parametrize("value", YAML_TAGS)
def test_yaml_values_json_lacks(tmp_path, value):
    """What the safe constructor makes of these (bytes, dates, sets, lists of pairs, a list as a key) is no
    value a rule can compare with what a library expects: it is unknown, and the facts (and the cache,
    which stores them as JSON) hold only JSON-friendly values. Cold and warm runs report the same."""
    files = {
        "ax.yml": f"base_model: m\ndatasets: []\nwandb_project: p\nwandb_name: {value}\nlora_r: {value}\n",
        "args.yaml": f"output_dir: o\nreport_to: wandb\nrun_name: {value}\nlogging_steps: {value}\n"
                     f"eval_steps: {value}\nenv:\n  WANDB_MODE: {value}\n",
        "sweep.yaml": f"method: grid\nprogram: sweep.py\nmetric: {{name: loss}}\nparameters:\n  lr: {{value: {value}}}\n",
        "docker-compose.yml": f"services:\n  t:\n    image: x\n    command: python train.py\n    environment:\n"
                              f"      WANDB_MODE: {value}\n",
    }
    cold = scan(tmp_path, files)
    for run in range(2):
        result = engine.check(["."], select=["ALL"], cwd=tmp_path, use_cache=True)
        assert not result.internal_errors
        assert sorted(f"{f.location.path}:{f.location.line}:{f.location.column}: {f.code}"
                      for f in result.findings if f.location.path != "train.py") == sorted(cold)


def test_long_lines_and_many_commands(tmp_path):
    """A one-line shell script of 10 MB (the command model was quadratic in the commands of a line), a
    workflow `run:` of one such line, thousands of commands, a job whose steps carry thousands of
    variables, a recipe continued over 100,000 lines: each is reported as too large to analyse (PF001) at
    the script or job, and the rest of the project is analysed. Scripts within the limits are analysed."""
    line = "python train.py --lr 1; " * 420_000
    env = "".join(f"      VAR_{i}: v\n" for i in range(1_000))
    files = {
        "one_line.sh": line,
        "many.sh": "python train.py --step 1\n" * 2_100,
        "exports.sh": "export " + " ".join(f"V{i}=1" for i in range(2_100)) + "\npython train.py\n",
        "fine.sh": "python train.py --step 1\n" * 1_000,
        ".github/workflows/one_line.yml": f"on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: {line}\n",
        ".github/workflows/steps.yml": "on: push\njobs:\n  big:\n    runs-on: x\n    env:\n" + env + "    steps:\n"
                                       + "      - run: python train.py\n" * 1_100,
        "Makefile": "train:\n\tpython train.py \\\n" + "\t  --flag value \\\n" * 100_000 + "\t  --end\n",
    }
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = scan(tmp_path, files, seconds=60)
    assert sorted(f for f in found if f.endswith("PF001")) == [
        ".github/workflows/one_line.yml:6:14: PF001", ".github/workflows/steps.yml:3:3: PF001", "Makefile:2:2: PF001",
        "exports.sh:1:1: PF001", "many.sh:1:1: PF001", "one_line.sh:1:1: PF001"]
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 500


def test_thousands_of_unknown_axolotl_keys_make_one_finding(tmp_path):
    keys = "".join(f"unknown_{i}: 1\n" for i in range(20_000))
    found = scan(tmp_path, {"ax.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_name: n\n" + keys,
                            "few.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_name: n\nlora_droput: 1\n"})
    assert found == ["ax.yml:5:1: AXO006", "few.yml:5:1: AXO006"]
    [finding] = [f for f in engine.check(["."], select=["AXO006"], cwd=tmp_path).findings if f.location.path == "ax.yml"]
    assert finding.message.startswith("20,000 keys are not keys of the Axolotl config")


def test_reports_grow_with_the_findings_not_with_what_they_quote(tmp_path):
    """A job named with 100,000 characters (an explicit YAML key) quoted by the findings of its 100 steps made
    a text report of 10 MB; a line of 140,000 characters was printed whole in its code frame. A message keeps
    its start and its end, a frame the part of the line around the finding."""
    import subprocess
    import sys

    steps = "".join("      - run: python train.py\n" for _ in range(100))
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "t.yml").write_text(
        f"on: push\njobs:\n  ? {'j' * 100_000}\n  : runs-on: x\n    steps:\n{steps}")
    (tmp_path / "train.py").write_text("import wandb\nx = 1; " + "y = 2; " * 20_000 + "run = wandb.init(project='p')\n")
    result = subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", "--select", "ENV001,WB001",
                             "--all-findings", "."], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    lines = result.stdout.splitlines()
    assert result.returncode == 1 and "Found 101 findings" in lines[-1]
    assert len(result.stdout) < 600_000 and max(len(line) for line in lines) < 4_200
    heads = [line for line in lines if ": ENV001 [" in line]
    assert len(heads) == 100 and all("characters left out] ..." in h and h.endswith("${{ secrets.WANDB_API_KEY }}`")
                                     for h in heads)
    frame = lines[lines.index(next(line for line in lines if line.startswith("train.py:2:"))) + 2:][:2]
    assert frame[0].startswith("2 | ...") and frame[0].endswith("run = wandb.init(project='p')")
    assert frame[1].index("^") == frame[0].index("wandb.init") and len(frame[0]) < 260


class _CountingText(str):
    """A file's text that counts the characters its searches pass over (to the match, or to the end)."""

    scanned = 0

    def find(self, sub, start=0, end=None):
        index = super().find(sub, start, end)
        stop = index + len(sub) if index >= 0 else (len(self) if end is None else min(end, len(self)))
        _CountingText.scanned += max(0, stop - start)
        return index


@pytest.mark.parametrize("installs", [2_000, 4_000])
def test_pip_installs_are_read_in_linear_work(monkeypatch, installs):
    """`pip install` commands on one line: each install's words are read to its command's end and each
    requirement is looked for past the one before it, so the characters split and searched grow with the
    line (they grew with its square: every install split the rest of the line, every requirement was
    searched from the line's start). Counted, not timed; every requirement is still found at its place."""
    from preflight.sources import requirements
    from preflight.sources.text import SourceText

    split = []
    real_split = requirements.shlex.split
    monkeypatch.setattr(requirements.shlex, "split", lambda text: split.append(len(text)) or real_split(text))
    _CountingText.scanned = 0
    pieces = [f"pip install 'wandb=={i}' && " for i in range(installs)]
    command = "".join(pieces) + "true"
    text = _CountingText("RUN " + command + "\n")
    facts = requirements.pip_installs(SourceText("Dockerfile", text), 4, 4 + len(command), command, "Dockerfile")
    columns = [5 + len("".join(pieces[:i])) + len("pip install '") for i in range(installs)]
    assert [(f.library, f.specifier, f.location.column) for f in facts] == [
        ("wandb", f"=={i}", column) for i, column in enumerate(columns)]
    assert sum(split) <= len(command) and _CountingText.scanned <= 2 * len(command)


def _pyproject_shapes(n: int) -> dict[str, str]:
    return {
        "list": '[project]\ndependencies = [\n' + "".join(f'  "wandb>=0.{i}",\n' for i in range(n)) + "]\n",
        "literal strings": "[project]\ndependencies = [\n" + "".join(f"  'wandb>=0.{i}',\n" for i in range(n)) + "]\n",
        "escaped": '[project]\ndependencies = [\n' + "".join(f'  "wand\\u0062>=0.{i}",\n' for i in range(n)) + "]\n",
        "untracked": '[project]\ndependencies = [\n' + "".join(f'  "pkg-{i}>=1",\n' for i in range(n)) + "]\n",
        "groups": "[project.optional-dependencies]\n" + "".join(f'g{i} = ["wandb>=0.{i}"]\n' for i in range(n)),
        "inline table": "[project]\noptional-dependencies = {" + ", ".join(f'g{i} = ["wandb"]' for i in range(n)) + "}\n",
        "poetry groups": "".join(f'[tool.poetry.group.g{i}.dependencies]\nwandb = "^0.{i}"\n' for i in range(n)),
        "dotted keys": "".join(f'project.optional-dependencies.g{i} = ["wandb"]\n' for i in range(n)),
    }


@pytest.mark.parametrize("shape", list(_pyproject_shapes(1)))
def test_pyproject_entries_are_located_in_linear_work(monkeypatch, shape):
    """Every tracked requirement of a pyproject.toml is located in its text: each was searched from its
    table's start (and every table header from the file's start), so 100,000 dependencies did not finish
    in 400 s. The characters the searches pass over are counted: a few times the file, at any size and in
    every shape (what no search can find, an escaped name, is charged to a budget)."""
    from preflight.sources import pyproject, tomltext
    from preflight.sources.text import SourceText

    covered = [0]
    quoted, any_key = tomltext._quoted, tomltext._ANY_KEY

    def counted_quoted(text, value, start, end):
        found = quoted(text, value, start, end)
        covered[0] += (found[1] if found else end) - start
        return found

    class CountedKeys:
        def finditer(self, text, start, end):
            reached = start
            try:
                for found in any_key.finditer(text, start, end):
                    reached = found.end()
                    yield found
                reached = end
            finally:
                covered[0] += reached - start

    monkeypatch.setattr(tomltext, "_quoted", counted_quoted)
    monkeypatch.setattr(tomltext, "_ANY_KEY", CountedKeys())
    for n in (2_000, 4_000):
        covered[0] = 0
        text = _pyproject_shapes(n)[shape]
        facts = pyproject.extract(SourceText("pyproject.toml", text))
        assert len(facts) == (0 if shape == "untracked" else n)
        assert covered[0] <= 6 * len(text), (n, covered[0], len(text))
        # each entry at its own place, in order (where no table is written, the first like value stands in)
        if facts and shape not in ("escaped", "dotted keys"):
            places = [(f.location.line, f.location.column) for f in facts]
            assert places == sorted(set(places)) and places[0] > (1, 1)


def test_ranges_of_one_library_are_intersected_a_bounded_number_of_times(monkeypatch):
    """A project declaring one library in thousands of ranges: each was intersected with all before it over
    every known release (cubic). A range written again narrows nothing and is not intersected again, and
    past versions.MAX_RANGES different ones the first decide; the releases tried are counted."""
    from preflight import versions
    from preflight.findings import Location
    from preflight.model import VersionPin

    tried = [0]
    admits = versions._admits
    monkeypatch.setattr(versions, "_admits", lambda specifiers, version: tried.__setitem__(0, tried[0] + 1)
                        or admits(specifiers, version))

    def pins(specifiers):
        return [VersionPin(Location("pyproject.toml", i + 1, 3), "wandb", spec, "pyproject dependencies")
                for i, spec in enumerate(specifiers)]

    counts, decided = [], []
    for n in (1_000, 2_000):
        tried[0] = 0
        decided.append(versions.effective("wandb", {}, pins([f">=0.{i % 17}" for i in range(n)])))
        decided.append(versions.effective("wandb", {}, pins([f">=0.{i}" for i in range(n)])))
        counts.append(tried[0])
    assert counts[0] == counts[1] < 64 * 2 * (len(versions.known_versions("wandb")) + 200)
    # repeats change nothing: a range written 1,000 times decides as once
    assert decided[0].version == decided[2].version == versions.effective(
        "wandb", {}, pins([f">=0.{i}" for i in range(17)])).version
