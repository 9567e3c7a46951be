"""The versions a lock file records for the tracked libraries: uv.lock, poetry.lock, pdm.lock and
pylock.toml (TOML, one `[[package]]` table per package), Pipfile.lock (JSON).

A TOML lock can hold thousands of packages and the rules care about a handful, so it is not parsed
whole: each tracked package's own table is cut out of the text and parsed alone. A table that does not
parse is reported (PF001); the rest of the file is not read, so damage elsewhere goes unnoticed, as it
would not change a tracked version. Pipfile.lock is small, and JSON is parsed in C.
"""

from __future__ import annotations

import bisect
import json
import posixpath
import re

from preflight.findings import Location
from preflight.model import Fact, ParseError, VersionPin
from preflight.sources import tomltext
from preflight.sources.requirements import TRACKED, normalise
from preflight.sources.text import SourceText

_OWN_NAME = re.compile(r"^name[ \t]*=[ \t]*[\"']([^\"'\n]+)[\"']", re.MULTILINE)


def toml_lock(source: SourceText) -> list[Fact]:
    text, where = source.text, posixpath.basename(source.path)
    array = "packages" if where.lower().startswith("pylock") else "package"  # PEP 751 names it `packages`
    starts = [m.start() for m in re.finditer(rf"^\[\[[ \t]*{array}[ \t]*\]\][ \t]*$", text, re.MULTILINE)]
    # A package's table ends at the next package, or at a table that is not one of its sub-tables.
    ends = re.compile(rf"^\[(?!\[?[ \t]*{array}[ \t]*[.\]])|^\[\[[ \t]*{array}[ \t]*\]\]", re.MULTILINE)
    facts: list[Fact] = []
    for match in _OWN_NAME.finditer(text):
        library = normalise(match.group(1))
        index = bisect.bisect_right(starts, match.start()) - 1
        if library not in TRACKED or index < 0:
            continue
        start = starts[index]
        following = ends.search(text, start + 2)
        table = text[start:following.start() if following else len(text)]
        try:
            package = tomltext.tomllib.loads(table)[array][0]
        except tomltext.TOMLDecodeError as exc:
            line, column = tomltext.error_position(exc)
            reason = re.sub(r"\s*\(at line \d+, column \d+\)$", "", str(exc))  # relative to the table: wrong here
            facts.append(ParseError(Location(source.path, source.position(start)[0] + line - 1, column),
                                    f"invalid TOML in the {library} entry: {reason}"))
            continue
        version = package.get("version")
        if normalise(str(package.get("name", ""))) == library and isinstance(version, str):
            location = source.location(match.start(1), match.end(1))
            facts.append(VersionPin(location, library, f"=={version}", where, VersionPin.LOCK))
    return facts


def pipfile_lock(source: SourceText) -> list[Fact]:
    """`default` is what `pipenv install` installs; `develop` is added by `pipenv install --dev`."""
    try:
        data = json.loads(source.text)
    except (ValueError, RecursionError) as exc:
        location = Location(source.path, getattr(exc, "lineno", 1), getattr(exc, "colno", 1))
        return [ParseError(location, f"invalid JSON: {getattr(exc, 'msg', exc)}")]
    facts: list[Fact] = []
    for section, role in (("default", VersionPin.LOCK), ("develop", VersionPin.OPTIONAL)):
        packages = data.get(section) if isinstance(data, dict) else None
        section_at = re.search(rf"\"{section}\"\s*:", source.text)
        for name, entry in packages.items() if isinstance(packages, dict) and section_at else []:
            library = normalise(name)
            version = entry.get("version") if isinstance(entry, dict) else None
            if library not in TRACKED or not isinstance(version, str):
                continue
            key = re.compile(rf"\"{re.escape(name)}\"\s*:").search(source.text, section_at.end())
            location = source.location(key.start() + 1, key.start() + 1 + len(name)) if key else \
                Location.start_of(source.path)
            facts.append(VersionPin(location, library, version.strip(), f"Pipfile.lock {section}", role))
    return facts
