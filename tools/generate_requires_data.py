"""Write preflight/data/libraries/requires.json: what each examined release of transformers, TRL, Axolotl,
accelerate and LLaMA-Factory requires of the libraries whose pins decide which release a project can install.

    python tools/generate_requires_data.py                 # every library
    python tools/generate_requires_data.py llamafactory    # one, the others kept as they are

A project that pins `huggingface-hub<1.0` cannot install any transformers 5.x (5.0.0 requires
huggingface-hub>=1.3.0): the range it declares for transformers itself is not the whole story. The
`Requires-Dist` lines come from each release's wheel metadata as the package registry serves it (PEP 658
`.metadata` files, a few KB each, else the wheel's own METADATA): nothing is installed, imported or executed.
The releases are those of the field data (preflight/data/libraries/<library>.json).
"""

from __future__ import annotations

import io
import json
import re
import sys
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "preflight" / "data" / "libraries"
LIBRARIES = ("transformers", "trl", "axolotl", "accelerate", "llamafactory")
# Environment markers of a requirement a Linux training machine with Python 3.10+ does not satisfy (LLaMA-Factory
# 0.9.3 caps transformers lower on macOS; 0.9.2 has a line for Python < 3.10).
_NOT_LINUX = re.compile(r"""sys_platform\s*==\s*["'](darwin|win32)|platform_system\s*==\s*["'](Darwin|Windows)|"""
                        r"""python_version\s*<\s*["']3\.(\d|10)["']""")
DEPENDENCIES = {"huggingface-hub", "transformers", "trl", "accelerate", "peft", "datasets"}
_REQUIREMENT = re.compile(r"^Requires-Dist:\s*([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*\(?([^;()]*)\)?\s*(;.*)?$")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(package: str, version: str, releases: dict) -> dict[str, str] | None:
    wheels = [u for u in releases.get(version, []) if u["packagetype"] == "bdist_wheel"]
    if not wheels:
        return None
    base = f"https://pypi.org/pypi/{package}/json"
    url = urllib.parse.urljoin(base, wheels[0]["url"]) + ".metadata"
    try:
        text = urllib.request.urlopen(url, timeout=60).read().decode("utf-8", "replace")
    except OSError:  # no separate metadata file for this upload: read it from the wheel itself
        text = _metadata_from_wheel(urllib.parse.urljoin(base, wheels[0]["url"]))
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _REQUIREMENT.match(line.strip())
        if not match or (match.group(3) and "extra" in match.group(3)):
            continue  # an extra's requirement: not installed by default
        if match.group(3) and _NOT_LINUX.search(match.group(3)):
            continue  # for another platform or an older Python than a training machine runs
        name = _normalise(match.group(1))
        if name in DEPENDENCIES and name != package:
            found[name] = match.group(2).strip().replace(" ", "")
    return found


def _metadata_from_wheel(url: str) -> str:
    data = urllib.request.urlopen(url, timeout=300).read()
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        return wheel.read(name).decode("utf-8", "replace")


def main() -> int:
    chosen = [name for name in sys.argv[1:] if name in LIBRARIES] or list(LIBRARIES)
    path = DATA / "requires.json"
    result: dict[str, dict[str, dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))["requires"] \
        if path.exists() and chosen != list(LIBRARIES) else {}
    for package in chosen:
        versions = json.loads((DATA / f"{package}.json").read_text(encoding="utf-8"))["versions"]
        releases = json.load(urllib.request.urlopen(f"https://pypi.org/pypi/{package}/json", timeout=60))["releases"]
        result[package] = {}
        for version in versions:
            found = requirements(package, version, releases)
            if found is not None:
                result[package][version] = found
            print(package, version, found, file=sys.stderr)
    path.write_text(json.dumps({"generated_by": "tools/generate_requires_data.py",
                                                    "requires": result}, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
