"""Every file's facts grouped by exact type, in file order: what Project.facts answers from.

Rules and link steps ask for a few kinds each, and walking every fact of a large project for each question was
most of a check. The index is built once, and kept up to date by patching: the link stage replaces a few files'
facts, and a warm server's next check differs from the last in the files an edit changed, so only the files
whose FileFacts are not the very objects indexed before are grouped again.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from preflight.model import FileFacts

Chunk = tuple[int, list[tuple[int, object]]]  # (file number, [(position in the file, fact)])


def _number(chunk: Chunk) -> int:
    return chunk[0]


class FactIndex:
    def __init__(self) -> None:
        self._files: list[FileFacts] = []
        self._groups: list[dict[type, list[tuple[int, object]]]] = []
        self._by_type: dict[type, list[Chunk]] = {}  # exact type -> its chunks, by file number
        self._in_file: dict[tuple[str, type], tuple[FileFacts, list]] = {}  # facts_in: (path, kind) -> (file, facts)

    def update(self, files: list[FileFacts]) -> None:
        """Describe `files` (in this order) from now on."""
        if len(files) != len(self._files) or any(
                old is not new and old.path != new.path for old, new in zip(self._files, files)):
            self._rebuild(files)
            return
        for number, (old, new) in enumerate(zip(self._files, files)):
            if old is not new:
                self._replace(number, new)

    def facts(self, kind: type) -> list:
        """The facts of `kind` (its subclasses included), in file order and, within a file, in its order."""
        groups = [chunks for cls, chunks in self._by_type.items() if issubclass(cls, kind)]
        if len(groups) == 1:
            return [fact for _, items in groups[0] for _, fact in items]
        ordered = sorted((number, position, fact) for chunks in groups for number, items in chunks
                         for position, fact in items)
        return [fact for _, _, fact in ordered]

    def facts_in(self, file: FileFacts, kind: type) -> list:
        """The facts of `kind` in one file, kept while the file is the very same FileFacts (whether or not the
        index describes it yet)."""
        kept = self._in_file.get((file.path, kind))
        if kept is not None and kept[0] is file:
            return kept[1]
        found = [fact for fact in file.facts if isinstance(fact, kind)]
        self._in_file[(file.path, kind)] = (file, found)
        return found

    def files_holding(self, kind: type) -> list[FileFacts]:
        """The files that hold facts of `kind`, in file order."""
        numbers = sorted({number for cls, chunks in self._by_type.items() if issubclass(cls, kind)
                          for number, _ in chunks})
        return [self._files[number] for number in numbers]

    def _rebuild(self, files: list[FileFacts]) -> None:
        self._files, self._groups, self._by_type = list(files), [], {}
        self._in_file = {}  # (a file deleted or renamed would keep its facts here)
        for number, file in enumerate(files):
            grouped = _grouped(file)
            self._groups.append(grouped)
            for cls, items in grouped.items():
                self._by_type.setdefault(cls, []).append((number, items))

    def _replace(self, number: int, file: FileFacts) -> None:
        for cls in self._groups[number]:
            chunks = self._by_type[cls]
            del chunks[bisect_left(chunks, number, key=_number)]
            if not chunks:
                del self._by_type[cls]
        grouped = _grouped(file)
        for cls, items in grouped.items():
            insort(self._by_type.setdefault(cls, []), (number, items), key=_number)
        self._files[number], self._groups[number] = file, grouped


def _grouped(file: FileFacts) -> dict[type, list[tuple[int, object]]]:
    grouped: dict[type, list[tuple[int, object]]] = {}
    for position, fact in enumerate(file.facts):
        grouped.setdefault(type(fact), []).append((position, fact))
    return grouped
