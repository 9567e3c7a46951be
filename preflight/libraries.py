"""What each version of transformers, TRL and Axolotl accepts: the generated field data.

`tools/generate_library_data.py` reads the released wheels and writes preflight/data/libraries/*.json;
this module answers the rules' questions from those files (loaded on first use, never at import).
Versions between two examined releases are answered by the examined release of the same minor
version (field sets change with minor releases); versions outside the examined range by the nearest end.
"""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from preflight.versions import release


@dataclass(frozen=True)
class Field:
    name: str
    type: str = ""
    default: object = None
    has_default: bool = False
    choices: tuple = ()
    alias: str | None = None


class Library:
    def __init__(self, data: dict) -> None:
        self.name: str = data["library"]
        self.versions: list[str] = data["versions"]
        self._parsed = [release(v) for v in self.versions]
        self._index = {v: i for i, v in enumerate(self.versions)}
        self._snapshots: dict[str, int] = {}
        self._fields: dict[tuple[str, int], dict[str, Field]] = {}
        self._classes: dict = data["classes"]
        self.enums: dict[str, list[str]] = data.get("enums", {})
        self._scripts: dict[str, list[dict]] = data.get("scripts", {})
        self._exports: dict[str, list[list[str]]] = data.get("exports", {})

    @property
    def newest(self) -> str:
        return self.versions[-1]

    def describes(self, version: str) -> bool:
        """Is `version` a minor release within the examined range? Older and newer releases are answered
        by the nearest examined one for defaults and enums, but which keys they accept is not known: a key
        TRL or Axolotl added after a pinned older release would be read as unknown there."""
        wanted = release(version)[:2]
        return self._parsed[0][:2] <= wanted <= self._parsed[-1][:2]

    def snapshot(self, version: str) -> int:
        """The index of the examined release that stands for `version`."""
        if version not in self._snapshots:
            self._snapshots[version] = self._snapshot(version)
        return self._snapshots[version]

    def _snapshot(self, version: str) -> int:
        """The examined release of the same minor (the newest not after `version`, where the data has several
        patch releases of it, as LLaMA-Factory's has), else the newest older one."""
        wanted = release(version)
        same = [i for i, examined in enumerate(self._parsed) if examined[:2] == wanted[:2]]
        if same:
            below = [i for i in same if self._parsed[i] <= wanted]
            return below[-1] if below else same[0]
        older = [i for i, examined in enumerate(self._parsed) if examined < wanted]
        return older[-1] if older else 0

    def _present(self, ranges: list[list[str]], index: int) -> bool:
        return any(self._index[a] <= index <= self._index[b] for a, b in ranges)

    def exports(self, name: str, version: str) -> bool | None:
        """Does `from <library> import name` work with this release? None when the data does not say
        (no export data, a name no examined release exports, a release outside the examined ones)."""
        ranges = self._exports.get(name)
        if ranges is None or not self.describes(version):
            return None
        return self._present(ranges, self.snapshot(version))

    def has_class(self, name: str, version: str) -> bool:
        record = self._classes.get(name)
        return bool(record) and self._present(record["present"], self.snapshot(version))

    def bases(self, name: str) -> list[str]:
        return list(self._classes.get(name, {}).get("bases", []))

    def fields(self, class_name: str, version: str) -> dict[str, Field]:
        """The fields `class_name` has at `version`, without inherited classes of another library.
        Shared between callers: read it, copy it before changing it."""
        index = self.snapshot(version)
        key = (class_name, index)
        if key not in self._fields:
            record = self._classes.get(class_name)
            self._fields[key] = {name: self._field(name, info, index) for name, info in record["fields"].items()
                                 if self._present(info["present"], index)} if record else {}
        return self._fields[key]

    def _field(self, name: str, info: dict, index: int) -> Field:
        default, has_default = info.get("default"), "default" in info
        for since, value in info.get("defaults", []):  # the default changed between releases
            if self._index[since] <= index:
                default, has_default = value, True
        return Field(name, info.get("type", ""), default, has_default, tuple(info.get("choices", ())),
                     info.get("alias"))

    def history(self, class_name: str, field: str) -> list[tuple[str, str | None]]:
        """[(first examined version with the field, first examined version without it or None)]."""
        info = self._classes.get(class_name, {}).get("fields", {}).get(field)
        if not info:
            return []
        spans = []
        for first, last in info["present"]:
            after = self._index[last] + 1
            spans.append((first, self.versions[after] if after < len(self.versions) else None))
        return spans

    def removed_before(self, class_name: str, field: str, version: str) -> str | None:
        """The minor release that dropped `field`, when it existed before `version` and not at it."""
        index = self.snapshot(version)
        spans = [(self._index[first], None if gone is None else self._index[gone])
                 for first, gone in self.history(class_name, field)]
        if any(first <= index and (gone is None or gone > index) for first, gone in spans):
            return None
        dropped = [gone for _, gone in spans if gone is not None and gone <= index]
        if not dropped:
            return None
        parsed = self._parsed[max(dropped)]
        return f"{parsed[0]}.{parsed[1]}"

    @functools.cached_property
    def every_field(self) -> dict[str, frozenset[str]]:
        """Each class's fields in any examined release (a key this library ever had, renamed or removed
        since: evidence that a file is this library's arguments)."""
        return {name: frozenset(record["fields"]) for name, record in self._classes.items()}

    def script_dataclasses(self, command: str, version: str) -> list[str] | None:
        index = self.snapshot(version)
        chosen = None
        for entry in self._scripts.get(command, []):
            if self._index[entry["since"]] <= index:
                chosen = entry["dataclasses"]
        return chosen


@functools.cache
def library(name: str) -> Library:
    text = (Path(__file__).parent / "data" / "libraries" / f"{name}.json").read_text(encoding="utf-8")
    return Library(json.loads(text))


HF_CLASSES = ("TrainingArguments", "Seq2SeqTrainingArguments")


def extends_training_arguments(name: str) -> bool:
    """Is this library class TrainingArguments, or a TRL config built on it?"""
    return name in HF_CLASSES or "TrainingArguments" in library("trl").bases(name)


def did_you_mean(word: str, candidates) -> str:
    """" (did you mean `x`?)" for the closest candidate, or ""."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.75)
    return f" (did you mean `{close[0]}`?)" if close else ""
