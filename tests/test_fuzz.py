"""Property-based tests: for generated and mutated Python sources and YAML documents, the engine
never raises, always returns, and every finding has a valid 1-based position inside its file.

`.ci/run` runs the `ci` profile (a bounded number of examples); `HYPOTHESIS_PROFILE=long pytest
tests/test_fuzz.py` runs thousands."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from preflight import engine
from preflight.rule import all_rules

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

NAMES = st.sampled_from(["run", "args", "out", "cfg", "name", "path", "wb", "os", "wandb", "mlflow", "kw"])
VALUES = st.sampled_from(["'outputs'", "f'{out}/x'", "time.time()", "args.output_dir", "100", "0.1", "None",
                          "True", "[]", "{'a': 1}", "**kw", "'wandb'", "uuid.uuid4().hex", "os.environ['WANDB_API_KEY']",
                          "{'method': 'grid', 'metric': {'name': 'loss'}, 'parameters': {'lr': {'values': [1]}}}",
                          "'1e-5'", "'file:./mlruns'", "cfg"])
CALLEES = st.sampled_from(["wandb.init", "wb.init", "mlflow.log_artifacts", "mlflow.log_artifact", "TrainingArguments",
                           "SFTConfig", "wandb.agent", "wandb.login", "os.makedirs", "open", "Accelerator",
                           "acc.init_trackers", "WandbLogger", "os.environ.setdefault", "weave.init", "print",
                           "wandb.sweep", "Run", "AimCallback", "Trainer", "HfArgumentParser", "loss.backward",
                           "optimizer.step", "torch.manual_seed", "mlflow.set_tracking_uri", "mlflow.start_run",
                           "parser.parse_yaml_file", "GRPOConfig"])
KEYWORDS = st.sampled_from(["name", "id", "project", "mode", "eval_steps", "logging_steps", "eval_strategy",
                            "report_to", "run_name", "function", "key", "log_with", "init_kwargs", "local_dir",
                            "sweep", "repo", "args", "eval_dataset", "num_generations", "allow_extra_keys", "seed"])
IMPORTS = ["import wandb", "import wandb as wb", "import mlflow", "import os, time, uuid",
           "from transformers import TrainingArguments", "from trl import SFTConfig", "from accelerate import Accelerator",
           "from lightning.pytorch.loggers import WandbLogger", "import weave", "import trackio as wandb",
           "from aim import Run", "from aim.hugging_face import AimCallback", "from transformers import Trainer",
           "from transformers import HfArgumentParser", "from trl import GRPOConfig", "import torch"]


@st.composite
def python_sources(draw) -> str:
    lines = draw(st.lists(st.sampled_from(IMPORTS), min_size=1, max_size=4))
    indent = ""
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.integers(0, 6))
        if kind == 0:
            lines.append(f"{indent}{draw(NAMES)} = {draw(VALUES)}")
        elif kind == 1:
            arguments = ", ".join(f"{draw(KEYWORDS)}={draw(VALUES)}" for _ in range(draw(st.integers(0, 3))))
            lines.append(f"{indent}{draw(NAMES)} = {draw(CALLEES)}({arguments})")
        elif kind == 2:
            lines.append(f"{indent}{draw(CALLEES)}({draw(VALUES)})")
        elif kind == 3 and len(indent) < 12:
            lines.append(f"{indent}{draw(st.sampled_from(['def f(args):', 'for i in range(3):', 'try:', 'with open(out) as fh:', 'if True:']))}")
            indent += "    "
            lines.append(f"{indent}pass")
        elif kind == 4 and indent:
            indent = indent[:-4]
            if draw(st.booleans()):
                lines.append(f"{indent}x = 1")
        elif kind == 5:
            lines.append(f"{indent}# preflight: ignore[{draw(st.sampled_from(['WB001', 'MLF001', 'XX', 'HF001, WB001']))}]")
        else:
            lines.append(f"{indent}os.environ[{draw(st.sampled_from(['WANDB_NAME', 'WANDB_MODE', 'X']))!r}] = {draw(VALUES)}")
    return "\n".join(lines) + "\n"


@st.composite
def mutated(draw, base):
    text = draw(base)
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:position] + draw(st.sampled_from(["(", ")", "'", '"', ":", "\n", "\t", "é", "\\", "[", "{"])) \
                + text[position:]
        else:
            text = text[:position] + text[position + 1:]
    return text


IPYTHON_LINES = st.sampled_from(["!pip install -q wandb \\", "    transformers", "%time x = 1", "%%capture", "%%bash",
                                 "%%writefile train.py", "out = !ls", "path = %env PATH", "wandb.init?", "??wandb",
                                 "cd repo", "x = '''why?", "'''", "", "\\", "\t!nvidia-smi", "    %env A=1"])


@st.composite
def notebooks(draw) -> str:
    """Python sources with IPython lines put in, cut into code and markdown cells."""
    lines = draw(mutated(python_sources())).split("\n")
    for _ in range(draw(st.integers(0, 5))):
        indent = draw(st.sampled_from(["", "    ", "        "]))
        lines.insert(draw(st.integers(0, len(lines))), indent + draw(IPYTHON_LINES))
    cuts = sorted(draw(st.lists(st.integers(0, len(lines)), max_size=4)))
    cells = []
    for start, end in zip([0, *cuts], [*cuts, len(lines)]):
        kind = draw(st.sampled_from(["code", "code", "markdown"]))
        cells.append({"cell_type": kind, "metadata": {}, "source": [line + "\n" for line in lines[start:end]],
                      **({"execution_count": None, "outputs": []} if kind == "code" else {})})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1,
                      ensure_ascii=draw(st.booleans()))


YAML_KEYS = st.sampled_from(["base_model", "datasets", "wandb_project", "wandb_name", "eval_steps", "logging_steps",
                             "val_set_size", "services", "command", "environment", "jobs", "steps", "run", "env",
                             "method", "parameters", "program", "metric", "report_to", "output_dir", "apiVersion",
                             "kind", "spec", "containers", "WANDB_API_KEY", "_target_", "on"])
YAML_SCALARS = st.one_of(st.integers(-5, 1000), st.sampled_from(["wandb", "python train.py", "${WANDB_API_KEY}",
                                                                  "steps", "epoch", "bayes", "", "0.1", "~"]),
                         # what safe_dump writes as !!binary, a date, a timestamp, !!set: JSON has none of them
                         st.binary(max_size=6), st.dates(), st.datetimes(), st.sets(st.sampled_from("ab"), max_size=2))
YAML_VALUES = st.recursive(YAML_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(YAML_KEYS, inner, max_size=5)), max_leaves=25)


@st.composite
def yaml_documents(draw) -> str:
    return yaml.safe_dump(draw(st.dictionaries(YAML_KEYS, YAML_VALUES, min_size=1, max_size=8)), sort_keys=False)


def _check(files: dict[str, str], cached: bool = False) -> None:
    """No internal error, every position inside its file; with `cached`, a cold and a warm run through the
    facts cache report what the uncached run does."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        result = engine.check(["."], select=["ALL"], cwd=root)
        assert not result.internal_errors, result.internal_errors
        for _ in range(2 if cached else 0):
            again = engine.check(["."], select=["ALL"], cwd=root, use_cache=True)
            assert not again.internal_errors, again.internal_errors
            assert again.findings == result.findings
        for finding in result.findings:
            loc = finding.location
            text = (root / loc.path).read_text(encoding="utf-8", errors="replace")
            assert 1 <= loc.line <= text.count("\n") + 1, finding
            assert loc.column >= 1 and (loc.end_line, loc.end_column) >= (loc.line, loc.column), finding


@given(mutated(python_sources()))
def test_python_sources(source):
    _check({"train.py": source})


@given(mutated(yaml_documents()), st.sampled_from(["cfg.yml", "docker-compose.yml", ".github/workflows/t.yml",
                                                    "sweep.yaml", "k8s.yaml"]))
@example(  # found by the long profile: an error at the end of a stream without a final newline
    document="command: []\nbase_model:\n- base_model: 0\ndatasets: []\nwandb_project:\n  datasets: 0\nwandb_name:\n"
             "  parameters: []\n  base_model: 0\nparameters:\n- -1\n- wandb\neval_steps: []\n(",
    name="cfg.yml",
)
def test_yaml_documents(document, name):
    _check({name: document, "train.py": "import wandb\nwandb.init()\n"}, cached=True)


@given(notebooks())
def test_notebooks(document):
    _check({"nb.ipynb": document})


SPECIAL_PROJECT = {
    "train.py": "import wandb\nwandb.init()\n",
    "docker-compose.yml": "services:\n  t:\n    image: x\n    command: python train.py\n    env_file: .env.train\n",
    ".env.train": "WANDB_MODE=offline\n",
    "pyproject.toml": "[tool.preflight]\nselect = ['ALL']\n",
    "run.sh": "python train.py\n",
    "configs/sft.yaml": "output_dir: o\nreport_to: wandb\n",
}


@given(st.dictionaries(st.sampled_from(sorted(SPECIAL_PROJECT)), st.sampled_from(["fifo", "fifo-mid-scan", "dev-zero"]),
                       max_size=4))
def test_files_that_are_not_regular_files(replaced):
    """Any file of a project can be (or become, during the scan) a FIFO or a link to a device: the scan
    neither blocks nor reads without end, and never fails."""
    import threading

    from preflight import collect

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, content in SPECIAL_PROJECT.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if replaced.get(name) == "fifo":
                os.mkfifo(path)
            elif replaced.get(name) == "dev-zero":
                path.symlink_to("/dev/zero")
            else:
                path.write_text(content)
        original = collect._read

        def swap(path, display, *rest):
            if replaced.get(display) == "fifo-mid-scan":
                path.unlink()
                os.mkfifo(path)
            return original(path, display, *rest)

        outcome = {}
        collect._read = swap
        try:
            thread = threading.Thread(target=lambda: outcome.setdefault("result", engine.check(["."], cwd=root)),
                                      daemon=True)
            thread.start()
            thread.join(60)
            blocked = thread.is_alive()
            for path in root.rglob("*"):  # let a blocked reader go before the folder is removed
                if path.is_fifo():
                    try:
                        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                    except OSError:
                        pass
            thread.join(5)
        finally:
            collect._read = original
        assert not blocked, "blocked on a FIFO"
        assert "result" in outcome and not outcome["result"].internal_errors


GLOBS = st.text(st.sampled_from("[]!^-az*?/\\.{}"), min_size=1, max_size=8)
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=4), max_leaves=12)
BASELINES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries({"tool": st.just("preflight"), "entries": JSON_VALUES}),
    st.fixed_dictionaries({"tool": st.just("preflight"), "entries": st.lists(st.dictionaries(
        st.sampled_from(["code", "path", "fingerprint", "message", "x"]), JSON_VALUES, max_size=5), max_size=3)}),
)


def _invoke(root: Path, arguments: list[str], environment: dict[str, str] | None = None):
    from click.testing import CliRunner

    from preflight.cli import main

    previous = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner(env=environment).invoke(main, arguments)
    finally:
        os.chdir(previous)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


@given(st.lists(GLOBS, max_size=3), st.dictionaries(GLOBS, st.just(["WB001"]), max_size=2), BASELINES,
       st.one_of(st.none(), st.text(st.sampled_from("0123456789-+ abx"), max_size=7)))
def test_bad_settings_are_usage_errors(exclude, ignores, baseline, workers):
    """Patterns, baselines and PREFLIGHT_WORKERS of any shape: a result or a usage error, never a crash."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "train.py").write_text("import wandb\nwandb.init()\n")
        table = "[tool.preflight]\nextend-exclude = " + json.dumps(exclude) + "\n[tool.preflight.per-file-ignores]\n"
        table += "".join(f"{json.dumps(pattern)} = ['WB001']\n" for pattern in ignores)
        (root / "pyproject.toml").write_text(table)
        (root / "baseline.json").write_text(json.dumps(baseline))
        environment = {"PREFLIGHT_WORKERS": workers} if workers is not None else {}
        result = _invoke(root, ["check", "--no-cache", "--baseline", "baseline.json"], environment)
        assert result.exit_code in (0, 1, 2)


@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True),
       st.lists(st.sampled_from(["", "--", "-", " ", "x", "train.py"]), max_size=3))
def test_bad_run_arguments_are_usage_errors(min_free_gb, timeout, command):
    """`preflight run` with any numbers and command words: a usage error or the job started (here, the
    exec is replaced by an exit with code 99), never a crash."""
    from unittest import mock

    def started(program, argv):
        raise SystemExit(99)

    with tempfile.TemporaryDirectory() as folder, mock.patch("os.execvp", started):
        root = Path(folder)
        result = _invoke(root, ["run", "--min-free-gb", repr(min_free_gb), "--timeout", repr(timeout), "--",
                                *command])
        assert result.exit_code in (2, 99)


SHELL_WORDS = st.sampled_from([
    "python train.py", "accelerate launch train.py --config c.yaml --lr 1", "export WANDB_API_KEY=x A=1", "cd sub",
    "docker run -e WANDB_API_KEY img python train.py", "wandb login", "VAR=1 python train.py --x", "for i in 1 2; do",
    "done", "if true; then", "fi", "echo $(pwd) $(dirname $(pwd))", "sudo -E env A=1 -u python train.py", "cat <<EOF",
    "EOF", "'unbalanced", "python train.py 'a''b' \"$x\"", "torchrun --nproc_per_node 2 train.py -- --lr 1", "#",
    "sbatch --array=1-3 job.sh", "wandb sync", "conda run -n x python -m pkg.train", "$(", ")",
])
SEPARATORS = st.sampled_from(["; ", " && ", " | ", "\n", " \\\n  ", " & ", " || "])


@st.composite
def shell_scripts(draw) -> str:
    """Commands of launchers, joined on one line or many, the whole sometimes repeated until it is past
    the limits of what a script may cost (then it is reported as too large, PF001)."""
    words = draw(st.lists(SHELL_WORDS, min_size=1, max_size=8))
    separators = [draw(SEPARATORS) for _ in words]
    body = "".join(word + separator for word, separator in zip(words, separators))
    return body * draw(st.sampled_from([1, 1, 1, 2, 300, 2_100]))


@given(shell_scripts(), st.sampled_from(["run.sh", "workflow", "Makefile", "Dockerfile"]))
def test_shell_scripts(script, where):
    """Shell of any shape, at any length, in every launcher that holds it: no crash, every position in
    its file (performance is bench/hostile.py's: it shows twice the input taking about twice the time)."""
    if where == "workflow":
        block = "".join(f"          {line}\n" for line in script.split("\n"))
        files = {".github/workflows/t.yml": f"on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: |\n{block}"}
    elif where == "Makefile":
        files = {"Makefile": "train:\n" + "".join(f"\t{line}\n" for line in script.split("\n"))}
    elif where == "Dockerfile":
        files = {"Dockerfile": "FROM x\n" + "".join(f"RUN {line}\n" for line in script.split("\n")) + f"CMD {script[:200]!r}\n"}
    else:
        files = {where: script}
    _check({**files, "train.py": "import wandb\nwandb.init()\n"})


CACHE_ENTRIES = [".", "facts.sqlite3", "facts.sqlite3-wal", "facts.sqlite3-shm", ".gitignore", "settings-0.json"]
CACHE_FORMS = st.sampled_from(["absent", "bytes", "link-to-file", "link-to-folder", "fifo", "folder", "hard-link"])


@given(st.fixed_dictionaries({entry: CACHE_FORMS for entry in CACHE_ENTRIES}), st.binary(max_size=64))
def test_cache_folders_of_any_shape(forms, data):
    """Whatever `.preflight_cache` is (a link, or a folder holding links, FIFOs, folders, hard links or
    bytes under the names preflight uses), a cached run reports what an uncached run does, and writes
    nothing outside the project."""
    with tempfile.TemporaryDirectory() as folder:
        root, outside = Path(folder) / "project", Path(folder) / "outside"
        root.mkdir()
        outside.mkdir()
        (outside / "file").write_bytes(b"outside\n")
        (root / "train.py").write_text("import wandb\nwandb.init()\n")
        (root / "pyproject.toml").write_text("[tool.preflight]\nignore = ['HF001']\n")
        cache = root / ".preflight_cache"
        for entry, form in forms.items():
            path = cache / entry if entry != "." else cache
            if form == "absent" or (entry != "." and (cache.is_symlink() or not cache.is_dir())):
                continue
            if form == "bytes":
                if entry != ".":
                    path.write_bytes(data)
            elif form == "link-to-file":
                path.symlink_to(outside / "file")
            elif form == "link-to-folder":
                path.symlink_to(outside, target_is_directory=True)
            elif form == "fifo":
                os.mkfifo(path)
            elif form == "folder":
                path.mkdir(exist_ok=True)
            elif form == "hard-link" and entry != ".":
                os.link(outside / "file", path)
        expected = engine.check(["."], cwd=root).findings
        for _ in range(2):
            result = engine.check(["."], cwd=root, use_cache=True)
            assert not result.internal_errors and result.findings == expected
        assert sorted(p.name for p in outside.iterdir()) == ["file"]
        assert (outside / "file").read_bytes() == b"outside\n"


# Bytes a file name may hold that a report must not pass on: ASCII controls, bytes that are not UTF-8, and the
# UTF-8 of C1 controls, separators and bidirectional controls; with letters and the characters escapes use.
NAME_BYTES = st.lists(st.one_of(
    st.sampled_from([bytes([b]) for b in [*range(1, 32), 127, *range(0x80, 0x100, 7)] if b != ord("/")]),
    st.sampled_from([c.encode() for c in "\u0085\u009b\u2028\u2029\u202e\u2066\ufffe\\:,%ab x"])), max_size=8)
STEP_TEXT = st.lists(st.sampled_from(list("\n\r\t\x1b\x07\x00\x7f\u0085\u009b\u2028\u202e\ufffe%:,=ab ") +
                                     ["::error file=README.md,line=1::Injected", "\x1b]8;;https://example.com\x07"]),
                     max_size=12).map("".join)
FORMATS = ["text", "json", "json-lines", "sarif", "github", "gitlab", "junit"]
_SHOWN = __import__("re").compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                                  "\ufffe\uffff\ud800-\udfff]")


@given(st.lists(NAME_BYTES, min_size=1, max_size=3), STEP_TEXT)
def test_names_and_step_names_in_every_format(names, step):
    """Whatever bytes file names and a step's name hold, every format is valid UTF-8 without a control
    character (other than its own line ends), JSON formats parse, JUnit is well-formed XML, and the text
    and GitHub outputs have exactly one line per finding, none of them starting a workflow command."""
    import re
    from xml.etree import ElementTree

    from preflight import display, report

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for parts in names:
            with open(os.path.join(os.fsencode(root), b"f" + b"".join(parts) + b".py"), "wb") as handle:
                handle.write(b"import wandb\nrun = wandb.init(project='p')\n")
        (root / ".github" / "workflows").mkdir(parents=True)
        (root / ".github" / "workflows" / "t.yml").write_text(
            f"on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - name: {json.dumps(step)}\n"
            "        run: python job.py\n")
        (root / "job.py").write_text("import wandb\nrun = wandb.init(project='p', name='j')\n")
        result = engine.check(["."], select=["WB001", "ENV001"], cwd=root)
        assert not result.internal_errors and [f.code for f in result.findings].count("ENV001") == 1
        shown = {display.path(f.location.path) for f in result.findings if f.code == "WB001"}
        assert len(shown) == len({b"".join(parts) for parts in names})  # lossless: no two names look alike
        for output_format in FORMATS:
            out = report.render(result, result.findings, output_format, fingerprints=result.fingerprints)
            out.encode("utf-8")
            assert not _SHOWN.search(out), (output_format, out)
            lines = out.splitlines()
            if output_format == "text":
                heads = [line for line in lines if re.search(r":\d+:\d+: (WB001|ENV001) \[", line)]
                assert len(heads) == len(result.findings) and not any(line.startswith("::") for line in lines)
            elif output_format == "github":
                assert len(lines) == len(result.findings) and all(line.startswith("::warning file=") or
                                                                  line.startswith("::error file=") for line in lines)
            elif output_format == "junit":
                ElementTree.fromstring(out.encode())
            elif output_format == "json-lines":
                assert len([json.loads(line) for line in lines]) == len(result.findings)
            else:
                json.loads(out)


@given(st.binary(max_size=12), st.binary(max_size=12))
def test_shown_names_are_lossless(first, second):
    from preflight import display

    assert (display.path(os.fsdecode(first)) == display.path(os.fsdecode(second))) == (first == second)


@given(st.lists(st.tuples(st.binary(max_size=3_000), st.binary(max_size=3_000)), min_size=1, max_size=4),
       st.integers(0, 4_000), st.sampled_from([0o600, 0o644, 0o755]))
def test_writes_are_all_or_nothing_under_any_size_limit(contents, limit, mode):
    """With writes failing past any file size (as on a full disk), files written together are all new or all
    as they were, keep their mode, and no temporary file is left."""
    import resource

    from preflight import writing

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        paths = [root / f"f{i}.txt" for i in range(len(contents))]
        for path, (old, _) in zip(paths, contents):
            path.write_bytes(old)
            path.chmod(mode)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))  # Python ignores SIGXFSZ: writes fail (EFBIG)
        try:
            writing.replace_all([(path, new) for path, (_, new) in zip(paths, contents)], within=root)
            failed = False
        except writing.WriteError as exc:
            failed = "File too large" in str(exc)
            assert failed, exc
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        assert failed == any(len(new) > limit for _, new in contents)
        assert [p.read_bytes() for p in paths] == [old if failed else new for old, new in contents]
        assert all(p.stat().st_mode & 0o777 == mode for p in paths)
        assert sorted(p.name for p in root.iterdir()) == sorted(p.name for p in paths)


ODD_BREAKS = st.sampled_from(["\f", "\v", "\x1c", "\x85", "\u2028", "\u2029", "\r", "\r\n"])
FLAGGED_YAML = st.sampled_from(["evaluation_strategy: steps", "evaluation_strategy: st\n  eps",
                                "evaluation_strategy: 'st\n  eps'", "logging_steps: 10", "output_dir: out\n  dir",
                                "# note", "run_name: \"a\n  b\"", "save_steps: 5"])


@st.composite
def with_odd_breaks(draw, base):
    """A text with line-break characters of other syntaxes put in: inside comments, strings, anywhere."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(text)))
        text = text[:position] + draw(ODD_BREAKS) + text[position:]
    return text


@st.composite
def flagged_yaml(draw) -> str:
    lines = draw(st.lists(FLAGGED_YAML, min_size=1, max_size=6, unique=True))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r"]))


def _tree(path: str, text: str):
    from preflight import fixes

    return fixes._tree(path, text)


@given(with_odd_breaks(mutated(python_sources())), with_odd_breaks(flagged_yaml()))
def test_fixes_and_ignores_keep_every_file_parsing(source, arguments):
    """--fix and --add-ignores on generated files with odd line breaks: every fixed file still parses, every
    file given comments parses to the tree it had, and once the comments are written no finding they were
    for is left (each comment landed on the line its syntax means)."""
    from preflight import api

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = {"train.py": source, "args.yaml": arguments, "requirements.txt": "transformers==5.16.1\n",
                 "run.sh": "python train.py\npython read.py args.yaml\n",
                 "read.py": "import sys\nfrom transformers import HfArgumentParser, TrainingArguments\n\n"
                            "HfArgumentParser(TrainingArguments).parse_yaml_file(sys.argv[1])\n"}
        for name, content in files.items():
            (root / name).write_bytes(content.encode("utf-8", errors="surrogatepass"))
        result = engine.check(["."], select=["ALL"], cwd=root)
        assert not result.internal_errors, result.internal_errors
        for change in api.plan_fixes(result, unsafe=True):
            if change.after != change.before:
                assert _tree(change.path, change.before) is not None and _tree(change.path, change.after) is not None
        plan = api.plan_ignores(result)
        for change in plan.changes:
            assert _tree(change.path, change.after) == _tree(change.path, change.before), change.path
        api.write_changes(plan.changes, root)
        if plan.skipped:
            return
        refused = {change.path for change in plan.changes if change.refused}  # a file that does not parse
        again = engine.check(["."], select=["ALL"], cwd=root)
        left = [f for f in again.findings if f.code not in ("PF001", "PF002") and f.location.path not in refused]
        assert not left, [(f.location, f.code) for f in left]


FIXABLE = [pytest.param(rule, example, id=f"{rule.code}-{index}")
           for rule in all_rules() if rule.autofix
           for index, example in enumerate(rule.examples) if example.bad and (example.fixed or example.unsafe_fixed)]


@pytest.mark.parametrize(("rule", "example"), FIXABLE)
@given(data=st.data())
def test_fixes_of_mutated_examples_parse_and_settle(rule, example, data):
    """Every fix (--unsafe-fixes) applied to a rule's fixable example with its main file mutated: a fix is
    applied only to a file that parses and leaves it parsing in its syntax, and the rounds of --fix settle
    (a further pass has nothing to change)."""
    from dataclasses import replace

    from preflight import api, examples
    from preflight.cli import FIX_ROUNDS

    path = next(iter(example.files))
    files = {**example.files, path: data.draw(mutated(st.just(example.files[path])), label=path)}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        examples.write(replace(example, files=files), rule, root)
        for _ in range(FIX_ROUNDS + 1):
            result = engine.check(["."], select=[rule.code, *example.also_select], cwd=root)
            assert not result.internal_errors, result.internal_errors
            changes = [c for c in api.plan_fixes(result, unsafe=True) if c.after != c.before]
            if not changes:
                break
            for change in changes:
                assert _tree(change.path, change.before) is not None, change.path  # no fix across a syntax error
                assert _tree(change.path, change.after) is not None, (change.path, change.after)
            api.write_changes(changes, root)
        else:
            pytest.fail(f"the fixes still change files after {FIX_ROUNDS} rounds")
