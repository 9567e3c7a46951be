"""Released source distributions from the package registry, as real-world projects for the ledger.

An sdist carries real files (Axolotl's 0.19.0 holds its example configs, tests and compose file) and is
pinned by its sha256, so the findings on it are reproducible anywhere the registry is reachable. Used by
`run.py` and by tests/test_realworld_sdists.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path

INDEX = os.environ.get("PREFLIGHT_PYPI_JSON", "https://pypi.org/pypi/{name}/json")
CACHE = Path(os.environ.get("PREFLIGHT_SDIST_CACHE", Path.home() / ".cache" / "preflight-realworld-sdists"))


class Unavailable(Exception):
    """The registry cannot be reached or does not serve the file: nothing to compare."""


def download(name: str, version: str, sha256: str, timeout: float = 60) -> Path:
    """The sdist, from the cache or the registry; its digest must be the pinned one."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"{name}-{version}-{sha256[:16]}.tar.gz"
    if cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == sha256:
        return cached
    base = INDEX.format(name=name)
    try:
        release = json.load(urllib.request.urlopen(base, timeout=timeout))["releases"][version]
        entry = next(u for u in release if u["packagetype"] == "sdist")
        data = urllib.request.urlopen(urllib.parse.urljoin(base, entry["url"]), timeout=timeout).read()
    except (OSError, KeyError, StopIteration, ValueError) as exc:
        raise Unavailable(f"{name}=={version}: {exc}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Unavailable(f"{name}=={version}: the registry's file does not have the pinned sha256")
    partial = cached.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(cached)
    return cached


def materialise(name: str, version: str, sha256: str, dest: Path) -> Path:
    """The sdist unpacked into `dest` (its top folder removed), for preflight to check as a project."""
    archive = download(name, version, sha256)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")  # no links out, no devices, no absolute paths
    inner = [p for p in dest.iterdir()]
    if len(inner) == 1 and inner[0].is_dir():
        top = inner[0]
        for child in list(top.iterdir()):
            child.rename(dest / child.name)
        top.rmdir()
    return dest
