"""Which versions of the tracked libraries a project installs: requirements files, pyproject
dependencies, and `pip install` commands in Dockerfiles and scripts.

Only the libraries whose behaviour the rules depend on are recorded. Requirement syntax is PEP 508,
parsed by `packaging` (pip's own parser): lines it rejects (pip options, URLs, paths) are not
requirements of a tracked library and are skipped, never reported.
"""

from __future__ import annotations

import posixpath
import re
import shlex

from packaging.requirements import InvalidRequirement, Requirement

from preflight.findings import Location
from preflight.model import Fact, ParseError, VersionPin
from preflight.sources.text import SourceText

TRACKED = frozenset({
    "transformers", "trl", "axolotl", "accelerate", "wandb", "mlflow", "mlflow-skinny", "neptune", "neptune-client",
    "neptune-scale", "aim",
})
_NAME_HINT = re.compile(r"transformers|trl|axolotl|accelerate|wandb|mlflow|neptune|aim", re.IGNORECASE)
_PIP_INSTALL = re.compile(r"\b(?:pip3?|uv\s+pip|python3?\s+-m\s+pip)\s+install\b")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pin(text: str, location: Location, where: str) -> VersionPin | None:
    """The pin a requirement string expresses, if it names a tracked library."""
    if not _NAME_HINT.search(text):
        return None
    try:
        requirement = Requirement(text.strip())
    except InvalidRequirement:
        return None
    library = normalise(requirement.name)
    if library not in TRACKED:
        return None
    return VersionPin(location, library, str(requirement.specifier), where)


def requirements_file(source: SourceText) -> list[Fact]:
    facts: list[Fact] = []
    offset = 0
    where = posixpath.basename(source.path)
    for line in source.text.split("\n"):
        start = offset
        offset += len(line) + 1
        content = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].rstrip().rstrip("\\").strip()
        if not content or content.startswith("-"):
            continue
        leading = len(line) - len(line.lstrip())
        found = pin(content, source.location(start + leading, start + leading + len(content)), where)
        if found:
            facts.append(found)
    return facts


def pyproject(source: SourceText) -> list[Fact]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        line, column = _toml_position(str(exc))
        return [ParseError(Location(source.path, line, column), f"invalid TOML: {exc}")]
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    groups: list[tuple[str, object]] = [("pyproject dependencies", project.get("dependencies"))]
    optional = project.get("optional-dependencies")
    if isinstance(optional, dict):
        groups += [(f"pyproject optional-dependencies.{name}", deps) for name, deps in optional.items()]
    dependency_groups = data.get("dependency-groups")
    if isinstance(dependency_groups, dict):
        groups += [(f"pyproject dependency-groups.{name}", deps) for name, deps in dependency_groups.items()]
    facts: list[Fact] = []
    for where, requirements in groups:
        for text in requirements if isinstance(requirements, list) else []:
            if isinstance(text, str):
                found = pin(text, _locate(source, text), where)
                if found:
                    facts.append(found)
    return facts


def _toml_position(message: str) -> tuple[int, int]:
    match = re.search(r"line (\d+), column (\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)


def _locate(source: SourceText, text: str) -> Location:
    """tomllib keeps no positions: the requirement string's first quoted occurrence is where it is."""
    for quote in ('"', "'"):
        index = source.text.find(quote + text + quote)
        if index >= 0:
            return source.location(index + 1, index + 1 + len(text))
    return Location.start_of(source.path)


def pip_installs(source: SourceText, start: int, end: int, command: str, where: str) -> list[Fact]:
    """The tracked requirements of every `pip install` in a shell command spanning text[start:end]."""
    facts: list[Fact] = []
    for match in _PIP_INSTALL.finditer(command):
        rest = re.split(r"&&|\|\||;|\|", command[match.end():], maxsplit=1)[0]
        try:
            words = shlex.split(rest)
        except ValueError:
            continue
        for word in words:
            if word.startswith("-") or not _NAME_HINT.search(word):
                continue
            index = source.text.find(word, start, end)
            location = (source.location(index, index + len(word)) if index >= 0
                        else source.location(start, end))
            found = pin(word, location, where)
            if found:
                facts.append(found)
    return facts
