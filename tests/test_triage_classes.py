"""The false-finding classes read on real repositories (bench/realworld), each reproduced in a small project
of the same shape, beside the true case it must still find. Classes covered elsewhere: YAML provenance
(test_provenance.py), reachability (test_reachability.py), consequences and folding (test_consequences.py),
versions (test_versions.py), notebooks (test_notebooks.py)."""

from __future__ import annotations

import pytest


def test_a_yaml_a_script_loads_into_a_plain_dict_is_not_training_arguments(project):
    files = {"train.py": "import argparse, yaml\n\np = argparse.ArgumentParser()\np.add_argument('--config')\n"
                         "cfg = yaml.safe_load(open(p.parse_args().config))\n",
             "cfg.yaml": "output_dir: out\nlogging_steps: 10\neval_steps: 25\neval_strategy: steps\nreport_to: wandb\n",
             "run.sh": "python train.py --config cfg.yaml\n"}
    assert project(files, select=["HF", "TRL", "WB001"]) == []


LOOP = ("import torch, wandb\n{seed}\nrun = wandb.init(project='p', name='r')\nfor batch in loader:\n"
        "    loss = model(batch)\n    loss.backward()\n    optimizer.step()\n")


@pytest.mark.parametrize("seed, expected", [
    ("", ["train.py:6:5: REP001"]),
    ("from monai.utils import set_determinism\nset_determinism(seed=0)", []),
    ("from sacred import Experiment\nex = Experiment('train')", []),  # Sacred seeds random, numpy and torch
], ids=["unseeded", "monai", "sacred"])
def test_seeding_apis_seed_the_run(project, seed, expected):
    assert project({"train.py": LOOP.format(seed=seed)}, select=["REP001"]) == expected


@pytest.mark.parametrize("tail, expected", [
    ("", ["t.py:6:1: REP002"]),
    ("config = wandb.config\nconfig.lr = args.lr\n", []),  # filled through an alias
    ("log_params(model, wandb.config, args)\n", []),  # handed on to be filled there
], ids=["no-config", "alias", "handed-on"])
def test_a_config_filled_after_init_is_tracked(project, tail, expected):
    source = ("import argparse, wandb\n\np = argparse.ArgumentParser()\np.add_argument('--lr', type=float)\n"
              "args = p.parse_args()\nwandb.init(project='p', name='r')\n" + tail)
    assert project({"t.py": source}, select=["REP002"]) == expected
