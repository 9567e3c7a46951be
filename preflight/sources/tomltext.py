"""TOML through the standard parser, and the positions that parser does not keep.

tomllib returns plain dicts, so a value's place in the file is found again in the text: under the
table header that holds it, after the keys that lead to it. When the file is written in a form the
search does not follow (dotted keys, inline tables spread over lines), the first occurrence of the
value in the file stands in, which is the same text and seldom another line.
"""

from __future__ import annotations

import re

from preflight.findings import Location
from preflight.model import ParseError
from preflight.sources.text import SourceText

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

TOMLDecodeError = tomllib.TOMLDecodeError
_ANY_HEADER = re.compile(r"^[ \t]*\[", re.MULTILINE)


def load(source: SourceText) -> dict | ParseError:
    try:
        return tomllib.loads(source.text)
    except TOMLDecodeError as exc:
        line, column = error_position(exc)
        return ParseError(Location(source.path, line, column), f"invalid TOML: {exc}")


def error_position(exc: Exception) -> tuple[int, int]:
    match = re.search(r"line (\d+), column (\d+)", str(exc))
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)


# A table header line, `[a."b".'c']` with an optional comment, and the parts it names.
_HEADER_PART = r"(?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')"
_HEADER = re.compile(rf"^[ \t]*(\[[ \t]*{_HEADER_PART}(?:[ \t]*\.[ \t]*{_HEADER_PART})*[ \t]*\])[ \t]*(?:#[^\n]*)?$",
                     re.MULTILINE)
_HEADER_PARTS = re.compile(_HEADER_PART)
# A key where a table's line or an inline table's entry starts, as written (bare or quoted).
_ANY_KEY = re.compile(rf"(?:^|[{{,])[ \t]*({_HEADER_PART})[ \t]*=", re.MULTILINE)


class Positions:
    """Where the values of one file are written, for all the values an extractor asks about, at the cost
    of a few passes over the file: each table header is indexed once, a key once found is remembered, and
    the keys of a table and the entries of an array are looked for past the ones found before them (tomllib
    gives them in the order they are written). A search that finds nothing, or starts again from a table's
    start, is charged to a budget of a few passes over the file; once it is spent, what is not yet located
    stands at its key or table (a generated file of entries no search finds, escaped names)."""

    def __init__(self, source: SourceText) -> None:
        self.source = source
        text = source.text
        self._tables: dict[tuple[str, ...], tuple[tuple[int, int], int]] = {}
        starts = iter([m.start() for m in _ANY_HEADER.finditer(text)])
        next_start = next(starts, None)
        for found in _HEADER.finditer(text):
            parts = tuple(part[1:-1] if part[0] in "\"'" else part
                          for part in _HEADER_PARTS.findall(found.group(1)[1:-1]))
            while next_start is not None and next_start < found.end():
                next_start = next(starts, None)
            self._tables.setdefault(parts, (found.span(1), len(text) if next_start is None else next_start))
        self._keys: dict[tuple, tuple[int, int] | None] = {}  # (table start, parts to the key) -> its span
        self._after: dict[tuple, int] = {}  # (table start, parts) -> end of the last key or entry found under it
        self._budget = 4 * len(text) + 4096  # characters that searches finding nothing may cover

    def _table(self, parts: tuple[str, ...]) -> tuple[tuple[int, int], int, int] | None:
        """The deepest table `[parts[:depth]]` written in the file: its header's span, its body's end, depth."""
        for depth in range(len(parts), 0, -1):
            found = self._tables.get(parts[:depth])
            if found is not None:
                return found[0], found[1], depth
        return None

    def _search(self, place: tuple, start: int, end: int, find) -> tuple[int, int] | None:
        """The first span `find(start, end)` gives past the last one found under `place`, else from `start`.
        A search that moves past the last find costs nothing more than the file's length in all; any other
        (one finding nothing, one from `start`) is charged to the budget, and made only while it lasts."""
        after = max(start, self._after.get(place, start))
        for begin in dict.fromkeys((after, start)):
            if self._budget <= 0:
                return None
            found = find(begin, end)
            if begin != after or found is None:
                self._budget -= (found[1] if found else end) - begin
            if found is not None:
                self._after[place] = max(self._after.get(place, start), found[1])
                return found
        return None

    def _key(self, table_start: int, parts: tuple[str, ...], start: int, end: int) -> tuple[int, int] | None:
        """The span of the last key of `parts` in its table (or inline table) from `start` to `end`."""
        memo = (table_start, parts)
        if memo not in self._keys:
            name, text = parts[-1], self.source.text

            def find(begin: int, stop: int) -> tuple[int, int] | None:
                for found in _ANY_KEY.finditer(text, begin, stop):
                    written = found.group(1)
                    if (written[1:-1] if written[0] in "\"'" else written) == name:
                        return found.span(1)
                return None

            self._keys[memo] = self._search((table_start, parts[:-1]), start, end, find)
        return self._keys[memo]

    def locate(self, parts: tuple[str, ...], value: str | None = None) -> Location:
        """Where the value at `parts` (table names, then keys) is written: the string `value` inside it when
        given (an array entry), else its key, or its own table header."""
        source, text = self.source, self.source.text
        table = self._table(parts)
        if table is not None:
            (table_start, position), end, depth = table[0], table[1], table[2]
            span = table[0]
            for index in range(depth, len(parts)):
                found = self._key(table_start, parts[:index + 1], position, end)
                if found is None:
                    break
                position, span = found[1], found
            else:
                if value is None:
                    return source.location(*span)
                found = self._search((table_start, parts), position, end,
                                     lambda begin, stop: _quoted(text, value, begin, stop))
                if found is not None:
                    return source.location(*found)
        found = None
        if value is not None and self._budget > 0:
            found = _quoted(text, value, 0, len(text))
            self._budget -= len(text) if found is None else found[1]
        return source.location(*found) if found is not None else Location.start_of(source.path)


def locate(source: SourceText, parts: tuple[str, ...], value: str | None = None) -> Location:
    """Where one value is written (`Positions` locates many)."""
    return Positions(source).locate(parts, value)


def _quoted(text: str, value: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of `value` written as a TOML string (basic or literal) between start and end: inside its
    first pair of like quotes."""
    if not value:
        for quote in ('""', "''"):
            index = text.find(quote, start, end)
            if index >= 0:
                return index + 1, index + 1
        return None
    index = text.find(value, start + 1, end - 1)
    while index >= 0:
        quote = text[index - 1]
        if quote in "\"'" and text.startswith(quote, index + len(value)):
            return index, index + len(value)
        index = text.find(value, index + 1, end - 1)
    return None
