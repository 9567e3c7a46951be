"""Jupyter notebooks: code cells are one Python source, analysed in file order.

IPython lines (`!pip install`, `%time`) become blank lines. Facts are found in the joined source and
their positions moved back to the notebook file: the line of the JSON string that holds the source
line, so that editors and SARIF consumers land on it; `cell_of` turns such a line back into
(cell, line in cell) for the text output.
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from typing import Any

from preflight.findings import Location
from preflight.model import Fact, ParseError
from preflight.sources.text import SourceText


# Cell magics whose body is still Python; any other (%%bash, %%writefile, %%html, ...) is not.
_PYTHON_CELL_MAGICS = {"%%time", "%%timeit", "%%capture", "%%prun", "%%debug", "%%python", "%%python3"}


def _cells(text: str) -> list[list[str]] | None:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        return None
    result = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            result.append([])
            continue
        source = cell.get("source", [])
        lines = "".join(source).split("\n") if isinstance(source, list) else str(source).split("\n")
        result.append(lines)
    return result


def _json_lines(text: str, cells: list[list[str]]) -> list[list[tuple[int, int]]]:
    """(file line, file column of the string's first character) of every source line, in order."""
    source = SourceText("", text)
    cursor = 0
    positions = []
    for lines in cells:
        cell_positions = []
        for line in lines:
            needle = json.dumps(line)[1:-1]
            found = text.find(needle, cursor) if needle else -1
            if found < 0:
                cell_positions.append(cell_positions[-1] if cell_positions else source.position(cursor))
                continue
            cursor = found + len(needle)
            cell_positions.append(source.position(found))
        positions.append(cell_positions)
    return positions


@lru_cache(maxsize=8)  # the text output asks once per finding of the same notebook
def joined_source(text: str) -> tuple[str, list[tuple[int, int, int, int]]] | None:
    """The code cells as one source, and for each of its lines: (cell, line in cell, file line, file column)."""
    cells = _cells(text)
    if cells is None:
        return None
    positions = _json_lines(text, cells)
    lines, mapping = [], []
    for number, (cell, where) in enumerate(zip(cells, positions), start=1):
        other_language = bool(cell) and cell[0].startswith("%%") and cell[0].split()[0] not in _PYTHON_CELL_MAGICS
        for index, (line, (file_line, file_column)) in enumerate(zip(cell, where), start=1):
            stripped = line.lstrip()
            magic = stripped.startswith(("!", "%", "?")) or stripped.endswith("?")
            lines.append("" if other_language or magic else line)
            mapping.append((number, index, file_line, file_column))
    return "\n".join(lines) + "\n", mapping


def _move(value: Any, path: str, mapping) -> Any:
    if isinstance(value, Location):
        def point(line: int, column: int) -> tuple[int, int]:
            if not mapping:
                return 1, 1
            cell, index, file_line, file_column = mapping[min(max(line, 1), len(mapping)) - 1]
            return file_line, file_column + column - 1
        line, column = point(value.line, value.column)
        end_line, end_column = point(value.end_line, value.end_column)
        return Location(path, line, column, end_line, end_column)
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(value, **{f.name: _move(getattr(value, f.name), path, mapping)
                                             for f in dataclasses.fields(value)})
    if isinstance(value, tuple):
        return tuple(_move(v, path, mapping) for v in value)
    if isinstance(value, list):
        return [_move(v, path, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _move(v, path, mapping) for k, v in value.items()}
    return value


def extract(source: SourceText) -> list[Fact]:
    from preflight.sources import python

    joined = joined_source(source.text)
    if joined is None:
        return [ParseError(Location.start_of(source.path), "the notebook is not valid JSON (nbformat)")]
    text, mapping = joined
    facts = python.extract(SourceText(source.path, text))
    return [_move(fact, source.path, mapping) for fact in facts]


def cell_of(text: str, file_line: int) -> tuple[int, int] | None:
    """(cell, line in cell) of a notebook file line, for the text output."""
    joined = joined_source(text)
    if joined is None:
        return None
    for cell, index, line, _ in joined[1]:
        if line == file_line:
            return cell, index
    return None
