"""How a name or a text that comes from the scanned tree is shown in a report: as characters a reader sees,
never as bytes a terminal, a CI log or an XML parser acts on.

A file name, a workflow step's name or a value a message quotes is written by whoever wrote the
repository, and may hold anything a file system or a YAML scalar allows: bytes that are not UTF-8 (no
encoder can write them), a newline (the text output would show a second line, one a CI system reads as a
finding of its own or as a workflow command such as `::error file=...::`), an escape sequence (ANSI
colours, an OSC window title or hyperlink, a cursor move that hides the line before), characters that
reverse the order a line reads in, or characters XML 1.0 does not allow (a JUnit report a parser rejects).
Every output format shows these as escapes:

- `\\n`, `\\r`, `\\t`, and `\\xNN` for the other ASCII control characters (00 to 1f, 7f);
- `\\xNN` with NN from 80 to ff for a byte of a file name that is not UTF-8 (Python reads such a name with
  the byte as a lone surrogate, U+DC80 to U+DCFF);
- `\\uNNNN` for the other characters not shown as they are: C1 controls, line and paragraph separators,
  bidirectional controls, the non-characters U+FFFE and U+FFFF, other lone surrogates.

`path` also doubles a backslash, so that an escaped name is lossless: two names never look the same,
and the name can be read back from what is shown (a backslash starts an escape, `\\\\` is a backslash).
`text` (messages, source lines in code frames) leaves backslashes alone: what it shows is read, not
parsed back.
"""

from __future__ import annotations

import re

_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    character = match.group()
    number = ord(character)
    if character in _SHORT:
        return _SHORT[character]
    if number < 0x80:
        return f"\\x{number:02x}"
    if 0xDC80 <= number <= 0xDCFF:  # a byte that is not UTF-8, as surrogateescape decoding keeps it
        return f"\\x{number - 0xDC00:02x}"
    return f"\\u{number:04x}"


def text(value: str, tabs: bool = False) -> str:
    """`value` with every control, bidirectional and non-UTF-8 character escaped (see the module's doc);
    with `tabs`, a tab is kept (a diff of a Makefile shows its recipe lines as they are)."""
    if not _HIDDEN.search(value):
        return value
    if tabs:
        return "\t".join(_HIDDEN.sub(_escape, part) for part in value.split("\t"))
    return _HIDDEN.sub(_escape, value)


def lines(value: str, tabs: bool = False) -> str:
    """`text` for each line of a text of several lines (a traceback, a diff), kept on lines of their own
    (a line ending CR LF keeps its CR)."""
    shown = []
    for line in value.split("\n"):
        body, end = (line[:-1], "\r") if line.endswith("\r") else (line, "")
        shown.append(text(body, tabs) + end)
    return "\n".join(shown)


def block(value: str) -> str:
    """A message of several lines for stderr (a usage error, a traceback): `lines`, with every line after
    the first indented, so that none starts as a CI system's command would (`::error`), whatever a name
    within it holds."""
    first, *rest = lines(value).split("\n")
    return "\n".join([first, *(line if line[:1].isspace() else "  " + line for line in rest)])


def path(value: str) -> str:
    """A file name as every report shows it: `text` with backslashes doubled, lossless."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    return text(value)


def raw_bytes(value: str) -> bytes:
    """The bytes of a name as the file system holds them (for percent-encoding a URI)."""
    try:
        return value.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file system gave (a name from a JSON file)
        return value.encode("utf-8", errors="surrogatepass")
