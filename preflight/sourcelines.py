"""The text of the files that have findings, for the report stage: code frames, fingerprints, fixes and
suppression comments all read a file through here, once, and only as the check analysed it.

The check read each file to extract its facts, and a file can change before the report is written. So
the bytes read here are compared with the content digest the collect stage recorded for the file
(preflight.cache.key); bytes that are not the ones analysed are not used: no code frame, no fix, rather
than one that points into other text. A buffer checked from memory is its own text.

What a reader is shown of a line (`shown`, `hidden`) has every credential of the file masked: the ones the
extractors located (`secrets`, from the file's facts) and the ones the text shows by their form.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from preflight import linebreaks, reading, secrets as secrets_module
from preflight.cache import key as content_key
from preflight.sources.text import SourceText

_LIMIT = 16 << 20  # no larger file is analysed (preflight.collect), so none has a finding or a fix
_LINES_LIMIT = 8 << 20  # a file beyond this shows no code frame


class SourceLines:
    def __init__(self, cwd: Path | None = None, buffers: dict[str, str] | None = None,
                 digests: dict[str, str] | None = None, secrets: dict[str, tuple] | None = None) -> None:
        """`buffers`: display path -> text checked from memory; `digests`: display path -> the content key
        of the bytes the check analysed (a file without one is read as it is); `secrets`: display path ->
        where its credentials are (model.FileFacts.secrets)."""
        self._cwd = cwd or Path.cwd()
        self._digests = dict(digests or {})
        self._secrets = {path: tuple(found) for path, found in (secrets or {}).items() if found}
        self._ranges: dict[str, dict[int, list[tuple[int, int]]]] = {}
        self._data: dict[str, bytes | None] = {
            path: text.encode("utf-8", errors="surrogateescape") for path, text in (buffers or {}).items()}
        self._lines: dict[str, list[str]] = {}

    def digests(self) -> dict[str, str]:
        return dict(self._digests)

    def secrets(self) -> dict[str, tuple]:
        return dict(self._secrets)

    def data(self, path: str) -> bytes | None:
        """The file's bytes as the check analysed them, or None."""
        if path not in self._data:
            file = Path(path) if Path(path).is_absolute() else self._cwd / path
            try:
                data = reading.read_bytes(file, _LIMIT)
            except OSError:
                data = None
            expected = self._digests.get(path)
            if data is not None and expected is not None and content_key(path, data) != expected:
                data = None  # changed since it was checked
            self._data[path] = data
        return self._data[path]

    def lines(self, path: str) -> list[str]:
        if path not in self._lines:
            data = self.data(path)
            usable = data is not None and len(data) <= _LINES_LIMIT
            text = data.decode("utf-8", errors="replace") if usable else ""
            self._lines[path] = linebreaks.split(text, linebreaks.of_path(path))
        return self._lines[path]

    def get(self, path: str, number: int) -> str | None:
        lines = self.lines(path)
        return lines[number - 1] if 0 < number <= len(lines) else None

    def text(self, path: str) -> tuple[str, bool] | None:
        """The file's text for editing, and whether it starts with a UTF-8 byte-order mark (which the text
        leaves out); None when it cannot be read, is not UTF-8, or changed since it was checked."""
        data = self.data(path)
        if data is None:
            return None
        bom = data.startswith(codecs.BOM_UTF8)
        try:
            return (data[3:] if bom else data).decode("utf-8"), bom
        except UnicodeDecodeError:
            return None

    def shown(self, path: str, number: int) -> tuple[str, list[int]] | None:
        """Line `number` as a reader may see it, every credential masked, and where each of its columns
        (0-based, and its end) stands in what is shown; None when there is no such line."""
        line = self.get(path, number)
        if line is None:
            return None
        ranges = self._secret_ranges(path).get(number, []) + secrets_module.line_ranges(line)
        return secrets_module.mask_line(line, ranges)

    def hidden(self, path: str) -> set[str]:
        """The file's credentials as written (a line's piece each): what a diff of the file masks."""
        lines = self.lines(path)
        return {lines[number - 1][start:end] for number, ranges in self._secret_ranges(path).items()
                for start, end in ranges if 0 < number <= len(lines) and lines[number - 1][start:end].strip()}

    def _secret_ranges(self, path: str) -> dict[int, list[tuple[int, int]]]:
        """line number -> (start, end) columns, 0-based, of the file's credentials on that line."""
        if path in self._ranges:
            return self._ranges[path]
        lines = self.lines(path)
        shift = 1 if lines and lines[0].startswith("\ufeff") else 0  # positions are counted without a BOM
        text = "\n".join(lines)[shift:]
        source = SourceText(path, text, linebreaks.NEWLINE)
        found = [(*source.position(start), *source.position(end)) for start, end in secrets_module.spans(text)]
        ranges: dict[int, list[tuple[int, int]]] = {}
        for line, column, end_line, end_column in [*self._secrets.get(path, ()), *found]:
            for number in range(line, min(end_line, len(lines)) + 1):
                first = column - 1 if number == line else 0
                last = end_column - 1 if number == end_line else len(lines[number - 1])
                extra = shift if number == 1 else 0
                ranges.setdefault(number, []).append((first + extra, last + extra))
        self._ranges[path] = ranges
        return ranges
