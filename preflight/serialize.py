"""Facts to JSON and back, for the cache. Only the known fact types can come back out: a cache
file is data, never code (no pickle)."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

from preflight import model
from preflight.findings import Action, Edit, Finding, Fix, Location, Related, Severity, Transform
from preflight.suppress import Suppression


def _registry() -> dict[str, type]:
    types = {cls.__name__: cls for cls in vars(model).values() if dataclasses.is_dataclass(cls)}
    types.update({"Location": Location, "Suppression": Suppression, "Finding": Finding, "Related": Related,
                  "Fix": Fix, "Edit": Edit, "Transform": Transform})
    return types


_TYPES = _registry()
# The kinds a fact or finding has (model.Launcher, ..., Severity): an enum comes back as its member.
_ENUMS = {cls.__name__: cls for cls in [*vars(model).values(), Severity, Action]
          if isinstance(cls, type) and issubclass(cls, enum.Enum) and cls.__members__}


class CorruptEntry(ValueError):
    pass


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        fields = {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$": type(value).__name__, **fields}
    if isinstance(value, enum.Enum):
        return {"$e": [type(value).__name__, value.value]}
    if isinstance(value, tuple):
        return {"$t": [_dump(v) for v in value]}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {"$d": [[_dump(k), _dump(v)] for k, v in value.items()]}
    return value


def _hook(value: dict) -> Any:
    """One JSON object back to what `_dump` made of it: a tuple, a dict, a known kind or a known fact type."""
    if "$t" in value:
        return tuple(value["$t"])
    if "$d" in value:
        return {key if not isinstance(key, list) else tuple(key): item for key, item in value["$d"]}
    if "$e" in value:
        try:
            name, member = value["$e"]
            return _ENUMS[name](member)
        except (KeyError, TypeError, ValueError):
            raise CorruptEntry("unknown kind") from None
    cls = _TYPES.get(value.pop("$", None))
    if cls is None:
        raise CorruptEntry("unknown type")
    try:
        return cls(**value)
    except TypeError as exc:
        raise CorruptEntry(str(exc)) from None


def dump_value(value: Any) -> Any:
    """Any known value (a finding, a fact) as JSON-ready data."""
    return _dump(value)


def load_json(text: str) -> Any:
    """JSON text of `dump_value` data (inside lists), rebuilt through the registry of known types."""
    return json.loads(text, object_hook=_hook)


def dumps(file: model.FileFacts) -> str:
    if not file.facts and not file.suppressions:  # most files of a large tree: skip the generic encoder
        return json.dumps(["empty", file.path, file.kind, file.imports_pending, file.note])
    return json.dumps(_dump(file), separators=(",", ":"))


def loads(text: str) -> model.FileFacts:
    try:
        if text.startswith('["empty"'):
            raw = json.loads(text)
            if isinstance(raw, list) and len(raw) == 5 and raw[0] == "empty":
                return model.FileFacts(str(raw[1]), raw[2], imports_pending=bool(raw[3]), note=raw[4])
        value = json.loads(text, object_hook=_hook)  # objects are rebuilt inside out, as the C parser meets them
    except (ValueError, RecursionError) as exc:
        raise CorruptEntry(str(exc)) from None
    if not isinstance(value, model.FileFacts):
        raise CorruptEntry("not a file's facts")
    return value


__all__ = ["dumps", "loads", "CorruptEntry", "Severity"]
