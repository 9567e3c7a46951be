"""The effective version of each library whose behaviour a rule depends on, and the range of releases
the project's declarations admit.

`[tool.preflight.versions]` decides when it names the library. Otherwise the project's declarations
(`VersionPin` facts) are ranked, and the best rank that names the library decides:

    rank  declaration
    1     a lock file (uv.lock, poetry.lock, pdm.lock, pylock.toml, Pipfile.lock, requirements*.lock):
          what a resolver chose, so what an install from the lock gets
    2     the project's main declaration: pyproject `[project]` and Poetry dependencies, setup.py and
          setup.cfg `install_requires`, an unqualified requirements file (requirements.txt,
          constraints.txt, requirements/base.txt), a conda environment, `pip install` in a Dockerfile
          or a script
    3     an optional set: an extra, a dependency group, a qualified requirements file
          (requirements-dev.txt), Pipfile.lock's `develop`
    4-6   the same three in a folder below the top of the project (examples/foo/requirements.txt): a
          sub-project's declaration, which installing the project does not follow

The top is the shallowest folder that holds a declaration (a `requirements/` folder counts as its
parent's): the project root whenever the root declares anything. Within the deciding rank an exact pin
(`==4.57.1`, every lock entry) wins, the first in path order; otherwise all of the rank's ranges hold at
once, so what can be installed is their intersection (a range that leaves nothing of the ones before it
is set aside rather than emptying it). The effective version is the newest known release the
intersection admits, which is what a fresh install gets; `Assumed` keeps the whole admitted range, so
that a rule can tell a behaviour that holds across it from one that holds for part of it. Every message
that depends on a version names the version, the range and where it came from, so a wrong assumption
is visible.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
from pathlib import Path
from dataclasses import dataclass

from preflight.model import VersionPin

# The newest release of each library the rules were checked against (their behaviour was verified against these);
# for the libraries with generated field data, the data's newest release is used instead.
NEWEST_KNOWN = {"wandb": "0.31.0", "mlflow": "3.17.2", "neptune": "1.14.0", "aim": "3.29.1"}
WITH_FIELD_DATA = ("transformers", "trl", "axolotl", "accelerate", "llamafactory")
# Frameworks that cap the libraries they run with (LLaMA-Factory 0.9.5 requires transformers>=4.55.0,<=5.6.0): a
# project that installs one at a range, or unversioned, gets the newest release of it that the range admits (what a
# fresh install resolves to), and that release's requirements bound the libraries it depends on. An exact pin of
# any library bounds them already.
BOUNDING = ("llamafactory",)
# Distributions that install the same library.
ALIASES = {"mlflow-skinny": "mlflow", "neptune-client": "neptune"}
# Best first; a declaration below the project's top ranks after every one at the top.
ROLES = (VersionPin.LOCK, VersionPin.MAIN, VersionPin.OPTIONAL)
NEWEST_SOURCE = "the newest version preflight knows"
CONFIGURED_SOURCE = "[tool.preflight.versions]"


@dataclass(frozen=True)
class Assumed:
    library: str
    version: str  # the effective release: the newest known one the declarations admit
    source: str  # "[tool.preflight.versions]", "pinned ==4.57.1 in uv.lock:120", "requires >=4.48 in setup.py:30, ..."
    admitted: tuple[str, ...] = ()  # the admitted releases preflight knows (and the range's bounds), oldest first
    specifier: str = ""  # the admitted range in PEP 440, "" when a single release is assumed
    configured: bool = False  # set in [tool.preflight.versions]: the project's declarations do not narrow it

    @property
    def major(self) -> int:
        return release(self.version)[0]

    @property
    def releases(self) -> tuple[str, ...]:
        return self.admitted or (self.version,)

    @property
    def lowest(self) -> str:
        return self.releases[0]

    def at_least(self, version: str) -> bool:
        """About the effective release alone; `all_at_least` asks it of the whole range."""
        return release(self.version) >= release(version)

    def admits_below(self, version: str) -> bool:
        """Some admitted release is older than `version`: a behaviour that starts there may be missing."""
        return release(self.lowest) < release(version)

    def admits_at_least(self, version: str) -> bool:
        """Some admitted release is `version` or newer. Besides the known releases, `version` itself is
        tested against the range when it is not newer than every known release, which answers for the
        libraries preflight knows only one release of (an upper bound below it)."""
        wanted = release(version)
        if any(release(found) >= wanted for found in self.releases):
            return True
        newest = known_versions(self.library)[-1:] or [self.version]
        return bool(self.specifier) and wanted <= release(newest[0]) and _admits(_specifiers(self.specifier),
                                                                                 version)

    def all_at_least(self, version: str) -> bool:
        return not self.admits_below(version)

    def all_below(self, version: str) -> bool:
        return not self.admits_at_least(version)

    def describe(self) -> str:
        return f"{self.library} {self.version} ({self.source})"


@functools.lru_cache(maxsize=4096)  # the rules compare the same few versions thousands of times a check
def release(version: str) -> tuple[int, ...]:
    """The release numbers of a version (`4.57.1` -> (4, 57, 1)), padded for comparison; enough for
    the thresholds the rules compare against, without importing a version parser on every run."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    numbers = tuple(min(int(part[:_DIGITS + 1]), _HUGE) for part in match.group(1).split(".")) if match else (0,)
    return numbers + (0,) * (3 - len(numbers))


# No release number has this many digits (date-based ones have 8); a declaration that writes one is not a
# version pip can install (and Python refuses to convert a number of more than 4,300 digits).
_DIGITS = 18
_HUGE = 10 ** _DIGITS
_IMPLAUSIBLE = re.compile(r"\d{%d}" % (_DIGITS + 1))


def known_versions(library: str) -> list[str]:
    if library in WITH_FIELD_DATA:
        from preflight.libraries import library as load

        return load(library).versions
    return [NEWEST_KNOWN[library]] if library in NEWEST_KNOWN else []


def effective(library: str, configured: dict[str, str], pins: list[VersionPin],
              implied: tuple[VersionPin, ...] = ()) -> Assumed:
    """`implied`: installs the project's launches show without a declaration (`llamafactory-cli train` runs
    LLaMA-Factory): they bound the other libraries as an unversioned requirement would, and decide nothing else."""
    if configured.get(library):
        return Assumed(library, configured[library], CONFIGURED_SOURCE, configured=True)
    pins = _plausible(pins)
    known = known_versions(library)
    ranked = _ranked(library, pins)
    for rank in sorted(set(ranked.values())):
        decided = _decide(library, [p for p, r in ranked.items() if r == rank], known)
        if decided:
            return _constrained(decided, pins, decided.releases, implied)
    return _constrained(Assumed(library, known[-1] if known else "unknown", NEWEST_SOURCE), pins, known, implied)


def _bounding(library: str, pins: list[VersionPin],
              implied: tuple[VersionPin, ...]) -> list[tuple[str, str, VersionPin]]:
    """(specifier on `library`, why, declaration) of each BOUNDING framework installed at a range or unversioned
    (declared, else implied by a launch): the requirement of the newest release of it that the range admits."""
    limits = []
    for name in BOUNDING:
        if name == library:
            continue
        pin = installed(name, pins) or next((p for p in implied if p.library == name), None)
        if pin is None or _exact(pin.specifier):
            continue  # not installed, or pinned exactly: the exact pin bounds it already
        admitted = _admitted(_specifiers(pin.specifier or ""), known_versions(name)) if pin.specifier else \
            known_versions(name)
        chosen = next((v for v in reversed(admitted) if v in _requires().get(name, {})), None)
        own = _requires().get(name, {}).get(chosen or "", {}).get(library)
        if own:
            admits = f" {_written(pin.specifier)} admits" if pin.specifier else ""
            limits.append((own, f"{name} {chosen} (the newest release{admits}, requiring {library}{_written(own)})",
                           pin))
    return limits


def _constrained(assumed: Assumed, pins: list[VersionPin], candidates, implied: tuple[VersionPin, ...] = ()) -> Assumed:
    """The admitted releases that can be installed with what else the project declares: a release whose own
    requirements conflict with the project's pins of its dependencies is left out (transformers 5.x needs
    huggingface-hub>=1.3, which `huggingface-hub<1.0` forbids), and so is one that an exactly pinned library
    does not accept (axolotl==0.19.0 pins transformers==5.16.1). The requirements of each release come from
    its wheel metadata (tools/generate_requires_data.py). If nothing would be left, the declarations are
    contradictory and the range stays as declared."""
    releases = [r for r in candidates if r != "unknown"]
    if not releases or assumed.configured:
        return assumed
    requires = _requires()
    declarations = _declared(pins)
    limits: list[tuple[str, str, VersionPin]] = []  # (specifier on this library, why, declaration)
    for dependency, declared in declarations.items():
        pin = declared[1]
        own = requires.get(dependency, {}).get(_exact(declared[0]) or "", {}).get(assumed.library)
        if own:  # the exactly pinned library requires this one in that range
            limits.append((own, f"{dependency}{declared[0]}", pin))
    limits += _bounding(assumed.library, pins, implied)
    kept = []
    for candidate in _with_upper_bounds(releases, limits):
        needs = requires.get(assumed.library, {}).get(candidate, {})
        clashes = [d for d, spec in needs.items() if d in declarations and not _overlap(spec, declarations[d][0])]
        if not clashes and all(_admits(_specifiers(spec), candidate) for spec, _, _ in limits):
            kept.append(candidate)
    if not kept or kept == releases or kept[-1] == assumed.version and not assumed.admitted:
        return assumed  # nothing left (contradictory declarations), or nothing changed
    why = sorted({f"{name}{spec} ({_at(pin)})" for name, (spec, pin) in declarations.items()
                  if any(name in requires.get(assumed.library, {}).get(r, {}) for r in releases)}
                 | {f"{text} ({_at(pin)})" for _, text, pin in limits})
    span = f"{kept[0]}–{kept[-1]}" if len(kept) > 1 else kept[0]
    return Assumed(assumed.library, kept[-1], f"{assumed.source}; with {' and '.join(why)} that is {span}",
                   tuple(kept), assumed.specifier)


def _with_upper_bounds(releases: list[str], limits) -> list[str]:
    """The candidate releases, with a limit's upper bound `<=4.57.1` in place of the examined release of its minor
    that the bound excludes (4.57.6): pip installs the bound, whose fields are its minor's."""
    result = list(releases)
    for spec, _, _ in limits:
        for bound in (s.version for s in _specifiers(spec) or () if s.operator == "<="):
            same = [r for r in result if release(r)[:2] == release(bound)[:2]]
            if same and bound not in result and all(release(r) > release(bound) for r in same):
                result[result.index(same[0])] = bound
    return result


def _declared(pins: list[VersionPin]) -> dict[str, tuple[str, VersionPin]]:
    """Each other library's specifier as the project's best declaration of it gives it."""
    found: dict[str, tuple[str, VersionPin]] = {}
    for pin in sorted(pins, key=lambda p: ROLES.index(p.role) if p.role in ROLES else len(ROLES)):
        name = ALIASES.get(pin.library, pin.library)
        if pin.specifier and name not in found:
            found[name] = (pin.specifier, pin)
    return found


def _overlap(first: str, second: str) -> bool:
    """Can one release satisfy both specifiers? Tried on the versions either names, nudged a little."""
    a, b = _specifiers(first), _specifiers(second)
    if a is None or b is None:
        return True  # not understood: no claim
    candidates = []
    for spec in (*a, *b):
        base = spec.version.rstrip(".*")
        numbers = release(base)
        candidates += [base, ".".join(map(str, (*numbers[:2], numbers[2] + 1))),
                       ".".join(map(str, (numbers[0], numbers[1] + 1, 0))) if len(numbers) > 1 else base]
        if numbers[1] > 0 or numbers[2] > 0:
            candidates.append(".".join(map(str, (numbers[0], max(numbers[1] - 1, 0), 99))))
    return any(_admits(a, c) and _admits(b, c) for c in candidates)


@functools.cache
def _requires() -> dict:
    path = Path(__file__).parent / "data" / "libraries" / "requires.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["requires"]
    except (OSError, ValueError, KeyError):
        return {}


def installed(library: str, pins: list[VersionPin]) -> VersionPin | None:
    """The requirement through which the project installs `library` (any specifier), best rank first."""
    ranked = _ranked(library, _plausible(pins))
    return min(ranked, key=ranked.__getitem__) if ranked else None


def _plausible(pins: list[VersionPin]) -> list[VersionPin]:
    """The declarations whose versions are numbers a release can have (see _DIGITS)."""
    return [pin for pin in pins if not _IMPLAUSIBLE.search(pin.specifier)]


def _ranked(library: str, pins: list[VersionPin]) -> dict[VersionPin, int]:
    """The pins of `library` in path order, each with its rank (see the module docstring)."""
    top = min((_depth(p.location.path) for p in pins), default=0)
    mine = sorted((p for p in pins if _installs(p, library)), key=lambda p: (p.location.path, p.location.line))
    roles = {role: index for index, role in enumerate(ROLES)}
    return {p: roles.get(p.role, len(ROLES) - 1) + (len(ROLES) if _depth(p.location.path) > top else 0)
            for p in mine}


def _depth(path: str) -> int:
    folder = posixpath.dirname(path)
    if posixpath.basename(folder) == "requirements":
        folder = posixpath.dirname(folder)
    return 0 if folder in ("", ".") else folder.count("/") + 1


# The different ranges of one library at one rank that are intersected: each costs a pass over the known
# releases with every range so far, so a project declaring one library in thousands of ways (a generated
# file) would cost their cube. Real projects write a few; past this many, the first ones decide.
MAX_RANGES = 64


def _decide(library: str, pins: list[VersionPin], known: list[str]) -> Assumed | None:
    for found in pins:
        exact = _exact(found.specifier)
        if exact:
            return Assumed(library, exact, f"pinned =={exact} in {_at(found)}")
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # a range to intersect: load on use

    combined, kept = SpecifierSet(""), []
    verdicts: dict[str, tuple[bool, int]] = {}  # specifier -> (kept, narrowings made when it was judged)
    narrowings = 0
    for found in pins:
        verdict = verdicts.get(found.specifier)
        if verdict is not None and (verdict[0] or verdict[1] == narrowings):
            if verdict[0]:  # the same range again narrows nothing; one refused before anything changed is refused
                kept.append(found)
            continue
        if len(verdicts) >= MAX_RANGES:
            break  # see MAX_RANGES
        try:
            narrowed = combined & SpecifierSet(found.specifier)
        except InvalidSpecifier:
            continue
        admits = bool(_admitted(narrowed, known))
        if admits:
            combined = narrowed
            kept.append(found)
            narrowings += 1
        verdicts[found.specifier] = (admits, narrowings)
    admitted = _admitted(combined, known)
    if not admitted:
        return None
    ranges = [p for p in kept if p.specifier]
    if not ranges:
        return Assumed(library, admitted[-1], f"installed unversioned in {_at(kept[0])}: a fresh install gets "
                                              "the newest", tuple(admitted))
    span = f"{admitted[0]}–{admitted[-1]}" if len(admitted) > 1 else admitted[0]
    declared = " and ".join(f"{_written(p.specifier)} in {_at(p)}" for p in ranges)
    verb = "admits" if len(ranges) == 1 else "admit"
    return Assumed(library, admitted[-1], f"requires {declared}, which {verb} {span}", tuple(admitted),
                   str(combined))


def _exact(specifier: str) -> str | None:
    exact = re.fullmatch(r"===?\s*([0-9v][\w.+!-]*)", specifier.strip())
    if exact:
        return exact.group(1)  # the common case, answered without a specifier parser
    if "==" not in specifier:
        return None
    specifiers = _specifiers(specifier)
    found = [s.version for s in specifiers or () if s.operator in ("==", "===") and "*" not in s.version]
    return found[0] if found else None


def _specifiers(specifier: str):
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(specifier)
    except InvalidSpecifier:
        return None


def _admitted(specifiers, known: list[str]) -> list[str]:
    """The known releases a range admits, and its own bounds (a release the data may lack), oldest first."""
    bounds = [s.version.rstrip(".*").lstrip("vV") for s in specifiers if s.operator in (">=", "~=", "==", "<=")]
    admitted: dict[tuple[int, ...], str] = {}
    for candidate in [*known, *bounds]:
        if _admits(specifiers, candidate):
            admitted.setdefault(release(candidate), candidate)
    return [admitted[key] for key in sorted(admitted)]


def _admits(specifiers, version: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return specifiers is not None and Version(version) in specifiers
    except InvalidVersion:
        return False


_LOWER_FIRST = {">=": 0, ">": 0, "~=": 0, "==": 1, "===": 1, "!=": 2, "<=": 3, "<": 3}


def _written(specifier: str) -> str:
    """A range as people write it, lower bound first (`>=4.40,<5`; packaging sorts it `<5,>=4.40`)."""
    parts = [p.strip() for p in specifier.split(",") if p.strip()]
    return ",".join(sorted(parts, key=lambda p: _LOWER_FIRST.get(re.match(r"[<>=!~]*", p).group(0), 2)))


def _at(pin: VersionPin) -> str:
    return f"{pin.location.path}:{pin.location.line}"


def _installs(pin: VersionPin, library: str) -> bool:
    return ALIASES.get(pin.library, pin.library) == library
