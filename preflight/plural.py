"""Counted nouns for what a person reads: "1 file", "2 files", "1 fix", "3 fixes". One function so that no
message of the command line says "1 files" or "1 findings"."""

from __future__ import annotations

_IRREGULAR = {"fix": "fixes", "entry": "entries", "comment": "comments", "more": "more"}


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`number` and `noun`, in the plural unless the number is 1 (`plural`, else `noun` + s)."""
    if number == 1:
        return f"{number} {noun}"
    return f"{number} {plural or _IRREGULAR.get(noun, noun + 's')}"
