"""Text fixes at known positions (YAML, shell, Dockerfiles, launcher command lines), checked against the
text they change: a rule says what to change where its facts put it, and gets an edit only when the file
reads there as the rule expects (`--evaluation_strategy` really is at the flag's position, the YAML key is
alone on its line), never an edit that lands in other text. Python's fixes are transforms instead
(preflight.pyedits).
"""

from __future__ import annotations

import re

from preflight import linebreaks
from preflight.findings import Edit, Location
from preflight.sources.text import SourceText

_SHELL_WORD = re.compile(r"[A-Za-z0-9_./:@%+,=-]+")
# After a YAML key, to the end of its line: `: value`, `: "value"`, a comment after it
_ENTRY_VALUE = re.compile(r"[ \t]*:[ \t]*(?:(['\"])(.*?)\1|([^'\"#\s][^#]*?))?[ \t]*(?:#.*)?")


def source(project, path: str) -> SourceText | None:
    """The file as its facts were extracted: positions count from after a byte-order mark."""
    text = project.read_text(path)
    if text is None:
        return None
    return SourceText(path, text[1:] if text.startswith("\ufeff") else text)


def span(text: SourceText, location: Location) -> tuple[int, int]:
    return text.offset(location.line, location.column), text.offset(location.end_line, location.end_column)


def replace(project, location: Location, expected: str, replacement: str) -> Edit | None:
    """`expected` at `location` becomes `replacement`; None when the file does not read `expected` there."""
    text = source(project, location.path)
    if text is None:
        return None
    start, end = span(text, location)
    return Edit(location, replacement) if text.text[start:end] == expected else None


def insert_line_before(project, location: Location, line: str) -> Edit | None:
    """`line` (without its break) inserted above the line of `location`, with that line's indentation."""
    text = source(project, location.path)
    if text is None:
        return None
    current = text.line(location.line)
    indent = current[: len(current) - len(current.lstrip(" \t"))]
    return Edit(Location(location.path, location.line, 1, location.line, 1), f"{indent}{line}\n")


def insert_lines(project, location: Location, lines: str) -> Edit | None:
    """`lines` (each ending in a line break, written as the file breaks its lines) inserted above the line
    that `location` starts, when it starts a line there."""
    text = source(project, location.path)
    if text is None or location.column != 1 or not 1 <= location.line <= len(text.lines):
        return None
    start = text.offset(location.line, 1)
    if start and text.text[start - 1] not in "\n\r":
        return None
    if text.text.startswith("\r\n", start + len(text.line(location.line))):
        lines = lines.replace("\n", "\r\n")
    return Edit(Location(location.path, location.line, 1, location.line, 1), lines)


def replace_env_value(project, location: Location, name: str, value: str, new: str) -> Edit | None:
    """The value of a compose-style environment entry, read as `value`, becomes `new`, quoted as it was:
    `NAME: value` on one line (`location` the key), or a list item `NAME=value` (`location` the item)."""
    text = source(project, location.path)
    if text is None or location.line != location.end_line:
        return None
    start, end = span(text, location)
    body = text.text
    written = body[start:end]
    quote = written[:1] if len(written) >= 2 and written[0] == written[-1] and written[0] in "'\"" else ""
    if (written[1:-1] if quote else written) == f"{name}={value}":  # a list item
        if quote and (quote in new or "\\" in new):
            return None
        return Edit(location, f"{quote}{name}={new}{quote}")
    if written != name:
        return None
    line_end = start + len(text.line(location.line)) - (location.column - 1)
    found = _ENTRY_VALUE.fullmatch(body, end, line_end)
    if found is None or (found.group(2) if found.group(1) else found.group(3) or "") != value:
        return None
    if found.group(1):
        if found.group(1) in new or "\\" in new:
            return None
        begin, finish = found.start(2), found.end(2)
    elif found.group(3):
        begin, finish = found.start(3), found.end(3)
    else:
        return None
    return Edit(text.location(begin, finish), new)


def remove_line(project, location: Location, word: str) -> Edit | None:
    """The line of `location` (an instruction on one line), when it starts with `word` after indentation."""
    text = source(project, location.path)
    if text is None or location.line != location.end_line:
        return None
    words = text.line(location.line).split(None, 1)
    if not words or words[0].upper() != word.upper():
        return None
    return Edit(Location(location.path, location.line, 1, location.line + 1, 1), "")


def insert_after_word(project, location: Location, word: str, addition: str) -> Edit | None:
    """`addition` right after `word`, the first word of the line of `location` (`RUN` of an instruction)."""
    text = source(project, location.path)
    if text is None:
        return None
    line = text.line(location.line)
    indent = len(line) - len(line.lstrip(" \t"))
    after = indent + len(word)
    if line[indent:after].upper() != word.upper() or line[after:after + 1] not in (" ", "\t"):
        return None
    return Edit(Location(location.path, location.line, after + 1, location.line, after + 1), addition)


def remove_yaml_entry(project, key: Location, value: Location) -> Edit | None:
    """The lines of a block mapping's `key: value` entry, when the key starts its line (after indentation
    only: not a flow mapping, not the first key of a `- ` sequence item) and nothing but a comment follows
    the value on its last line."""
    text = source(project, key.path)
    if text is None:
        return None
    first = text.line(key.line)
    if first[: key.column - 1].strip():
        return None
    end_line = value.end_line if value.end_column > 1 or value.end_line == value.line else value.end_line - 1
    rest = text.line(end_line)[value.end_column - 1:] if end_line == value.end_line else ""
    if rest.strip() and not rest.lstrip().startswith("#"):
        return None
    return Edit(Location(key.path, key.line, 1, end_line + 1, 1), "")


def remove_flag(project, flag: Location, name: str, value: str | None) -> Edit | None:
    """`--name value`, `--name=value` or a bare `--name` on a command line, with the blank before it; the
    value only when it is one plain word written as parsed (no quotes, no expansion)."""
    text = source(project, flag.path)
    if text is None:
        return None
    start, end = span(text, flag)
    body = text.text
    if body[start:end] != f"--{name}" or start == 0 or body[start - 1] not in " \t":
        return None
    if value:
        gap = re.compile(r"=|[ \t]+").match(body, end)
        word = _SHELL_WORD.match(body, gap.end()) if gap else None
        if word is None or word.group() != value:
            return None
        end = word.end()
    if end < len(body) and body[end] not in " \t\n\r\\;&|)":
        return None
    blank = start
    while blank > 0 and body[blank - 1] in " \t":
        blank -= 1
    return Edit(text.location(blank, end), "")


def replace_scalar(project, location: Location, old: object, new: object) -> Edit | None:
    """A YAML or JSON scalar (or a flag's value word) that reads `old` becomes `new`, quoted as it was:
    `eval_strategy: step` -> `steps`, `"step"` -> `"steps"`, `save_steps: 500` -> `600`."""
    text = source(project, location.path)
    if text is None:
        return None
    start, end = span(text, location)
    written = text.text[start:end]
    quote = written[:1] if len(written) >= 2 and written[0] == written[-1] and written[0] in "'\"" else ""
    bare = written[1:-1] if quote else written
    if isinstance(old, str) and not isinstance(new, str):
        return None
    if isinstance(old, str) and bare != old:
        return None
    if not isinstance(old, str) and (quote or not _same_number(bare, old)):
        return None
    if isinstance(new, str) and not _SHELL_WORD.fullmatch(new):
        return None
    if isinstance(new, str) and not quote and linebreaks.of_path(location.path) == linebreaks.YAML \
            and not isinstance(_yaml_value(new), str):
        quote = '"'  # `no`, `on`, `null`, `1e3` unquoted are no strings in YAML
    return Edit(location, f"{quote}{new}{quote}")


def _yaml_value(text: str) -> object:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def flag_value(project, flag: Location, name: str, value: str) -> Location | None:
    """Where the value word of `--name value` or `--name=value` is, when it is written as parsed."""
    text = source(project, flag.path)
    if text is None:
        return None
    start, end = span(text, flag)
    body = text.text
    if body[start:end] != f"--{name}":
        return None
    gap = re.compile(r"=|[ \t]+").match(body, end)
    word = _SHELL_WORD.match(body, gap.end()) if gap else None
    if word is None or word.group() != value:
        return None
    return text.location(word.start(), word.end())


def _same_number(written: str, value: object) -> bool:
    try:
        return float(written) == float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
