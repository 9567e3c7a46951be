"""Positions count lines as each file's own syntax breaks them (preflight.linebreaks): \\f, \\v, NEL, U+2028
and U+2029 break lines for str.splitlines() but not for Python or shell, and a lone \\r breaks a Python or
YAML line but not a shell one. Findings, code frames, --fix, --add-ignores and the removal of unused
suppressions (PF002) all land on the line the reader of the file means."""

from __future__ import annotations

import ast

import pytest
import yaml
from click.testing import CliRunner

from preflight import linebreaks
from preflight.cli import main
from preflight.sources.text import SourceText

@pytest.fixture
def cli(tmp_path, monkeypatch):
    """preflight's command line in a project folder; files are written byte for byte (no newline translation)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    def invoke(*args, files=None):
        for name, content in (files or {}).items():
            (tmp_path / name).write_bytes(content.encode())
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    invoke.root = tmp_path
    return invoke


ODD = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("odd", [*ODD, "\r", "\r\n"])
def test_python_lines_are_the_lines_ast_counts(odd):
    source = f"x = '{odd}'\ny = 1\n" if odd not in ("\r", "\r\n") else f"x = 1{odd}y = 1\n"
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a raw \r inside a string literal ends the line for Python: not a valid string
        return
    expected = tree.body[-1].lineno
    text = SourceText("t.py", source)
    assert text.position(source.index("y"))[0] == expected
    assert text.line(expected) == "y = 1"


@pytest.mark.parametrize("odd", ["\x85", "\u2028", "\u2029", "\r", "\r\n"])
def test_yaml_lines_are_the_lines_pyyaml_counts(odd):
    source = f"a: 1{odd}b: 2\nc: 3\n"
    node = yaml.compose(source, Loader=yaml.SafeLoader)
    text = SourceText("config.yaml", source)
    for key, _ in node.value:
        mark = key.start_mark
        assert text.offset(mark.line + 1, mark.column + 1) == mark.index
        assert text.line(mark.line + 1).startswith(key.value)


@pytest.mark.parametrize("odd", [*ODD, "\r"])
def test_shell_lines_break_at_newlines_only(odd):
    source = f"echo a{odd}b\necho c\r\n"
    assert linebreaks.split(source, linebreaks.of_path("run.sh")) == [f"echo a{odd}b", "echo c"]
    assert SourceText("run.sh", source).position(source.index("echo c")) == (2, 1)


def test_split_keeps_the_text():
    for syntax in (linebreaks.PYTHON, linebreaks.YAML, linebreaks.NEWLINE):
        for text in ["", "a", "a\n", "a\r\nb\rc\x85d\u2028e\n\n", "\n\r"]:
            assert "".join(linebreaks.split(text, syntax, keepends=True)) == text
            assert len(linebreaks.starts(text, syntax)) == len(linebreaks.split(text + "x", syntax))


@pytest.mark.parametrize("odd", ["\f", "\v", "\u2028", "\u2029", "\x85"])
def test_add_ignores_in_python_comments_the_flagged_line(cli, odd):
    source = f"import wandb\n# a note{odd}with an odd character\nx = '{odd}'\nwandb.init(project='q')\nprint(x)\n"
    assert cli("check", "--add-ignores", files={"train.py": source}).exit_code == 0
    written = (cli.root / "train.py").read_bytes().decode()
    assert written == source.replace("wandb.init(project='q')", "wandb.init(project='q')  # preflight: ignore[WB001]")
    assert cli("check").exit_code == 0
    ast.parse(written)


@pytest.mark.parametrize("ending", ["\r", "\r\n"])
def test_add_ignores_and_pf002_in_a_python_file_of_other_line_ends(cli, ending):
    source = ending.join(["import wandb", "wandb.init(project='q')", "y = 2  # preflight: ignore[MLF001]", ""])
    (cli.root / "train.py").write_bytes(source.encode())
    assert cli("check", "--add-ignores", "--select", "WB001").exit_code == 0
    written = (cli.root / "train.py").read_bytes().decode()
    assert written == source.replace("project='q')", "project='q')  # preflight: ignore[WB001]")
    assert cli("check", "--fix").exit_code == 0
    assert (cli.root / "train.py").read_bytes().decode() == written.replace("  # preflight: ignore[MLF001]", "")


@pytest.mark.parametrize("odd", ["\f", "\v", "\r", "\u2028", "\x85"])
def test_pf002_in_shell_removes_only_the_unused_comment(cli, odd):
    source = f"echo 'a{odd}b'\necho c  # preflight: ignore[SEC005]\n# preflight: ignore[WB001]\necho d\n"
    (cli.root / "run.sh").write_bytes(source.encode())
    assert cli("check", "--fix").exit_code == 0
    assert (cli.root / "run.sh").read_bytes().decode() == f"echo 'a{odd}b'\necho c\necho d\n"


@pytest.mark.parametrize("odd", ["\x85", "\u2028", "\r"])
def test_yaml_fix_and_ignores_land_on_the_key(cli, odd):
    source = f"output_dir: out\n# note{odd}per_device_train_batch_size: 8\nevaluation_strategy: epoch\nlogging_steps: 10\n"
    files = {"requirements.txt": "transformers==5.16.1\n"}
    cli("check", files=files)
    (cli.root / "args.yaml").write_bytes(source.encode())
    assert cli("check", "--add-ignores", "--select", "HF007").exit_code == 0
    ignored = (cli.root / "args.yaml").read_bytes().decode()
    assert ignored == source.replace("evaluation_strategy: epoch", "evaluation_strategy: epoch  # preflight: ignore[HF007]")
    assert yaml.safe_load(ignored) == yaml.safe_load(source)
    (cli.root / "args.yaml").write_bytes(source.encode())
    assert cli("check", "--fix", "--select", "HF007").exit_code == 0
    assert (cli.root / "args.yaml").read_bytes().decode() == source.replace("evaluation_strategy", "eval_strategy")


def test_an_ignore_comment_goes_where_a_multi_line_yaml_scalar_lets_it(tmp_path):
    """A comment after the first line of a multi-line plain scalar would end the scalar, and inside a quoted
    one it would be content: the comment goes alone on the line above (it suppresses the next line); a line
    the scalar continues on takes no comment (counted as not suppressible inline); after the scalar's last
    line, and in a block scalar (a workflow's `run: |`, where the comment is the script's own), it is
    written at the end of the line."""
    from preflight import fixes, ignores
    from preflight.findings import Finding, Location, Severity
    from preflight.sourcelines import SourceLines

    source = 'name: a\n  b\n  c\nquoted: "x\n  y"\nlast: 1\nrun: |\n  echo x\n'
    (tmp_path / "c.yaml").write_text(source)
    lines = (1, 2, 3, 4, 5, 6, 8)
    findings = [Finding("WB001", "n", Severity.ERROR, "m", Location("c.yaml", line, 3)) for line in lines]
    comments, skipped = ignores.fixes(findings, SourceLines(tmp_path))
    assert skipped == 1  # line 2, within the plain scalar; after its last line (3), or a quoted one's, is fine
    [change] = fixes.plan(comments, SourceLines(tmp_path), keep_tree=True)
    assert (change.fixed, change.refused) == (6, 0)
    comment = "# preflight: ignore[WB001]"
    assert change.after == (f'{comment}\nname: a\n  b\n  c  {comment}\n{comment}\nquoted: "x\n  y"  {comment}\n'
                            f"last: 1  {comment}\nrun: |\n  echo x  {comment}\n")
    assert {**yaml.safe_load(change.after), "run": ""} == {**yaml.safe_load(source), "run": ""}


def test_add_ignores_on_a_multi_line_plain_scalar_suppresses_the_finding(cli):
    """Through the command line: the finding is suppressed, the YAML says what it said, the message counts
    the comments written."""
    source = "output_dir: out\nevaluation_strategy: ep\n  och\nlogging_steps: 10\n"
    cli("check", files={"requirements.txt": "transformers==5.16.1\n"})
    (cli.root / "args.yaml").write_bytes(source.encode())
    assert cli("check", "--select", "HF007").exit_code == 1
    result = cli("check", "--add-ignores", "--select", "HF007")
    assert result.exit_code == 0, result.output
    assert "added 1 ignore comment in 1 file" in result.output
    written = (cli.root / "args.yaml").read_text()
    assert written == source.replace("evaluation_strategy", "# preflight: ignore[HF007]\nevaluation_strategy")
    assert yaml.safe_load(written) == yaml.safe_load(source)


def test_a_refused_ignore_comment_is_not_counted_as_added(cli):
    """A comment that would change the file's parse (a Python line that ends inside a triple-quoted string)
    is not written, and the message says so instead of counting it."""
    source = "import wandb\nrun = wandb.init(project='q', notes='''a\nb''')\n"
    cli("check", files={"train.py": source})
    result = cli("check", "--add-ignores", "--select", "WB001")
    assert (cli.root / "train.py").read_text() == source
    assert "added 0 ignore comments in 0 files" in result.output, result.output


@pytest.mark.parametrize("name", ["run.sh", "Makefile", ".env"])
def test_add_ignores_leaves_a_file_of_lone_carriage_returns_alone(cli, name):
    """A shell script, Makefile or .env of \\r line ends is one line to its reader (bash, make): a comment at
    the end of that line would land after what an editor shows as the file's last line, so none is written,
    and the message says the finding cannot be suppressed inline."""
    content = {"run.sh": "#!/bin/sh\rexport WANDB_API_KEY=0123456789abcdef0123456789abcdef01234567\rpython t.py\r",
               "Makefile": "train:\r\texport WANDB_API_KEY=0123456789abcdef0123456789abcdef01234567\r",
               ".env": "A=1\rWANDB_API_KEY=0123456789abcdef0123456789abcdef01234567\r"}[name]
    (cli.root / name).write_bytes(content.encode())
    before = cli("check", "--select", "SEC")
    if before.exit_code == 0:
        pytest.skip(f"no finding in a {name} of carriage returns")
    result = cli("check", "--add-ignores", "--select", "SEC")
    assert (cli.root / name).read_bytes() == content.encode()
    assert "cannot be suppressed inline" in result.output and result.exit_code == 1


def test_a_fix_is_not_applied_to_a_file_that_does_not_parse_after_it(tmp_path):
    from preflight import fixes
    from preflight.findings import Edit, Fix, Location
    from preflight.sourcelines import SourceLines

    (tmp_path / "t.py").write_text("x = 1\ny = 2\n")
    breaking = Fix("break it", (Edit(Location("t.py", 1, 1, 1, 2), "("),))
    fine = Fix("rename", (Edit(Location("t.py", 2, 1, 2, 2), "z"),))
    [change] = fixes.plan([breaking, fine], SourceLines(tmp_path))
    assert (change.after, change.fixed, change.refused) == ("x = 1\nz = 2\n", 1, 1)
    (tmp_path / "c.yaml").write_text("a: 1\nb: 2\n")
    comment = Fix("comment", (Edit(Location("c.yaml", 1, 5, 1, 5), "  # note"),))
    assert fixes.plan([comment], SourceLines(tmp_path), keep_tree=True)[0].after == "a: 1  # note\nb: 2\n"
    (tmp_path / "broken.py").write_text("x = (\n")
    across = Fix("rename", (Edit(Location("broken.py", 1, 1, 1, 2), "z"),))
    [untouched] = fixes.plan([across], SourceLines(tmp_path))
    assert (untouched.after, untouched.fixed, untouched.refused) == ("x = (\n", 0, 1)
