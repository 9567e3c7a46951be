"""The configuration a Hydra program composes for one launch, as far as it can be known from the tree.

`@hydra.main(config_path=P, config_name=N)` composes the primary config `P/N.yaml` with its defaults list, the
config groups that list (and the configs it selects) choose, and the launch's command-line overrides. Ported from
hydra-core 1.3.8 (`_internal/defaults_list.py`, `_internal/config_loader_impl.py`, `core/override_parser`), for
the shapes projects write:

- A defaults list entry `group: option` selects `group/option.yaml`; inside a config of group G, `x: o` is the
  group `G/x` and a bare `- o` the config `G/o`; a leading `/` makes either absolute. `optional` entries whose
  file is missing are skipped, `group: null` selects nothing, `override group: option` (in any selected config)
  and the command line's `group=option` replace a selection, `+group=option` adds one.
- A config's content goes to its package: `# @package _global_` (the root) or `_group_` (the group's path, the
  default since 1.1). `_self_` is where a config's own content is merged among its defaults; without it, after
  them (1.1+). Later content wins, key by key (OmegaConf merge); `key=value` overrides come last, `~key` deletes.

Anything else (a package given in the entry `group@pkg`, a list of options, an interpolation in an option,
`???`, a config or group option missing from the tree (a structured config a `ConfigStore` registers, a
plugin's), a sweep `a=1,2`, an override of a group the defaults list does not name or of a key the config does
not have without `+` (Hydra refuses both before the program runs), `hydra.searchpath` in the primary config)
makes the composition unknown: `compose` returns None and no rule judges it. The `hydra` group itself (Hydra's
own settings, partly from plugins) is skipped: it writes only under `hydra.`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from preflight.findings import Location
from preflight.model import Value
from preflight.sources import yamltree as y
from preflight.sources.configs import value as yaml_value
from preflight.sources.text import SourceText

_PACKAGE = re.compile(r"^\s*#\s*@package\s+(\S+)\s*$")
_MAX_CONFIGS = 200


class Unknown(Exception):
    """The composition cannot be known from the tree."""


@dataclass
class Node:
    """A composed mapping: each key's Value (a leaf) or Node (a mapping), with the Value of the mapping itself
    where one file wrote it (for its position)."""

    entries: dict[str, Value | Node] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # the configs that wrote into it, in order

    def get(self, *path: str) -> Value | Node | None:
        current: Value | Node | None = self
        for key in path:
            if not isinstance(current, Node):
                return None
            current = current.entries.get(key)
        return current

    def literal(self, key: str):
        """(known, literal) of a leaf, (True, None) when absent."""
        found = self.entries.get(key)
        if found is None:
            return True, None
        if isinstance(found, Node):
            return False, None
        return found.known, found.literal


@dataclass(frozen=True)
class Composed:
    root: Node
    files: tuple[str, ...]  # every config file read


def compose(project, folder: str, config_name: str, overrides: tuple[tuple[str, str], ...] = (),
            at: Location | None = None) -> Composed | None:
    """The configuration `folder/config_name` composes under these command-line overrides (written at `at`), or
    None when it cannot be known."""
    try:
        return _Composer(project, folder, overrides, at).run(config_name)
    except Unknown:
        return None


class _Composer:
    def __init__(self, project, folder: str, overrides: tuple[tuple[str, str], ...], at: Location | None) -> None:
        self.project = project
        self.at = at
        self.folder = folder.rstrip("/") or "."
        self.group_choices: dict[str, str | None] = {}  # command line `group=option`
        self.added: list[tuple[str, str]] = []  # command line `+group=option`
        self.values: list[tuple[str, str, str]] = []  # (op, dotted key, raw value): op "", "+", "++", "~"
        self.overridden: dict[str, str | None] = {}  # `override group: option` from configs
        self.listed: set[str] = set()  # the groups the defaults tree lists (what an override may replace)
        self.read: list[str] = []
        for key, raw in overrides:
            self._command_line(key, raw)

    # -- the command line ------------------------------------------------------------------------

    def _command_line(self, key: str, raw: str) -> None:
        op = re.match(r"^(\+\+|\+|~)?", key).group(0)
        name = key[len(op):]
        if not re.fullmatch(r"[A-Za-z_][\w-]*(?:[./][\w-]+)*", name) or "@" in name:
            raise Unknown(key)
        if _is_sweep(raw):
            raise Unknown(key)  # `-m a=1,2`: one run per value
        if self._is_group(name):
            if op == "~":
                self.group_choices[name] = None
            elif op == "+":
                self.added.append((name, raw))
            elif op == "":
                self.group_choices[name] = None if raw.strip() in ("null", "") else raw.strip()
            else:
                raise Unknown(key)
            return
        self.values.append((op, name.replace("/", "."), raw))

    def _is_group(self, name: str) -> bool:
        prefix = posixpath.join(self.folder, name) + "/"
        return any(path.startswith(prefix) and path.endswith((".yaml", ".yml")) for path in self.project.files)

    # -- configs ---------------------------------------------------------------------------------

    def _file(self, config: str) -> str | None:
        for suffix in (".yaml", ".yml"):
            path = posixpath.normpath(posixpath.join(self.folder, config + suffix))
            if self.project.known(path):
                return path
        return None

    def _load(self, config: str):
        """(path, SourceText, mapping node, header package) of a config, None when it is not in the tree."""
        path = self._file(config)
        if path is None:
            return None
        text = self.project.read_text(path)
        if text is None:
            raise Unknown(path)
        if len(self.read) >= _MAX_CONFIGS:
            raise Unknown("too many configs")
        self.read.append(path)
        try:
            documents = y.compose_documents(text)
        except y.YamlFailure:
            raise Unknown(path) from None
        if len(documents) > 1:
            raise Unknown(path)
        document = documents[0] if documents else None
        if document is not None and not isinstance(document, y.MappingNode):
            raise Unknown(path)
        package = None
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                break
            match = _PACKAGE.match(line)
            if match:
                package = match.group(1)
        return path, SourceText(path, text), document, package

    # -- the defaults tree -----------------------------------------------------------------------

    def run(self, config_name: str) -> Composed:
        name = config_name[:-5] if config_name.endswith(".yaml") else config_name
        name = name[:-4] if name.endswith(".yml") else name
        loaded = self._load(name)
        if loaded is None:
            raise Unknown(name)
        # Two passes: the first finds every `override` a selected config writes (they apply to the whole tree),
        # the second composes with them.
        self._tree(loaded, "", "", primary=True, collect=True)
        root = Node()
        for path, source, document, package in self._tree(loaded, "", "", primary=True, collect=False):
            self._merge(root, package, source, document, path)
        missing = (set(self.group_choices) | set(self.overridden)) - self.listed
        if missing:  # "Could not override 'G'. No match in the defaults list.": nothing runs
            raise Unknown(", ".join(sorted(missing)))
        for op, dotted, raw in self.values:
            self._set(root, op, dotted.split("."), raw)
        hydra = root.get("hydra", "searchpath")
        if hydra is not None:
            raise Unknown("hydra.searchpath")
        return Composed(root, tuple(self.read))

    def _tree(self, loaded, group: str, package: str, primary: bool, collect: bool, depth: int = 0) -> list:
        """The configs in merge order: (path, source, mapping, package) for this config and what it selects."""
        if depth > 12:
            raise Unknown("defaults nested too deeply")
        path, source, document, header = loaded
        own_package = _package(header, group, package)
        entries = y.get(document, "defaults") if document is not None else None
        if entries is not None and not isinstance(entries, y.SequenceNode):
            raise Unknown(path)
        ordered: list = []
        self_seen = False
        items = list(y.sequence(entries))
        added = [(g, o) for g, o in self.added] if primary else []
        for item in items:
            if isinstance(item, y.ScalarNode) and y.scalar_text(item) == "_self_":
                ordered.append(("self",))
                self_seen = True
                continue
            ordered.append(("entry", item))
        if not self_seen:
            ordered.append(("self",))  # Hydra 1.1+: a config's own content after its defaults
        result: list = []
        for step in ordered:
            if step[0] == "self":
                result.append((path, source, _without_defaults(document), own_package))
                continue
            result.extend(self._entry(step[1], group, own_package, collect, depth))
        for added_group, option in added:  # `+group=option`: appended to the primary's defaults
            result.extend(self._select(added_group, option, False, collect, depth))
        return result

    def _entry(self, item, group: str, package: str, collect: bool, depth: int) -> list:
        if isinstance(item, y.ScalarNode):
            text = (y.scalar_text(item) or "").strip()
            if not text or "${" in text or "@" in text or text == "???":
                raise Unknown(text)
            config = text[1:] if text.startswith("/") else posixpath.join(group, text)
            loaded = self._load(config)
            if loaded is None:
                raise Unknown(config)
            return self._tree(loaded, posixpath.dirname(config), package if not text.startswith("/") else "",
                              False, collect, depth + 1)
        if not isinstance(item, y.MappingNode) or len(item.value) != 1:
            raise Unknown("defaults entry")
        key_node, value_node = item.value[0]
        key = (y.scalar_text(key_node) or "").strip()
        words = key.split()
        optional = override = False
        while len(words) > 1 and words[0] in ("optional", "override"):
            optional |= words[0] == "optional"
            override |= words[0] == "override"
            words = words[1:]
        if len(words) != 1 or "@" in words[0]:
            raise Unknown(key)
        name = words[0]
        absolute = name[1:] if name.startswith("/") else posixpath.join(group, name)
        if absolute == "hydra" or absolute.startswith("hydra/"):
            return []  # Hydra's own settings, written under `hydra.`
        if not isinstance(value_node, y.ScalarNode):
            raise Unknown(key)  # a list of options
        option = None if y.is_null(value_node) else (y.scalar_text(value_node) or "").strip()
        if option is not None and ("${" in option or option == "???" or not option):
            raise Unknown(key)
        if override:
            if collect:
                self.overridden.setdefault(absolute, option)
            elif self.overridden.get(absolute, "") != option:
                raise Unknown(key)  # found only once another override changed the tree: Hydra's order decides
            return []
        self.listed.add(absolute)
        if absolute in self.group_choices:
            option = self.group_choices[absolute]
        elif absolute in self.overridden:
            option = self.overridden[absolute]
        if option is None:
            return []
        return self._select(absolute, option, optional, collect, depth)

    def _select(self, group: str, option: str, optional: bool, collect: bool, depth: int) -> list:
        config = posixpath.join(group, option)
        loaded = self._load(config)
        if loaded is None:
            if optional:
                return []
            raise Unknown(config)
        return self._tree(loaded, group, group.replace("/", "."), False, collect, depth + 1)

    # -- merging ---------------------------------------------------------------------------------

    def _merge(self, root: Node, package: str, source: SourceText, document, path: str) -> None:
        if document is None:
            return
        target = root
        for part in [p for p in package.split(".") if p]:
            existing = target.entries.get(part)
            if not isinstance(existing, Node):
                existing = Node()
                target.entries[part] = existing
            target = existing
        _merge_mapping(target, source, document, path)

    def _set(self, root: Node, op: str, keys: list[str], raw: str) -> None:
        parent = root
        for part in keys[:-1]:
            found = parent.entries.get(part)
            if not isinstance(found, Node):
                if op in ("+", "++"):
                    found = Node()
                    parent.entries[part] = found
                else:
                    raise Unknown(".".join(keys))  # Hydra refuses to override a key that is not there
            parent = found
        last = keys[-1]
        if op == "~":
            parent.entries.pop(last, None)
            return
        if op == "" and last not in parent.entries:
            raise Unknown(".".join(keys))
        if self.at is None:
            raise Unknown(".".join(keys))
        parent.entries[last] = _override_value(raw, self.at)


def _package(header: str | None, group: str, parent_package: str) -> str:
    if header is None or header == "_group_":
        return group.replace("/", ".") if header == "_group_" or group else parent_package
    if header == "_global_":
        return ""
    if header.startswith("_global_."):
        return header[len("_global_."):]
    if "_group_" in header or "_name_" in header:
        raise Unknown(header)
    return header


def _without_defaults(document):
    if document is None:
        return None
    kept = [(k, v) for k, v in document.value if y.scalar_text(k) != "defaults"]
    return y.MappingNode(document.tag, kept, document.start_mark, document.end_mark, document.flow_style)


def _merge_mapping(target: Node, source: SourceText, mapping, path: str) -> None:
    target.files.append(path)
    for name, key_node, value_node in y.items(mapping):
        existing = target.entries.get(name)
        if isinstance(value_node, y.MappingNode):
            if not isinstance(existing, Node):
                existing = Node()
                target.entries[name] = existing
            _merge_mapping(existing, source, value_node, path)
        else:
            target.entries[name] = yaml_value(source, key_node, value_node)


def _is_sweep(raw: str) -> bool:
    depth, quote = 0, None
    for char in raw:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            return True
    return raw.strip().startswith(("range(", "choice(", "interval(", "glob(", "shuffle(", "sort("))


def _override_value(raw: str, at: Location) -> Value:
    """A command-line value as Hydra's grammar types it (numbers, booleans, null; a quoted one is a string)."""
    from preflight.program import _UNKNOWN, _hydra_value

    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        literal = text[1:-1]
    else:
        literal = _hydra_value(raw)
    known = literal is not _UNKNOWN and not isinstance(literal, list)
    return Value(location=at, text=raw[:80], known=known, literal=literal if known else None)
