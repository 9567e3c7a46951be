"""The per-file facts cache: `.preflight_cache/facts.sqlite3`.

Keyed by a hash of the tool build, the file's path as reported and the digest of its exact bytes, so an
edit (or an upgrade of preflight) can never be answered with stale facts, and no content can be made
to look like other content. SQLite gives atomic writes and lets concurrent runs share the cache;
a corrupt or unreadable cache is set aside and the run goes on without it.

A cache can come from elsewhere (a CI cache an earlier job wrote, a folder in an archive), so what
is read back is checked before it is used: each entry holds the path and content digest it was made
from and a seal over its key and payload (`seal`), and an entry whose key is not the one its path and
digest give, whose facts are another file's, or whose payload is not the one sealed is ignored and
made again. The seal is a checksum, not a signature: it stops an edited or copied entry, not one
written by someone who runs preflight's code to forge it; so a cache written by code that is not
trusted is not to be used at all (`--no-cache`; the GitHub Action turns it off for pull requests),
as the README's section on the cache says.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from pathlib import Path

from preflight import __version__, cachedir, display, serialize
from preflight.config import CACHE_DIRECTORY
from preflight.model import FileFacts

DIRECTORY = CACHE_DIRECTORY
_SCHEMA = (
    # path and content: what the key was made from, checked again when the entry is read
    "CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, path TEXT NOT NULL, content TEXT NOT NULL,"
    " facts TEXT NOT NULL, seal TEXT NOT NULL, used REAL NOT NULL)",
    # what a file's stat said when its bytes had this key: lets a warm run skip reading unchanged files
    "CREATE TABLE IF NOT EXISTS stats (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER,"
    " key TEXT, seen REAL)",
    # a whole run's findings, under a key of everything it depended on (see preflight.runcache)
    "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, payload TEXT NOT NULL, seal TEXT NOT NULL,"
    " used REAL NOT NULL)",
)
# The layout of the tables above: a database of another layout has its tables made again (they are a cache).
_LAYOUT = 2
KEPT_RESULTS = 4  # reusable whole runs kept (each is one state of the tree)
RACY_SECONDS = 2.0  # a file modified this close to when it was recorded may change again unseen (as in git)


def files_fingerprint(folder: Path, files: list[Path], salt: str = "") -> str:
    """A digest of files' names, sizes and mtimes: what identifies a build of the code that read them."""
    digest = hashlib.blake2b(salt.encode(), digest_size=12)
    for source in sorted(files):
        info = source.stat()
        digest.update(f"{source.relative_to(folder)}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()


# The version plus preflight's own source and data files: facts from other extractor code (or another
# sweep schema) are never reused, even between two builds of one version.
_PACKAGE = Path(__file__).resolve().parent
TOOL = files_fingerprint(_PACKAGE, [*_PACKAGE.rglob("*.py"), *_PACKAGE.rglob("*.json")], __version__)


def file_stat(path: Path | str) -> tuple[int, int, int] | None:
    """What says a file is unchanged: its size, mtime and inode (None when it cannot be stat'ed)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ino


def content_digest(data: bytes) -> str:
    """What a file's bytes are, for the key and to check an entry against."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def key_for(path: str, content: str) -> str:
    """The facts key of the file at `path` (as reported) whose bytes have the digest `content`."""
    return hashlib.blake2b(f"{TOOL}\x00{path}\x00{content}".encode("utf-8", errors="surrogateescape"),
                           digest_size=20).hexdigest()


def key(path: str, data: bytes) -> str:
    return key_for(path, content_digest(data))


def seal(entry_key: str, payload: str) -> str:
    """A checksum of an entry (its key and payload), stored beside it: a payload edited, or moved under
    another key, no longer matches. Not a secret: see the module docstring."""
    digest = hashlib.blake2b(TOOL.encode(), digest_size=20, person=b"preflight-seal")
    digest.update(entry_key.encode("utf-8", errors="surrogateescape") + b"\x00")
    digest.update(payload.encode("utf-8", errors="surrogateescape"))
    return digest.hexdigest()


def stored_name(path: str) -> str:
    """A file name as every table stores it: as reports show it (`preflight.display.path`), lossless and
    text SQLite can hold. A name that is not UTF-8 reaches Python with surrogates, which have no UTF-8
    form, so a raw name would make the cache's writes fail (and the whole run with them)."""
    return display.path(path)


def _stat_row(path: str) -> str:
    """The stat index is per tool build too: a row recorded by other code points at facts it extracted."""
    return f"{TOOL}\x00{stored_name(path)}"


_APPLICATION_ID = 0x70666C74  # "pflt" in the database header: a database preflight did not create is not read
_TABLES = {"facts", "stats", "results"}


def _damaged(error: sqlite3.Error) -> bool:
    """Is the database itself unusable (set aside), rather than this write impossible (a full disk, a file
    size limit, a read-only folder, a lock held too long), after which SQLite leaves it as it was?"""
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return not any(words in str(error) for words in ("disk is full", "disk I/O", "readonly", "locked", "busy"))


class FactsCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._db: sqlite3.Connection | None = None
        self._pending: dict[str, tuple[str, str, str]] = {}  # key -> path, content, facts
        self._stats: dict[str, tuple[int, int, int, str]] = {}
        self._results: dict[str, str] = {}
        self.refused: str | None = None  # why the folder is not used (see preflight.cachedir), for the user
        self.unwritten: str | None = None  # why this run's facts could not be stored, for the user
        self._open()

    def _open(self) -> None:
        reason = cachedir.refusal(self.directory)
        if reason is not None:
            self.refused = f"not using the cache {self.directory}: {reason}; continuing without a cache"
            return
        try:
            cachedir.prepare(self.directory)
            database = self.directory / "facts.sqlite3"
            cachedir.private_file(database)  # SQLite gives its journal files the database's mode
            self._db = sqlite3.connect(database, timeout=30, isolation_level=None)
            if not self._ours():
                self._set_aside()
                cachedir.private_file(database)
                self._db = sqlite3.connect(database, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._lay_out()
            self._db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
        except (OSError, sqlite3.Error):
            self._set_aside()

    def _lay_out(self) -> None:
        """The tables of this layout; those of another (an earlier version's) are dropped first."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] == _LAYOUT:
            return
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")  # another run may be doing the same
            if self._db.execute("PRAGMA user_version").fetchone()[0] != _LAYOUT:
                for table in sorted(_TABLES):
                    self._db.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _SCHEMA:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {_LAYOUT}")

    def _ours(self) -> bool:
        """Is the database one preflight made (or an empty one)? Another database found in the folder is set
        aside, never written into."""
        application_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return application_id == _APPLICATION_ID or (application_id == 0 and tables <= _TABLES)

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

    def get_many(self, wanted: dict[str, str]) -> dict[str, FileFacts]:
        """The facts stored under each key of `wanted` (key -> the path the key was made for), for the
        entries that pass their checks: made from that path, under the key its path and content give,
        holding that file's facts, with the payload that was sealed. Any other entry is left out (and
        made again by the caller)."""
        found: dict[str, FileFacts] = {}
        if self._db is None or not wanted:
            return found
        keys = list(wanted)
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = self._db.execute(
                    f"SELECT key, path, content, facts, seal FROM facts WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall()
                for row_key, name, content, text, sealed in rows:
                    path = wanted.get(row_key)
                    if (not all(isinstance(v, str) for v in (row_key, name, content, text, sealed))
                            or path is None or name != stored_name(path) or key_for(path, content) != row_key
                            or sealed != seal(row_key, text)):
                        continue
                    try:
                        facts = serialize.loads(text)
                    except serialize.CorruptEntry:
                        continue  # recomputed and overwritten
                    if isinstance(facts, FileFacts) and facts.path == path:
                        found[row_key] = facts
        except sqlite3.Error:
            self._set_aside()
            return {}
        return found

    def result(self, run_key: str) -> str | None:
        """The payload of a whole run stored under `run_key`, if it is the one sealed there."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT payload, seal FROM results WHERE key = ?", (run_key,)).fetchone()
        except sqlite3.Error:
            self._set_aside()
            return None
        if row is None or not isinstance(row[0], str) or row[1] != seal(run_key, row[0]):
            return None
        return row[0]

    def put_result(self, run_key: str, payload: str) -> None:
        self._results[run_key] = payload

    def put(self, cache_key: str, facts: FileFacts, content: str) -> None:
        """Store `facts`, the facts of the file `facts.path` whose bytes have the digest `content`."""
        try:
            self._pending[cache_key] = (facts.path, content, serialize.dumps(facts))
        except (TypeError, ValueError, RecursionError):  # a value JSON cannot hold: this file is not cached
            pass

    def keys_by_stat(self, stats: dict[str, tuple[int, int, int]]) -> dict[str, str]:
        """path -> content key, for files whose size, mtime and inode are as recorded (and were not
        recorded racily, within RACY_SECONDS of their modification)."""
        if self._db is None or not stats:
            return {}
        found = {}
        try:
            paths = list(stats)
            for start in range(0, len(paths), 500):
                chunk = paths[start:start + 500]
                rows_of = {_stat_row(p): p for p in chunk}
                rows = self._db.execute("SELECT path, size, mtime_ns, inode, key, seen FROM stats WHERE path IN "
                                        f"({','.join('?' * len(chunk))})", list(rows_of)).fetchall()
                for row_path, size, mtime_ns, inode, key_value, seen in rows:
                    path = rows_of[row_path]
                    if stats[path] == (size, mtime_ns, inode) and seen - mtime_ns / 1e9 > RACY_SECONDS:
                        found[path] = key_value
        except sqlite3.Error:
            self._set_aside()
            return {}
        return found

    def record_stat(self, path: str, stat: tuple[int, int, int], cache_key: str) -> None:
        self._stats[path] = (*stat, cache_key)

    def close(self) -> None:
        if self._db is None:
            return
        try:
            if self._pending or self._stats or self._results:
                now = time.time()
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    if self._results:  # a whole run per tree state: keep only the latest few
                        self._db.executemany("INSERT OR REPLACE INTO results (key, payload, seal, used) VALUES "
                                             "(?, ?, ?, ?)",
                                             [(k, v, seal(k, v), now) for k, v in self._results.items()])
                        self._db.execute("DELETE FROM results WHERE key NOT IN "
                                         f"(SELECT key FROM results ORDER BY used DESC LIMIT {KEPT_RESULTS})")
                    self._db.executemany("INSERT OR REPLACE INTO facts (key, path, content, facts, seal, used) VALUES "
                                         "(?, ?, ?, ?, ?, ?)",
                                         [(k, stored_name(path), content, text, seal(k, text), now)
                                          for k, (path, content, text) in self._pending.items()])
                    self._db.executemany("INSERT OR REPLACE INTO stats VALUES (?, ?, ?, ?, ?, ?)",
                                         [(_stat_row(p), *v, now) for p, v in self._stats.items()])
            self._db.close()
        except sqlite3.Error as exc:
            if _damaged(exc):
                self._set_aside()
            else:  # a full disk, a size limit, a read-only folder: SQLite rolled back, the cache is as it was
                self.unwritten = f"the cache {self.directory} was not updated: {exc}"
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
        self._db = None
