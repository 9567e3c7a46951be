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

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from preflight.model import FileFacts


class Reads:
    """One recording: what a rule (or a kept answer) looked at itself, and the finished recordings of the kept
    answers it used (a kept answer is asked thousands of times a check: it is linked, not copied). `answer`:
    the key of the kept answer it is the record of (Project.derive), None for a rule's."""

    __slots__ = ("answer", "everything", "kinds", "files", "file_kinds", "used", "_used_ids")

    def __init__(self, answer: object = None) -> None:
        self.answer = answer
        self.everything = False
        self.kinds: set[type] = set()
        self.files: set[str] = set()
        self.file_kinds: dict[str, set[type]] = {}  # path -> the kinds asked of it
        self.used: list[Reads] = []
        self._used_ids: set[int] = set()

    def use(self, other: "Reads") -> None:
        if id(other) not in self._used_ids:
            self._used_ids.add(id(other))
            self.used.append(other)

    def adopt(self, newer: "Reads") -> None:
        """Become the record of the same answer derived again (and equal): whoever holds this record now
        depends on what the answer is made from now, not on what it was made from then (which later checks
        would judge against their changes alone, missing those already seen)."""
        self.everything, self.kinds, self.files = newer.everything, newer.kinds, newer.files
        self.file_kinds, self.used, self._used_ids = newer.file_kinds, newer.used, newer._used_ids

    def affected_by(self, changes: Mapping[str, "Change"], memo: dict[int, bool],
                    same_again: Callable[["Reads"], bool]) -> bool:
        """Can any of these changes alter what was read? `memo`: the answers for recordings already judged
        against the same changes (the rules of one check share the kept answers' recordings). `same_again`:
        whether the answer a recording belongs to, derived again, comes out as it was (then what used it is
        not affected through it)."""
        known = memo.get(id(self))
        if known is None:
            known = self._reads_changed(changes)
            if not known:
                for used in self.used:  # most are kept answers judged already (the memo), asked without a call
                    if memo.get(id(used)) or (id(used) not in memo and used.affected_by(changes, memo, same_again)):
                        known = True
                        break
            if known and same_again(self):
                known = False
            memo[id(self)] = known
        return known

    def _reads_changed(self, changes: Mapping[str, "Change"]) -> bool:
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
            # a kind asked for is a changed type or one of its bases
            if not self.kinds.isdisjoint(change.bases) or (asked and not asked.isdisjoint(change.bases)):
                return True
        return False


class Recorder:
    """The recordings open now, innermost last. A note goes into the innermost; a recording that finishes
    inside another is used by it."""

    __slots__ = ("open",)

    def __init__(self) -> None:
        self.open: list[Reads] = []

    def kind(self, kind: type) -> None:
        if self.open:
            self.open[-1].kinds.add(kind)

    def file_kind(self, path: str, kind: type) -> None:
        if self.open:
            self.open[-1].file_kinds.setdefault(path, set()).add(kind)

    def file(self, path: str) -> None:
        if self.open:
            self.open[-1].files.add(path)

    def everything(self) -> None:
        if self.open:
            self.open[-1].everything = True

    def replay(self, recorded: Reads) -> None:
        """A kept answer is used again: what it was made from is read again."""
        if self.open:
            self.open[-1].use(recorded)

    @contextmanager
    def recording(self, answer: object = None) -> Iterator[Reads]:
        reads = Reads(answer)
        self.open.append(reads)
        try:
            yield reads
        finally:
            self.open.remove(reads)
            self.replay(reads)  # what was read inside was read by the recording around it too


@dataclass(frozen=True, slots=True)
class Change:
    """How one file differs between two checks: the exact types of the facts that differ, or the whole file
    (something besides its facts changed, or it is not a file the model holds, e.g. an env file on disk)."""

    kinds: frozenset[type] = frozenset()
    whole: bool = False
    bases: frozenset[type] = field(init=False, repr=False, compare=False)  # the kinds and the classes they extend

    def __post_init__(self) -> None:
        object.__setattr__(self, "bases", frozenset(base for kind in self.kinds for base in kind.__mro__))


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
