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


FIXED = [
    pytest.param(rule, example, id=f"{rule.code}-bad-{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.examples)
    if example.fixed or example.unsafe_fixed
]


@pytest.mark.parametrize(("rule", "example"), FIXED)
def test_fixed_text(rule, example):
    """A Bad example's files read as documented after `--fix` and after `--unsafe-fixes`; once every fix is
    applied no finding of the rule is left, and applying the fixes again changes
    nothing."""
    safe = examples.fixed(rule, example)
    for path, text in example.fixed.items():
        assert safe[path] == text
    unsafe = examples.fixed(rule, example, unsafe=True)
    for path, text in (example.unsafe_fixed or example.fixed).items():
        assert unsafe[path] == text
    assert unsafe[""] == ""
    assert examples.fixed(rule, example, unsafe=True, rounds=2) == unsafe


@pytest.mark.parametrize("rule", [r for r in all_rules() if r.autofix], ids=lambda r: r.code)
def test_fixing_rule_documents_its_fix(rule):
    """A rule with a fix says why it is safe or unsafe, and a Bad example shows the text it produces."""
    assert rule.fix_safety and ("Safe" in rule.fix_safety or "Unsafe" in rule.fix_safety)
    assert any(e.fixed or e.unsafe_fixed for e in rule.examples if e.bad)
    assert rule.fixes and set(rule.fixes) <= {"safe", "unsafe"}
    # each kind it declares is shown by a Bad example: a file --fix changes, a file only --unsafe-fixes changes
    safe = any(text != e.files[path] for e in rule.examples for path, text in e.fixed.items())
    unsafe = any(text != e.fixed.get(path, e.files[path]) for e in rule.examples
                 for path, text in e.unsafe_fixed.items())
    assert (safe, unsafe) == ("safe" in rule.fixes, "unsafe" in rule.fixes)
