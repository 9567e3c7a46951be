"""YAML as a node tree that keeps a position on every key and value.

Only PyYAML's safe composer is used: nothing in a scanned file can construct Python objects.
Anchors and aliases stay shared nodes (an alias bomb is never expanded), merge keys (`<<`)
are honoured when a mapping is read, and duplicate keys resolve like PyYAML: the last wins.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import yaml

from preflight import linebreaks
from preflight.findings import Location
from preflight.sources.text import SourceText

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MappingNode = yaml.MappingNode
ScalarNode = yaml.ScalarNode
SequenceNode = yaml.SequenceNode
Node = yaml.Node

_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlFailure(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def compose_documents(text: str) -> list[Node]:
    """Compose every document of a YAML stream; raise YamlFailure with a 1-based position."""
    try:
        return [doc for doc in yaml.compose_all(text, Loader=_Loader) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        message = "; ".join(parts) or "invalid YAML"
        if mark is None:
            raise YamlFailure(message, 1, 1) from None
        starts = linebreaks.starts(text, linebreaks.YAML)  # the lines PyYAML's marks count
        if mark.line >= len(starts):  # PyYAML marks the end of the stream past a last line without newline
            raise YamlFailure(message, len(starts), len(text) - starts[-1] + 1) from None
        raise YamlFailure(message, mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise YamlFailure(str(exc).strip() or "invalid YAML", 1, 1) from None
    except RecursionError:
        raise YamlFailure("the YAML is nested too deeply to analyse", 1, 1) from None


def location(source: SourceText, node: Node) -> Location:
    start, end = node.start_mark, node.end_mark
    return Location(source.path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def is_null(node: Node | None) -> bool:
    return node is None or (isinstance(node, ScalarNode) and node.tag == _NULL_TAG)


def items(node: Node | None) -> list[tuple[str, Node, Node]]:
    """(key, key node, value node) of a mapping, merge keys applied, last duplicate winning."""
    if not isinstance(node, MappingNode):
        return []
    return list(_index(node).values())


# Each mapping's keys, merged once: extractors ask one mapping for many keys, and a mapping of 200,000
# keys merged again for each question cost seconds. Weak: an entry lives as long as its node.
_INDEXES: weakref.WeakKeyDictionary[MappingNode, dict[str, tuple[str, Node, Node]]] = weakref.WeakKeyDictionary()


def _index(node: MappingNode) -> dict[str, tuple[str, Node, Node]]:
    index = _INDEXES.get(node)
    if index is None:
        index = {}
        _collect(node, index, set())
        _INDEXES[node] = index
    return index


def _collect(node: MappingNode, into: dict[str, tuple[str, Node, Node]], seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    own: dict[str, tuple[str, Node, Node]] = {}
    merges: list[Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG or (isinstance(key_node, ScalarNode) and key_node.value == "<<"):
            merges.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
            continue
        if isinstance(key_node, ScalarNode):
            own[str(key_node.value)] = (str(key_node.value), key_node, value_node)
    for merge in merges:  # explicit keys override merged ones; earlier merges override later ones
        if isinstance(merge, MappingNode):
            inherited: dict[str, tuple[str, Node, Node]] = {}
            _collect(merge, inherited, seen)
            for key, entry in inherited.items():
                into.setdefault(key, entry)
    for key, entry in own.items():
        into[key] = entry


def get(node: Node | None, key: str) -> Node | None:
    found = _index(node).get(key) if isinstance(node, MappingNode) else None
    return found[2] if found else None


def get_item(node: Node | None, key: str) -> tuple[Node, Node] | None:
    found = _index(node).get(key) if isinstance(node, MappingNode) else None
    return (found[1], found[2]) if found else None


def sequence(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def scalar_text(node: Node | None) -> str | None:
    """The scalar's text as written (after YAML unquoting), or None for non-scalars and null."""
    if isinstance(node, ScalarNode) and node.tag != _NULL_TAG:
        return str(node.value)
    return None


class _Constructor(yaml.constructor.SafeConstructor):
    pass


_VALUE_BUDGET = 5000  # nodes, counting every alias use: an alias bomb is never expanded into a value


def _expanded_size(node: Node, budget: int) -> int:
    """How many nodes the value would have once aliases are expanded, stopping past `budget`."""
    count = 0
    stack = [node]
    while stack:
        current = stack.pop()
        count += 1
        if count > budget:
            return count
        if isinstance(current, SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, MappingNode):
            for key_node, value_node in current.value:
                stack.append(key_node)
                stack.append(value_node)
    return count


def to_python(node: Node | None) -> tuple[bool, Any]:
    """(known, value): the plain Python value of a node, built by the safe constructor only, and
    only when it is small and of the types JSON has: a value that would expand past the budget, or
    that holds what the safe constructor makes of `!!binary`, a date or a timestamp, `!!set`, `!!omap`
    or `!!pairs` (bytes, dates, sets, lists of tuples), is treated as unknown, as is every value the
    rules cannot compare with what a library expects; facts carry only JSON-friendly values."""
    if node is None:
        return True, None
    if not isinstance(node, ScalarNode) and _expanded_size(node, _VALUE_BUDGET) > _VALUE_BUDGET:
        return False, None
    constructor = _Constructor()
    try:
        value = constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, RecursionError, TypeError, ValueError):
        return False, None
    return (True, value) if _json_friendly(value) else (False, None)


_SCALARS = (str, int, float, bool, type(None))


def _json_friendly(value: Any) -> bool:
    stack = [value]
    while stack:  # the value is within the budget: small
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(current)
        elif isinstance(current, dict):
            if not all(isinstance(key, _SCALARS) for key in current):
                return False
            stack.extend(current.values())
        elif not isinstance(current, _SCALARS):
            return False
    return True


def walk_mappings(node: Node | None) -> Iterator[MappingNode]:
    """Every mapping below a node, each shared (aliased) node visited once."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, MappingNode):
            yield current
            for key_node, value_node in current.value:
                stack.append(value_node)
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)


def find_in_node(source: SourceText, node: Node, needle: str, after: int = 0,
                 within: int | None = None) -> Location | None:
    """Where `needle` is written inside a scalar node's source span (for commands in `run: |`), at most
    `within` characters after `after` when it is given."""
    start = node.start_mark.index + after
    end = node.end_mark.index if within is None else min(node.end_mark.index, start + within)
    found = source.text.find(needle, start, max(end, start + len(needle)))
    if found < 0:
        return None
    return source.location(found, found + len(needle))
