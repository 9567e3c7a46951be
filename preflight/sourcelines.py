"""The text of the files that have findings, for the report stage: code frames, fingerprints, fixes and
suppression comments all read a file through here, once, and only as the check analysed it.

The check read each file to extract its facts, and a file can change before the report is written. So
the bytes read here are compared with the content digest the collect stage recorded for the file
(preflight.cache.key); bytes that are not the ones analysed are not used: no code frame, no fix, rather
than one that points into other text. A buffer checked from memory is its own text.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from preflight import linebreaks, reading
from preflight.cache import key as content_key

_LIMIT = 16 << 20  # no larger file is analysed (preflight.collect), so none has a finding or a fix
_LINES_LIMIT = 8 << 20  # a file beyond this shows no code frame


class SourceLines:
    def __init__(self, cwd: Path | None = None, buffers: dict[str, str] | None = None,
                 digests: dict[str, str] | None = None) -> None:
        """`buffers`: display path -> text checked from memory; `digests`: display path -> the content key
        of the bytes the check analysed (a file without one is read as it is)."""
        self._cwd = cwd or Path.cwd()
        self._digests = dict(digests or {})
        self._data: dict[str, bytes | None] = {
            path: text.encode("utf-8", errors="surrogateescape") for path, text in (buffers or {}).items()}
        self._lines: dict[str, list[str]] = {}

    def digests(self) -> dict[str, str]:
        return dict(self._digests)

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
