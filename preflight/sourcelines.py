"""Source lines of the files that have findings, read once, for code frames and fingerprints."""

from __future__ import annotations

from pathlib import Path

from preflight import reading

_LIMIT = 8 << 20


class SourceLines:
    def __init__(self, cwd: Path | None = None, overrides: dict[str, str] | None = None) -> None:
        self._cwd = cwd or Path.cwd()
        self._cache: dict[str, list[str]] = {p: t.splitlines() for p, t in (overrides or {}).items()}

    def lines(self, path: str) -> list[str]:
        if path not in self._cache:
            file = Path(path) if Path(path).is_absolute() else self._cwd / path
            try:
                self._cache[path] = reading.read_bytes(file, _LIMIT).decode("utf-8", errors="replace").splitlines()
            except OSError:
                self._cache[path] = []
        return self._cache[path]

    def get(self, path: str, number: int) -> str | None:
        lines = self.lines(path)
        return lines[number - 1] if 0 < number <= len(lines) else None
