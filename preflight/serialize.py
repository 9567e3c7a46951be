"""Facts to JSON and back, for the cache. Only the known fact types can come back out: a cache
file is data, never code (no pickle)."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

from preflight import model
from preflight.findings import Location, Severity
from preflight.suppress import Suppression


def _registry() -> dict[str, type]:
    types = {cls.__name__: cls for cls in vars(model).values() if dataclasses.is_dataclass(cls)}
    types.update({"Location": Location, "Suppression": Suppression})
    return types


_TYPES = _registry()


class CorruptEntry(ValueError):
    pass


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        fields = {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$": type(value).__name__, **fields}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return {"$t": [_dump(v) for v in value]}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {"$d": [[_dump(k), _dump(v)] for k, v in value.items()]}
    return value


def _load(value: Any) -> Any:
    if isinstance(value, list):
        return [_load(v) for v in value]
    if isinstance(value, dict):
        if "$t" in value:
            return tuple(_load(v) for v in value["$t"])
        if "$d" in value:
            return {_load(k): _load(v) for k, v in value["$d"]}
        cls = _TYPES.get(value.get("$"))
        if cls is None:
            raise CorruptEntry(f"unknown type {value.get('$')!r}")
        kwargs = {k: _load(v) for k, v in value.items() if k != "$"}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise CorruptEntry(str(exc)) from None
    return value


def dumps(file: model.FileFacts) -> str:
    if not file.facts and not file.suppressions:  # most files of a large tree: skip the generic encoder
        return json.dumps(["empty", file.path, file.kind, file.imports_pending, file.note])
    return json.dumps(_dump(file), separators=(",", ":"))


def loads(text: str) -> model.FileFacts:
    try:
        raw = json.loads(text)
        if isinstance(raw, list) and len(raw) == 5 and raw[0] == "empty":
            return model.FileFacts(str(raw[1]), raw[2], imports_pending=bool(raw[3]), note=raw[4])
        value = _load(raw)
    except (ValueError, RecursionError) as exc:
        raise CorruptEntry(str(exc)) from None
    if not isinstance(value, model.FileFacts):
        raise CorruptEntry("not a file's facts")
    return value


__all__ = ["dumps", "loads", "CorruptEntry", "Severity"]
