"""Stage 2 for a whole scan: every file's facts, as cheaply as they can be had.

Files whose size, mtime and inode are as the cache recorded are not even read. Every other file goes
through `_process`, once: read, pre-filter (most files of a large repository end there), look the
content up in the cache, else extract. For a large scan that whole step runs in worker processes, so
that reading and pre-filtering are shared too; only facts cross the process boundary.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from pathlib import Path

from preflight import cache as cache_module
from preflight import classify, reading
from preflight.extract import extract, quick
from preflight.findings import Location
from preflight.model import FileFacts, ParseError, ParseProblem

# Worker processes pay for themselves only on large scans (measured on the benchmark corpus: below
# ~8 MB of files, or a few files, starting them costs more than it saves).
POOL_MIN_BYTES = 8 << 20
POOL_MIN_FILES = 8
CHUNK_BYTES = 1 << 20  # work is handed out in chunks of about this many bytes, largest files first
# A training script or config is never this large, and parsing one would cost seconds to minutes
# (a 10 MB Python file: ~30 s and 2.4 GB for `ast` and the walk); YAML is parsed in C.
MAX_BYTES = {"python": 2 << 20}
MAX_BYTES_OTHER = 16 << 20
# Kinds that only their content makes relevant are read up to this size for the pre-filter (a large
# file of them is usually data, and not reported); a file beyond it is not even read.
_BY_CONTENT = {classify.PYTHON, classify.NOTEBOOK, "yaml", "json"}
READ_LIMIT = 64 << 20


@dataclass(slots=True)
class Outcome:
    facts: FileFacts
    cache_key: str | None = None  # the content key, when caching
    content: str | None = None  # the digest of the bytes the key was made from (stored with the facts)
    cached: bool = False  # the facts came from the cache
    error: str | None = None  # an extractor bug, reported as an internal error
    digest: str | None = None  # the content key of a file that may have findings (see `collect`)


def _read(path: Path, display: str, kind: str | None) -> bytes | FileFacts:
    try:
        return reading.read_bytes(path, READ_LIMIT if kind in _BY_CONTENT else MAX_BYTES_OTHER)
    except FileNotFoundError:  # deleted while the scan ran
        return FileFacts(display, None, note="deleted during the scan")
    except reading.NotRegular as exc:  # replaced by a FIFO or a device while the scan ran
        return FileFacts(display, None, note=f"no longer a file: {reading.why(exc)}")
    except reading.TooLarge as exc:
        if kind in _BY_CONTENT:
            return FileFacts(display, None, note=f"not read: {reading.why(exc)}")
        return _too_large(display, kind, exc.size, exc.limit)
    except OSError as exc:
        error = ParseError(Location.start_of(display), f"cannot read the file: {reading.why(exc)}",
                           ParseProblem.UNREADABLE)
        return FileFacts(display, kind, [error])


def _too_large(display: str, kind: str | None, size: int, limit: int) -> FileFacts:
    message = (f"the file is too large to analyse ({size / (1 << 20):.1f} MiB; the limit for this kind is "
               f"{limit >> 20} MiB)")
    return FileFacts(display, kind, [ParseError(Location.start_of(display), message, ParseProblem.TOO_LARGE)])


def _process(path: Path, display: str, cache: cache_module.FactsCache | None) -> Outcome:
    path_kind = classify.kind_by_path(display)
    data = _read(path, display, path_kind)
    if isinstance(data, FileFacts):
        return Outcome(data)
    outcome = _facts(display, data, path_kind, cache)
    if _may_have_findings(outcome.facts):
        outcome.digest = outcome.cache_key or cache_module.key(display, data)
    return outcome


def _may_have_findings(facts: FileFacts) -> bool:
    return bool(facts.facts or facts.suppressions)


def _facts(display: str, data: bytes, path_kind: str | None, cache: cache_module.FactsCache | None) -> Outcome:
    content = cache_module.content_digest(data) if cache is not None else None
    cache_key = cache_module.key_for(display, content) if content is not None else None
    cheap = quick(display, data, path_kind)
    if cheap is not None:
        return Outcome(cheap, cache_key, content)
    limit = MAX_BYTES.get(path_kind or "", MAX_BYTES_OTHER)
    if len(data) > limit:
        return Outcome(_too_large(display, path_kind, len(data), limit))
    if cache is not None:  # same bytes seen before (a fresh checkout: new mtimes, known content)
        hit = cache.get_many({cache_key: display}).get(cache_key)
        if hit is not None:
            return Outcome(hit, cache_key, content, cached=True)
    try:
        return Outcome(extract(display, data, path_kind=path_kind, prefiltered=True), cache_key, content)
    except Exception:  # a bug in an extractor must not stop the scan
        return Outcome(FileFacts(display, None), None, error=f"analysing {display} failed:\n{traceback.format_exc()}")


# In a worker process: its own read-only view of the cache, opened on first use.
_WORKER_CACHE: dict[Path, cache_module.FactsCache] = {}


def _process_chunk(chunk: list[tuple[Path, str]], cache_dir: Path | None) -> list[Outcome]:
    cache = None
    if cache_dir is not None:
        cache = _WORKER_CACHE.get(cache_dir) or _WORKER_CACHE.setdefault(cache_dir, cache_module.FactsCache(cache_dir))
    return [_process(path, display, cache) for path, display in chunk]


def collect(files: list[tuple[Path, str]], cache: cache_module.FactsCache | None, internal_errors: list[str],
            workers: int | None = None,
            stats_by_display: dict[str, tuple[int, int, int] | None] | None = None,
            digests: dict[str, str] | None = None) -> list[FileFacts]:
    """Facts for (path, display path) pairs, in the same order. `stats_by_display`: the files' stats
    when the caller has taken them already. `digests` receives the content key of each file that may
    have findings (one with facts or suppressions): the report reads such a file again for its code
    frames and fixes, and must see the bytes that were analysed (preflight.sourcelines)."""
    results: list[FileFacts | None] = [None] * len(files)
    stats: dict[str, tuple[int, int, int]] = {}
    if cache is not None:  # unchanged files (same size, mtime and inode) are not even read
        for path, display in files:
            stat = stats_by_display[display] if stats_by_display is not None else cache_module.file_stat(path)
            if stat is not None:
                stats[display] = stat
        known = cache.keys_by_stat(stats)
        hits = cache.get_many({key: display for display, key in known.items()})
        for index, (_, display) in enumerate(files):
            facts = hits.get(known.get(display, ""))
            if facts is not None and facts.path == display:  # a stat row naming another file's entry: read it
                results[index] = facts
                if digests is not None and _may_have_findings(facts):
                    digests[display] = known[display]
    todo = [index for index in range(len(files)) if results[index] is None]
    outcomes = _process_all([files[i] for i in todo], cache, workers, stats)
    for index, outcome in zip(todo, outcomes):
        display = files[index][1]
        results[index] = outcome.facts
        if digests is not None and outcome.digest is not None:
            digests[display] = outcome.digest
        if outcome.error:
            internal_errors.append(outcome.error)
        elif cache is not None and outcome.cache_key is not None:
            if display in stats:
                cache.record_stat(display, stats[display], outcome.cache_key)
            if not outcome.cached and outcome.content is not None:
                cache.put(outcome.cache_key, outcome.facts, outcome.content)
    return [r for r in results if r is not None]


MAX_WORKERS = 64  # or twice the cores


def worker_count(workers: int | None = None) -> int:
    """The size of the process pool: `workers`, else PREFLIGHT_WORKERS, else one per core. ValueError for a
    count that is not a whole number from 1 to MAX_WORKERS (thousands of processes exhaust the machine)."""
    cores = os.cpu_count() or 1
    if workers is None:
        raw = os.environ.get("PREFLIGHT_WORKERS", "").strip()
        if not raw:
            return cores
        try:
            workers = int(raw, 10)
        except ValueError:
            raise ValueError(f"PREFLIGHT_WORKERS={raw[:40]!r} is not a whole number of worker processes") from None
        where = "PREFLIGHT_WORKERS"
    else:
        where = "workers"
    limit = max(MAX_WORKERS, 2 * cores)
    if not 1 <= workers <= limit:
        raise ValueError(f"{where}={workers}: the number of worker processes must be from 1 to {limit}")
    return workers



def _process_all(files: list[tuple[Path, str]], cache: cache_module.FactsCache | None, workers: int | None,
                 stats: dict[str, tuple[int, int, int]]) -> list[Outcome]:
    count = worker_count(workers)
    if count < 2 or len(files) < POOL_MIN_FILES:
        return [_process(path, display, cache) for path, display in files]
    sizes = [stats[display][0] if display in stats else _size(path) for path, display in files]
    if sum(sizes) < POOL_MIN_BYTES:
        return [_process(path, display, cache) for path, display in files]
    chunks: list[list[int]] = [[]]
    filled = 0
    for index in sorted(range(len(files)), key=lambda i: -sizes[i]):  # largest first: no straggler at the end
        if filled >= CHUNK_BYTES:
            chunks.append([])
            filled = 0
        chunks[-1].append(index)
        filled += sizes[index]
    from concurrent.futures import ProcessPoolExecutor

    cache_dir = cache.directory if cache is not None else None
    outcomes: list[Outcome | None] = [None] * len(files)
    with ProcessPoolExecutor(max_workers=count) as pool:
        batches = pool.map(_process_chunk, [[files[i] for i in chunk] for chunk in chunks],
                           [cache_dir] * len(chunks))
        for chunk, batch in zip(chunks, batches):
            for index, outcome in zip(chunk, batch):
                outcomes[index] = outcome
    return outcomes  # type: ignore[return-value]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
