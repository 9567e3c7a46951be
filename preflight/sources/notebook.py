"""Jupyter notebooks: the code cells as IPython compiles them, analysed in file order as one Python source.

IPython compiles each cell on its own after rewriting its own syntax (IPython/core/inputtransformer2.py):
it dedents the cell and reads a statement escaped with `!`, `%` or `?` (with the lines a trailing
backslash continues), `x = !cmd`, help (`obj?`), `%%` cell magics (whose body is Python only for some)
and a one-line cell `cd dir` (automagic). Each such line here becomes Python of the same indentation
that yields no facts, so a cell keeps its line count and positions stay exact. A cell that still does
not parse has a real syntax error: it is reported (PF001) and left out, and the other cells are analysed
together, because earlier cells define what later ones use.

Positions are moved back to the notebook file: the line of the JSON string that holds the source line,
so that editors and SARIF consumers land on it; `cell_of` turns such a line back into (cell, line in
cell) for the text output.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, NamedTuple

from preflight.findings import Location
from preflight.model import Fact, ParseError
from preflight import linebreaks
from preflight.sources.text import SourceText


# Cell magics whose body IPython runs as a cell of its own; any other (%%bash, %%writefile, %%html, ...)
# gets a body that is not Python. %%wandb is wandb's magic: it shows the run and runs the body.
_PYTHON_CELL_MAGICS = {"%%time", "%%timeit", "%%capture", "%%prun", "%%debug", "%%python", "%%python3",
                       "%%wandb", "%%memit"}
# What IPython rewrites when a statement starts with it: shell, magic, help, and the autocall escapes
# (`,f a b` is `f("a", "b")`, `;f a b` is `f("a b")`, `/f a b` is `f(a, b)`), none of which is Python.
_ESCAPES = ("!", "%", "?", ",", ";", "/")
# `name?`, `obj.attr??`, `%magic?`, `x[0]?`, `np.*load*?` (a search) at the end of a statement.
_HELP = re.compile(r"%{0,2}(?!\d)[\w*]+(?:\.(?!\d)[\w*]+|\[-?\d+\])*\?\??$")
_COMMAND = "pass"  # stands for an escaped statement: valid wherever a statement is, and no facts
_VALUE = "get_ipython()"  # the value of `x = !cmd`: what IPython calls too, and unknown to every rule
# The parser reads the line of an error from the file its filename names, to count columns: a cell
# is not the notebook's JSON, so it gets a name that is no file.
_CELL = "<notebook cell>"
# IPython's line magics, which a one-line cell may call without `%` (automagic; IPython 9 on POSIX).
_LINE_MAGICS = frozenset("""
    alias alias_magic autoawait autocall automagic bookmark cat cd code_wrap colors conda config cp debug
    dhist dirs doctest_mode ed edit env gui hist history killbgscripts ldir lf lk ll load load_ext loadpy
    logoff logon logstart logstate logstop ls lsmagic lx macro magic mamba matplotlib micromamba mkdir mv
    notebook page pastebin pdb pdef pdoc pfile pinfo pinfo2 pip popd pprint precision prun psearch psource
    pushd pwd pycat pylab quickref recall rehashx reload_ext rep rerun reset reset_selective rm rmdir run
    save sc set_env sx system tb time timeit unalias unload_ext uv who who_ls whos xdel xmode
""".split())
_SOURCE_KEY = re.compile(r'"source"\s*:')  # a key: inside a JSON string the quotes would be escaped
_AUGMENTED = set("=<>!+-*/%&|^@:~")  # characters before an `=` that make it part of another operator


class _Place(NamedTuple):
    """Where one source line of a code cell is in the notebook file."""

    cell: int
    index: int  # the line in the cell, from 1
    line: int  # the file line of the JSON string that holds the source line
    column: int  # the file column of the source line's first character
    text: str
    ascii: bool  # the file spells non-ASCII characters as `\\u` escapes
    raw: bool = False  # the line is written as it is (a Databricks source file), not as a JSON string

    def file_column(self, column: int) -> int:
        """The file column of a character column of the source line: JSON escapes take more room."""
        if self.raw:
            return self.column + max(column - 1, 0)
        return self.column + len(_escaped(self.text[:max(column - 1, 0)], self.ascii))


def _escaped(text: str, ascii: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii)[1:-1]


def _cells(text: str) -> list[tuple[int, bool, list[str]]] | None:
    """(cell number, whether it is code, source lines) of each cell; None for a file that is not a notebook."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        return None
    result = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", [])
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            return None
        result.append((number, cell.get("cell_type") == "code", source.split("\n")))
    return result


def _find(text: str, line: str, cursor: int) -> tuple[int, bool]:
    """The offset of a source line's JSON spelling at or after `cursor` (-1 if absent), and whether it
    is the ASCII-only spelling."""
    for ascii in (False, True):
        needle = _escaped(line, ascii)
        found = text.find(needle, cursor) if line.strip() else -1  # blank: found in any indentation
        if found >= 0 or line.isascii():
            return found, ascii
    return -1, False


DATABRICKS_HEADER = "# Databricks notebook source"
_DATABRICKS_CELL = "# COMMAND ----------"


def is_databricks_source(text: str) -> bool:
    """A notebook exported by Databricks as a `.py` file: its cells run in an IPython kernel."""
    return text.startswith(DATABRICKS_HEADER)


def _databricks_layout(text: str) -> list[list[_Place]]:
    """The cells of a Databricks source file, between its `# COMMAND ----------` lines, one file line per
    source line (its `# MAGIC` lines are comments to Python, as Databricks means them)."""
    layout: list[list[_Place]] = [[]]
    for number, line in enumerate(text.split("\n"), start=1):
        if number == 1 and line.startswith(DATABRICKS_HEADER):
            continue
        if line.strip() == _DATABRICKS_CELL:
            layout.append([])
            continue
        layout[-1].append(_Place(len(layout), len(layout[-1]) + 1, number, 1, line, True, raw=True))
    return [cell for cell in layout if cell]


@lru_cache(maxsize=8)  # the text output asks once per finding of the same notebook
def _layout(text: str) -> list[list[_Place]] | None:
    """The places of the lines of each code cell, in file order. Each cell's lines are looked for after
    its `"source"` key, and every cell's are passed over, so that the same text in a markdown cell or in
    an output (a traceback shows the line) is not taken for a code line."""
    cells = _cells(text)
    if cells is None:
        return None
    source = SourceText("", text)
    cursor = 0
    layout = []
    for number, code, lines in cells:
        key = _SOURCE_KEY.search(text, cursor)
        cursor = key.end() if key else cursor
        places: list[_Place] = []
        for index, text_line in enumerate(lines, start=1):
            found, ascii = _find(text, text_line, cursor)
            if found >= 0:
                cursor = found + len(_escaped(text_line, ascii))
                where = source.position(found)
            else:  # a blank line, or one spelled unlike Python's json: the place of the line before
                where = (places[-1].line, places[-1].column) if places else source.position(cursor)
            places.append(_Place(number, index, *where, text_line, ascii))
        if code:
            layout.append(places)
    return layout


class _Lexer:
    """Just enough of Python's tokenizer to know where a statement starts and ends: strings, comments,
    brackets and backslash continuations, carried from one physical line to the next. IPython finds its
    syntax with the tokenizer too, so a `!` or `?` inside a string, a comment or brackets is Python."""

    def __init__(self) -> None:
        self.quote = ""  # the delimiter of a string the last line left open
        self.depth = 0
        self.continued = False

    @property
    def between_statements(self) -> bool:
        return not (self.quote or self.depth or self.continued)

    def code(self, line: str) -> Iterator[tuple[int, str]]:
        """(column, character) of each character of `line` outside strings and comments; reading them
        all moves the state past the line."""
        self.continued = False
        column = 0
        while column < len(line):
            if self.quote:
                column = self._string_end(line, column)
                continue
            char = line[column]
            if char == "#":
                return
            if char in "'\"":
                self.quote = char * 3 if line.startswith(char * 3, column) else char
                column += len(self.quote)
                continue
            if char == "\\" and column == len(line) - 1:
                self.continued = True
                return
            self.depth = max(0, self.depth + (char in "([{") - (char in ")]}"))
            yield column, char
            column += 1
        if len(self.quote) == 1 and column == len(line):
            self.quote = ""  # a one-line string without its end (column is past the line after `\`)

    def _string_end(self, line: str, column: int) -> int:
        while column < len(line):
            if line[column] == "\\":
                column += 2
            elif line.startswith(self.quote, column):
                end = column + len(self.quote)
                self.quote = ""
                return end
            else:
                column += 1
        return column

    def last_code(self, line: str) -> tuple[int, str]:
        """Read the line; the column and character of its last non-blank code ((-1, '') if none)."""
        last = (-1, "")
        for column, char in self.code(line):
            last = last if char.isspace() else (column, char)
        return last


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _continued_end(lines: list[str], start: int) -> int:
    """The last line of an escaped command: IPython joins the lines that end with a backslash."""
    end = start
    while end < len(lines) - 1 and lines[end].endswith("\\"):
        end += 1
    return end


def _magic_value(line: str) -> int | None:
    """The column of the command in `x = !cmd` or `x = %magic args` (the first `=` outside brackets)."""
    lexer = _Lexer()
    before = ""
    for column, char in lexer.code(line):
        if char == "=" and lexer.depth == 0 and before not in _AUGMENTED and not line.startswith("=", column + 1):
            value = line[column + 1:].lstrip()
            magic = value.startswith("!") or (value.startswith("%") and value[1:2].isidentifier())
            return len(line) - len(value) if magic else None
        before = char
    return None


def _statement(first: str, count: int) -> list[str]:
    """`count` lines that stand for one statement of IPython's, indented as its first line was."""
    return [_indent(first) + _COMMAND] + [""] * (count - 1)


def _command(lines: list[str], index: int) -> list[str] | None:
    """The Python for an escaped command (`!cmd`, `%magic`) or a command's value (`x = !cmd`) that starts
    a statement at `lines[index]`, one line for each line the command takes."""
    line = lines[index]
    count = _continued_end(lines, index) - index + 1
    if line.lstrip().startswith(_ESCAPES):
        return _statement(line, count)
    value = _magic_value(line)
    return None if value is None else [line[:value] + _VALUE] + [""] * (count - 1)


def _is_help(line: str, last_code: tuple[int, str]) -> bool:
    """`obj?` ends the statement: the `?` is code (not in a string or comment) and ends the line."""
    return last_code == (len(line.rstrip()) - 1, "?") and bool(_HELP.search(line.rstrip()))


def _without_commands(lines: list[str]) -> list[str]:
    """The lines with IPython's statements replaced, one for one, by Python that yields no facts."""
    out = list(lines)
    lexer = _Lexer()
    start = index = 0
    while index < len(lines):
        if lexer.between_statements:
            start = index
            command = _command(lines, index)
            if command is not None:
                out[index:index + len(command)] = command
                index += len(command)
                continue
        last_code = lexer.last_code(lines[index])
        if lexer.between_statements and _is_help(lines[index], last_code):
            out[start:index + 1] = _statement(lines[start], index - start + 1)
        index += 1
    return out


def _dedented(lines: list[str]) -> list[str]:
    """IPython first strips the indentation every line of a cell shares, so that a pasted block runs."""
    indents = [_indent(line) for line in lines if line.strip()]
    margin = len(os.path.commonprefix(indents)) if indents else 0
    return [line[margin:] if line.strip() else "" for line in lines] if margin else lines


def _cell_magic(line: str) -> str | None:
    """The cell magic a cell's first line names (`%%time?` is help on it, a statement of the cell)."""
    if not line.startswith("%%") or re.match(r"%%\w+\?", line):
        return None
    return line.split()[0]


def _python_lines(lines: list[str]) -> list[str]:
    """A cell's lines as IPython compiles them, one for one: a cell magic's line, and its body when that
    is not Python, become blank lines."""
    done: list[str] = []
    while True:
        lines = _dedented(lines)
        first = next((index for index, line in enumerate(lines) if line.strip()), len(lines))  # blanks go first
        magic = _cell_magic(lines[first]) if first < len(lines) else None
        if magic is None:
            return done + _without_commands(lines)
        done += [""] * (first + 1)
        lines = lines[first + 1:]
        if magic not in _PYTHON_CELL_MAGICS:
            return done + [""] * len(lines)


def _automagic(lines: list[str]) -> list[str] | None:
    """A cell of one line that calls a line magic without its `%` (`cd dir`, `pip install x`), as a
    statement; IPython runs it so unless the line assigns (`ls = 1`) or a variable shadows the name."""
    code = [line for line in lines if line.strip()]
    if len(code) != 1:
        return None
    name, *rest = code[0].split(None, 1)
    if name not in _LINE_MAGICS or "".join(rest).startswith(("=", ",")):
        return None
    return [_COMMAND if line.strip() else "" for line in lines]


def _compiled(lines: list[str], parse: Callable[[SourceText], Any]) -> tuple[list[str], ParseError | None]:
    """A cell's Python and its syntax error, compiled on its own as IPython does, so that an error stays
    in its cell (whose lines become blank). A line that parses is Python even if it names a magic: a
    variable may shadow it."""
    error = parse(SourceText(_CELL, _source(lines), linebreaks.PYTHON))
    if not isinstance(error, ParseError):
        return lines, None
    magic = _automagic(lines)
    return (magic, None) if magic else ([""] * len(lines), error)


def _source(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def _in_cell(error: ParseError, path: str, before: int, count: int) -> ParseError:
    """A cell's syntax error at its line of the joined source (an error at the end is on its last line)."""
    line = before + min(max(error.location.line, 1), max(count, 1))
    return ParseError(Location(path, line, error.location.column), error.message)


def _pointer(places: list[_Place], shifts: list[int]) -> Callable[[int, int], tuple[int, int]]:
    """(line, column) of the joined source -> (line, column) of the notebook file; `shifts` are the
    characters IPython's dedent took from the start of each line."""
    def point(line: int, column: int) -> tuple[int, int]:
        if not places:
            return 1, 1
        index = min(max(line, 1), len(places)) - 1
        return places[index].line, places[index].file_column(column + shifts[index])
    return point


def _move(value: Any, path: str, point: Callable[[int, int], tuple[int, int]]) -> Any:
    if isinstance(value, Location):
        line, column = point(value.line, value.column)
        end_line, end_column = point(value.end_line, value.end_column)
        return Location(path, line, column, end_line, end_column)
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(value, **{f.name: _move(getattr(value, f.name), path, point)
                                             for f in dataclasses.fields(value)})
    if isinstance(value, tuple):
        return tuple(_move(v, path, point) for v in value)
    if isinstance(value, list):
        return [_move(v, path, point) for v in value]
    if isinstance(value, dict):
        return {k: _move(v, path, point) for k, v in value.items()}
    return value


def extract(source: SourceText) -> list[Fact]:
    from preflight.sources import python

    layout = _databricks_layout(source.text) if is_databricks_source(source.text) else _layout(source.text)
    if layout is None:
        return [ParseError(Location.start_of(source.path), "the notebook is not valid JSON (nbformat)")]
    code: list[str] = []
    shifts: list[int] = []
    errors: list[Fact] = []
    for places in layout:
        lines = _python_lines([place.text for place in places])
        shifts.extend(max(len(_indent(place.text)) - len(_indent(line)), 0) for place, line in zip(places, lines))
        lines, error = _compiled(lines, python.parse)
        if error is not None:
            errors.append(_in_cell(error, source.path, len(code), len(lines)))
        code.extend(lines)
    facts = python.extract(SourceText(source.path, _source(code), linebreaks.PYTHON)) + errors
    point = _pointer([place for places in layout for place in places], shifts)
    return [_move(fact, source.path, point) for fact in facts] + _own_installs(source.path, layout)


_SHELL_ESCAPE = re.compile(r"^\s*[!%]")  # `!pip install ...`, `%pip install ...`


def _own_installs(path: str, layout: list[list[_Place]]) -> list[Fact]:
    """The versions the notebook installs itself (`!pip install -q transformers==4.38.2`, `%pip install`,
    continued over backslashed lines): the environment its code runs in, whatever the project declares
    (VersionPin.scope). Pins point at the requirement in the file."""
    from preflight.sources import requirements

    pins: list[Fact] = []
    for places in layout:
        lines = [place.text for place in places]
        index = 0
        while index < len(lines):
            end = _continued_end(lines, index)
            if _SHELL_ESCAPE.match(lines[index]) and "install" in "".join(lines[index:end + 1]):
                text = "\n".join(lines[index:end + 1])
                block = SourceText(path, text)
                command = text.replace("\\\n", "  ")  # a continuation is a space, at the same offsets
                for pin in requirements.pip_installs(block, 0, len(text), command, "a pip install cell"):
                    at, place = pin.location, places[index + pin.location.line - 1]
                    end = at.end_column if at.end_line == at.line else len(place.text) + 1
                    where = Location(path, place.line, place.file_column(at.column), place.line,
                                     place.file_column(end))
                    pins.append(dataclasses.replace(pin, location=where, scope=path))
            index = end + 1
    return pins


def cell_of(text: str, file_line: int) -> tuple[int, int] | None:
    """(cell, line in cell) of a notebook file line, for the text output."""
    for places in _layout(text) or []:
        for place in places:
            if place.line == file_line:
                return place.cell, place.index
    return None
