"""The published JSON schema of the configuration: fresh, and it agrees with preflight on what is valid
(an editor must not mark a setting preflight accepts, and should mark what preflight rejects)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from preflight import configschema
from preflight.cli import main
from preflight.rule import all_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent


def test_committed_schemas_are_fresh():
    for name, generated in (("config", configschema.table()), ("pyproject", configschema.pyproject())):
        committed = json.loads((REPO / "docs" / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert committed == generated, "run `python -m preflight.docgen`"
        jsonschema.Draft7Validator.check_schema(committed)


def _preflight_accepts(tmp_path: Path, pyproject: str) -> bool:
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--show-settings", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code in (0, 2), result.output
    return result.exit_code == 0


def _schema_accepts(pyproject: str) -> bool:
    document = tomllib.loads(pyproject)
    valid_table = jsonschema.Draft7Validator(configschema.table()).is_valid(document["tool"]["preflight"])
    valid_file = jsonschema.Draft7Validator(configschema.pyproject()).is_valid(document)
    assert valid_table == valid_file
    return valid_file


README_TABLES = [block for block in re.findall(r"```toml\n(.*?)```", (REPO / "README.md").read_text(), re.S)
                 if block.startswith("[tool.preflight]") and "extend =" not in block]

CASES = [  # (pyproject.toml, preflight accepts it)
    *[(block, True) for block in README_TABLES],
    ('[tool.preflight]\nselect = ["hf001", " WB ", "all", "unnamed-wandb-run", "H"]\nignore = ["SEC00"]\n', True),
    ('[tool.preflight.severity]\nhf008 = "error"\n"Unnamed-Wandb-Run" = "info"\n', True),
    ('[tool.preflight.rules.eval-logging-cadence-mismatch]\nstrict = true\n', True),
    ('[tool.preflight.rules.hf001]\nstrict = false\n', True),
    ('[tool.preflight]\nfail-on = "warning"\n[tool.preflight.versions]\naccelerate = "1.10.1"\n', True),
    ('[tool.preflight.per-file-ignores]\n"!src/**" = ["unnamed-wandb-run", "HF"]\n', True),
    ('[tool.preflight]\nextend_select = ["WB"]\nfail_on = "error"\nper_file_ignores = {"a.py" = ["WB"]}\n', True),
    ('[tool.preflight.rules.HF001]\n', True),
    ('[tool.preflight.rules.HF001]\nstrict = "yes"\n', False),
    ('[tool.preflight.rules.HF001]\nstrictt = true\n', False),
    ('[tool.preflight.rules.WB001]\nstrict = true\n', False),  # a rule without options
    ('[tool.preflight.rules.HF999]\n', False),
    ('[tool.preflight]\nselct = ["WB"]\n', False),
    ('[tool.preflight]\nselect = "ALL"\n', False),
    ('[tool.preflight]\nselect = ["XY"]\n', False),
    ('[tool.preflight]\nignore = ["WB0010"]\n', False),
    ('[tool.preflight]\nfail-on = "errors"\n', False),
    ('[tool.preflight.severity]\nHF008 = "fatal"\n', False),
    ('[tool.preflight.severity]\nHF0088 = "error"\n', False),
    ('[tool.preflight.versions]\ntransformers = 4.57\n', False),
    ('[tool.preflight.versions]\ntorch = "2.5.0"\n', False),
    ('[tool.preflight.versions]\ntransformers = "latest"\n', False),
    ('[tool.preflight.per-file-ignores]\n"tests/**" = ["XY001"]\n', False),
]


@pytest.mark.parametrize(("pyproject", "accepted"), CASES)
def test_the_schema_and_preflight_agree(tmp_path, pyproject, accepted):
    assert _preflight_accepts(tmp_path, pyproject) is accepted
    assert _schema_accepts(pyproject) is accepted


def test_every_rule_and_its_options_are_offered_for_completion():
    rules = configschema.table()["properties"]["rules"]["properties"]
    for rule in all_rules():
        assert rules[rule.code] == rules[rule.name]
        assert set(rules[rule.code]["properties"]) == {field for field in rule.Options.__dataclass_fields__}
    assert rules["HF001"]["properties"]["strict"] == {
        "default": False, "type": "boolean", "title": "Strict",
        "description": rules["HF001"]["properties"]["strict"]["description"]}


def test_what_only_preflight_decides_is_left_to_it(tmp_path):
    """A pattern git cannot use and a version outside the data's range are preflight's errors (they need its
    matcher and its data); the schema lets them through rather than guess."""
    for pyproject in ('[tool.preflight]\nexclude = ["[z-a]"]\n', '[tool.preflight.versions]\ntransformers = "3.0.0"\n'):
        assert not _preflight_accepts(tmp_path, pyproject)
        assert _schema_accepts(pyproject)


def _taplo(folder: Path, name: str, text: str) -> subprocess.CompletedProcess:
    (folder / name).write_text(text, encoding="utf-8")
    return subprocess.run(["taplo", "check", name], cwd=folder, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "RUST_LOG": "error"})


@pytest.mark.skipif(shutil.which("taplo") is None, reason="taplo is not installed (pip install taplo; .ci/run "
                    "installs it)")
def test_taplo_reads_the_schemas_as_the_readme_sets_them_up(tmp_path):
    """The TOML language server of VS Code's Even Better TOML, Helix and Zed, as its command line: a pyproject.toml
    through a .taplo.toml rule, a preflight.toml through its #:schema directive, each with the verdict preflight
    gives."""
    (tmp_path / ".taplo.toml").write_text(
        f'[[rule]]\ninclude = ["**/pyproject.toml"]\n[rule.schema]\npath = "{REPO / "docs" / "pyproject.schema.json"}"\n')
    for pyproject, accepted in CASES:
        out = _taplo(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n' + pyproject)
        assert (out.returncode == 0) is accepted, pyproject + out.stdout + out.stderr
    directive = f"#:schema {REPO / 'docs' / 'config.schema.json'}\n"
    assert _taplo(tmp_path, "preflight.toml", directive + 'select = ["wb"]\n[rules.HF001]\nstrict = true\n').returncode == 0
    out = _taplo(tmp_path, "preflight.toml", directive + '[rules.HF001]\nstrict = "yes"\n')
    assert out.returncode == 1 and '"yes" is not of type "boolean"' in out.stdout + out.stderr
