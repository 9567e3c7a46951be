"""The JSON schema of the configuration, generated from `config.Settings` and the rules' options, so that
an editor completes and checks `[tool.preflight]` and `preflight.toml` as preflight reads them.

Two documents (docs/config.schema.json, docs/pyproject.schema.json; `python -m preflight.docgen` writes both
and the tests fail when the committed ones are stale): the table itself, which is the whole of a
`preflight.toml`, and a `pyproject.toml` whose `tool.preflight` is that table (every other key is left
alone). Editors associate a schema with a whole file (Taplo's `#:schema` directive and `[[rule]]` both
do), hence the second document.

The schema never rejects what preflight accepts (an editor's red line on a valid setting is a false
finding): rule codes, prefixes and names are matched as preflight matches them, without regard to case
and surrounding blanks, while the canonical spellings are listed for completion. What only preflight can
decide (whether a pattern compiles, whether a version lies in the range it knows) is left to it. Draft 7,
with every reference inlined: the draft TOML language servers implement most widely.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

from preflight import config
from preflight.rule import all_rules

DRAFT = "http://json-schema.org/draft-07/schema#"
TITLE = "preflight configuration ([tool.preflight] in pyproject.toml, or a preflight.toml)"


def _either_case(text: str) -> str:
    """A regular expression matching `text` in any case (JSON schema's expressions take no flags)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in text)


def _any_of(words: set[str]) -> str:
    return "^\\s*(?:" + "|".join(_either_case(word) for word in sorted(words, key=lambda w: (-len(w), w))) + ")\\s*$"


def _rule_keys() -> tuple[list[str], str]:
    """The canonical code and name of every rule, and an expression for any key `rule_by_key` accepts."""
    canonical = [key for rule in all_rules() for key in (rule.code, rule.name)]
    return canonical, _any_of(set(canonical))


def _selector() -> dict[str, Any]:
    """A selector as preflight.selection reads one: ALL, a prefix of a code, a code or a name."""
    rules = all_rules()
    prefixes = {rule.code[:end] for rule in rules for end in range(1, len(rule.code) + 1)}
    canonical = ["ALL", *sorted({rule.code.rstrip("0123456789") for rule in rules}), *(r.code for r in rules),
                 *(r.name for r in rules)]
    return {"type": "string", "anyOf": [{"enum": canonical}, {"pattern": _any_of({"ALL", *prefixes,
                                                                                  *(r.name for r in rules)})}],
            "description": "A rule code (HF001), a prefix of codes (HF, HF0), a rule name, or ALL."}


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """The schema with each `$ref` to its `$defs` replaced by the definition (pydantic's output refers)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            target = definitions[schema["$ref"].rsplit("/", 1)[-1]]
            rest = {key: value for key, value in schema.items() if key != "$ref"}
            return _inline({**target, **rest}, definitions)
        return {key: _inline(value, definitions) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    return schema


def _without_null(schema: Any) -> Any:
    """TOML has no null: `X | None` fields (unset means the default) are written as X or left out."""
    if isinstance(schema, dict):
        options = schema.get("anyOf")
        if options and {"type": "null"} in options:
            kept = [option for option in options if option != {"type": "null"}]
            schema = {**{k: v for k, v in schema.items() if k not in ("anyOf", "default")},
                      **(kept[0] if len(kept) == 1 else {"anyOf": kept})}
        return {key: _without_null(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_without_null(item) for item in schema]
    return schema


def _generated(model: Any) -> dict[str, Any]:
    from pydantic import TypeAdapter

    schema = TypeAdapter(model).json_schema(by_alias=True, mode="validation")
    return _without_null(_inline(schema, schema.get("$defs", {})))


def _options(rule) -> dict[str, Any]:
    """A rule's options table: its fields with their types and defaults; any other key is an error."""
    schema = _generated(rule.Options) if dataclasses.fields(rule.Options) else {"type": "object", "properties": {}}
    schema.pop("title", None)
    schema.pop("required", None)  # every option has a default
    schema["additionalProperties"] = False
    schema["description"] = f"Options of {rule.code} ({rule.name}): {rule.summary}."
    return schema


def table() -> dict[str, Any]:
    """The schema of the `[tool.preflight]` table (a `preflight.toml`'s root)."""
    schema = _generated(config.Settings)
    properties = schema["properties"]
    for value in properties.values():
        value.pop("title", None)
    selector = _selector()
    for key in ("select", "extend-select", "ignore"):
        properties[key]["items"] = copy.deepcopy(selector)
    properties["per-file-ignores"]["additionalProperties"]["items"] = copy.deepcopy(selector)
    canonical, any_rule = _rule_keys()
    severity = properties["severity"]
    severity["propertyNames"] = {"pattern": any_rule}
    severity["properties"] = {key: copy.deepcopy(severity["additionalProperties"]) for key in canonical}
    rules = properties["rules"]
    rules["propertyNames"] = {"pattern": any_rule}
    rules["properties"] = {key: _options(rule) for rule in all_rules() for key in (rule.code, rule.name)}
    rules["additionalProperties"] = {"type": "object"}  # `hf001`, ` HF001 `: the same rule's options
    versions = properties["versions"]
    versions["additionalProperties"] = {"type": "string", "pattern": config.VERSION_PATTERN,
                                        "description": "A release, as in \"4.57.1\"."}
    versions["properties"] = {library: copy.deepcopy(versions["additionalProperties"]) for library in config.LIBRARIES}
    # preflight also takes a setting's Python name (extend_select for extend-select): valid, not offered
    schema["patternProperties"] = {f"^{item.name}$": copy.deepcopy(properties[item.metadata["alias"]])
                                   for item in dataclasses.fields(config.Settings) if "alias" in item.metadata}
    return {"$schema": DRAFT, "title": TITLE, **{k: v for k, v in schema.items() if k != "title"},
            "description": "The settings of `preflight check`; a mistake in them is an error (exit 2)."}


def pyproject() -> dict[str, Any]:
    """A `pyproject.toml` whose `[tool.preflight]` table is checked; every other key is left alone."""
    inner = {key: value for key, value in table().items() if key != "$schema"}
    return {"$schema": DRAFT, "title": "pyproject.toml with a [tool.preflight] table", "type": "object",
            "properties": {"tool": {"type": "object", "properties": {"preflight": inner}}}}
