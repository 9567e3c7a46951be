"""Names and text from the scanned tree in every output format: a file name that is not UTF-8, that holds a
newline, an escape sequence or a bidirectional control, and a workflow step whose name writes a workflow
command, are reported (never a crash), each finding on one line of its own, with a lossless escaped name,
and no control character reaches a terminal, a CI log, an `-o` file or an XML parser."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote_to_bytes
from xml.etree import ElementTree

import pytest

from preflight import display

TRACKED = b"import wandb\nrun = wandb.init(project='p')\n"
NAMES = [b"train\xff.py", b"line\nbreak.py", b"esc\x1b]0;title\x07.py", b"csi\x1b[2K\x1b[1A.py", b"del\x7f.py",
         "c1\u0085\u009b.py".encode(), "sep\u2028.py".encode(), "bidi\u202e.py".encode(), b"back\\slash.py",
         b"tab\t.py", b"cr\r.py", b"plain.py", "caf\u00e9.py".encode()]
STEP = "a\n::error file=README.md,line=1::Injected \x1b]8;;https://example.com\x07link\x1b]8;;\x07"
WORKFLOW = ("on: push\njobs:\n  train:\n    runs-on: ubuntu-latest\n    steps:\n"
            f"      - name: {json.dumps(STEP)}\n        run: python job.py\n")
# What no output may hold: every character preflight.display escapes, except the line ends formats use.
HIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffe\uffff]")


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("names")
    for name in NAMES:
        with open(os.path.join(os.fsencode(root), name), "wb") as handle:
            handle.write(TRACKED)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "train.yml").write_text(WORKFLOW)
    (root / "job.py").write_text("import wandb\nrun = wandb.init(project='p', name='job')\n")
    return root


def _shown(name: bytes) -> str:
    return display.path(os.fsdecode(name))


def _preflight(root: Path, *arguments: str) -> subprocess.CompletedProcess:
    """A real process writing to a pipe, as CI runs it: what it writes is what a log or a terminal gets."""
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", "--select", "WB001,ENV001",
                             *arguments, "."], cwd=root, capture_output=True, env=environment, timeout=120)
    assert result.returncode == 1, result.stderr.decode(errors="replace")
    assert b"Traceback" not in result.stderr
    result.stdout.decode("utf-8")  # strict: every format is valid UTF-8
    return result


def _clean(output: str) -> None:
    assert not HIDDEN.search(output), HIDDEN.search(output)
    assert not [line for line in output.splitlines() if line.startswith("::error file=README.md")]


def test_text_output(tree):
    output = _preflight(tree, "--all-findings").stdout.decode()  # every name, none summarised
    _clean(output)
    heads = [line for line in output.split("\n") if re.search(r":\d+:\d+: (WB001|ENV001) \[", line)]
    assert sorted(line.split(":2:7: WB001")[0] for line in heads if ": WB001 [" in line) == sorted(map(_shown, NAMES))
    [step] = [line for line in heads if "ENV001" in line]
    assert step.startswith(".github/workflows/train.yml:7:14: ENV001") and "\\n::error file=README.md" in step
    assert "\\x1b]8;;https://example.com\\x07link" in step
    # every other line is a code frame's (` |`, `N | `, ` = note`) or the summary: no name made a line of its own
    others = [line for line in output.split("\n")[:-1] if line not in heads]
    summary = next(number for number, line in enumerate(others) if line.startswith("Found "))
    assert all(re.match(r"\d* +[|=] ", line) or line == " " * len(line.split("|")[0]) + "|"
               for line in others[:summary])
    assert others[summary].startswith("Found 14 findings")
    fixes = re.compile(r"(\[\*\] )?\d+ (more )?fix(es|able)? with --(unsafe-)?fix(es)?\.")  # what --fix would do
    assert all(fixes.fullmatch(line) for line in others[summary + 1:])


def test_text_written_to_a_file_is_escaped_too(tree, tmp_path):
    _preflight(tree, "--all-findings", "-o", str(tmp_path / "report.txt"))
    written = (tmp_path / "report.txt").read_bytes().decode("utf-8")
    _clean(written)
    assert "train\\xff.py:2:7: WB001" in written and "line\\nbreak.py:2:7: WB001" in written


@pytest.mark.parametrize("output_format", ["json", "json-lines", "gitlab"])
def test_json_formats(tree, output_format):
    output = _preflight(tree, "--format", output_format).stdout.decode()
    _clean(output)
    if output_format == "json-lines":
        items = [json.loads(line) for line in output.splitlines()]
    else:
        items = json.loads(output)
        items = items["findings"] if output_format == "json" else items
    paths = [item["location"]["path"] for item in items]
    assert sorted(p for p in paths if not p.startswith(".github")) == sorted(map(_shown, NAMES))
    messages = [item.get("message") or item["description"] for item in items]
    assert any("\\n::error file=README.md" in message for message in messages)


def test_sarif_keeps_the_bytes_of_every_name(tree):
    document = json.loads(_preflight(tree, "--format", "sarif").stdout)
    uris = [result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for result in document["runs"][0]["results"]]
    assert sorted(unquote_to_bytes(uri) for uri in uris if not uri.startswith(".github")) == sorted(NAMES)
    assert all(re.fullmatch(r"[A-Za-z0-9/._~%-]+", uri) for uri in uris)


def test_junit_is_well_formed_xml(tree):
    import xmlschema

    output = _preflight(tree, "--format", "junit").stdout
    root = ElementTree.fromstring(output)  # expat rejects a character XML 1.0 does not allow
    xmlschema.XMLSchema(Path(__file__).parent / "data" / "junit-10.xsd").validate(root)
    files = [case.get("file") for case in root.iter("testcase")]
    assert sorted(f for f in files if not f.startswith(".github")) == sorted(map(_shown, NAMES))
    _clean(output.decode())


def test_github_annotations_are_one_line_each(tree):
    output = _preflight(tree, "--format", "github").stdout.decode()
    _clean(output)
    lines = output.splitlines()
    assert len(lines) == len(NAMES) + 1
    assert all(line.startswith("::warning file=") or line.startswith("::error file=.github") for line in lines)


def test_the_cache_holds_any_names(tree, tmp_path):
    """The cache indexes files by name: a name that is not UTF-8 (no text SQLite holds) crashed the first
    run with a cache, and the run that reuses it must report every name as the first did."""
    import shutil

    root = tmp_path / "tree"
    shutil.copytree(tree, root)
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
    outputs = []
    for _ in range(3):  # cold, warm (the stat index), warm again
        result = subprocess.run([sys.executable, "-m", "preflight", "check", "--select", "WB001,ENV001",
                                 "--all-findings", "."], cwd=root, capture_output=True, env=environment, timeout=120)
        assert result.returncode == 1 and b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
        outputs.append(result.stdout.decode("utf-8"))
    assert (root / ".preflight_cache" / "facts.sqlite3").is_file()
    assert outputs[0] == outputs[1] == outputs[2] and "train\\xff.py:2:7: WB001" in outputs[0]


def test_every_table_of_the_cache_holds_any_names(tmp_path):
    """Each place the cache stores a name (an entry's path, the stat index, a whole run's findings) takes
    any name a file system gives, and gives the entry back for that name only."""
    from preflight import cache as cache_module
    from preflight.model import FileFacts

    names = [os.fsdecode(name) for name in NAMES]
    stored = cache_module.FactsCache(tmp_path / "cache")
    for number, name in enumerate(names):
        content = cache_module.content_digest(name.encode("utf-8", "surrogateescape"))
        stored.put(cache_module.key_for(name, content), FileFacts(name, "python", note=name), content)
        stored.record_stat(name, (number, 0, number), cache_module.key_for(name, content))
    stored.put_result("run", json.dumps(names))
    stored.close()
    assert stored.unwritten is None and (tmp_path / "cache" / "facts.sqlite3").is_file()

    reopened = cache_module.FactsCache(tmp_path / "cache")
    keys = reopened.keys_by_stat({name: (number, 0, number) for number, name in enumerate(names)})
    assert set(keys) == set(names)
    found = reopened.get_many({keys[name]: name for name in names})
    assert sorted(facts.path for facts in found.values()) == sorted(names)
    assert all(facts.note == facts.path for facts in found.values())
    # an entry asked for under another name (train\xff.py and the name its escaped form spells) is not given
    spelled = display.path(names[0])
    assert reopened.get_many({keys[names[0]]: spelled}) == {}
    assert json.loads(reopened.result("run")) == names
    reopened.close()


def test_a_baseline_of_any_names(tree, tmp_path):
    baseline = tmp_path / "baseline.json"
    result = subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", "--select", "WB001,ENV001",
                             "--write-baseline", str(baseline), "."], cwd=tree, capture_output=True, timeout=120)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    entries = json.loads(baseline.read_bytes().decode("utf-8"))["entries"]
    assert sorted(e["path"] for e in entries if not e["path"].startswith(".github")) == sorted(map(_shown, NAMES))
    result = subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", "--select", "WB001,ENV001",
                             "--baseline", str(baseline), "."], cwd=tree, capture_output=True, timeout=120)
    assert result.returncode == 0 and b"stale" not in result.stderr, result.stderr
    assert f"{len(NAMES) + 1} findings hidden by the baseline".encode() in result.stderr


def test_verbose_notes_and_diffs_are_escaped(tmp_path):
    """What goes to stderr (a skipped file, with -v) and a diff (--diff) shows names and lines escaped too."""
    root = os.fsencode(tmp_path)
    with open(os.path.join(root, b"tpl\x1b[31m.yaml"), "wb") as handle:
        handle.write(b"apiVersion: v1\n{% if x %}\nkind: Pod\n{% endif %}\n")
    with open(os.path.join(root, b"fix\n.py"), "wb") as handle:
        handle.write(b"import wandb\n# \x1b[2J\nimport os\nwandb.init(project='p', name='n')\n"
                     b"x = 1  # preflight: ignore[WB001]\n")
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    verbose = subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", "-v", "."], cwd=tmp_path,
                             capture_output=True, env=environment, timeout=120)
    assert b"skipped tpl\\x1b[31m.yaml" in verbose.stderr and b"\x1b" not in verbose.stderr
    diff = subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", "--select", "ALL", "--diff", "."],
                          cwd=tmp_path, capture_output=True, env=environment, timeout=120)
    assert b"--- a/fix\\n.py" in diff.stdout, diff.stdout
    assert b"\x1b" not in diff.stdout and b"\\x1b[2J" in diff.stdout


@pytest.mark.parametrize("names", [[b"a\nb", b"a\\nb"], [b"a\xff", "a\u00ff".encode(), b"a\\xff", b"a\\\xff"],
                                   ["a\u0085".encode(), b"a\x85", b"a\\u0085", b"a\\x85"]])
def test_escaped_names_never_collide(names):
    """Lossless: names a file system holds apart are shown apart (the backslash is escaped too)."""
    shown = [_shown(name) for name in names]
    assert len(set(shown)) == len(set(names))


def test_a_code_frame_shows_the_line_escaped_and_marks_the_same_characters(tmp_path):
    (tmp_path / "train.py").write_bytes(b"import wandb\nx = '\x1b[2J\x1b]0;t\x07'; run = wandb.init(project='p')\n")
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", "--select", "WB001", "."],
                            cwd=tmp_path, capture_output=True, env=environment, timeout=120)
    _clean(result.stdout.decode("utf-8"))
    head, _, line, marker = result.stdout.decode().split("\n")[:4]
    assert head.startswith("train.py:2:25: WB001")
    assert line == "2 | x = '\\x1b[2J\\x1b]0;t\\x07'; run = wandb.init(project='p')"
    assert marker.index("^") == line.index("wandb.init") and marker.count("^") == len("wandb.init(project='p')")


def test_preflight_run_shows_the_command_and_its_files_escaped(tmp_path):
    """`preflight run` reports to the job's log: its lines are one each, without escape sequences."""
    name = "job\x1b[2J\n::error::x.py"
    with open(os.path.join(os.fsencode(tmp_path), os.fsencode(name)), "wb") as handle:
        handle.write(b"import wandb\nrun = wandb.init(project='p', name='n')\nrun.log({'a': 1})\n")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WANDB")}
    result = subprocess.run([sys.executable, "-m", "preflight", "run", "--", "python", name], cwd=tmp_path,
                            capture_output=True, env={**environment, "HOME": str(tmp_path), "NETRC": os.devnull},
                            timeout=120)
    assert result.returncode == 2
    shown = result.stderr.decode("utf-8")
    _clean(shown)
    assert shown.startswith("preflight run: python job\\x1b[2J\\n::error::x.py\n")
    assert "wandb.init at job\\x1b[2J\\n::error::x.py:2" in shown


def test_the_cache_refusal_names_a_link_target_escaped(tmp_path):
    (tmp_path / "train.py").write_bytes(TRACKED)
    (tmp_path / ".preflight_cache").symlink_to(tmp_path / "\x1b[31mred")
    result = subprocess.run([sys.executable, "-m", "preflight", "check", "."], cwd=tmp_path, capture_output=True,
                            timeout=120)
    assert b"symbolic link (to " in result.stderr and b"\\x1b[31mred)" in result.stderr
    _clean(result.stderr.decode("utf-8"))


def test_a_usage_error_naming_a_folder_of_the_tree_starts_no_line_of_its_own(tmp_path):
    """A configuration error names the configuration's path, which may hold a newline: its lines after the
    first are indented, so that none starts a workflow command (GitHub reads stderr too)."""
    root = tmp_path / "p\n::error file=README.md::forged"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.preflight]\nselect = 3\n")
    (root / "train.py").write_bytes(TRACKED)
    for command in (["check", "."], ["run", "--", "python", "train.py"]):
        result = subprocess.run([sys.executable, "-m", "preflight", *command], cwd=root, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 2 and "invalid configuration" in result.stderr, result.stderr
        assert not [line for line in result.stderr.splitlines() if line.startswith("::")], result.stderr
        _clean(result.stderr)


def test_summarised_findings_name_their_folder_escaped(tree):
    """The line that stands for a group's other findings names where they are as every report names a path."""
    output = _preflight(tree).stdout.decode()
    _clean(output)
    [more] = [line for line in output.split("\n") if line.startswith("... and ")]
    assert re.fullmatch(r"\.\.\. and \d+ more WB001 like this in \d+ files \(--all-findings shows each\)", more)
