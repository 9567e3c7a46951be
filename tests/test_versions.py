"""Effective library versions: pins in requirements, pyproject, Dockerfile and shell `pip install`,
`[tool.preflight.versions]`, and the generated field data they select."""

from __future__ import annotations

import pytest

from preflight import versions
from preflight.extract import extract
from preflight.libraries import library
from preflight.model import VersionPin


def pins(path: str, text: str) -> list[tuple[str, str, int, int]]:
    facts = extract(path, text.encode()).facts
    return [(p.library, p.specifier, p.location.line, p.location.column) for p in facts if isinstance(p, VersionPin)]


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
