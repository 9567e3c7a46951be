"""Output formats, each checked by a real consumer or schema; baselines, --add-ignores, --fix/--diff,
stdin and --force-exclude."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

import jsonschema
import pytest
from click.testing import CliRunner

from preflight.cli import main

DATA = Path(__file__).parent / "data"
BAD = "import wandb\n\nwandb.init(project='p')  # preflight: ignore[WB001] scratch run\nwandb.init(project='q')\n"
FILES = {
    "train.py": BAD,
    "mlf.py": "import mlflow\nmlflow.log_artifacts('out,put%s:x')\n",
    "run.sh": "docker run -e WANDB_API_KEY=$WANDB_API_KEY img python train.py\n",
}


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    def invoke(*args, files=None, input=None):
        for name, content in (files or {}).items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    invoke.root = tmp_path
    return invoke


def test_sarif_is_valid_and_complete(cli):
    result = cli("check", "--format", "sarif", files=FILES)
    assert result.exit_code == 1
    document = json.loads(result.output)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    run = document["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert {"WB001", "MLF001", "SEC005"} <= set(rules)
    assert rules["MLF001"]["defaultConfiguration"]["level"] == "error" and rules["MLF001"]["help"]["text"]
    by_rule = {}
    for item in run["results"]:
        by_rule.setdefault(item["ruleId"], []).append(item)
        assert run["tool"]["driver"]["rules"][item["ruleIndex"]]["id"] == item["ruleId"]
    suppressed = [r for r in by_rule["WB001"] if r.get("suppressions")]
    assert len(suppressed) == 1 and suppressed[0]["suppressions"][0]["justification"] == "scratch run"
    active = [r for r in by_rule["WB001"] if not r.get("suppressions")][0]
    region = active["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (4, 1)
    assert by_rule["SEC005"][0]["level"] == "warning"


def test_sarif_describes_a_projects_severity_override_as_this_runs_rule_configuration(cli):
    """[tool.preflight.severity]: the rule's descriptor keeps preflight's default, the run's invocation says
    how the project configured it, and each result has the level it was reported with; the same from the
    result cache."""
    files = {**FILES, "pyproject.toml": "[tool.preflight.severity]\nunnamed-wandb-run = \"error\"\n"}
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    for _ in range(2):  # the second run is answered by the result cache
        document = json.loads(cli("check", "--format", "sarif", files=files).output)
        jsonschema.Draft4Validator(schema).validate(document)
        run = document["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        index = next(number for number, rule in enumerate(rules) if rule["id"] == "WB001")
        assert rules[index]["defaultConfiguration"]["level"] == "warning"
        assert run["invocations"] == [{"executionSuccessful": True, "ruleConfigurationOverrides": [
            {"descriptor": {"id": "WB001", "index": index}, "configuration": {"level": "error"}}]}]
        assert {r["level"] for r in run["results"] if r["ruleId"] == "WB001"} == {"error"}


SECRET_FILES = {  # a path with a space, a comma, a non-ASCII letter and a #, and the credential rules
    "a dir/c,d é#x.py": "import wandb\nwandb.init(project='p')\n",
    "Dockerfile": "FROM python:3.11-slim\nARG WANDB_API_KEY\nENV WANDB_API_KEY=$WANDB_API_KEY\n",
    "login.py": "import wandb\nwandb.login(key='0123456789abcdef0123456789abcdef01234567')\nwandb.init(name='r')\n",
}


def test_sarif_locations_are_uri_references_and_rules_carry_githubs_properties(cli):
    document = json.loads(cli("check", "--format", "sarif", files={**FILES, **SECRET_FILES}).output)
    run = document["runs"][0]
    assert "originalUriBaseIds" not in run  # the consumer places %SRCROOT% (GitHub: the repository's root)
    uris = {item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for item in run["results"]}
    assert "a%20dir/c%2Cd%20%C3%A9%23x.py" in uris and unquote("a%20dir/c%2Cd%20%C3%A9%23x.py") == "a dir/c,d é#x.py"
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    for rule in rules.values():  # the values GitHub documents for a reportingDescriptor's properties
        properties = rule["properties"]
        assert properties["precision"] in ("very-high", "high", "medium", "low")
        assert properties["problem.severity"] in ("error", "warning", "recommendation")
        assert properties["tags"][0] == rule["id"].rstrip("0123456789") and len(properties["tags"]) >= 2
        security = "security" in properties["tags"]
        assert security == rule["id"].startswith("SEC") == ("security-severity" in properties)
        if security:
            assert 0.1 <= float(properties["security-severity"]) <= 10.0
            assert any(tag.startswith("external/cwe/cwe-") for tag in properties["tags"])
    assert {"SEC002", "SEC003", "WB001", "MLF001"} <= set(rules)
    assert rules["SEC003"]["properties"]["security-severity"] == "7.5"
    assert rules["MLF001"]["properties"]["tags"] == ["MLF", "experiment-tracking", "mlflow"]


LAUNCHER_FILES = {  # a key leaked through an image, an env map and a command line; a key missing in a workflow
    "Dockerfile": "FROM python:3.11-slim\nARG WANDB_API_KEY\nCMD [\"python\", \"train.py\"]\n",
    "docker-compose.yml": "services:\n  t:\n    image: trainer\n    environment:\n"
                          "      HF_TOKEN: hf_Xq7Lm2Nb9Vc4Zr8Tp1Ks6Jd3Wf5Gh0Ay\n",
    "run.sh": "docker run -e WANDB_API_KEY=$WANDB_API_KEY img python train.py\n",
    "train.py": "import wandb\nwandb.init(name='r1')\n",
    ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                               "      - run: python train.py\n",
}


def test_key_leaks_through_launchers_are_security_alerts_and_missing_keys_are_not(cli):
    """GitHub makes a result a security alert when its rule has the `security` tag and a security-severity: the
    keys a launcher leaks (an image's ARG, a compose environment, a docker command line) are; a key a workflow
    does not pass (ENV001: the job crashes, nothing is exposed) is not."""
    document = json.loads(cli("check", "--format", "sarif", files=LAUNCHER_FILES).output)
    run = document["runs"][0]
    rules = {rule["id"]: rule["properties"] for rule in run["tool"]["driver"]["rules"]}
    found = {item["ruleId"] for item in run["results"]}
    assert {"SEC003", "SEC004", "SEC005", "ENV001"} <= found
    for code in ("SEC003", "SEC004", "SEC005"):
        assert {"security", "launchers"} <= set(rules[code]["tags"]) and float(rules[code]["security-severity"]) >= 4
    assert rules["SEC003"]["tags"] == ["SEC", "security", "secrets", "wandb", "launchers", "docker",
                                     "external/cwe/cwe-538"]
    assert rules["SEC005"]["tags"][-1] == "external/cwe/cwe-214" and rules["SEC005"]["security-severity"] == "5.0"
    assert "security" not in rules["ENV001"]["tags"] and "security-severity" not in rules["ENV001"]
    assert rules["ENV001"]["tags"] == ["ENV", "launchers", "wandb"]
    # the launchers a rule is about, in any module
    assert rules["ENV006"]["tags"] == ["ENV", "launchers", "kubernetes"] and "slurm" in rules["ENV007"]["tags"]
    assert rules["AIM001"]["tags"] == ["AIM", "experiment-tracking", "aim", "launchers", "docker"]
    assert "launchers" not in rules["WB001"]["tags"] and "launchers" not in rules["HF004"]["tags"]


def _sarif_validator() -> str | None:
    """Microsoft's validator: SARIF_MULTITOOL, or the binary behind npm's `sarif-multitool` launcher (which
    passes its arguments through a shell, where the `;` of a list would end the command)."""
    if os.environ.get("SARIF_MULTITOOL"):
        return os.environ["SARIF_MULTITOOL"]
    launcher = shutil.which("sarif-multitool")
    if launcher is None:
        return None
    scope = Path(launcher).resolve().parent.parent  # node_modules/@microsoft
    native = scope / f"sarif-multitool-{sys.platform}" / ("Sarif.Multitool" + (".exe" if os.name == "nt" else ""))
    return str(native) if native.is_file() else None


# The validator's policy: its GitHub code scanning rules (GH1001-GH1007: what GitHub's ingestion requires) and
# the repository-relative paths GitHub needs as errors; the reachability of help URIs (an HTTP request per
# rule) is not checked here, without a network.
_POLICY = """<?xml version="1.0" encoding="utf-8"?>
<Properties>
""" + "".join(f"""  <Properties Key="{rule}.Options"><Property Key="RuleEnabled" Value="{state}" /></Properties>
""" for rule, state in [
    ("SARIF2006.UrisShouldBeReachable", "Disabled"), ("SARIF2007.ExpressPathsRelativeToRepoRoot", "Error"),
    ("GH1001.ProvideRequiredLocationProperties", "Error"), ("GH1002.InlineThreadFlowLocations", "Error"),
    ("GH1003.ProvideRequiredRegionProperties", "Error"), ("GH1004.ReviewArraysThatExceedConfigurableDefaults", "Error"),
    ("GH1005.LocationsMustBeRelativeUrisOrFilePaths", "Error"), ("GH1006.ProvideCheckoutPath", "Error"),
    ("GH1007.ProvideFullyFormattedMessageStrings", "Error")]) + "</Properties>\n"


def _validate(tool: str, folder: Path, *names: str) -> dict[str, set[str]]:
    """The rules of every error and warning the validator reports, per file validated."""
    (folder / "policy.xml").write_text(_POLICY)
    subprocess.run([tool, "validate", "--rule-kind", "Sarif;Ghas", "--config", "policy.xml", "--output",
                    "validation.sarif", *names], cwd=folder, check=True, capture_output=True, timeout=300)
    log = json.loads((folder / "validation.sarif").read_text(encoding="utf-8-sig"))
    assert log["runs"][0]["invocations"][0]["executionSuccessful"]
    found: dict[str, set[str]] = {name: set() for name in names}
    for item in log["runs"][0].get("results", []):
        if item.get("level", "warning") in ("error", "warning"):
            uri = item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            found[unquote(uri).rsplit("/", 1)[-1]].add(item["ruleId"])
    return found


@pytest.mark.skipif(_sarif_validator() is None, reason="Microsoft's SARIF validator is not installed (npm install "
                    "@microsoft/sarif-multitool; .ci/run installs it where npm is, and SARIF_MULTITOOL names it)")
def test_sarif_passes_microsofts_sarif_validator(cli):
    """`sarif-multitool validate` with its GitHub rules checks what the JSON schema cannot (URI references,
    the source root, what GitHub's ingestion requires); the same report with the old source root and
    unencoded paths is its control. A severity override makes the run's invocation carry a rule configuration."""
    override = {"pyproject.toml": "[tool.preflight.severity]\nWB001 = \"error\"\n"}
    cli("check", "--format", "sarif", "--output-file", "report.sarif", files={**FILES, **SECRET_FILES, **override})
    document = json.loads((cli.root / "report.sarif").read_text())
    document["runs"][0]["originalUriBaseIds"] = {"%SRCROOT%": {"uri": "./"}}
    for item in document["runs"][0]["results"]:
        location = item["locations"][0]["physicalLocation"]["artifactLocation"]
        location["uri"] = unquote(location["uri"])
    (cli.root / "old.sarif").write_text(json.dumps(document))
    assert _validate(_sarif_validator(), cli.root, "report.sarif", "old.sarif") == {
        "report.sarif": set(), "old.sarif": {"SARIF1002", "SARIF1004"}}


def _unescape(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_github_annotations_and_summary(cli, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = cli("check", "--format", "github", files=FILES)
    commands = [re.fullmatch(r"::(error|warning|notice) ([^:]*)::(.*)", line) for line in result.output.splitlines()]
    assert all(commands) and len(commands) == 3
    parsed = [(m.group(1), dict(p.split("=", 1) for p in m.group(2).split(",")), _unescape(m.group(3))) for m in commands]
    mlf = next(p for p in parsed if p[1]["title"].startswith("MLF001"))
    assert mlf[0] == "error" and mlf[1]["file"] == "mlf.py" and mlf[1]["line"] == "2"
    assert "'out,put%s:x'" in mlf[2] and "%25" in result.output
    assert "| `mlf.py:2:1` | MLF001 `unchecked-artifact-path` |" in summary.read_text()
    assert "### preflight: 3 findings (1 error, 2 warnings)" in summary.read_text()
    summary.unlink()
    cli("check", "--format", "github", "--select", "ENV", "train.py")  # one file named, the others context
    assert summary.read_text() == "### preflight\n\nNo findings in 1 file checked.\n"


GITLAB_SCHEMA = {  # the fields GitLab's Code Quality widget requires (docs: ci/testing/code_quality)
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string"}, "check_name": {"type": "string"}, "fingerprint": {"type": "string"},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {"type": "object", "required": ["path"], "properties": {
                "path": {"type": "string"},
                "positions": {"type": "object", "required": ["begin"]},
                "lines": {"type": "object", "required": ["begin"]}}, "anyOf": [
                {"required": ["positions"]}, {"required": ["lines"]}]},
        },
    },
}


def test_gitlab_code_quality(cli):
    files = {**FILES, "twice.py": "import wandb\nwandb.init()\nwandb.init()\n"}
    issues = json.loads(cli("check", "--format", "gitlab", files=files).output)
    jsonschema.validate(issues, GITLAB_SCHEMA)
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(fingerprints) == len(set(fingerprints)) == 5


JUNIT_FILES = {  # two findings of one rule in one file, on one line and on the next
    **FILES,
    "twice.py": "import wandb\n\nwandb.init(project='a'); wandb.init(project='b')\nwandb.init(project='c')\n",
}


def junit_schema():
    import xmlschema

    return xmlschema.XMLSchema(DATA / "junit-10.xsd")


def test_junit_as_gitlab_and_jenkins_read_it(cli):
    """One failing case per rule and file, keyed (classname, name) uniquely as GitLab requires, read back by
    a JUnit reader, valid for the JUnit schema of Jenkins' xUnit plugin, with every position and message in
    the failure's text and the first in its message."""
    import junitparser

    cli("check", "--format", "junit", "-o", "report.xml", files=JUNIT_FILES)
    junit_schema().validate(str(cli.root / "report.xml"))
    report = junitparser.JUnitXml.fromfile(str(cli.root / "report.xml"))
    cases = {(case.classname, case.name): case for suite in report for case in suite}
    assert len(cases) == sum(1 for suite in report for _ in suite) == 4
    assert set(cases) == {("train.py", "WB001 unnamed-wandb-run"), ("twice.py", "WB001 unnamed-wandb-run"),
                          ("mlf.py", "MLF001 unchecked-artifact-path"), ("run.sh", "SEC005 secret-on-command-line")}
    twice = cases["twice.py", "WB001 unnamed-wandb-run"]
    [failure] = twice.result
    assert isinstance(failure, junitparser.Failure) and failure.type == "WB001"
    assert failure.message.startswith("3 findings; the first at line 3, column 1: ")
    lines = failure.text.split("\n")
    assert [line.split(": WB001 [warning] ")[0] for line in lines] == ["twice.py:3:1", "twice.py:3:26", "twice.py:4:1"]
    assert all("wandb.init() starts a run with neither name= nor id=" in line for line in lines)
    [single] = cases["run.sh", "SEC005 secret-on-command-line"].result
    assert single.message.startswith("line 1, column 15: `-e WANDB_API_KEY=...` puts the key")
    assert single.text == f"run.sh:1:15: SEC005 [warning] {single.message.split(': ', 1)[1]}"
    root = ElementTree.parse(cli.root / "report.xml").getroot()
    assert (root.get("tests"), root.get("failures")) == ("4", "4")
    assert [suite.get("name") for suite in root] == ["mlf.py", "run.sh", "train.py", "twice.py"]
    assert [(case.get("file"), case.get("line")) for case in root[3]] == [("twice.py", "3")]  # GitLab links the file


def test_junit_without_findings_is_one_passing_case(cli):
    cli("check", "--format", "junit", "-o", "clean.xml", "--select", "ENV", "train.py", files=FILES)
    junit_schema().validate(str(cli.root / "clean.xml"))
    root = ElementTree.parse(cli.root / "clean.xml").getroot()
    [case] = root.iter("testcase")
    assert root.get("failures") == "0" and not list(case)
    assert case.get("name") == "no findings in 1 file checked"


def test_json_lines_items_match_the_schema(cli):
    from preflight import docgen

    schema = docgen.json_schema()
    item_schema = {**schema["$defs"]["JsonFinding"], "$defs": schema["$defs"]}
    lines = cli("check", "--format", "json-lines", files=FILES).output.splitlines()
    assert len(lines) == 3
    for line in lines:
        jsonschema.validate(json.loads(line), item_schema)


def test_output_file(cli):
    result = cli("check", "--format", "json", "--output-file", "report.json", files=FILES)
    assert result.exit_code == 1 and result.output == ""
    assert json.loads((cli.root / "report.json").read_text())["summary"]["findings"] == 3


# -- baselines ------------------------------------------------------------------------------------

def test_baseline_survives_moved_lines_and_reports_new_and_stale(cli):
    cli("check", files=FILES)
    written = cli("check", "--write-baseline", "preflight-baseline.json")
    assert written.exit_code == 0 and "wrote 3 findings" in written.output
    assert cli("check", "--baseline", "preflight-baseline.json").exit_code == 0
    # lines move: still matched; a new finding is reported; a fixed one makes its entry stale
    moved = "# header\n# more header\n" + BAD + "wandb.init(project='new')\n"
    result = cli("check", "--no-show-source", "--baseline", "preflight-baseline.json",
                 files={"train.py": moved, "mlf.py": "print('fixed')\n"})
    assert result.exit_code == 1
    assert [line.split(":")[:3] for line in result.output.splitlines() if ": WB001" in line or "WB001 [" in line] == [
        ["train.py", "7", "1"]]
    assert "stale baseline entry: MLF001 in mlf.py" in result.output


def test_bad_baseline_is_a_usage_error(cli):
    assert cli("check", "--baseline", "missing.json", files=FILES).exit_code == 2
    assert cli("check", "--baseline", "train.py").exit_code == 2
    entry = {"code": "WB001", "path": "train.py", "fingerprint": 12345, "message": "m"}
    for broken, why in ((entry, "entry 1: fingerprint is not a string"),
                        ({k: v for k, v in entry.items() if k != "path"}, "entry 1: path is missing")):
        (cli.root / "b.json").write_text(json.dumps({"tool": "preflight", "entries": [broken]}))
        result = CliRunner().invoke(main, ["check", "--baseline", "b.json"])
        assert result.exit_code == 2 and why in result.output, result.output


# -- bulk suppression and fixes -------------------------------------------------------------------

def test_add_ignores(cli):
    files = {**FILES, "Dockerfile": "FROM x\nARG WANDB_API_KEY\n", "ax.yml": "base_model: m\ndatasets: []\nwandb_project: p\n"}
    result = cli("check", "--add-ignores", "legacy, tracked in JIRA-12", files=files)
    assert result.exit_code == 0, result.output
    assert "wandb.init(project='q')  # preflight: ignore[WB001] legacy, tracked in JIRA-12" in \
        (cli.root / "train.py").read_text()
    assert (cli.root / "Dockerfile").read_text() == \
        "FROM x\n# preflight: ignore[SEC003] legacy, tracked in JIRA-12\nARG WANDB_API_KEY\n"
    assert cli("check").exit_code == 0


def test_fix_and_diff(cli):
    files = {"run.sh": "docker run -e \"WANDB_API_KEY=$KEY\" -e WANDB_PROJECT=p img\n",
             "a.py": "x = 1  # preflight: ignore[WB001, MLF001] old\ny = 2\n",
             "b.py": "# preflight: ignore[WB001]\nz = 3\n"}
    diff = cli("check", "--diff", files=files)
    assert diff.exit_code == 1
    assert "-docker run -e \"WANDB_API_KEY=$KEY\" -e WANDB_PROJECT=p img" in diff.output
    assert "+docker run -e \"WANDB_API_KEY\" -e WANDB_PROJECT=p img" in diff.output
    assert (cli.root / "run.sh").read_text() == files["run.sh"]  # --diff writes nothing
    fixed = cli("check", "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert (cli.root / "run.sh").read_text() == "docker run -e \"WANDB_API_KEY\" -e WANDB_PROJECT=p img\n"
    assert (cli.root / "a.py").read_text() == "x = 1\ny = 2\n"
    assert (cli.root / "b.py").read_text() == "z = 3\n"


def test_fix_keeps_the_used_codes(cli):
    source = "import wandb\nwandb.init()  # preflight: ignore[WB001, MLF001] reviewed\n"
    assert cli("check", "--fix", files={"t.py": source}).exit_code == 0
    assert (cli.root / "t.py").read_text() == "import wandb\nwandb.init()  # preflight: ignore[WB001] reviewed\n"


@pytest.mark.parametrize("use_cache", [False, True])
def test_the_report_uses_only_the_text_that_was_checked(tmp_path, use_cache):
    """Code frames and fixes read a file once, after the check, and use it only if it is what the check
    analysed: a file changed in between gets neither a frame nor a fix, which would be written into other
    text. A result the result cache answered knows what its files held too."""
    import os

    from preflight import engine, fixes
    from preflight.report import text

    script = tmp_path / "run.sh"
    script.write_text("docker run -e WANDB_API_KEY=$KEY img\n")
    os.utime(script, (1, 1))  # old enough for the result cache to keep the run
    for _ in range(2 if use_cache else 1):  # with the cache: the second check is answered by the result cache
        result = engine.check(["."], cwd=tmp_path, use_cache=use_cache, cache_dir=tmp_path / "cache")
    assert (result.project is None) is use_cache
    [finding] = result.findings
    unchanged = engine.check(["."], cwd=tmp_path)
    assert "1 | docker run -e WANDB_API_KEY=$KEY img" in text.render(unchanged.findings, 1, colour=False,
                                                                     lines=unchanged.sources)
    assert fixes.plan([finding.fix], unchanged.sources)
    script.write_text("# docker run -e WANDB_API_KEY=$KEY img\n")  # edited after the check
    report = text.render(result.findings, 1, colour=False, lines=result.sources)
    assert report.splitlines()[0].startswith("run.sh:1:15: SEC005") and "1 |" not in report
    assert fixes.plan([finding.fix], result.sources) == []


def test_unsafe_fixes(cli):
    """--fix applies the safe fixes only; --unsafe-fixes applies the unsafe ones too, and with --diff shows
    them without writing anything."""
    nested = ("import mlflow\n\nwith mlflow.start_run():\n    with mlflow.start_run(run_name='child'):  # keep\n"
              "        pass\n")
    sequential = "import mlflow\n\nmlflow.start_run(run_name='a')\nmlflow.start_run(run_name='b')\n"
    files = {"sweep.py": nested, "train.py": sequential}
    safe = cli("check", "--select", "MLF003", "--fix", files=files)
    assert safe.exit_code == 1 and "fixed 1 finding in 1 file" in safe.output
    assert (cli.root / "sweep.py").read_text() == nested.replace("run_name='child')", "run_name='child', nested=True)")
    assert (cli.root / "train.py").read_text() == sequential
    assert "1 more fixable with --unsafe-fixes" in safe.output or "--unsafe-fixes" in safe.output
    diff = cli("check", "--select", "MLF003", "--unsafe-fixes", "--diff")
    assert diff.exit_code == 1
    assert "+mlflow.start_run(run_name='b', nested=True)" in diff.output
    assert (cli.root / "train.py").read_text() == sequential  # --diff writes nothing
    unsafe = cli("check", "--select", "MLF003", "--unsafe-fixes")
    assert unsafe.exit_code == 0, unsafe.output
    assert (cli.root / "train.py").read_text() == sequential.replace("'b')", "'b', nested=True)")
    assert cli("check", "--select", "MLF003", "--unsafe-fixes").exit_code == 0  # nothing left: unchanged
    assert (cli.root / "train.py").read_text() == sequential.replace("'b')", "'b', nested=True)")


def test_fixes_on_one_line_are_all_applied(cli):
    """Two fixes that change the same line: the second applies to the text the first left, in the same run."""
    source = ("from transformers import TrainingArguments\n\n"
              "args = TrainingArguments(output_dir='o', eval_strategy='step', logging_strategy='step')\n")
    result = cli("check", "--select", "HF010", "--unsafe-fixes", files={"train.py": source})
    assert result.exit_code == 0, result.output
    assert (cli.root / "train.py").read_text() == source.replace("'step'", "'steps'")


def test_diff_shows_what_all_the_fix_rounds_leave(cli):
    """--diff shows the file as --fix would leave it after every round (two fixes of one line need two),
    from the text on disk, and writes nothing."""
    source = ("from transformers import TrainingArguments\n\n"
              "args = TrainingArguments(output_dir='o', eval_strategy='step', logging_strategy='step')\n")
    diff = cli("check", "--select", "HF010", "--unsafe-fixes", "--diff", files={"train.py": source})
    assert diff.exit_code == 1
    assert "-args = TrainingArguments(output_dir='o', eval_strategy='step', logging_strategy='step')" in diff.output
    assert "+args = TrainingArguments(output_dir='o', eval_strategy='steps', logging_strategy='steps')" in diff.output
    assert diff.output.count("+++ b/train.py") == 1 and "Would fix 2 findings in 1 file." in diff.output
    assert (cli.root / "train.py").read_text() == source


def test_fixing_the_standard_input_prints_the_buffer_as_all_rounds_leave_it(cli):
    """`--fix -` (an editor's "fix all"): the buffer as every round of fixes leaves it goes to standard output,
    what is left to standard error, and the file on disk is not touched; `--diff -` shows every round too."""
    source = ("from transformers import TrainingArguments\n\n"
              "args = TrainingArguments(output_dir='o', eval_strategy='step', logging_strategy='step')\n")
    on_disk = "print('the file on disk differs from the buffer')\n"
    fixed = cli("check", "--select", "HF010", "--unsafe-fixes", "--stdin-filename", "train.py", "-",
                files={"train.py": on_disk}, input=source)
    assert fixed.exit_code == 0, fixed.output
    assert fixed.stdout == source.replace("'step'", "'steps'")
    assert "fixed 2 findings in train.py" in fixed.stderr
    assert (cli.root / "train.py").read_text() == on_disk
    diff = cli("check", "--select", "HF010", "--unsafe-fixes", "--diff", "--stdin-filename", "train.py", "-",
               input=source)
    assert diff.exit_code == 1 and "Would fix 2 findings in 1 file." in diff.stderr
    assert "+args = TrainingArguments(output_dir='o', eval_strategy='steps', logging_strategy='steps')" in diff.stdout
    safe_only = cli("check", "--select", "HF010", "--fix", "--stdin-filename", "train.py", "-", input=source)
    assert safe_only.exit_code == 1 and safe_only.stdout == source  # HF010's fix is unsafe: the findings stay
    assert safe_only.stderr.count("HF010") == 2
    assert (cli.root / "train.py").read_text() == on_disk


def test_a_buffer_holding_a_key_is_not_printed_back(cli):
    key = "abcdef0123456789abcdef0123456789abcdef01"
    source = (f"import os\nos.environ['WANDB_API_KEY'] = '{key}'\nfrom transformers import TrainingArguments\n\n"
              "args = TrainingArguments(output_dir='o', eval_strategy='step')\n")
    result = cli("check", "--select", "HF010", "--unsafe-fixes", "--stdin-filename", "train.py", "-", input=source)
    assert result.exit_code == 2 and key not in result.output and key[-4:] not in result.stdout
    assert "holds a credential" in result.stderr
    ignores = cli("check", "--add-ignores", "--stdin-filename", "train.py", "-", input=source)
    assert ignores.exit_code == 2 and "cannot write to the standard input" in ignores.stderr
    assert not (cli.root / "train.py").exists()


def test_a_python_fix_needs_the_text_that_was_checked(tmp_path):
    """A libcst fix is computed from the file as the check read it: after an edit, or once the file no
    longer parses, it is not applied."""
    from preflight import api, engine

    script = tmp_path / "sweep.py"
    script.write_text("import mlflow\n\nwith mlflow.start_run():\n    with mlflow.start_run():\n        pass\n")
    result = engine.check(["."], cwd=tmp_path, select=["MLF003"], use_cache=False)
    [finding] = result.findings
    assert finding.fix is not None and finding.fix.safe
    [change] = api.plan_fixes(result)
    assert "with mlflow.start_run(nested=True):" in change.after
    edited = "import mlflow\n\nwith mlflow.start_run():\n    with mlflow.start_run(:\n        pass\n"
    script.write_text(edited)
    assert api.write_changes([change], tmp_path) == [change]  # planned from the text before the edit
    assert script.read_text() == edited
    again = engine.check(["."], cwd=tmp_path, select=["MLF003"], use_cache=False)
    assert again.findings == [] and api.plan_fixes(again) == []  # a file that does not parse: no fix
    fresh = engine.check(["."], cwd=tmp_path, select=["MLF003"], use_cache=False)
    script.write_text("import mlflow\n")
    assert api.resolve_fix(finding.fix, fresh.sources) is None  # the text the check read is gone


# -- editors and pre-commit -----------------------------------------------------------------------

def test_stdin_reports_the_buffer_alone_in_its_projects_context(cli):
    """`check - --stdin-filename train.py` is what an editor calls: the buffer's own findings, as ruff reports
    them, not the workflow's ENV001 about the script it runs (the same check of the file on disk names it);
    the project still answers the cross-file questions (a seeding helper in another module)."""
    loop = ("import wandb\n\nrun = wandb.init(project='p', name='r', config={'lr': 1})\nfor batch in loader:\n"
            "    loss = model(batch).loss\n    loss.backward()\n    optimizer.step()\n")
    files = {".github/workflows/t.yml": "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n"
                                        "      - run: python train.py\n",
             "seeding.py": "import torch\n\ndef seed_all():\n    torch.manual_seed(0)\n", "train.py": loop}
    on_disk = cli("check", "train.py", "--no-show-source", files=files)
    assert [line.split(" ")[0] for line in on_disk.output.splitlines()[:-1]] == [
        ".github/workflows/t.yml:6:14:", "train.py:6:5:"]
    (cli.root / "train.py").unlink()
    result = cli("check", "-", "--stdin-filename", "train.py", "--no-show-source", input=loop)
    assert result.exit_code == 1
    assert [line.split(" ")[:2] for line in result.output.splitlines()[:-1]] == [["train.py:6:5:", "REP001"]]
    assert result.output.splitlines()[-1].endswith("in 1 file checked, 1 more read for context.")
    seeded = cli("check", "-", "--stdin-filename", "train.py", input="import seeding\n" + loop)
    assert seeded.exit_code == 0 and seeded.output.startswith("All checks passed (1 file checked")
    assert not (cli.root / "train.py").exists()
    other = cli("check", "-", "seeding.py", "--stdin-filename", "train.py", input="import seeding\n" + loop)
    assert other.exit_code == 0
    assert "seeding.py is not checked: reading the standard input (-) checks train.py alone" in other.stderr
    assert cli("check", "-", input="x").exit_code == 2


def test_force_exclude(cli):
    files = {"pyproject.toml": '[tool.preflight]\nextend-exclude = ["legacy"]\n', "legacy/old.py": BAD}
    assert cli("check", "legacy/old.py", files=files).exit_code == 1
    assert cli("check", "--force-exclude", "legacy/old.py").exit_code == 0
