"""Every rule's documented examples run as tests: bad ones report exactly at the documented
positions, good ones report nothing. The examples are what `preflight explain` shows."""

from __future__ import annotations

import pytest

from preflight import examples
from preflight.rule import all_rules

CASES = [
    pytest.param(rule, example, id=f"{rule.code}-{'bad' if example.bad else 'good'}-{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.examples)
]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_example(rule, example):
    found = [f"{f.location.path}:{f.location.line}:{f.location.column}" for f in examples.run(rule, example)]
    assert found == list(example.expect)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_is_documented(rule):
    assert rule.code and rule.name == rule.name.lower() and " " not in rule.name
    assert rule.summary and not rule.summary.endswith(".")
    assert len(rule.why) > 80
    assert any(e.bad for e in rule.examples) and any(not e.bad for e in rule.examples)
