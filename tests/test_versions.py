"""Effective library versions: the declarations a project installs from (requirements files, pyproject
with Poetry, setup.py and setup.cfg, lock files, conda environments, Dockerfile and shell `pip install`),
their precedence, `[tool.preflight.versions]`, and the generated field data they select."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preflight import versions
from preflight.extract import extract
from preflight.libraries import library
from preflight.model import ParseError, VersionPin


def pins(path: str, text: str) -> list[tuple[str, str, int, int]]:
    facts = extract(path, text.encode()).facts
    return [(p.library, p.specifier, p.location.line, p.location.column) for p in facts if isinstance(p, VersionPin)]


def declared(path: str, text: str) -> list[tuple[str, str, str, str, str]]:
    """Each pin as (library, specifier, `line:column-end_column`, where, role)."""
    facts = extract(path, text.encode()).facts
    return [(p.library, p.specifier, f"{p.location.line}:{p.location.column}-{p.location.end_column}", p.where, p.role)
            for p in facts if isinstance(p, VersionPin)]


@pytest.mark.parametrize("path, text, expected", [
    ("requirements.txt", "torch==2.4\ntransformers>=4.40,<5  # comment\n  wandb\n-r base.txt\n--index-url x\n",
     [("transformers", "<5,>=4.40", 2, 1), ("wandb", "", 3, 3)]),
    ("requirements/train.txt", "trl==0.19.1 ; python_version > '3.9'\n", [("trl", "==0.19.1", 1, 1)]),
    ("requirements-gpu.txt", "Neptune_Client==1.10\n", [("neptune-client", "==1.10", 1, 1)]),
    ("constraints.txt", "mlflow-skinny==2.9.0\n", [("mlflow-skinny", "==2.9.0", 1, 1)]),
    ("requirements.txt", "git+https://github.com/huggingface/transformers\n./wheels/trl.whl\n", []),
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["transformers==4.57.1", "numpy"]\n'
     '[project.optional-dependencies]\ntrack = ["wandb>=0.19"]\n',
     [("transformers", "==4.57.1", 3, 18), ("wandb", ">=0.19", 5, 11)]),
    ("Dockerfile", 'FROM python:3.11\nRUN pip install --no-cache-dir "transformers==4.57.1" wandb && echo ok\n',
     [("transformers", "==4.57.1", 2, 33), ("wandb", "", 2, 55)]),
    ("setup.sh", "#!/bin/bash\npython -m pip install -U 'trl>=0.20'\n# pip install trl==0.1\n",
     [("trl", ">=0.20", 2, 27)]),
], ids=["requirements", "folder-and-marker", "normalised-name", "constraints", "urls-skipped", "pyproject",
        "dockerfile", "shell"])
def test_pins(path, text, expected):
    assert pins(path, text) == expected


def _pin(library: str, specifier: str, path: str = "requirements.txt") -> VersionPin:
    from preflight.findings import Location

    return VersionPin(Location(path, 1, 1), library, specifier, path)


def test_configured_version_wins():
    assumed = versions.effective("transformers", {"transformers": "4.45.0"}, [_pin("transformers", "==5.0.0")])
    assert (assumed.version, assumed.source) == ("4.45.0", "[tool.preflight.versions]")


def test_exact_pin_beats_range():
    found = [_pin("transformers", ">=4.40,<5", "requirements.txt"), _pin("transformers", "==4.50.0", "Dockerfile")]
    assumed = versions.effective("transformers", {}, found)
    assert (assumed.version, assumed.source) == ("4.50.0", "pinned ==4.50.0 in Dockerfile:1")


def test_range_takes_the_newest_known_release_it_admits():
    assumed = versions.effective("transformers", {}, [_pin("transformers", ">=4.40,<5")])
    assert assumed.version == "4.57.6" and assumed.major == 4


def test_no_pin_means_newest_known():
    assumed = versions.effective("trl", {}, [])
    assert assumed.version == library("trl").newest and assumed.source == "the newest version preflight knows"


def test_aliases_count_as_the_library():
    assert versions.effective("mlflow", {}, [_pin("mlflow-skinny", "==2.9.0")]).version == "2.9.0"
    assert versions.installed("neptune", [_pin("neptune-client", "")]) is not None


def test_field_history_from_generated_data():
    transformers = library("transformers")
    assert transformers.removed_before("TrainingArguments", "evaluation_strategy", "4.57.1") == "4.51"
    assert transformers.removed_before("TrainingArguments", "evaluation_strategy", "4.50.0") is None
    assert transformers.removed_before("TrainingArguments", "logging_dir", "5.15.0") == "5.15"
    assert "eval_strategy" not in transformers.fields("TrainingArguments", "4.40.0")
    assert "eval_strategy" in transformers.fields("TrainingArguments", "4.41.0")
    trl = library("trl")
    assert "max_seq_length" in trl.fields("SFTConfig", "0.19.1")
    assert "max_seq_length" not in trl.fields("SFTConfig", "0.20.0")
    assert trl.script_dataclasses("sft", "1.16.0")[:3] == ["ScriptArguments", "SFTConfig", "ModelConfig"]


def test_a_subfolder_check_uses_the_root_pins(project):
    from preflight import engine

    files = {"requirements.txt": "transformers==4.50.3\n", "pyproject.toml": "[project]\nname = 'x'\n",
             "src/train.py": "from transformers import TrainingArguments\n"
                             "TrainingArguments(output_dir='o', evaluation_strategy='epoch', report_to='none')\n"}
    assert project(files, select=["HF007"]) == []  # 4.50 still accepts it
    result = engine.check(["src"], select=["HF007"], cwd=project.root)
    assert result.findings == []
    (project.root / "requirements.txt").write_text("transformers==4.57.1\n")
    result = engine.check(["src"], select=["HF007"], cwd=project.root)
    assert [f"{f.location.path}:{f.location.line}" for f in result.findings] == ["src/train.py:2"]
    assert "pinned ==4.57.1 in requirements.txt:1" in result.findings[0].message


# -- every place a project declares its versions ------------------------------------------------------

SETUP_PY = """\
from setuptools import setup

REQUIRED = [
    "torch",
    "transformers>=4.48.2",
]
extras = {"track": ["wandb>=0.19"]}
extras["all"] = extras["track"] + ['trl==0.20.0']
setup(name="x", install_requires=REQUIRED + ["accelerate"], extras_require=extras)
"""
SETUP_PY_TABLE = """\
import re
from setuptools import setup

_deps = [
    "accelerate>=1.4.0",
    "transformers==4.52.3",
]
deps = {b: a for a, b in (re.findall(r"^(([^!=<>~ ]+)(?:[!=<>~ ].*)?$)", x)[0] for x in _deps)}
install_requires = [deps["accelerate"], deps["transformers"]]
setup(install_requires=install_requires)
"""
SETUP_CFG = """\
[isort]
known_third_party =
    transformers
[options]
install_requires =
    torch
    transformers>=4.40  # a comment
    wandb ; python_version > "3.8"
[options.extras_require]
track = mlflow>=2.9
"""
POETRY = """\
[tool.poetry]
name = "x"
[tool.poetry.dependencies]
python = "^3.10"
transformers = "^4.40"
wandb = { version = "~0.19", optional = true }
[tool.poetry.group.dev.dependencies]
trl = "0.20.0"
"""
UV_LOCK = """\
version = 1
[manifest]
overrides = [{ name = "transformers", specifier = ">=4.40" }]

[[package]]
name = "torch"
version = "2.4.0"
dependencies = [
    { name = "transformers" },
]

[[package]]
name = "transformers"
version = "4.57.1"
source = { registry = "https://pypi.org/simple" }

[package.optional-dependencies]
torch = [{ name = "accelerate" }]
"""
POETRY_LOCK = """\
[[package]]
name = "wandb"
version = "0.19.1"
description = "x"

[package.dependencies]
transformers = ">=4"

[metadata]
lock-version = "2.0"
"""
PIPFILE_LOCK = """\
{
    "_meta": {"hash": {"sha256": "x"}},
    "default": {
        "transformers": {"hashes": [], "version": "==4.57.1"}
    },
    "develop": {
        "wandb": {"version": "==0.19.1"}
    }
}
"""
ENVIRONMENT = """\
name: train
channels: [conda-forge]
dependencies:
  - python=3.10
  - conda-forge::transformers=4.46
  - "accelerate==1.2.1"
  - mlflow=2.14.1=pyhd8ed1ab_0
  - pip:
      - wandb>=0.19
      - -r requirements.txt
"""


@pytest.mark.parametrize("path, text, expected", [
    ("setup.py", SETUP_PY, [
        ("transformers", ">=4.48.2", "5:6-26", "setup.py install_requires", "main"),
        ("accelerate", "", "9:47-57", "setup.py install_requires", "main"),
        ("wandb", ">=0.19", "7:22-33", "setup.py extras_require.track", "optional"),
        ("trl", "==0.20.0", "8:37-48", "setup.py extras_require.all", "optional")]),
    ("setup.py", SETUP_PY_TABLE, [
        ("accelerate", ">=1.4.0", "5:6-23", "setup.py install_requires", "main"),
        ("transformers", "==4.52.3", "6:6-26", "setup.py install_requires", "main")]),
    ("pkg/setup.cfg", SETUP_CFG, [
        ("transformers", ">=4.40", "7:5-23", "setup.cfg install_requires", "main"),
        ("wandb", "", "8:5-35", "setup.cfg install_requires", "main"),
        ("mlflow", ">=2.9", "10:9-20", "setup.cfg extras_require.track", "optional")]),
    ("pyproject.toml", POETRY, [
        ("transformers", "<5,>=4.40", "5:1-13", "poetry dependencies", "main"),
        ("wandb", "<0.20,>=0.19", "6:1-6", "poetry dependencies", "optional"),
        ("trl", "==0.20.0", "8:1-4", "poetry group.dev", "optional")]),
    ("uv.lock", UV_LOCK, [("transformers", "==4.57.1", "13:9-21", "uv.lock", "lock")]),
    ("poetry.lock", POETRY_LOCK, [("wandb", "==0.19.1", "2:9-14", "poetry.lock", "lock")]),
    ("Pipfile.lock", PIPFILE_LOCK, [
        ("transformers", "==4.57.1", "4:10-22", "Pipfile.lock default", "lock"),
        ("wandb", "==0.19.1", "7:10-15", "Pipfile.lock develop", "optional")]),
    ("environment.yml", ENVIRONMENT, [
        ("transformers", "==4.46.*", "5:5-35", "environment.yml", "main"),
        ("accelerate", "==1.2.1", "6:6-23", "environment.yml", "main"),
        ("mlflow", "==2.14.1", "7:5-31", "environment.yml", "main"),
        ("wandb", ">=0.19", "9:9-20", "environment.yml pip", "main")]),
    ("requirements.lock", "transformers==4.57.1\n",
     [("transformers", "==4.57.1", "1:1-21", "requirements.lock", "lock")]),
    ("requirements-dev.txt", "wandb>=0.19\n", [("wandb", ">=0.19", "1:1-12", "requirements-dev.txt", "optional")]),
    ("pylock.toml", 'lock-version = "1.0"\n[[packages]]\nname = "trl"\nversion = "0.20.0"\n'
     '[[packages.wheels]]\nname = "trl-0.20.0-py3-none-any.whl"\n',
     [("trl", "==0.20.0", "3:9-12", "pylock.toml", "lock")]),
], ids=["setup.py", "setup.py-deps-table", "setup.cfg", "poetry", "uv.lock", "poetry.lock", "Pipfile.lock",
        "environment.yml", "requirements.lock", "qualified-requirements", "pylock"])
def test_declarations(path, text, expected):
    assert declared(path, text) == expected


def test_setup_py_is_read_never_run(tmp_path):
    marker = tmp_path / "ran"
    text = f"open({str(marker)!r}, 'w')\nfrom setuptools import setup\nsetup(install_requires=['trl==0.20.0'])\n"
    assert pins("setup.py", text) == [("trl", "==0.20.0", 3, 26)]
    assert not marker.exists()


@pytest.mark.parametrize("path, text, reported", [
    ("uv.lock", UV_LOCK.replace('version = "4.57.1"', 'version = "4.57.1'), "uv.lock:14:"),
    ("Pipfile.lock", PIPFILE_LOCK[:-3], "Pipfile.lock:"),
    ("uv.lock", UV_LOCK.replace('version = "2.4.0"', "version = 2.4.0 <<<<<<<"), None),  # not a tracked entry
    ("requirements.lock", "transformers==4.57.1\n[[package]] = \"\n", None),  # pip's format, not TOML
    ("poetry.lock", "[[package]\nname = 'torch'\n", None),  # names no tracked library: not parsed
], ids=["toml-entry", "json", "untracked-entry", "requirements-format", "pre-filtered"])
def test_unparsable_lock_files(path, text, reported):
    errors = [f"{path}:{e.location.line}:" for e in extract(path, text.encode()).facts if isinstance(e, ParseError)]
    if reported is None:
        assert errors == []
    else:
        assert len(errors) == 1 and errors[0].startswith(reported), errors


DECLARATION_SAMPLES = [("setup.py", SETUP_PY), ("setup.py", SETUP_PY_TABLE), ("setup.cfg", SETUP_CFG),
                       ("pyproject.toml", POETRY), ("uv.lock", UV_LOCK), ("poetry.lock", POETRY_LOCK),
                       ("Pipfile.lock", PIPFILE_LOCK), ("environment.yml", ENVIRONMENT),
                       ("pylock.toml", UV_LOCK.replace("package", "packages"))]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.sampled_from(DECLARATION_SAMPLES), st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(
    ["", "(", ")", "'", '"', ":", "=", "\n", "\t", " ", "é", "\\", "[", "]", "{", "}", ",", "^", "~", "*",
     "[[package]]", "+ x", "name = ", "- "])), max_size=6))
def test_bad_declarations_never_crash(sample, edits):
    path, text = sample
    for position, inserted in edits:
        position %= len(text) + 1
        text = text[:position] + inserted + text[position + (0 if inserted else 1):]
    lines = text.count("\n") + 1
    for fact in extract(path, text.encode()).facts:
        assert 1 <= fact.location.line <= lines and fact.location.column >= 1, fact


# -- precedence ---------------------------------------------------------------------------------------

def _at(library: str, specifier: str, path: str, role: str = VersionPin.MAIN, line: int = 1) -> VersionPin:
    from preflight.findings import Location

    return VersionPin(Location(path, line, 1), library, specifier, path, role)


def test_a_lock_file_wins_over_a_range():
    found = [_at("transformers", ">=4.48", "pyproject.toml"), _at("transformers", "==4.50.3", "uv.lock", "lock", 9)]
    assumed = versions.effective("transformers", {}, found)
    assert (assumed.version, assumed.source) == ("4.50.3", "pinned ==4.50.3 in uv.lock:9")


def test_the_main_declaration_wins_over_an_extra_and_a_sub_project():
    found = [_at("transformers", "==4.40.2", "examples/foo/requirements.txt"),
             _at("transformers", "==4.45.2", "pyproject.toml", VersionPin.OPTIONAL),
             _at("transformers", ">=4.48,<5", "setup.py")]
    assumed = versions.effective("transformers", {}, found)
    assert assumed.version == "4.57.6"
    assert assumed.source == "requires >=4.48,<5 in setup.py:1, which admits 4.48–4.57.6"
    assert versions.installed("transformers", found).location.path == "setup.py"
    assumed = versions.effective("transformers", {}, found[:2])  # without it, the extra at the top decides
    assert assumed.source == "pinned ==4.45.2 in pyproject.toml:1"


def test_main_ranges_intersect():
    found = [_at("transformers", ">=4.40", "pyproject.toml"), _at("transformers", "<5", "requirements.txt", line=3),
             _at("transformers", "<4.30", "setup.py")]  # contradicts the others: set aside
    assumed = versions.effective("transformers", {}, found)
    assert assumed.version == "4.57.6"
    assert assumed.source == ("requires >=4.40 in pyproject.toml:1 and <5 in requirements.txt:3, "
                              "which admit 4.40–4.57.6")
    assert assumed.specifier == "<5,>=4.40"


def test_an_unversioned_main_requirement_decides_too():
    found = [_at("transformers", "", "requirements.txt"), _at("transformers", "==4.40.2", "docs/requirements.txt")]
    assumed = versions.effective("transformers", {}, found)
    assert assumed.version == library("transformers").newest and assumed.admits_below("4.40")
    assert assumed.source == "installed unversioned in requirements.txt:1: a fresh install gets the newest"


def test_a_requirements_folder_belongs_to_the_root():
    found = [_at("trl", "==0.19.1", "requirements/requirements.txt"), _at("trl", "==0.20.0", "src/requirements.txt")]
    assert versions.effective("trl", {}, found).version == "0.19.1"


def test_a_range_that_straddles_a_behaviour_change():
    assumed = versions.effective("transformers", {}, [_at("transformers", ">=4.50", "requirements.txt")])
    assert (assumed.version, assumed.lowest) == ("5.24.0", "4.50")
    assert assumed.admits_below("5.0") and assumed.admits_at_least("5.0")
    assert not assumed.all_at_least("5.0") and assumed.all_at_least("4.50") and not assumed.all_below("5.0")
    newer = versions.effective("transformers", {}, [_at("transformers", ">=5.1", "requirements.txt")])
    assert newer.all_at_least("5.0") and not newer.admits_below("5.0")
    exact = versions.effective("transformers", {}, [_at("transformers", "==4.57.1", "requirements.txt")])
    assert exact.all_below("5.0") and exact.releases == ("4.57.1",)


def test_a_range_of_a_library_known_by_one_release():
    assumed = versions.effective("mlflow", {}, [_at("mlflow", "<3.2,>=2.14.1", "setup.py")])
    assert assumed.admits_at_least("3.0") and not assumed.admits_at_least("3.7") and assumed.admits_below("2.15")


def test_conda_fuzzy_versions_are_ranges():
    found = [_at("transformers", "==4.46.*", "environment.yml")]
    assumed = versions.effective("transformers", {}, found)
    assert assumed.version == "4.46.3" and assumed.source.startswith("requires ==4.46.* in environment.yml:1")


# -- through a check ------------------------------------------------------------------------------------

LOG_MODEL = {"run.sh": "#!/bin/bash\nexport WANDB_LOG_MODEL=true\naccelerate launch train.py\n"}


def _messages(project, files: dict[str, str], code: str) -> list[str]:
    from preflight import engine

    project(files, select=[code])
    return [f"{f.location.path}:{f.location.line}: {f.message}" for f in engine.check(
        ["."], select=[code], cwd=project.root).findings]


def test_a_lower_bound_is_reported_as_a_range(project):
    files = {**LOG_MODEL, "setup.py": "from setuptools import setup\nsetup(\n    install_requires=[\n"
                                      "        'transformers>=4.48.2',\n    ],\n)\n"}
    [message] = _messages(project, files, "WB009")
    assert "transformers 5.24.0 (requires >=4.48.2 in setup.py:4, which admits 4.48.2–5.24.0)" in message
    assert "pinned" not in message


def test_a_lock_file_decides_in_a_check(project):
    files = {**LOG_MODEL, "pyproject.toml": '[project]\nname = "x"\ndependencies = ["transformers>=4.48"]\n',
             "uv.lock": UV_LOCK}
    assert _messages(project, files, "WB009") == []  # uv.lock installs 4.57.1, which still accepts `true`


def test_a_sub_project_pin_does_not_decide_for_the_project(project):
    files = {**LOG_MODEL, "examples/foo/requirements.txt": "transformers==4.57.1\n"}
    assert _messages(project, files, "WB009") == []  # only the example declares it
    (project.root / "pyproject.toml").write_text('[tool.poetry.dependencies]\ntransformers = "^5.2"\n')
    [message] = _messages(project, {}, "WB009")
    assert "transformers 5.24.0 (requires >=5.2,<6 in pyproject.toml:2, which admits 5.2.0–5.24.0)" in message


def test_a_subfolder_check_reads_the_root_lock_file(project):
    from preflight import engine

    files = {"uv.lock": UV_LOCK.replace("4.57.1", "4.50.3"), "pyproject.toml": "[project]\nname = 'x'\n",
             "src/train.py": "from transformers import TrainingArguments\n"
                             "TrainingArguments(output_dir='o', evaluation_strategy='epoch', report_to='none')\n"}
    project(files, select=["HF007"])
    assert engine.check(["src"], select=["HF007"], cwd=project.root).findings == []  # 4.50 still accepts it
    (project.root / "uv.lock").write_text(UV_LOCK)
    [finding] = engine.check(["src"], select=["HF007"], cwd=project.root).findings
    assert "pinned ==4.57.1 in uv.lock:13" in finding.message


def test_a_dependency_pin_limits_the_range(project):
    """`transformers>=4.53.3` with `huggingface-hub<1.0`: every transformers 5.x needs huggingface-hub>=1.3
    (its wheel metadata), so a fresh install gets a 4.x and a key 5.0 removed is still there."""
    files = {
        "setup.py": "from setuptools import setup\nsetup(install_requires=['transformers>=4.53.3', "
                    "'huggingface-hub>=0.33.4,<1.0'])\n",
        "args.yaml": "output_dir: out\noverwrite_output_dir: true\nper_device_train_batch_size: 8\n",
    }
    assert project(files, select=["HF007"]) == []
    from preflight import engine

    assumed = engine.check(["."], select=["HF007"]).project.version("transformers")
    assert assumed.major == 4 and "huggingface-hub" in assumed.source
    files["setup.py"] = files["setup.py"].replace(", 'huggingface-hub>=0.33.4,<1.0'", "")
    assert project(files, select=["HF007"]) == ["args.yaml:2:1: HF007"]


def test_an_exact_pin_of_another_library_pins_what_it_requires(project):
    """axolotl==0.19.0 requires transformers==5.16.1: that is the transformers the project runs."""
    project({"requirements.txt": "axolotl==0.19.0\n", "a.py": ""})
    from preflight import engine

    assert engine.check(["."]).project.version("transformers").version == "5.16.1"
