"""The engine (`preflight/`) and the rule pack (`rules/`) sit side by side in the repository and are one
package installed: every way of running preflight must find the rules, from the checkout and from
anywhere else, installed regularly or editable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_SUMMARY = "Found 11 findings"
PACKAGE_SOURCES = ("pyproject.toml", "README.md", "preflight", "rules")  # what pyproject.toml builds from


def run(args: list[str], cwd: Path, pythonpath: str | None = None) -> subprocess.CompletedProcess:
    """A fresh interpreter; with `pythonpath`, one that sees only that and the dependencies: `-S` keeps the
    site's .pth files, and so an editable install's import hook, out of the way."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)
    prefix: list[str] = []
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([pythonpath, sysconfig.get_paths()["purelib"]])
        prefix = ["-S"]
    return subprocess.run([sys.executable, *prefix, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A regular (not editable) install of this checkout, in a folder of its own. It is built from a copy of
    what the package is made of: setuptools builds in the source tree, and a `build/` folder left there by an
    earlier build keeps modules the checkout no longer has (a renamed rule module would be installed twice)."""
    source = tmp_path_factory.mktemp("source")
    for name in PACKAGE_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    target = tmp_path_factory.mktemp("installed")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                           str(source)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"pip could not build the package here: {done.stderr[-300:]}")
    return target


def test_a_regular_install_run_from_the_checkout(installed):
    """The local preflight/ comes first on sys.path there and shadows the installed copy: it must still find
    its rules (this used to die with ModuleNotFoundError: preflight.rules)."""
    result = run(["-m", "preflight", "check", "--no-cache", "examples/"], REPO, str(installed))
    assert result.returncode == 1 and EXAMPLE_SUMMARY in result.stdout, result.stderr


def test_a_regular_install_run_from_elsewhere(installed, tmp_path):
    result = run(["-m", "preflight", "check", "--no-cache", str(REPO / "examples")], tmp_path, str(installed))
    assert result.returncode == 1 and EXAMPLE_SUMMARY in result.stdout, result.stderr
    assert (installed / "preflight" / "rules" / "wb.py").is_file()  # installed from rules/, not the stand-in


@pytest.mark.parametrize("where", ["checkout", "elsewhere"])
def test_the_console_script_of_a_regular_install(installed, tmp_path, where):
    """`preflight`, the script pip writes, from the checkout (whose preflight/ the script's interpreter does
    not put first on sys.path) and from elsewhere."""
    script = installed / "bin" / "preflight"
    if not script.is_file():
        pytest.skip("pip wrote no console script here")
    cwd = REPO if where == "checkout" else tmp_path
    result = run([str(script), "check", "--no-cache", str(REPO / "examples")], cwd, str(installed))
    assert result.returncode == 1 and EXAMPLE_SUMMARY in result.stdout, result.stderr


def test_the_rule_pack_imported_under_its_folder_name_is_not_a_second_pack():
    code = "import rules.wb\nfrom preflight.rule import all_rules\nprint(len(all_rules()))"
    result = run(["-c", code], REPO, str(REPO))
    assert result.returncode == 0 and int(result.stdout) > 50, result.stderr


@pytest.mark.parametrize("where", ["root", "elsewhere"])
def test_pytest_collects_the_whole_suite_from_anywhere(where, tmp_path):
    """Every test file, not one: a file that imports its helpers as a package (`from tests.conftest ...`)
    collects from the root only."""
    cwd = REPO if where == "root" else tmp_path
    result = run(["-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(REPO / "tests")], cwd)
    counted = [line for line in result.stdout.splitlines() if " tests collected" in line or " test collected" in line]
    assert result.returncode == 0 and counted and "error" not in counted[-1], result.stdout[-800:] + result.stderr
    files = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    assert len(files) == len(list((REPO / "tests").glob("test_*.py"))), sorted(files)


def test_a_rule_is_found_from_its_code_in_one_step():
    """One module per code prefix (`HF013` is in `rules/hf.py`), its classes in code order, so a reader
    finds a rule from its code, and a new one goes after the last of its prefix."""
    import inspect

    from preflight.rule import all_rules

    by_module: dict[str, list[tuple[int, str]]] = {}
    for rule in all_rules():
        prefix = "".join(ch for ch in rule.code if ch.isalpha()).lower()
        assert rule.__module__ == f"preflight.rules.{prefix}", (rule.code, rule.__module__)
        by_module.setdefault(rule.__module__, []).append((inspect.getsourcelines(rule)[1], rule.code))
    for module, rules in by_module.items():
        codes = [code for _, code in sorted(rules)]
        assert codes == sorted(codes), (module, codes)
