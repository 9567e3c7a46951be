"""The tracked requirements of a conda environment file: its `dependencies` (conda match specs) and
the `pip:` list among them (pip requirement strings).

A conda match spec is not PEP 508: `transformers=4.46` is fuzzy (any 4.46.x), `transformers==4.46`
exact, `transformers=4.46.1=pyhd8ed1ab_0` (what `conda env export` writes) exact with a build. It is
translated to PEP 440 here, so that one specifier parser ranks every declaration.
"""

from __future__ import annotations

import posixpath
import re

from preflight.findings import Location
from preflight.model import Fact, ParseError, VersionPin
from preflight.sources import yamltree as y
from preflight.sources.requirements import TRACKED, normalise, pin
from preflight.sources.text import SourceText

_SPEC = re.compile(r"(?:[\w./-]+::)?([A-Za-z0-9][\w.-]*)\s*(.*)")


def environment(source: SourceText) -> list[Fact]:
    try:
        documents = y.compose_documents(source.text)
    except y.YamlFailure as failure:
        return [ParseError(Location(source.path, failure.line, failure.column), f"invalid YAML: {failure}")]
    where = posixpath.basename(source.path)
    facts: list[Fact] = []
    for entry in y.sequence(y.get(documents[0], "dependencies") if documents else None):
        if isinstance(entry, y.MappingNode):
            for item in y.sequence(y.get(entry, "pip")):
                text = y.scalar_text(item)
                found = pin(text, _location(source, item), f"{where} pip") if text and text[:1] != "-" else None
                if found:
                    facts.append(found)
            continue
        text = y.scalar_text(entry)
        match = _SPEC.fullmatch(text.strip()) if text else None
        if match and normalise(match.group(1)) in TRACKED:
            facts.append(VersionPin(_location(source, entry), normalise(match.group(1)),
                                    match_spec(match.group(2)), where))
    return facts


def _location(source: SourceText, node: y.Node) -> Location:
    """The text of a scalar: inside its quotes when it is quoted."""
    location = y.location(source, node)
    if getattr(node, "style", None) in ('"', "'") and location.end_column > location.column + 1:
        return Location(location.path, location.line, location.column + 1, location.end_line,
                        location.end_column - 1)
    return location


def match_spec(version: str) -> str:
    """The PEP 440 specifier of a conda match spec's version part; "" for any version or one that has no
    PEP 440 form (`1.0|2.0`, a bracketed spec)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = version.strip()
    if not text or "|" in text or text.startswith("["):
        return ""
    words = text.split()
    if re.match(r"=?[\d*]", words[0]):  # `=1.2`, `1.2`, `=1.2=build`, `1.2 build`
        version, _, build = words[0].lstrip("=").partition("=")
        exact = bool(build) or len(words) > 1  # a build string names one release
        specifier = f"=={version}" if exact or version.endswith("*") else f"=={version}.*"
    else:
        specifier = "".join(words)
    try:
        return str(SpecifierSet(specifier))
    except InvalidSpecifier:
        return ""
