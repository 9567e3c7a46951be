"""Requirement strings of the tracked libraries: requirements files (`.txt`, `.in`, `.lock`) and
`pip install` commands in Dockerfiles and scripts; every other declaration format hands its
requirement strings to `pin`.

Only the libraries whose behaviour the rules depend on are recorded. Requirement syntax is PEP 508,
parsed by `packaging` (pip's own parser): lines it rejects (pip options, URLs, paths) are not
requirements of a tracked library and are skipped, never reported.
"""

from __future__ import annotations

import posixpath
import re
import shlex

from preflight.findings import Location
from preflight.model import Fact, VersionPin
from preflight.sources.text import SourceText

TRACKED = frozenset({
    "transformers", "trl", "axolotl", "accelerate", "wandb", "mlflow", "mlflow-skinny", "neptune", "neptune-client",
    "neptune-scale", "aim",
    "huggingface-hub",  # its pins decide which transformers releases can be installed (versions.py)
    "llamafactory",  # its release decides the transformers it runs with (versions.BOUNDING)
})
_NAME_HINT = re.compile(r"transformers|trl|axolotl|accelerate|wandb|mlflow|neptune|aim|huggingface|llamafactory",
                        re.IGNORECASE)
_NAME_HINT_BYTES = re.compile(_NAME_HINT.pattern.encode(), re.IGNORECASE)
# The qualifiers of a requirements file that still name the project's main set (`requirements-base.txt`,
# `requirements/prod.txt`); any other (`-dev`, `_gpu`, `docs`) names an extra set someone opts into.
_MAIN_QUALIFIERS = frozenset({"", "base", "main", "core", "common", "default", "prod", "production", "runtime"})
_LOCK_QUALIFIERS = frozenset({"lock", "locked", "frozen", "pinned"})  # pip-compile/pip-freeze output kept as .txt
_PIP_INSTALL = re.compile(r"\b(?:pip3?|uv\s+pip|python3?\s+-m\s+pip)\s+install\b")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def mentions_tracked(data: bytes) -> bool:
    """Whether a declaration file can name a tracked library at all: the pre-filter for every
    declaration kind, so that a lock file of a project without them costs one regex search."""
    return _NAME_HINT_BYTES.search(data) is not None


def pin(text: str, location: Location, where: str, role: str = VersionPin.MAIN) -> VersionPin | None:
    """The pin a requirement string expresses, if it names a tracked library."""
    if not _NAME_HINT.search(text):
        return None
    from packaging.requirements import InvalidRequirement, Requirement  # loaded once a file names a library

    try:
        requirement = Requirement(text.strip())
    except InvalidRequirement:
        return None
    library = normalise(requirement.name)
    if library not in TRACKED:
        return None
    return VersionPin(location, library, str(requirement.specifier), where, role)


def file_role(path: str) -> str:
    """A `.lock` file is what a resolver chose; the unqualified file (requirements.txt, constraints.txt,
    requirements/base.txt) is the project's main set; a qualified one (requirements-dev.txt,
    requirements/docs.txt) an extra set."""
    name = posixpath.basename(path).lower()
    stem, _, suffix = name.rpartition(".")
    qualifier = re.sub(r"requirements|constraints", "", stem, count=1).strip("._-")
    if suffix == "lock" or qualifier in _LOCK_QUALIFIERS:
        return VersionPin.LOCK
    return VersionPin.MAIN if qualifier in _MAIN_QUALIFIERS else VersionPin.OPTIONAL


def requirements_file(source: SourceText) -> list[Fact]:
    facts: list[Fact] = []
    offset = 0
    where = posixpath.basename(source.path)
    role = file_role(source.path)
    for line in source.text.split("\n"):
        start = offset
        offset += len(line) + 1
        content = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].rstrip().rstrip("\\").strip()
        if not content or content.startswith("-"):
            continue
        leading = len(line) - len(line.lstrip())
        found = pin(content, source.location(start + leading, start + leading + len(content)), where, role)
        if found:
            facts.append(found)
    return facts


# Where the words of one `pip install` end: the next command of its line.
_COMMAND_END = re.compile(r"&&|\|\||;|\|")
# How far past the cursor a requirement is looked for in the text (one written in quotes, or escaped, is
# not found where shlex leaves it, and a scan of the rest of a long line for each would cost its square).
_SEARCH_WINDOW = 64 << 10


def pip_installs(source: SourceText, start: int, end: int, command: str, where: str) -> list[Fact]:
    """The tracked requirements of every `pip install` in a shell command spanning text[start:end].
    Linear in the command: each install's words are read up to its command's end, and each requirement
    is located past the one before it, within a window."""
    facts: list[Fact] = []
    cursor = start
    for match in _PIP_INSTALL.finditer(command):
        # the command is the text or the text with continuations and comments taken out: an offset in it
        # is at most the same offset past `start`
        cursor = max(cursor, start + match.start())
        stop = _COMMAND_END.search(command, match.end())
        rest = command[match.end():stop.start() if stop else len(command)]
        if not _NAME_HINT.search(rest):
            continue
        try:
            words = shlex.split(rest)
        except ValueError:
            continue
        for word in words:
            if word.startswith("-") or not _NAME_HINT.search(word):
                continue
            index = source.text.find(word, cursor, min(end, cursor + 4 * len(word) + _SEARCH_WINDOW))
            if index >= 0:
                cursor = index + len(word)
            location = (source.location(index, index + len(word)) if index >= 0
                        else source.location(start, end))
            found = pin(word, location, where)
            if found:
                facts.append(found)
    return facts
