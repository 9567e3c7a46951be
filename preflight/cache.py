"""The per-file facts cache: `.preflight_cache/facts.sqlite3`.

Keyed by a hash of the tool version, the file's path as reported and its exact bytes, so an edit
(or an upgrade of preflight) can never be answered with stale facts, and no content can be made
to look like other content. SQLite gives atomic writes and lets concurrent runs share the cache;
a corrupt or unreadable cache is set aside and the run goes on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import time
from pathlib import Path

from preflight import __version__, serialize
from preflight.model import FileFacts

DIRECTORY = ".preflight_cache"
_SCHEMA = "CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, facts TEXT NOT NULL, used REAL NOT NULL)"


def key(path: str, data: bytes) -> str:
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{__version__}\x00{path}\x00".encode("utf-8", errors="surrogateescape"))
    digest.update(data)
    return digest.hexdigest()


class FactsCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._db: sqlite3.Connection | None = None
        self._pending: dict[str, str] = {}
        self._open()

    def _open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# created by preflight\n*\n")
            self._db = sqlite3.connect(self.directory / "facts.sqlite3", timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error):
            self._set_aside()

    def _set_aside(self) -> None:
        """A cache that cannot be used is moved away (or ignored); results never depend on it."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None
        database = self.directory / "facts.sqlite3"
        with contextlib.suppress(OSError):
            if database.exists():
                database.rename(self.directory / f"facts.corrupt-{int(time.time())}.sqlite3")

    def get_many(self, keys: list[str]) -> dict[str, FileFacts]:
        found: dict[str, FileFacts] = {}
        if self._db is None or not keys:
            return found
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = self._db.execute(
                    f"SELECT key, facts FROM facts WHERE key IN ({','.join('?' * len(chunk))})", chunk).fetchall()
                for row_key, text in rows:
                    try:
                        found[row_key] = serialize.loads(text)
                    except serialize.CorruptEntry:
                        continue  # recomputed and overwritten
        except sqlite3.Error:
            self._set_aside()
            return {}
        return found

    def put(self, cache_key: str, facts: FileFacts) -> None:
        self._pending[cache_key] = serialize.dumps(facts)

    def close(self) -> None:
        if self._db is None:
            return
        try:
            if self._pending:
                now = time.time()
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._db.executemany("INSERT OR REPLACE INTO facts (key, facts, used) VALUES (?, ?, ?)",
                                         [(k, v, now) for k, v in self._pending.items()])
            self._db.close()
        except sqlite3.Error:
            self._set_aside()
        self._db = None
