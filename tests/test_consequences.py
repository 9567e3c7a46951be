"""A rule fires only when the consequence its `why` states can happen, and one root cause gives one
finding. Each case reproduces, in a small project, a class of false findings seen on real repositories."""

from __future__ import annotations

import pytest

from preflight import engine

REPORT_TO = "from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='o', report_to='wandb')\n"


@pytest.mark.parametrize("requirements, expected", [
    ("", ["train.py:3:42: WB001"]),
    ("transformers==4.46.3\n", []),  # up to 4.54 the Trainer names the run after output_dir
    ("transformers>=4.40\n", ["train.py:3:42: WB001"]),
], ids=["newest", "pinned-before-4.55", "range-across-4.55"])
def test_wb001_knows_the_trainer_names_runs_before_4_55(project, requirements, expected):
    files = {"train.py": REPORT_TO, **({"requirements.txt": requirements} if requirements else {})}
    assert project(files, select=["WB001"]) == expected
    if requirements.startswith("transformers>="):
        [finding] = engine.check(["."], select=["WB001"]).findings
        assert "with transformers 4.55 and later" in finding.message and "up to 4.54" in finding.message


def test_wb001_does_not_judge_test_code(project):
    assert project({"tests/test_callbacks.py": "import wandb\n\nwandb.init(project='p')\n"}, select=["WB001"]) == []
    assert project({"test_tracking.py": "import wandb\n\nwandb.init(project='p')\n"}, select=["WB001"]) == []


def test_a_key_removed_in_a_rename_is_one_finding_with_the_fix_that_removes_both(project):
    """`evaluation_strategy` makes TrainingArguments raise first, and judged as the intended `eval_strategy`
    the save and eval schedules match: HF007 alone, with the rename as its fix (not HF004's advice)."""
    source = ("from transformers import TrainingArguments\n\nargs = TrainingArguments(output_dir='o', "
              "evaluation_strategy='epoch', save_strategy='epoch', load_best_model_at_end=True)\n")
    assert project({"train.py": source}, select=["HF004", "HF007"]) == ["train.py:3:42: HF007"]
    [finding] = engine.check(["."], select=["HF007"]).findings
    assert finding.fix is not None and "eval_strategy" in finding.fix.description


GUARDED = """from trl import SFTConfig
from transformers.utils.versions import require_version


def build():
    require_version("trl>=0.12,<0.20", "this code needs max_seq_length")
    return SFTConfig(output_dir="o", max_seq_length=1024)
"""


def test_code_behind_a_version_guard_is_judged_only_with_a_release_it_runs_with(project):
    """With the trl the project installs (newer than 0.20) the guard raises first: the removed key cannot
    fail. Without the guard it does."""
    assert project({"sft.py": GUARDED}, select=["TRL001", "HF008"]) == []
    unguarded = GUARDED.replace('    require_version("trl>=0.12,<0.20", "this code needs max_seq_length")\n', "")
    assert project({"sft.py": unguarded}, select=["TRL001"]) == ["sft.py:6:38: TRL001"]


def test_unknown_keys_of_one_call_are_one_finding(project):
    source = ("from trl import SFTConfig\n\nconfig = SFTConfig(output_dir='o', max_seq_lenght=1024, "
              "packing_strategie='bfd', dataset_text_fiel='text')\n")
    project({"train.py": source})
    [finding] = engine.check(["."], select=["TRL001"]).findings
    assert (finding.location.line, finding.location.column) == (3, 36)
    for key in ("max_seq_lenght", "packing_strategie", "dataset_text_fiel"):
        assert f"`{key}`" in finding.message


def test_a_config_class_the_field_data_lacks_has_unknown_defaults(project):
    """trl.experimental's CPOConfig (logging_steps defaults to 10 there) is not in the field data: no claim
    about its logging_steps, rather than TrainingArguments' 500 called the TRL default."""
    source = ("from trl.experimental.cpo import CPOConfig\n\n"
              "config = CPOConfig(output_dir='o', eval_strategy='steps', report_to='wandb')\n")
    assert project({"cpo.py": source}, select=["HF012"]) == []
