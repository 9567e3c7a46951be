"""Per-rule options: plain dataclasses on the rule class, validated with pydantic only when a
configuration sets some (so that a check without options never imports pydantic)."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any


@dataclasses.dataclass(frozen=True)
class NoOptions:
    pass


def describe(options_type: type) -> dict[str, dict[str, Any]]:
    """name -> {type, default, description} for docs, `preflight explain` and `rules --format json`."""
    hints = typing.get_type_hints(options_type)
    result = {}
    for field in dataclasses.fields(options_type):
        kind = hints.get(field.name)
        result[field.name] = {
            "type": {bool: "boolean", int: "integer", float: "number", str: "string"}.get(kind, str(kind)),
            "default": field.default,
            "description": field.metadata.get("description", ""),
        }
    return result


class OptionsError(ValueError):
    pass


def _closest(name: str, known: set[str]) -> str:
    """" (did you mean 'strict'?)" for the option closest to a misspelt one, else the options there are."""
    import difflib

    close = difflib.get_close_matches(str(name).replace("-", "_"), sorted(known), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (the options are {', '.join(sorted(known))})" if known else " (the rule has no options)"


def validate(options_type: type, values: dict[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(options_type)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise OptionsError("; ".join(f"{name}: unknown option{_closest(name, known)}" for name in unknown))
    from pydantic import TypeAdapter, ValidationError

    from preflight.config import problem

    # Each value is validated strictly against its field's type, as TOML typed it: `strict = "yes"` is a
    # mistake to name, not true (pydantic's lax mode reads "yes", "on" and 1 as true). A strict dataclass
    # schema would refuse the table itself, so the fields are checked one by one, then the class is built.
    hints = typing.get_type_hints(options_type)
    problems = []
    for name, value in values.items():
        try:
            TypeAdapter(hints[name]).validate_python(value, strict=True)
        except ValidationError as exc:
            problems += [f"{'.'.join(str(p) for p in (name, *e['loc']))}: {problem(e)}" for e in exc.errors()]
    if problems:
        raise OptionsError("; ".join(problems))
    try:
        return TypeAdapter(options_type).validate_python(values)
    except ValidationError as exc:
        problems = (f"{'.'.join(str(p) for p in e['loc'])}: {problem(e)}" for e in exc.errors())
        raise OptionsError("; ".join(problems)) from None
