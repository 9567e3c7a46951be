"""Inline suppressions (and PF002), and PF001: bad input never stops the scan."""

from __future__ import annotations

import os

import pytest

UNNAMED = "import wandb\n\nwandb.init(project='p')"


def test_same_line(project):
    assert project({"train.py": UNNAMED + "  # preflight: ignore[WB001] named by the launcher\n"}) == []


def test_line_above(project):
    source = "import wandb\n\n# preflight: ignore[WB001]\nwandb.init(project='p')\n"
    assert project({"train.py": source}) == []


def test_stacked_comments_above(project):
    source = "import wandb\n\n# preflight: ignore[WB001]\n# (the sweep names it)\nwandb.init(project='p')\n"
    assert project({"train.py": source}) == []


def test_name_instead_of_code_and_lower_case(project):
    assert project({"a.py": UNNAMED + "  # preflight: ignore[unnamed-wandb-run]\n",
                    "b.py": UNNAMED + "  # preflight: ignore[wb001]\n"}) == []


def test_other_code_does_not_suppress(project):
    found = project({"train.py": UNNAMED + "  # preflight: ignore[HF001]\n"})
    assert found == ["train.py:3:1: WB001", "train.py:3:26: PF002"]


def test_bare_ignore_suppresses_everything_on_the_line(project):
    assert project({"train.py": UNNAMED + "  # preflight: ignore\n"}) == []


def test_yaml(project):
    config = "base_model: m\ndatasets: []\n# preflight: ignore[WB001] named by the launcher\nwandb_project: p\n"
    assert project({"ax.yml": config}) == []


def test_string_is_not_a_comment(project):
    source = "import wandb\n\nwandb.init(project='p', notes='# preflight: ignore[WB001]')\n"
    assert project({"train.py": source}) == ["train.py:3:1: WB001"]


def test_unused_suppressions(project):
    files = {
        "a.py": "x = 1  # preflight: ignore[WB001]\n",
        "b.py": "x = 1  # preflight: ignore[XYZ123]\n",
        "c.py": "# preflight: ignore\nx = 1\n",
        "d.yml": "base_model: m  # preflight: ignore[MLF001]\ndatasets: []\n",
    }
    assert project(files) == ["a.py:1:8: PF002", "b.py:1:8: PF002", "c.py:1:1: PF002", "d.yml:1:16: PF002"]


def test_suppression_of_a_disabled_rule_is_not_reported(project):
    assert project({"a.py": "x = 1  # preflight: ignore[WB001]\n"}, select=["PF"]) == []


# -- PF001 -----------------------------------------------------------------------------------------

BROKEN = {
    "syntax-error.py": ("import wandb\ndef f(:\n", "syntax-error.py:2:7"),
    "python2.py": ("import wandb\nprint 'hello'\n", "python2.py:2:1"),
    "latin1.py": ("import wandb  # caf\xe9\n".encode("latin-1"), "latin1.py:1:1"),
    "binary.py": (b"import wandb\x00\x01\x02", "binary.py:1:1"),
    ".github/workflows/bad.yml": ("on: push\njobs:\n  a: [\n", ".github/workflows/bad.yml:4:1"),
    "compose.yaml": ("services:\n\tapp: x\n", "compose.yaml:2:1"),
    "axolotl.yml": ("base_model: m\nwandb_project: [\n", "axolotl.yml:3:1"),
    "bad.json": ('{"report_to": "wandb", }', "bad.json:1:24"),
}


def test_each_broken_file_is_one_pf001_and_the_scan_goes_on(project):
    files = {name: content for name, (content, _) in BROKEN.items()}
    for name, content in files.items():
        path = project.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    found = project({"train.py": UNNAMED + "\n"})
    expected = sorted([f"{where}: PF001" for _, where in BROKEN.values()] + ["train.py:3:1: WB001"])
    assert sorted(found) == expected


def test_irrelevant_broken_yaml_and_templates_are_skipped(project):
    files = {
        "chart/templates/job.yaml": "apiVersion: batch/v1\nkind: Job\n{{- if .Values.train }}\nspec: {{ .Values }}\n",
        "notes.yaml": "a: [\n",
        "utils.py": "def broken(:\n",  # mentions nothing preflight checks
    }
    assert project(files) == []


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root can read anything")
def test_unreadable_file(project):
    path = project.root / "train.py"
    path.write_text(UNNAMED)
    path.chmod(0)
    try:
        assert project({}) == ["train.py:1:1: PF001"]
    finally:
        path.chmod(0o644)


def test_pf001_advice_fits_the_problem(tmp_path):
    """A syntax error is fixed in the file; a file too large to analyse is generated or split, never "fixed so
    that it parses" (it parses)."""
    from preflight import engine

    (tmp_path / "train.py").write_text("import wandb\n\ndef main(:\n    wandb.init(name='x')\n")
    (tmp_path / "many.sh").write_text("python train.py --step 1\n" * 2_100)
    messages = {f.location.path: f.message for f in engine.check(["."], select=["PF001"], cwd=tmp_path).findings}
    assert messages["train.py"].endswith(": fix the file so that it parses")
    assert messages["many.sh"].startswith("this script is too large to analyse")
    assert messages["many.sh"].endswith(": exclude it (extend-exclude) if it is generated, or split it")
