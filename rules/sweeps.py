"""W&B sweep configurations."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import SweepSpec
from preflight.project import Project
from preflight.rule import Bad, Good, Rule

# Metric names where a larger value is better; minimising them optimises for the worst runs.
_HIGHER_IS_BETTER = re.compile(
    r"(?:^|[/_.\-])(?:acc|accuracy|f1|bleu|rouge\w*|reward\w*|auc|auroc|precision|recall|map|ndcg|mrr|exact_match|em|"
    r"win_rate|pass@\d+|pass_at_\d+|score|spearman\w*|pearson\w*|r2|iou|miou|dice|top\d+|top_\d+)(?:$|[/_.\-])",
    re.IGNORECASE,
)
_LOWER_IS_BETTER = re.compile(r"loss|error|perplexity|ppl|wer|cer|mse|mae|rmse", re.IGNORECASE)


class SweepGoalDirection(Rule):
    code = "SWP002"
    name = "sweep-goal-direction"
    severity = Severity.ERROR
    summary = "A sweep optimises a higher-is-better metric without `goal: maximize`"
    why = (
        "A sweep's `metric.goal` defaults to `minimize`. For accuracy, F1, BLEU, ROUGE, reward, AUC and the like "
        "the Bayesian search then steers toward the worst configurations, and early termination stops the best "
        "runs. Set `goal: maximize`."
    )
    examples = [
        Bad("sweep.yaml", "program: train.py\nmethod: bayes\nmetric:\n  name: eval/accuracy\nparameters:\n"
            "  learning_rate: {min: 0.00001, max: 0.001}\n", expect="sweep.yaml:3:1"),
        Good("sweep.yaml", "program: train.py\nmethod: bayes\nmetric:\n  name: eval/accuracy\n  goal: maximize\n"
             "parameters:\n  learning_rate: {min: 0.00001, max: 0.001}\n"),
        Good("sweep.yaml", "program: train.py\nmethod: bayes\nmetric:\n  name: eval/loss\nparameters:\n"
             "  learning_rate: {min: 0.00001, max: 0.001}\n", note="loss is lower-is-better: the default is right"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for spec in project.facts(SweepSpec):
            name = spec.metric or ""
            if not name or spec.goal is not None or spec.metric_location is None:
                continue
            if _HIGHER_IS_BETTER.search(name) and not _LOWER_IS_BETTER.search(name):
                yield self.finding(spec.metric_location, f"the sweep optimises {name!r} with no goal, so it minimises "
                                   "it (the default): the search steers toward the worst runs; add `goal: maximize`")
