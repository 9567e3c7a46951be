"""The effective version of each library whose behaviour a rule depends on.

In order: `[tool.preflight.versions]`, else a pin found in the project (an exact `==` pin first, then
the newest examined release a range admits), else the newest release the rules know. Every message
that depends on a version names the version and where it came from, so a wrong assumption is visible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from preflight.model import VersionPin

# The newest release of each library the rules were checked against (research/evidence.md §0);
# for the libraries with generated field data, the data's newest release is used instead.
NEWEST_KNOWN = {"wandb": "0.31.0", "mlflow": "3.17.2", "neptune": "1.14.0", "aim": "3.29.1"}
WITH_FIELD_DATA = ("transformers", "trl", "axolotl", "accelerate")
# Distributions that install the same library.
ALIASES = {"mlflow-skinny": "mlflow", "neptune-client": "neptune"}


@dataclass(frozen=True)
class Assumed:
    library: str
    version: str
    source: str  # "[tool.preflight.versions]", "pinned in requirements.txt:3", "the newest version preflight knows"

    @property
    def major(self) -> int:
        return release(self.version)[0]

    def at_least(self, version: str) -> bool:
        return release(self.version) >= release(version)

    def describe(self) -> str:
        return f"{self.library} {self.version} ({self.source})"


def release(version: str) -> tuple[int, ...]:
    """The release numbers of a version (`4.57.1` -> (4, 57, 1)), padded for comparison; enough for
    the thresholds the rules compare against, without importing a version parser on every run."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    numbers = tuple(int(part) for part in match.group(1).split(".")) if match else (0,)
    return numbers + (0,) * (3 - len(numbers))


def known_versions(library: str) -> list[str]:
    if library in WITH_FIELD_DATA:
        from preflight.libraries import library as load

        return load(library).versions
    return [NEWEST_KNOWN[library]] if library in NEWEST_KNOWN else []


def effective(library: str, configured: dict[str, str], pins: list[VersionPin]) -> Assumed:
    if configured.get(library):
        return Assumed(library, configured[library], "[tool.preflight.versions]")
    known = known_versions(library)
    mine = [p for p in pins if _installs(p, library) and p.specifier]
    for exact_first in (True, False):
        for found in mine:
            version = _satisfying(found.specifier, known, exact_only=exact_first)
            if version:
                return Assumed(library, version, f"pinned {found.specifier} in {found.location.path}:"
                                                  f"{found.location.line}")
    return Assumed(library, known[-1] if known else "unknown", "the newest version preflight knows")


def _satisfying(specifier: str, known: list[str], *, exact_only: bool) -> str | None:
    exact = re.fullmatch(r"===?\s*([0-9][\w.+!-]*)", specifier.strip())
    if exact and "*" not in exact.group(1):
        return exact.group(1)  # the common case, answered without a specifier parser
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # pins with a range are rare: load on use

    try:
        specifiers = SpecifierSet(specifier)
    except InvalidSpecifier:
        return None
    exact = [s.version for s in specifiers if s.operator in ("==", "===") and "*" not in s.version]
    if exact_only:
        return exact[0] if exact else None
    candidates = [*known, *(s.version.rstrip(".*") for s in specifiers if s.operator in (">=", "~=", "=="))]
    admitted = [v for v in candidates if _admits(specifiers, v)]
    return max(admitted, key=release) if admitted else None


def _admits(specifiers, version: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) in specifiers
    except InvalidVersion:
        return False


def installed(library: str, pins: list[VersionPin]) -> VersionPin | None:
    """The first requirement that installs `library` (any specifier)."""
    return next((p for p in pins if _installs(p, library)), None)


def _installs(pin: VersionPin, library: str) -> bool:
    return ALIASES.get(pin.library, pin.library) == library
