"""The tracked requirements of a setuptools project: `install_requires` and `extras_require` in
setup.py and in setup.cfg.

setup.py is a program, and preflight never runs scanned code: it is read with `ast`, and only what is
literally there counts: a list of strings, a name bound to one in the same module (`install_requires=
REQUIRED`), their sums, the extras dict built from such lists (`extras["dev"] = [...]`), and
`deps["name"]` looked up in a table made from a literal list (transformers' idiom). A list computed
at run time otherwise (read from a file, returned by a function) is not followed; requirement files
are read on their own anyway.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict

from preflight.findings import Location
from preflight.model import Fact, ParseError, VersionPin
from preflight.sources.requirements import normalise, pin
from preflight.sources.text import SourceText

_MAIN, _OPTIONAL = VersionPin.MAIN, VersionPin.OPTIONAL
_STRING_START = re.compile(r"[rRuUbBfF]{0,2}(\"\"\"|'''|\"|')")


def setup_py(source: SourceText) -> list[Fact]:
    from preflight.sources.python import parse

    tree = parse(source)
    if isinstance(tree, ParseError):
        return [tree]
    module = _Bindings(tree)
    found: dict[int, tuple[ast.Constant, str, str]] = {}  # one requirement, named by the first list that has it
    try:
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_setup(n.func)):
            keywords = {k.arg: k.value for k in call.keywords if k.arg}
            if "install_requires" in keywords:
                for node in module.strings(keywords["install_requires"]):
                    found.setdefault(id(node), (node, "setup.py install_requires", _MAIN))
            for extra, value in module.groups(keywords["extras_require"]) if "extras_require" in keywords else []:
                for node in module.strings(value):
                    found.setdefault(id(node), (node, f"setup.py extras_require.{extra}", _OPTIONAL))
    except RecursionError:  # a sum of thousands of lists: nothing a real setup.py writes
        return []
    facts: list[Fact] = []
    for node, where, role in found.values():
        requirement = pin(node.value, _string_location(source, node), where, role)
        if requirement:
            facts.append(requirement)
    return facts


def _is_setup(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "setup") or (isinstance(func, ast.Attribute) and
                                                                   func.attr == "setup")


class _Bindings:
    """What each name of the module is bound to, as far as a literal says: `name = [...]`,
    `name += [...]`, `name["key"] = [...]`. Function and class bodies are not the module's bindings."""

    def __init__(self, tree: ast.Module) -> None:
        self.values: dict[str, list[ast.expr]] = defaultdict(list)
        self.items: dict[str, dict[str, list[ast.expr]]] = defaultdict(lambda: defaultdict(list))
        pending = list(tree.body)
        while pending:
            node = pending.pop(0)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    self._bind(target, node.value)
            pending[:0] = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]

    def _bind(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.values[target.id].append(value)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and isinstance(
                target.slice, ast.Constant) and isinstance(target.slice.value, str):
            self.items[target.value.id][target.slice.value].append(value)

    def strings(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> list[ast.Constant]:
        """The string literals a requirement list is made of."""
        if isinstance(node, ast.Constant):
            return [node] if isinstance(node.value, str) else []
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [s for element in node.elts for s in self.strings(element, seen)]
        if isinstance(node, ast.Starred):
            return self.strings(node.value, seen)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.strings(node.left, seen) + self.strings(node.right, seen)
        if isinstance(node, ast.Name) and node.id not in seen:
            return [s for value in self.values.get(node.id, []) for s in self.strings(value, seen | {node.id})]
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and isinstance(
                node.slice, ast.Constant) and isinstance(node.slice.value, str):
            item = f"{node.value.id}[{node.slice.value!r}]"
            if item in seen:
                return []
            literal = [value for extra, value in self.groups(node.value, seen) if extra == node.slice.value]
            found = [s for value in literal for s in self.strings(value, seen | {item})]
            return found or self._looked_up(node.value.id, node.slice.value, seen | {item})
        return []

    def _looked_up(self, table: str, key: str, seen: frozenset[str]) -> list[ast.Constant]:
        """`deps["transformers"]`, where `deps` is a comprehension over a literal list of requirements (the
        idiom of transformers' setup.py, copied by many): the entry of that list that names the key. The
        comprehension is not evaluated; that it maps each name to its requirement is the idiom's meaning."""
        found = []
        for value in self.values.get(table, []):
            for generator in value.generators if isinstance(value, ast.DictComp) else []:
                for name in (n for n in ast.walk(generator.iter) if isinstance(n, ast.Name)):
                    found += [s for s in self.strings(name, seen) if _names(s.value, key)]
        return found

    def groups(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> list[tuple[str, ast.expr]]:
        """The (extra, requirement list) pairs of an extras_require dict."""
        if isinstance(node, ast.Dict):
            return [(key.value, value) for key, value in zip(node.keys, node.values)
                    if isinstance(key, ast.Constant) and isinstance(key.value, str)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            return [(k.arg, k.value) for k in node.keywords if k.arg]
        if isinstance(node, ast.Name) and node.id not in seen:
            found = [g for value in self.values.get(node.id, []) for g in self.groups(value, seen | {node.id})]
            return found + [(key, value) for key, values in self.items.get(node.id, {}).items() for value in values]
        return []


def _names(requirement: str, name: str) -> bool:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return bool(match) and normalise(match.group(1)) == normalise(name)


def _string_location(source: SourceText, node: ast.Constant) -> Location:
    """The requirement text inside its quotes, when the literal is written plainly; else the literal."""
    line = node.lineno
    start = source.offset(line, source.char_column(line, node.col_offset))
    quote = _STRING_START.match(source.text, start)
    value = node.value.strip()
    if quote:
        content = quote.end() + len(node.value) - len(node.value.lstrip())
        if source.text.startswith(value, content):
            return source.location(content, content + len(value))
    return source.location(start)


def setup_cfg(source: SourceText) -> list[Fact]:
    """setup.cfg is INI: a value continues on the indented lines below its key. configparser keeps no
    positions, so the few lines that matter are read here."""
    facts: list[Fact] = []
    section = key = None
    offset = 0
    for line in source.text.split("\n"):
        line_start = offset
        offset += len(line) + 1
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        value_start = 0
        if line[:1] not in (" ", "\t"):  # not a continuation: a section header or a new key
            header = re.match(r"\[([^\]]+)\]", stripped)
            assignment = None if header else re.match(r"([^=:\s][^=:]*?)\s*[=:]\s*", line)
            section = header.group(1).strip() if header else section
            key = assignment.group(1).strip() if assignment else None
            if assignment is None:
                continue
            value_start = assignment.end()
        where = _cfg_where(section, key)
        content = re.split(r"(?:^|\s)#", line[value_start:], maxsplit=1)[0].strip()
        if where is None or not content or content.startswith("file:"):
            continue
        begin = line_start + line.index(content, value_start)
        found = pin(content, source.location(begin, begin + len(content)), *where)
        if found:
            facts.append(found)
    return facts


def _cfg_where(section: str | None, key: str | None) -> tuple[str, str] | None:
    if section == "options" and key == "install_requires":
        return "setup.cfg install_requires", _MAIN
    if section == "options.extras_require" and key:
        return f"setup.cfg extras_require.{key}", _OPTIONAL
    return None
