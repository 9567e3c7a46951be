"""A rule's findings do not depend on which other rules run: the model is linked once and frozen before
any rule reads it. For every rule R, `--select R` reports exactly the R-findings of `--select ALL`, plus
the ones that under ALL yield to a more specific rule's finding about the same subject (declared
precedence: ENV001 yields to ENV004, and comes back when ENV004 is not reported). PF002 (unused
suppression) is the one rule about the selection itself: a suppression can only be judged unused for a
rule that runs, so it is compared with the rules the suppressions name selected beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import write_files
from preflight import engine, examples
from preflight.rule import all_rules

REPO = Path(__file__).resolve().parent.parent


def _keys(findings) -> list[tuple]:
    return sorted((f.code, f.location.path, f.location.line, f.location.column, f.message) for f in findings)


def assert_order_independent(root: Path, needs: tuple[str, ...] = ()) -> None:
    everything = engine.check(["."], select=["ALL"], cwd=root)
    codes = {f.code for f in [*everything.findings, *everything.yielded]}
    for rule in all_rules():
        if rule.code not in codes and rule.code not in root.name:
            continue
        beside = sorted(({f.code for f, _ in everything.suppressed} | codes | set(needs)) - {"PF002"}) \
            if rule.code == "PF002" else []
        alone = engine.check(["."], select=[rule.code, *beside], cwd=root)
        expected = [f for f in [*everything.findings, *everything.yielded] if f.code == rule.code]
        mine = [f for f in alone.findings if f.code == rule.code]
        assert _keys(mine) == _keys(expected), f"{rule.code} depends on the other rules selected"


CASES = [pytest.param(rule, example, id=f"{rule.code}-{index}")
         for rule in all_rules() for index, example in enumerate(rule.examples) if example.bad]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_rule_examples(tmp_path, rule, example):
    root = tmp_path / rule.code  # the folder's name makes the example's own rule always compared
    root.mkdir()
    examples.write(example, rule, root)
    assert_order_independent(root, example.also_select)


def test_the_example_project(tmp_path):
    root = tmp_path / "examples"
    shutil.copytree(REPO / "examples", root)
    assert_order_independent(root)


def test_a_trl_config_read_through_a_workflow_with_offline_mode(tmp_path):
    """The model used to be completed lazily: a workflow running `trl sft --config cfg.yaml` with WANDB_MODE
    offline was clean for ENV008 alone and reported with AXO001 selected beside it."""
    write_files(tmp_path, {
        ".github/workflows/sft.yml": "on: push\njobs:\n  sft:\n    runs-on: ubuntu-latest\n    env:\n"
                                     "      WANDB_MODE: offline\n    steps:\n      - run: trl sft --config cfg.yaml\n",
        "cfg.yaml": "model_name_or_path: Qwen/Qwen2.5-0.5B\nenv:\n  WANDB_MODE: offline\n",
    })
    alone = engine.check(["."], select=["ENV008"], cwd=tmp_path).findings
    beside = [f for f in engine.check(["."], select=["ENV008", "AXO001"], cwd=tmp_path).findings if f.code == "ENV008"]
    assert _keys(alone) == _keys(beside) and alone
    assert_order_independent(tmp_path)


DOCKER = {
    ".github/workflows/train.yml": "on: push\njobs:\n  train:\n    runs-on: [self-hosted, gpu]\n    env:\n"
                                   "      WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}\n    steps:\n"
                                   "      - run: docker run --gpus all trainer:latest python train.py\n",
    "train.py": "import wandb\nwandb.init(project='p', name='r1')\n",
}


def test_env001_yields_to_env004_only_while_env004_is_reported(tmp_path):
    """A `docker run` that drops the key the step has: one finding, ENV004, whose fix is `-e WANDB_API_KEY`.
    Ignoring ENV004 (or not selecting it) must not leave a job that will crash reported clean."""
    write_files(tmp_path, DOCKER)
    where = ".github/workflows/train.yml:8:14"
    codes = lambda **kw: [f"{f.location}: {f.code}" for f in engine.check(["."], cwd=tmp_path, **kw).findings]  # noqa
    assert codes(select=["ENV"]) == [f"{where}: ENV004"]
    assert codes(select=["ENV"], ignore=["ENV004"]) == [f"{where}: ENV001"]
    assert codes(select=["ENV001"]) == [f"{where}: ENV001"]
    (tmp_path / "pyproject.toml").write_text('[tool.preflight]\nignore = ["ENV004"]\n')
    assert codes() == [f"{where}: ENV001"]


def test_the_model_is_frozen_after_linking(tmp_path):
    write_files(tmp_path, DOCKER)
    project = engine.check(["."], select=["ALL"], cwd=tmp_path).project
    assert project.frozen
    with pytest.raises(TypeError):
        project.files["new.py"] = None  # type: ignore[index]
