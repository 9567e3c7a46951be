"""Generated documentation is fresh, and the bundled example project reports exactly what it shows."""

from __future__ import annotations

import json
from pathlib import Path

from preflight import docgen, engine

REPO = Path(__file__).resolve().parent.parent


def test_rules_reference_is_fresh():
    assert (REPO / "docs" / "rules.md").read_text(encoding="utf-8") == docgen.rules_markdown(), \
        "run `python -m preflight.docgen`"


def test_json_schema_is_fresh():
    committed = json.loads((REPO / "docs" / "json-output.schema.json").read_text(encoding="utf-8"))
    assert committed == docgen.json_schema(), "run `python -m preflight.docgen`"


def test_readme_rules_table_is_fresh():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert docgen.readme_with_table(readme) == readme, "run `python -m preflight.docgen`"


def test_docgen_writes_into_a_checkout_only(tmp_path, capsys):
    """A regular install's package sits in site-packages, which is no checkout: docgen says so and writes
    nothing there; given a checkout, it writes every generated file into it."""
    assert docgen.main([str(tmp_path)]) == 2 and "not a preflight checkout" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "rules").mkdir()
    (tmp_path / "README.md").write_text((REPO / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    assert docgen.main([str(tmp_path)]) == 0
    for name in ("rules.md", "json-output.schema.json", "config.schema.json", "pyproject.schema.json"):
        assert (tmp_path / "docs" / name).read_bytes() == (REPO / "docs" / name).read_bytes(), name
    assert (tmp_path / "README.md").read_bytes() == (REPO / "README.md").read_bytes()


def test_readme_starts_with_the_two_setup_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```sh\n")[1:3]]
    assert blocks[0].endswith("preflight check examples/")
    assert blocks[1].endswith("python -m pytest")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet -e '.[test]'" in ci and ci.rstrip().endswith("python -m pytest")


EXPECTED_EXAMPLE_FINDINGS = [
    "examples/.github/workflows/train.yml:22:11: ENV001",
    "examples/Dockerfile:2:1: SEC003",
    "examples/configs/axolotl-lora.yml:25:1: HF001",
    "examples/configs/axolotl-lora.yml:29:1: WB001",
    "examples/docker-compose.yml:20:15: ENV001",
    "examples/k8s/finetune-job.yaml:15:21: ENV006",
    "examples/slurm/sft-array.sbatch:5:1: ENV007",
    "examples/slurm/sft-array.sbatch:10:1: WB003",
    "examples/train.py:37:9: HF001",
    "examples/train.py:39:9: WB001",
    "examples/train.py:50:5: MLF001",
]


def test_example_project(monkeypatch):
    monkeypatch.chdir(REPO)
    result = engine.check(["examples/"])
    found = [f"{f.location.path}:{f.location.line}:{f.location.column}: {f.code}" for f in result.findings]
    assert found == EXPECTED_EXAMPLE_FINDINGS
    assert {f.code for f in result.findings} >= {"ENV001", "HF001", "MLF001", "WB001"}
    clean = {"examples/sft.py", "examples/configs/sft.yaml", "examples/configs/axolotl-qlora.yml",
             "examples/scripts/evaluate.py", "examples/sweep.yaml", "examples/slurm/eval.sbatch"}
    assert not clean & {f.location.path for f in result.findings}


def _blocks(language: str) -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in readme.split(f"```{language}\n")[1:]]


def test_readme_yaml_snippets_are_valid_and_match_the_repository():
    import yaml

    hooks = {hook["id"] for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    action = yaml.safe_load((REPO / "action.yml").read_text())
    snippets = [yaml.safe_load(block) for block in _blocks("yaml")]
    assert len(snippets) >= 3
    for snippet in snippets:
        for repo in snippet.get("repos", []) if isinstance(snippet, dict) else []:
            assert {hook["id"] for hook in repo["hooks"]} <= hooks
    steps = [step for s in snippets if isinstance(s, dict) and "jobs" in s for job in s["jobs"].values()
             for step in job["steps"]]
    uses = [step for step in steps if "preflight" in step.get("uses", "")]
    assert uses and set(uses[0].get("with", {})) <= set(action["inputs"])
    assert action["runs"]["using"] == "composite"


def test_readme_commands_use_real_options():
    from click.testing import CliRunner

    from preflight.cli import main

    help_text = CliRunner().invoke(main, ["check", "--help"]).output
    for block in _blocks("sh"):
        for option in __import__("re").findall(r"(--[a-z][a-z-]+)", block):
            if "preflight check" in block:
                assert option in help_text or option in ("--all-files",), option
