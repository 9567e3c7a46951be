"""Stage 2 for a whole scan: every file's facts, as cheaply as they can be had.

Each file is read once. The pre-filter answers for most files without a parse; the cache answers
for files seen before with the same bytes; the rest are extracted, in a process pool when there
is enough work to pay for one.
"""

from __future__ import annotations

import os
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from preflight import cache as cache_module
from preflight import classify
from preflight.extract import extract, quick
from preflight.findings import Location
from preflight.model import FileFacts, ParseError

POOL_MIN_BYTES = 4 << 20  # below this, starting worker processes costs more than it saves (measured)
POOL_MIN_FILES = 8
# A training script or config is never this large, and parsing one would cost seconds to minutes
# (a 10 MB Python file: ~30 s and 2.4 GB for `ast` and the walk); YAML is parsed in C.
MAX_BYTES = {"python": 2 << 20}
MAX_BYTES_OTHER = 16 << 20


def _extract_safely(item: tuple[str, bytes]) -> tuple[FileFacts, str | None]:
    display, data = item
    try:
        return extract(display, data), None
    except Exception:  # a bug in an extractor must not stop the scan
        return FileFacts(display, None), f"analysing {display} failed:\n{traceback.format_exc()}"


def _read(path: Path, display: str) -> bytes | FileFacts:
    try:
        return path.read_bytes()
    except FileNotFoundError:  # deleted while the scan ran
        return FileFacts(display, None, note="deleted during the scan")
    except OSError as exc:
        error = ParseError(Location.start_of(display), f"cannot read the file: {exc.strerror or type(exc).__name__}")
        return FileFacts(display, classify.kind_by_path(display), [error])


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ino


def collect(files: list[tuple[Path, str]], cache: cache_module.FactsCache | None, internal_errors: list[str],
            workers: int | None = None) -> list[FileFacts]:
    """Facts for (path, display path) pairs, in the same order."""
    results: list[FileFacts | None] = [None] * len(files)
    stats: dict[str, tuple[int, int, int]] = {}
    known: dict[str, str] = {}
    if cache is not None:  # unchanged files (same size, mtime and inode) are not even read
        for path, display in files:
            stat = _stat(path)
            if stat is not None:
                stats[display] = stat
        known = cache.keys_by_stat(stats)
        hits = cache.get_many(list(dict.fromkeys(known.values())))
        for index, (_, display) in enumerate(files):
            facts = hits.get(known.get(display, ""))
            if facts is not None:
                results[index] = facts
    pending: list[tuple[int, str, bytes, str | None]] = []
    for index, (path, display) in enumerate(files):
        if results[index] is not None:
            continue
        data = _read(path, display)
        if isinstance(data, FileFacts):
            results[index] = data
            continue
        cache_key = cache_module.key(display, data) if cache is not None else None
        if cache_key is not None and display in stats:
            cache.record_stat(display, stats[display], cache_key)
        cheap = quick(display, data)
        if cheap is not None:
            results[index] = cheap
            if cache_key is not None:
                cache.put(cache_key, cheap)
            continue
        limit = MAX_BYTES.get(classify.kind_by_path(display) or "", MAX_BYTES_OTHER)
        if len(data) > limit:
            message = (f"the file is too large to analyse ({len(data) / (1 << 20):.1f} MiB; the limit for this kind "
                       f"is {limit >> 20} MiB)")
            results[index] = FileFacts(display, classify.kind_by_path(display),
                                       [ParseError(Location.start_of(display), message)])
            continue
        pending.append((index, display, data, cache_key))
    if cache is not None and pending:
        hits = cache.get_many([k for *_, k in pending if k])
        still = []
        for item in pending:
            if item[3] in hits:
                results[item[0]] = hits[item[3]]
            else:
                still.append(item)
        pending = still
    for (index, display, data, cache_key), (facts, error) in zip(pending, _extract_all(pending, workers)):
        results[index] = facts
        if error:
            internal_errors.append(error)
        elif cache is not None and cache_key:
            cache.put(cache_key, facts)
    return [r for r in results if r is not None]


def _extract_all(pending, workers: int | None):
    items = [(display, data) for _, display, data, _ in pending]
    size = sum(len(data) for _, data in items)
    if workers is None:
        workers = int(os.environ.get("PREFLIGHT_WORKERS") or 0) or (os.cpu_count() or 1)
    if workers < 2 or len(items) < POOL_MIN_FILES or size < POOL_MIN_BYTES:
        return [_extract_safely(item) for item in items]
    # largest files first, so that no worker is left with the biggest file at the end
    order = sorted(range(len(items)), key=lambda i: -len(items[i][1]))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        done = dict(zip(order, pool.map(_extract_safely, [items[i] for i in order], chunksize=1)))
    return [done[i] for i in range(len(items))]
