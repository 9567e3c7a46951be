"""Where a launcher file takes one more variable for the process it starts (a workflow step's `env:`, a
compose service's `environment:`), for a fix that adds one: the line a new entry goes above, with the
indentation and form (`NAME: value` or `- NAME=value`) the file already uses there, or the `env:` key to
create. Only where that is exactly knowable from the text: block (not flow) collections whose keys start
their lines, no anchor or alias on the key's line, no merge key (`<<`) whose `env:` a new one would hide.
"""

from __future__ import annotations

import re

from preflight.findings import Location
from preflight.model import EnvSlot
from preflight.sources import yamltree as y
from preflight.sources.text import SourceText

_ITEM = re.compile(r"( *)-( +)")
_BARE_KEY_END = re.compile(r"\s*:\s*(?:#.*)?")


def slot(source: SourceText, mapping, key: str, near: tuple[str, ...] = ()) -> EnvSlot | None:
    """The slot of `mapping` (a step, a service) for its `key` collection; a new key goes above the first key
    of `near` that starts its line, else above the first key that does."""
    if not isinstance(mapping, y.MappingNode) or mapping.flow_style:
        return None
    pairs = [(k, v) for k, v in mapping.value if isinstance(k, y.ScalarNode)]
    if any(k.value == "<<" or k.tag == "tag:yaml.org,2002:merge" for k, _ in pairs) and \
            not any(k.value == key for k, _ in pairs):
        return None  # the merged mapping may have the key's collection, which an own one would replace
    found = [(k, v) for k, v in pairs if k.value == key]
    if len(found) > 1:
        return None
    if found:
        return _inside(source, *found[0])
    keys = [k for k, _ in pairs if _indent(source, k) is not None]
    keys.sort(key=lambda k: (k.value not in near, near.index(k.value) if k.value in near else 0))
    if not keys:
        return None
    indent = _indent(source, keys[0])
    return EnvSlot(_line_start(source, keys[0]), f"{indent}{key}:\n{indent}  {{entry}}\n")


def _inside(source: SourceText, key_node, value) -> EnvSlot | None:
    line = source.line(key_node.end_mark.line + 1)
    if not _BARE_KEY_END.fullmatch(line[key_node.end_mark.column:]):
        return None  # a flow collection, an anchor or alias, a value on the key's line
    if isinstance(value, y.MappingNode) and not value.flow_style and value.value:
        first = value.value[0][0]
        indent = _indent(source, first)
        return None if indent is None else EnvSlot(_line_start(source, first), f"{indent}{{entry}}\n")
    if isinstance(value, y.SequenceNode) and not value.flow_style and value.value:
        first = value.value[0]
        if not isinstance(first, y.ScalarNode):
            return None
        item = _ITEM.fullmatch(source.line(first.start_mark.line + 1)[:first.start_mark.column])
        if item is None:
            return None
        return EnvSlot(_line_start(source, first), f"{item.group(1)}-{item.group(2)}{{entry}}\n", listed=True)
    return None


def _indent(source: SourceText, node) -> str | None:
    """The spaces before a node that starts its line; None when something else is before it."""
    before = source.line(node.start_mark.line + 1)[:node.start_mark.column]
    return before if before == " " * len(before) else None


def _line_start(source: SourceText, node) -> Location:
    line = node.start_mark.line + 1
    return Location(source.path, line, 1, line, 1)


def within(node, outer) -> bool:
    """The node is written inside `outer` (not an alias of a node written elsewhere)."""
    return node is not None and outer is not None and \
        outer.start_mark.index <= node.start_mark.index <= outer.end_mark.index
