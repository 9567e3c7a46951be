"""A warm server's re-check equals a fresh check: a rule is run again only when something it read changed
(preflight.dependencies), so a missed record would leave a stale diagnostic in the editor.

Each rule's documented examples are the edits: a workspace holding every path any of the rule's examples
names (empty where an example has no such file) is taken from one example to the next and back, one buffer
at a time, and after every edit what it reports everywhere is compared with a fresh workspace's check of the
same texts. The examples are where findings appear and go, and every rule runs on every one of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.rule import all_rules
from preflight.workspace import Workspace


def _shown(workspace: Workspace) -> dict[str, list[tuple]]:
    return {path: [(f.code, f.location.line, f.location.column, f.message) for f in findings]
            for path, findings in workspace._shown.items() if findings}


def _fresh(root: Path, buffers: dict[str, str]) -> dict[str, list[tuple]]:
    fresh = Workspace(root, use_cache=False)
    fresh.buffers = dict(buffers)
    fresh.load()
    fresh.check()
    return _shown(fresh)


RULES = [pytest.param(rule, id=rule.code) for rule in all_rules()
         if sum(not example.options for example in rule.examples) >= 2]


@pytest.mark.parametrize("rule", RULES)
def test_each_edit_reports_what_a_fresh_check_reports(rule, tmp_path: Path) -> None:
    examples = [example for example in rule.examples if not example.options]
    paths = sorted({path for example in examples for path in example.files})
    for path in paths:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(examples[0].files.get(path, ""), encoding="utf-8")
    workspace = Workspace(tmp_path, use_cache=False)
    workspace.load()
    workspace.check()
    assert _shown(workspace) == _fresh(tmp_path, {})
    order = [*range(1, len(examples)), *range(len(examples) - 2, -1, -1)]
    for number in order:
        example = examples[number]
        for path in paths:  # one buffer at a time, checked after each: the states between examples count too
            text = example.files.get(path, "")
            if workspace.buffers.get(path, (tmp_path / path).read_text(encoding="utf-8")) == text:
                continue
            workspace.set_buffer(path, text)
            workspace.check()
            assert _shown(workspace) == _fresh(tmp_path, workspace.buffers), (
                f"after {path} became that of example {number} ({example.note or ('bad' if example.bad else 'good')})")
