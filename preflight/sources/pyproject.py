"""The tracked requirements a pyproject.toml declares: PEP 621 `[project]` dependencies and
optional-dependencies, PEP 735 dependency-groups, and Poetry's `[tool.poetry]` dependency tables.

Poetry writes versions in its own constraint language; they are translated to PEP 440 here
(`^4.40` is `>=4.40,<5`, `~4.40` is `>=4.40,<4.41`) so that one specifier parser ranks every
declaration. A constraint that has no PEP 440 form (`^1 || ^2`) counts as an unversioned requirement.
"""

from __future__ import annotations

import dataclasses
import re

from preflight.findings import Location
from preflight.model import Fact, ParseError, VersionPin
from preflight.sources import tomltext
from preflight.sources.requirements import TRACKED, normalise, pin
from preflight.sources.text import SourceText

_MAIN, _OPTIONAL = VersionPin.MAIN, VersionPin.OPTIONAL


def extract(source: SourceText) -> list[Fact]:
    data = tomltext.load(source)
    if isinstance(data, ParseError):
        return [data]
    return [*_pep621(source, data), *_poetry(source, data)]


def _pep621(source: SourceText, data: dict) -> list[Fact]:
    project = _table(data.get("project"))
    groups: list[tuple[tuple[str, ...], str, str, object]] = [
        (("project", "dependencies"), "pyproject dependencies", _MAIN, project.get("dependencies"))]
    for name, deps in _table(project.get("optional-dependencies")).items():
        groups.append((("project", "optional-dependencies", name), f"pyproject optional-dependencies.{name}",
                       _OPTIONAL, deps))
    for name, deps in _table(data.get("dependency-groups")).items():
        groups.append((("dependency-groups", name), f"pyproject dependency-groups.{name}", _OPTIONAL, deps))
    facts: list[Fact] = []
    positions = tomltext.Positions(source)
    for parts, where, role, requirements in groups:
        for text in requirements if isinstance(requirements, list) else []:
            # located only when it names a tracked library: most entries of a long list do not
            found = pin(text, Location.start_of(source.path), where, role) if isinstance(text, str) else None
            if found:
                facts.append(dataclasses.replace(found, location=positions.locate(parts, text)))
    return facts


def _poetry(source: SourceText, data: dict) -> list[Fact]:
    poetry = _table(_table(data.get("tool")).get("poetry"))
    tables = [(("tool", "poetry", "dependencies"), "poetry dependencies", _MAIN, poetry.get("dependencies")),
              (("tool", "poetry", "dev-dependencies"), "poetry dev-dependencies", _OPTIONAL,
               poetry.get("dev-dependencies"))]
    for name, group in _table(poetry.get("group")).items():
        tables.append((("tool", "poetry", "group", name, "dependencies"), f"poetry group.{name}", _OPTIONAL,
                       _table(group).get("dependencies")))
    facts: list[Fact] = []
    positions = tomltext.Positions(source)
    for parts, where, role, dependencies in tables:
        for name, value in _table(dependencies).items():
            library = normalise(name)
            if library not in TRACKED:
                continue
            location = positions.locate((*parts, name))
            for constraint in value if isinstance(value, list) else [value]:
                version = constraint.get("version", "") if isinstance(constraint, dict) else constraint
                optional = isinstance(constraint, dict) and constraint.get("optional") is True
                specifier = poetry_specifier(version) if isinstance(version, str) else ""
                facts.append(VersionPin(location, library, specifier, where, _OPTIONAL if optional else role))
    return facts


def _table(value: object) -> dict:
    return value if isinstance(value, dict) else {}


_VERSION = re.compile(r"v?(\d+(?:\.\d+)*)([\w.+-]*)")


def poetry_specifier(constraint: str) -> str:
    """A Poetry constraint as a PEP 440 specifier; "" for any version or a constraint without one."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = constraint.strip()
    if text in ("", "*") or "|" in text:
        return ""
    parts = []
    for part in (p.strip() for p in re.split(r",|\s+(?=[<>=!~^])", text)):
        if not part:
            continue
        caret, tilde = part.startswith("^"), part.startswith("~") and not part.startswith("~=")
        bare = _VERSION.fullmatch(part.lstrip("^~= \t"))
        if (caret or tilde) and bare:
            numbers = [int(n) for n in bare.group(1).split(".")]
            parts += [f">={bare.group(0)}", f"<{_upper(numbers, caret)}"]
        elif re.match(r"=?[ \t]*v?\d", part):
            parts.append("==" + part.lstrip("= \t"))  # `4.57.1` and `=4.57.1` are exact in Poetry, `4.57.*` a wildcard
        else:
            parts.append(part.replace(" ", ""))
    try:
        return str(SpecifierSet(",".join(parts)))
    except InvalidSpecifier:
        return ""


def _upper(numbers: list[int], caret: bool) -> str:
    """The exclusive upper bound: a caret may not change the leftmost non-zero number, a tilde the minor
    number (or the major one, when only a major is given)."""
    if caret:
        nonzero = [i for i, n in enumerate(numbers) if n]
        index = nonzero[0] if nonzero else len(numbers) - 1
    else:
        index = min(1, len(numbers) - 1)
    return ".".join(str(n) for n in [*numbers[:index], numbers[index] + 1])
