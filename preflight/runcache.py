"""Reusing a whole run: when nothing a run depended on has changed, its findings are the answer.

A warm re-scan of an unchanged project should cost about what hashing it costs, not a replay of
every rule. The key covers the build (the package's and the rule pack's files), the settings and
options, and the size, mtime and inode of every discovered file. Files the run read beyond those
(an env file a compose service names) are stored with the result and checked again before it is
reused. A file modified within RACY_SECONDS of the run never makes a reusable result: it may change
again without its stat changing (the same rule git applies to its index).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path

from preflight import cache as cache_module
from preflight import serialize
from preflight.findings import Finding, Severity

Stat = tuple[int, int, int]


def _rules_fingerprint() -> str:
    """The rule pack's build (in a development checkout it lives outside the package TOOL covers)."""
    import preflight.rules as pack

    folder = Path(next(iter(pack.__path__)))
    return cache_module.files_fingerprint(folder, list(folder.glob("*.py")))


def key(stats: dict[str, Stat | None], settings: object, options: dict) -> str | None:
    """The run's key, or None when it must not be reused (a file missing or modified just now)."""
    now = time.time()
    if any(s is None or now - s[1] / 1e9 <= cache_module.RACY_SECONDS for s in stats.values()):
        return None
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{cache_module.TOOL}\0{_rules_fingerprint()}\0".encode())
    digest.update(json.dumps([dataclasses.asdict(settings), options], sort_keys=True, default=repr).encode())
    for path in sorted(stats):
        digest.update(f"{path}\0{stats[path]}\0".encode("utf-8", errors="surrogateescape"))
    return digest.hexdigest()


@dataclasses.dataclass
class Reused:
    findings: list[Finding]
    suppressed: list[tuple[Finding, str]]
    files: int
    rules: tuple[str, ...]
    checked: set[str]
    skipped: list[tuple[str, str]]
    digests: dict[str, str]  # what the report must read (preflight.sourcelines)
    secrets: dict[str, tuple]  # where the credentials of those files are, for the report to mask


def encode(findings: list[Finding], suppressed: list[tuple[Finding, str]], files: int, rules: tuple[str, ...],
           checked: set[str], skipped: list[tuple[str, str]], reads: dict[str, Stat | None],
           digests: dict[str, str], secrets: dict[str, tuple] | None = None) -> str:
    """`digests`: the content keys of the files the findings are in (no text: the cache holds no secret);
    `secrets`: where those files' credentials are (positions only)."""
    flagged = {f.location.path for f in findings} | {f.location.path for f, _ in suppressed}
    return json.dumps([  # a list at the top: every JSON object inside is a known type
        [serialize.dump_value(f) for f in findings],
        [[serialize.dump_value(f), reason] for f, reason in suppressed],
        files, list(rules), sorted(checked), skipped,
        [[path, list(value) if value else None] for path, value in reads.items()],
        sorted([path, digest] for path, digest in digests.items() if path in flagged),
        sorted([path, [list(span) for span in spans]] for path, spans in (secrets or {}).items() if path in flagged),
    ], separators=(",", ":"))


def decode(payload: str) -> Reused | None:
    """The stored run, if every file it read outside the discovered set is as it was."""
    try:
        findings, suppressed, files, rules, checked, skipped, reads, digests, secrets = serialize.load_json(payload)
        for path, recorded in reads:
            if cache_module.file_stat(path) != (tuple(recorded) if recorded else None):
                return None
        return Reused([_finding(f) for f in findings], [(_finding(f), reason) for f, reason in suppressed],
                      int(files), tuple(str(code) for code in rules), set(checked), [tuple(s) for s in skipped],
                      {str(path): str(digest) for path, digest in digests},
                      {str(path): tuple(tuple(int(n) for n in span) for span in spans) for path, spans in secrets})
    except (ValueError, KeyError, TypeError, RecursionError, serialize.CorruptEntry):
        return None  # an entry from another layout: run again


def _finding(finding) -> Finding:
    if not isinstance(finding, Finding):
        raise serialize.CorruptEntry("not a finding")
    return dataclasses.replace(finding, severity=Severity(finding.severity))
