"""The worst input of each kind the hostile-input review found, generated at a size and at twice it, so
that the benchmark shows what each costs and that doubling the input no more than doubles the time.

Each is a project of its own (the file plus a training script), checked without a cache:

- a one-line shell script of 10 MB (hundreds of thousands of commands on one line);
- a workflow whose one `run:` is such a line;
- an Axolotl config with 200,000 keys its schema does not have (one finding, not 200,000);
- a Makefile recipe continued over 200,000 lines;
- a workflow job of 800 steps under an environment of 1,000 variables (each launch carries them);
- the Axolotl config again, reported as SARIF (200,000 findings once made a 1.5 GB report: it is one);
- 2,000 files whose names hold newlines, escape sequences and bytes that are not UTF-8, each with a
  finding, reported as JSON (every name and message is escaped, preflight.display);
- a pyproject.toml of 100,000 dependencies (each entry's place was searched from its table's start);
- a pyproject.toml declaring one tracked library in 100,000 ranges (each range was intersected with all
  before it over every known release);
- a Dockerfile `RUN` of 160,000 `pip install` commands on one line (each sliced the rest of the line).

Beyond their limits the scripts are reported as too large to analyse (PF001): those rows measure
reading, recognising and refusing them, which must stay linear too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

_TRAIN = "import wandb\n\nwandb.init(project='bench', name='hostile')\n"


def _one_line_shell(factor: int) -> dict[str, str]:  # 5 MB, 10 MB
    return {"run.sh": "python train.py --lr 1; " * (factor * 210_000)}


def _workflow_run(factor: int) -> dict[str, str]:  # one value of 5 MB, 10 MB
    line = "python train.py --lr 1; " * (factor * 210_000)
    return {".github/workflows/train.yml": f"on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: {line}\n"}


def _axolotl_keys(factor: int) -> dict[str, str]:  # 100,000 and 200,000 keys
    keys = "".join(f"unknown_key_{i}: {i}\n" for i in range(factor * 100_000))
    return {"axolotl.yml": "base_model: m\ndatasets: []\nwandb_project: p\nwandb_name: n\n" + keys}


def _makefile_continuations(factor: int) -> dict[str, str]:  # 100,000 and 200,000 lines
    return {"Makefile": "train:\n\tpython train.py \\\n" + "\t  --flag value \\\n" * (factor * 100_000) + "\t  --end\n"}


def _workflow_steps(factor: int) -> dict[str, str]:  # 400 and 800 steps, each launch with 1,000 variables
    env = "".join(f"      VAR_{i}: value\n" for i in range(1_000))
    steps = "".join(f"      - run: python train.py --step {i}\n" for i in range(factor * 400))
    return {".github/workflows/steps.yml": f"on: push\njobs:\n  t:\n    runs-on: x\n    env:\n{env}    steps:\n{steps}"}


def _odd_names(factor: int) -> dict[str, str]:  # 1,000 and 2,000 files, each with a finding
    import os

    names = [b"line\nbreak", b"esc\x1b]0;title\x07", b"byte\xff", "bidi\u202e".encode(), b"back\\slash"]
    return {os.fsdecode(names[i % len(names)] + f"_{i}.py".encode()): "import wandb\nrun = wandb.init(project='p')\n"
            for i in range(factor * 1_000)}


def _pyproject_dependencies(factor: int) -> dict[str, str]:  # 50,000 and 100,000 entries
    entries = "".join(f'  "package-{i}>=1.{i}",\n' for i in range(factor * 50_000))
    head = '[project]\nname = "p"\nversion = "1"\ndependencies = [\n  "wandb==0.19.1",\n'
    return {"pyproject.toml": f"{head}{entries}]\n"}


def _pyproject_ranges(factor: int) -> dict[str, str]:  # 50,000 and 100,000 ranges of wandb
    entries = "".join(f'  "wandb>=0.{i}",\n' for i in range(factor * 50_000))
    return {"pyproject.toml": f'[project]\nname = "p"\nversion = "1"\ndependencies = [\n{entries}]\n'}


def _pip_installs(factor: int) -> dict[str, str]:  # 80,000 and 160,000 installs on one line
    return {"Dockerfile": "FROM python:3.11\nRUN " + "pip install 'wandb==0.19.1' && " * (factor * 80_000) + "true\n"}


KINDS = {
    "one-line shell script": _one_line_shell,
    "workflow run: of one line": _workflow_run,
    "Axolotl config, unknown keys": _axolotl_keys,
    "Makefile recipe, continued lines": _makefile_continuations,
    "workflow job, steps x variables": _workflow_steps,
    "Axolotl config, unknown keys, SARIF": _axolotl_keys,
    "file names with control characters, JSON": _odd_names,
    "pyproject.toml, dependencies": _pyproject_dependencies,
    "pyproject.toml, ranges of one library": _pyproject_ranges,
    "Dockerfile RUN, pip installs on one line": _pip_installs,
}
# The report format a kind is measured with (text otherwise).
ARGUMENTS = {"Axolotl config, unknown keys, SARIF": ["--format", "sarif"],
             "file names with control characters, JSON": ["--format", "json"]}


def build(root: Path) -> dict[str, tuple[Path, Path]]:
    """kind -> (the project at the base size, the project at twice it), written under `root`."""
    projects = {}
    for index, (kind, generate) in enumerate(KINDS.items()):
        folders = []
        for factor in (1, 2):
            folder = root / f"{index}-x{factor}"
            if not (folder / ".complete").exists():
                for name, content in {**generate(factor), "train.py": _TRAIN}.items():
                    path = folder / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(content)
                subprocess.run(["git", "init", "-q", str(folder)], check=True)  # a project of its own
                subprocess.run(["git", "-C", str(folder), "add", "-A"], check=True)
                (folder / ".complete").write_text("")
            folders.append(folder)
        projects[kind] = (folders[0], folders[1])
    return projects
