"""Differential test against the real library: for a few hundred generated argument files, preflight
reports an error exactly when `HfArgumentParser(TrainingArguments).parse_dict` raises.

transformers installs without torch, which is enough to build TrainingArguments; the test extra
pins it, and the test is skipped where it is absent. Only what is statically decidable is generated:
nothing whose outcome depends on the hardware or on torch being installed (`reduce_lr_on_plateau`
requires torch, bf16 a GPU when torch is present).
"""

from __future__ import annotations

import json
import random

import pytest

from preflight import engine
from preflight.findings import Severity

transformers = pytest.importorskip("transformers", reason="the differential test needs transformers (no torch)")

# The checks of TrainingArguments construction: rules that answer "does parse_dict raise?".
CONSTRUCTION_RULES = ["HF004", "HF007", "HF010", "TRL001"]

CHOICES = {
    "eval_strategy": ["no", "steps", "epoch", "step", "Steps"],
    "logging_strategy": ["steps", "epoch", "no", "none"],
    "save_strategy": ["no", "steps", "epoch", "best", "always"],
    "eval_steps": [None, 0, 1, 50, 100, 0.1, 0.25, 12.5, 100.0, 300, "100"],
    "logging_steps": [0, 10, 25, 50, 0.05, 7.5, -1, "10"],
    "save_steps": [100, 200, 250, 300, 0.2, 0.5, 33.3, 500, "500"],
    "load_best_model_at_end": [True, False],
    "metric_for_best_model": ["eval_loss", "accuracy"],
    "fp16": [True, False],
    "bf16": [True, False],
    "fp16_full_eval": [True, False],
    "bf16_full_eval": [True],
    "lr_scheduler_type": ["linear", "cosine", "greedy", "linear_decay", "constant_with_warmup"],
    "optim": ["adamw_torch", "adam", "adafactor", "sgd"],
    "hub_strategy": ["every_save", "sometimes", "end"],
    "warmup_steps": [0, 100, -5, 0.1],
    "dataloader_prefetch_factor": [2],
    "dataloader_num_workers": [0, 2],
    "torch_empty_cache_steps": [10, 0, 2.5],
    "max_steps": [1000, -1],
    # keys that transformers renamed or removed, and a typo
    "evaluation_strategy": ["steps"],
    "logging_dir": ["runs"],
    "warmup_ratio": [0.1],
    "overwrite_output_dir": [True],
    "eval_step": [100],
}
RARE = {"evaluation_strategy", "logging_dir", "warmup_ratio", "overwrite_output_dir", "eval_step"}
# The schedule family: the save/eval/logging cadences and load_best_model_at_end, densely.
SCHEDULE = {"eval_strategy", "save_strategy", "logging_strategy", "eval_steps", "save_steps", "logging_steps",
            "load_best_model_at_end"}
COUNT = 300


def generate(family: str, seed: int = 20261126) -> list[dict]:
    generator = random.Random(f"{family}-{seed}")
    keys = sorted(CHOICES) if family == "all" else sorted(SCHEDULE)
    combos = []
    for _ in range(COUNT):
        combo = {"output_dir": "out"}
        for key in keys:
            chance = 0.03 if key in RARE else 0.15 if family == "all" else 0.6
            if generator.random() < chance:
                value = generator.choice(CHOICES[key])
                if family == "schedule" and key.endswith("strategy") and value not in ("no", "steps", "epoch"):
                    value = "steps"  # invalid names belong to the other family
                combo[key] = value
        combos.append(combo)
    return combos


def library_raises(combo: dict) -> str | None:
    from transformers import HfArgumentParser, TrainingArguments

    try:
        HfArgumentParser(TrainingArguments).parse_dict(combo)
    except (ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.mark.parametrize("family", ["all", "schedule"])
def test_errors_match_the_library(tmp_path, family):
    combos = generate(family)
    for index, combo in enumerate(combos):
        (tmp_path / f"args_{index}.json").write_text(json.dumps(combo), encoding="utf-8")
        (tmp_path / f"train_{index}.py").write_text(
            "from transformers import HfArgumentParser, TrainingArguments\n\n"
            f"(args,) = HfArgumentParser(TrainingArguments).parse_json_file('args_{index}.json')\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(f'[tool.preflight.versions]\ntransformers = "{transformers.__version__}"\n',
                                             encoding="utf-8")
    result = engine.check(["."], select=CONSTRUCTION_RULES, cwd=tmp_path, use_cache=False)
    reported: dict[int, list[str]] = {}
    for finding in result.findings:
        if finding.severity is Severity.ERROR and finding.location.path.startswith("args_"):
            index = int(finding.location.path.removeprefix("args_").removesuffix(".json"))
            reported.setdefault(index, []).append(f"{finding.code} {finding.message}")
    missed, extra = [], []
    for index, combo in enumerate(combos):
        raised = library_raises(combo)
        if raised and index not in reported:
            missed.append(f"{combo}\n  library: {raised}")
        elif not raised and index in reported:
            extra.append(f"{combo}\n  preflight: {reported[index]}")
    assert not missed and not extra, (f"{len(missed)} missed:\n" + "\n".join(missed[:10])
                                      + f"\n{len(extra)} extra:\n" + "\n".join(extra[:10]))
    raising = sum(1 for combo in combos if library_raises(combo))
    assert 0.2 * COUNT < raising < 0.8 * COUNT, "the generator should produce both outcomes in good measure"
