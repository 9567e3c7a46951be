"""preflight on real files: released source distributions from the package registry (Axolotl's examples,
tests and compose file, accelerate's tests, TRL's scripts), pinned by sha256 in the real-world ledger
(bench/realworld/ledger.json). Their findings must equal the triaged ledger entries, every one of which
has a verdict: a new finding fails until it is judged, a gone one until its entry is dropped."""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import pytest

from preflight import engine

LEDGER_DIR = Path(__file__).resolve().parent.parent / "bench" / "realworld"
sys.path.insert(0, str(LEDGER_DIR))
import sdists  # noqa: E402

LEDGER = json.loads((LEDGER_DIR / "ledger.json").read_text(encoding="utf-8"))
SDISTS = {repo: spec["sdist"] for repo, spec in LEDGER["repos"].items() if "sdist" in spec}


@pytest.mark.parametrize("repo", sorted(SDISTS))
def test_findings_equal_the_judged_ledger(repo, tmp_path):
    name, version = repo.removeprefix("pypi:").split("==")
    try:
        root = sdists.materialise(name, version, SDISTS[repo], tmp_path / name)
    except sdists.Unavailable as exc:
        pytest.skip(f"the package registry is not reachable: {exc}")
    found = collections.Counter((f.code, f.location.path, f.location.line)
                                for f in engine.check(["."], select=["ALL"], cwd=root).findings)
    entries = [e for e in LEDGER["findings"] if e["repo"] == repo]
    judged = collections.Counter((e["code"], e["path"], e["line"]) for e in entries)
    assert not found - judged, f"new findings to judge in the ledger: {sorted(found - judged)}"
    assert not judged - found, f"findings the ledger has that are gone: {sorted(judged - found)}"
    assert all(e["verdict"] in ("TP", "FP", "DEB") for e in entries), "unjudged ledger entries"
