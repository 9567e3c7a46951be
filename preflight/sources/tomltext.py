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


def _part(name: str) -> str:
    return f"(?:{re.escape(name)}|\"{re.escape(name)}\"|'{re.escape(name)}')"


def _header(parts: tuple[str, ...]) -> re.Pattern[str]:
    dotted = r"[ \t]*\.[ \t]*".join(_part(p) for p in parts)
    return re.compile(rf"^[ \t]*(\[[ \t]*{dotted}[ \t]*\])[ \t]*(?:#[^\n]*)?$", re.MULTILINE)


def _key(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|[{{,])[ \t]*({_part(name)})[ \t]*=", re.MULTILINE)


def _table(text: str, parts: tuple[str, ...]) -> tuple[tuple[int, int], int, int] | None:
    """The deepest table `[parts[:depth]]` written in the file: its header's span, its body's end, depth."""
    for depth in range(len(parts), 0, -1):
        found = _header(parts[:depth]).search(text)
        if found:
            following = _ANY_HEADER.search(text, found.end())
            return found.span(1), following.start() if following else len(text), depth
    return None


def locate(source: SourceText, parts: tuple[str, ...], value: str | None = None) -> Location:
    """Where the value at `parts` (table names, then keys) is written: the string `value` inside it when
    given (an array entry), else its key, or its own table header."""
    text = source.text
    table = _table(text, parts)
    if table is not None:
        span, end, depth = table
        position = span[1]
        for key in parts[depth:]:
            found = _key(key).search(text, position, end)
            if found is None:
                break
            position, span = found.end(), found.span(1)
        else:
            if value is None:
                return source.location(*span)
            index = _quoted(text, value, position, end)
            if index is not None:
                return source.location(index, index + len(value))
    index = _quoted(text, value, 0, len(text)) if value is not None else None
    return source.location(index, index + len(value)) if index is not None else Location.start_of(source.path)


def _quoted(text: str, value: str, start: int, end: int) -> int | None:
    """The offset of `value` written as a TOML string between start and end (basic or literal)."""
    for quote in ('"', "'"):
        index = text.find(quote + value + quote, start, end)
        if index >= 0:
            return index + 1
    return None
