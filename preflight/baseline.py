"""Baselines: adopt preflight in an existing repository by recording today's findings and
reporting only new ones.

A finding's fingerprint is its rule, its path and the whitespace-normalised text of the flagged
line, plus its rank among identical ones, so it stays matched when lines above it move. Entries
that no longer match any finding are stale (fixed, or changed beyond recognition) and reported.
Paths are recorded as every report shows them (preflight.display: a name that is not UTF-8 has its bytes
escaped), so that a baseline is valid UTF-8 JSON whatever the tree's file names are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from preflight import __version__, display, reading, writing
from preflight.findings import Finding
from preflight.sourcelines import SourceLines


@dataclass(frozen=True)
class BaselineEntry:
    code: str
    path: str
    fingerprint: str
    message: str = ""


@dataclass(frozen=True)
class BaselineFile:
    entries: list[BaselineEntry]
    tool: str = "preflight"
    version: str = __version__


class BaselineError(Exception):
    pass


_LIMIT = 256 << 20  # a baseline holds about 200 bytes per finding


def fingerprints(findings: list[Finding], lines: SourceLines) -> dict[Finding, str]:
    seen: Counter = Counter()
    result = {}
    for finding in sorted(findings, key=lambda f: f.sort_key):
        text = " ".join((lines.get(finding.location.path, finding.location.line) or "").split())
        key = (finding.code, finding.location.path, text)
        seen[key] += 1
        digest = hashlib.sha256("\x1f".join([*key, str(seen[key])]).encode("utf-8", errors="surrogateescape"))
        result[finding] = digest.hexdigest()[:32]
    return result


def write(path: Path, findings: list[Finding], prints: dict[Finding, str], within: Path | None = None) -> int:
    """Record `findings`; with `within` (the check's working directory), a link there that leads out of it
    is not written through (preflight.writing)."""
    entries = [BaselineEntry(code=f.code, path=display.path(f.location.path), fingerprint=prints[f],
                             message=display.text(f.message[:120]))
               for f in sorted(findings, key=lambda f: f.sort_key)]
    document = {"tool": "preflight", "version": __version__, "entries": [dataclasses.asdict(e) for e in entries]}
    writing.replace(path, json.dumps(document, indent=2) + "\n", within=within)  # the old one stays whole on failure
    return len(entries)


def load(path: Path) -> BaselineFile:
    try:
        document = json.loads(reading.read_text(path, _LIMIT))
        if not isinstance(document, dict) or document.get("tool") != "preflight":
            raise ValueError("the file was not written by preflight --write-baseline")
        items = document["entries"]
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ValueError("its entries are not a list of objects")
        entries = [_entry(number, item) for number, item in enumerate(items, start=1)]
        return BaselineFile(entries, document["tool"], str(document.get("version", "")))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {reading.why(exc)}") from None
    except RecursionError:
        raise BaselineError(f"{path}: not a preflight baseline (nested too deeply)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BaselineError(f"{path}: not a preflight baseline ({str(exc).splitlines()[0]})") from None


def _entry(number: int, item: dict) -> BaselineEntry:
    """One entry as --write-baseline writes it. A field of another type is an error, not an entry that
    matches nothing: that would report as new every finding the baseline was meant to hide."""
    fields = {}
    for name in ("code", "path", "fingerprint", "message"):
        value = item.get(name, "" if name == "message" else None)
        if not isinstance(value, str):
            raise ValueError(f"entry {number}: {name} is {'missing' if value is None else 'not a string'}")
        fields[name] = value
    return BaselineEntry(**fields)


@dataclass
class Applied:
    kept: list[Finding]
    hidden: int
    stale: list[BaselineEntry]


def apply(findings: list[Finding], prints: dict[Finding, str], baseline: BaselineFile,
          checked_paths: set[str] | None = None) -> Applied:
    known = {entry.fingerprint: entry for entry in baseline.entries}
    matched: set[str] = set()
    kept = []
    for finding in findings:
        fingerprint = prints.get(finding)
        if fingerprint in known:
            matched.add(fingerprint)
        else:
            kept.append(finding)
    checked = None if checked_paths is None else {display.path(path) for path in checked_paths}
    stale = [e for e in baseline.entries if e.fingerprint not in matched and (checked is None or e.path in checked)]
    return Applied(kept, len(findings) - len(kept), stale)
