"""Decoded source text with the position arithmetic every extractor needs."""

from __future__ import annotations

import bisect
import codecs

from preflight import linebreaks
from preflight.findings import Location


class DecodeFailure(ValueError):
    pass


def decode(data: bytes) -> str:
    """Decode a source file as UTF-8 (a BOM is dropped); anything else is a parse failure."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if b"\x00" in data[:8192]:
        raise DecodeFailure("the file is binary (it contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DecodeFailure(f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line})") from None


class SourceText:
    """A file's text, its path as reported, and offset/line/column conversions (all 1-based), its lines
    broken as the file's syntax breaks them (preflight.linebreaks; by default the syntax of the path's kind)."""

    __slots__ = ("path", "text", "syntax", "_starts", "_lines")

    def __init__(self, path: str, text: str, syntax: str | None = None) -> None:
        self.path = path
        self.text = text
        self.syntax = syntax or linebreaks.of_path(path)
        self._starts = linebreaks.starts(text, self.syntax)
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = linebreaks.split(self.text, self.syntax)
        return self._lines

    def line(self, number: int) -> str:
        lines = self.lines
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1

    def line_end(self, offset: int) -> int:
        """The offset of the end of the line that holds `offset` (its line break, or the end of the text)."""
        line = bisect.bisect_right(self._starts, max(0, offset))
        if line >= len(self._starts):
            return len(self.text)
        end = self._starts[line] - 1
        return end - 1 if end > 0 and self.text[end - 1: end + 1] == "\r\n" and self.syntax != linebreaks.NEWLINE \
            else end

    def offset(self, line: int, column: int) -> int:
        """Character offset of a 1-based line and column."""
        if line < 1:
            return 0
        if line > len(self._starts):
            return len(self.text)
        return min(self._starts[line - 1] + column - 1, len(self.text))

    def location(self, start: int, end: int | None = None) -> Location:
        line, column = self.position(start)
        if end is None:
            return Location(self.path, line, column, line, column)
        end_line, end_column = self.position(end)
        return Location(self.path, line, column, end_line, end_column)

    def at(self, line: int, column: int, end_line: int | None = None, end_column: int | None = None) -> Location:
        return Location(self.path, line, column, end_line or line, end_column or column)

    def char_column(self, line: int, byte_column: int) -> int:
        """Convert a 0-based UTF-8 byte column (as `ast` gives) to a 1-based character column."""
        text = self.line(line)
        if text.isascii():
            return byte_column + 1
        return len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="replace")) + 1
