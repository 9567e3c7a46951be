"""A warm server's re-check equals a fresh check: a rule is run again only when something it read changed
(preflight.dependencies), so a missed record would leave a stale diagnostic in the editor.

Each rule's documented examples are the edits: a workspace holding every path any of the rule's examples
names (empty where an example has no such file) is taken from one example to the next and back, one buffer
at a time, and after every edit what it reports everywhere is compared with a fresh workspace's check of the
same texts. The examples are where findings appear and go, and every rule runs on every one of them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight.rule import all_rules, rule_by_key
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


_LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
EXAMPLES = [(rule, example) for rule in all_rules() for example in rule.examples if not example.options]


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


def test_a_file_read_from_disk_that_changed_is_read_again(tmp_path: Path) -> None:
    """A file outside the model that a rule reads (ENV013's .deepspeed_env) changes on disk: the re-check
    reads it again, as a fresh check does."""
    good = next(example for example in rule_by_key("ENV013").examples if ".deepspeed_env" in example.files)
    for path, text in good.files.items():
        (tmp_path / path).write_text(text, encoding="utf-8")
    workspace = Workspace(tmp_path, use_cache=False)
    workspace.load()
    workspace.check()
    assert _shown(workspace) == {}
    (tmp_path / ".deepspeed_env").write_text("NCCL_DEBUG=INFO\n", encoding="utf-8")
    workspace.file_changed(".deepspeed_env")
    workspace.check()
    assert [code for found in _shown(workspace).values() for code, *_ in found] == ["ENV013"]
    assert _shown(workspace) == _fresh(tmp_path, {})


@settings(max_examples=300 if _LONG else 40, deadline=None, derandomize=not _LONG,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLES), st.data())
def test_a_mutated_line_reports_what_a_fresh_check_reports(case, data) -> None:
    """Any one line of any example deleted, doubled or cut short (what typing does between two states the
    examples show), and then put back."""
    _, example = case
    path = data.draw(st.sampled_from(sorted(example.files)))
    lines = example.files[path].splitlines(keepends=True) or [""]
    number = data.draw(st.integers(0, len(lines) - 1))
    operation = data.draw(st.sampled_from(["delete", "double", "cut"]))
    edited = [*lines[:number], *{"delete": [], "double": [lines[number]] * 2,
                                 "cut": [lines[number][: len(lines[number]) // 2] + "\n"]}[operation],
              *lines[number + 1:]]
    with tempfile.TemporaryDirectory(prefix="preflight-incremental-") as folder:
        root = Path(folder)
        for relative, text in example.files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
        workspace = Workspace(root, use_cache=False)
        workspace.load()
        workspace.check()
        for text in ("".join(edited), example.files[path]):
            workspace.set_buffer(path, text)
            workspace.check()
            assert _shown(workspace) == _fresh(root, workspace.buffers), f"{operation} line {number + 1} of {path}"


def test_an_answer_derived_again_equal_stays_a_cutoff_at_later_checks(tmp_path: Path, monkeypatch) -> None:
    """Editing one script's TrainingArguments changes a kind every release answer reads (which files hold
    training arguments decides what LLaMA-Factory the project implies); the releases come out equal, so the
    other scripts' training runs are taken as they were: at the first edit and at every one after it (the
    record those runs keep is the one made before the releases were derived again)."""
    from preflight import runs

    script = "from transformers import TrainingArguments\nargs = TrainingArguments(output_dir='o', eval_steps={})\n"
    (tmp_path / "requirements.txt").write_text("transformers==4.46.0\n", encoding="utf-8")
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.py").write_text(script.format(250), encoding="utf-8")
    assembled: list[str] = []
    from_config = runs._from_config
    monkeypatch.setattr(runs, "_from_config", lambda project, path, index: (
        assembled.append(path), from_config(project, path, index))[1])
    workspace = Workspace(tmp_path, use_cache=False)
    workspace.load()
    workspace.check()
    for value in ("'250'", "250", "'250'", "250"):
        assembled.clear()
        workspace.set_buffer("a.py", script.format(value))
        workspace.check()
        assert assembled == ["a.py"], f"eval_steps={value}"
        assert _shown(workspace) == _fresh(tmp_path, workspace.buffers)


_BY_PATH: dict[str, list[str]] = {}
for _, _example in EXAMPLES:
    for _path, _text in _example.files.items():
        _BY_PATH.setdefault(_path, []).append(_text)


@settings(max_examples=200 if _LONG else 15, deadline=None, derandomize=not _LONG,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLES), st.sampled_from(EXAMPLES), st.data())
def test_a_sequence_of_edits_across_files_reports_what_a_fresh_check_reports(first, second, data) -> None:
    """Two examples' files in one project (of two rules, often), then several edits one after the other, each
    giving a file the text another example (of any rule) has for a file of that name, or emptying it: the
    answers kept across checks meet every state in between (a record older than the last edit, an answer
    derived again and equal, a file that a rule reads only in some states)."""
    files = {**first[1].files, **second[1].files}
    paths = sorted(files)
    with tempfile.TemporaryDirectory(prefix="preflight-incremental-") as folder:
        root = Path(folder)
        for relative, text in files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
        workspace = Workspace(root, use_cache=False)
        workspace.load()
        workspace.check()
        for step in range(data.draw(st.integers(2, 6))):
            path = data.draw(st.sampled_from(paths))
            text = data.draw(st.sampled_from(["", *_BY_PATH[path]]))
            workspace.set_buffer(path, text)
            workspace.check()
            assert _shown(workspace) == _fresh(root, workspace.buffers), f"step {step + 1}: {path}"
