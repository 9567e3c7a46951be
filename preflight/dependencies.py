"""What a rule's findings were made from, so that a warm process re-runs only the rules an edit can change.

The language server checks the project again after every edit. Most rules cannot see most edits: a rule that
reads only workflows cannot change when a Python script does. Rather than each rule declaring what it reads
(a declaration that would drift from the code), the project model records it while the rule runs: every
question put to preflight.project notes what it looked at, into every recording open at that moment. Answers
the model keeps for the rest of a check (the training runs, a launch index, a module's outline: see
Project.derive) keep the record of what they were made from, and a later question that reuses one notes that
record again, so a rule's record is the same whichever rule happened to ask first.

A record holds:
- fact kinds asked of the whole project (`Project.facts(WandbInit)`): any file whose facts of that kind
  changed, appeared or went away can change the answer;
- fact kinds asked of one file (`Project.facts_in(path, Launch)`);
- whole files (`Project.file(path)`, the file's text, an env file read from disk);
- everything (a walk over every file's facts).
Which files exist is not recorded: a check after a file was created, deleted, excluded or renamed re-runs
every rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from preflight.model import FileFacts


class Reads:
    """One recording: what a rule (or a kept answer) looked at."""

    __slots__ = ("everything", "kinds", "files", "file_kinds", "_added")

    def __init__(self) -> None:
        self.everything = False
        self.kinds: set[type] = set()
        self.files: set[str] = set()
        self.file_kinds: dict[str, set[type]] = {}  # path -> the kinds asked of it
        self._added: set[int] = set()  # the finished recordings already added (a kept answer is asked often)

    def add(self, other: "Reads") -> None:
        if id(other) in self._added:
            return
        self._added.add(id(other))
        self.everything = self.everything or other.everything
        self.kinds |= other.kinds
        self.files |= other.files
        for path, kinds in other.file_kinds.items():
            self.file_kinds.setdefault(path, set()).update(kinds)

    def affected_by(self, changes: Mapping[str, "Change"]) -> bool:
        """Can any of these changes alter what was read?"""
        if self.everything:
            return True
        for path, change in changes.items():
            if path in self.files:
                return True
            asked = self.file_kinds.get(path)
            if change.whole:
                if asked or self.kinds:  # a file that changed as a whole may hold any kind
                    return True
                continue
            for changed in change.kinds:  # a kind asked for is the changed type or one of its bases
                if not self.kinds.isdisjoint(changed.__mro__) or (asked and not asked.isdisjoint(changed.__mro__)):
                    return True
        return False


class Recorder:
    """The recordings open now, innermost last: each note goes into all of them."""

    __slots__ = ("open",)

    def __init__(self) -> None:
        self.open: list[Reads] = []

    def kind(self, kind: type) -> None:
        for reads in self.open:
            reads.kinds.add(kind)

    def file_kind(self, path: str, kind: type) -> None:
        for reads in self.open:
            reads.file_kinds.setdefault(path, set()).add(kind)

    def file(self, path: str) -> None:
        for reads in self.open:
            reads.files.add(path)

    def everything(self) -> None:
        for reads in self.open:
            reads.everything = True

    def replay(self, recorded: Reads) -> None:
        """A kept answer is used again: what it was made from is read again. (`recorded` is finished: it no
        longer grows, so adding it once to each recording is enough.)"""
        for reads in self.open:
            reads.add(recorded)

    @contextmanager
    def recording(self) -> Iterator[Reads]:
        reads = Reads()
        self.open.append(reads)
        try:
            yield reads
        finally:
            self.open.remove(reads)


@dataclass(frozen=True, slots=True)
class Change:
    """How one file differs between two checks: the exact types of the facts that differ, or the whole file
    (something besides its facts changed, or it is not a file the model holds, e.g. an env file on disk)."""

    kinds: frozenset[type] = frozenset()
    whole: bool = False


WHOLE = Change(whole=True)


def changes(before: Mapping[str, FileFacts], after: Mapping[str, FileFacts]) -> dict[str, Change] | None:
    """The files whose facts differ between two checks of the same files, or None when the set of files
    differs (then every rule runs again)."""
    if before.keys() != after.keys():
        return None
    found: dict[str, Change] = {}
    for path, new in after.items():
        old = before[path]
        if old is new or old == new:
            continue
        if (old.kind, old.imports_pending, old.note) != (new.kind, new.imports_pending, new.note):
            found[path] = WHOLE
            continue
        was, now = _by_type(old.facts), _by_type(new.facts)
        found[path] = Change(frozenset(kind for kind in was.keys() | now.keys() if was.get(kind) != now.get(kind)))
    return found


def _by_type(facts: list) -> dict[type, list]:
    grouped: dict[type, list] = {}
    for fact in facts:
        grouped.setdefault(type(fact), []).append(fact)
    return grouped
