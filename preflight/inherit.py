"""`extend = "../pyproject.toml"`: a configuration that inherits another's settings, as ruff's `extend` does.

The extended file is read first (and what it extends before it), then each file's settings are laid over
the ones before:
- a setting the file sets replaces the inherited one (`select`, `exclude`, `fail-on`);
- `extend-select`, `ignore` and `extend-exclude` add to the inherited lists, as their names say, except
  that a `select` starts the selection afresh: the inherited `extend-select` and `ignore` are dropped
  with the inherited `select`, as in ruff;
- the tables (`per-file-ignores`, `severity`, `versions`, and each rule's options under `rules`) are
  merged key by key, the extending file's value winning.

Each file is validated alone, so that an error names the file that holds it. Path patterns keep the
meaning they have in the file that wrote them: an anchored pattern (`tests/fixtures`) is relative to its
own file's folder, and one that matches at any depth (`build`, `*.ipynb`) matches at any depth of the
checked project. So that one matcher can apply them all, every pattern is rewritten to the folder that
holds all the files of the chain (`LoadedConfig.base`): `tests/fixtures` written in `svc/pyproject.toml`
becomes `svc/tests/fixtures`, `build` there `svc/**/build`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

LISTS_ADDED = ("extend-select", "ignore", "extend-exclude")
TABLES_MERGED = ("per-file-ignores", "severity", "versions", "rules")
_PATTERN_LISTS = ("exclude", "extend-exclude")
_DEPTH = 32  # a chain longer than this is a mistake (or a cycle through links)


class Chain:
    """The files a configuration extends, the farthest first and itself last, each with its table."""

    def __init__(self, links: list[tuple[Path, dict[str, Any]]]) -> None:
        self.links = links
        self.paths = tuple(path for path, _ in links)
        self.base = Path(os.path.commonpath([folder(path) for path in self.paths]))

    def prefix(self, path: Path) -> str:
        """`path`'s folder relative to the chain's base ("" for the base itself), with `/` separators."""
        return relative(path, self.base)


def folder(path: Path) -> str:
    """The file's folder, absolute, without `..` (`svc/../pyproject.toml` is in the folder above svc)."""
    return os.path.dirname(os.path.abspath(path))


def relative(path: Path, base: Path) -> str:
    return Path(folder(path)).relative_to(base).as_posix().removeprefix(".")


def chain(path: Path, table: dict[str, Any], read, error) -> Chain:
    """The chain of `path` (whose table is `table`). `read(path)` gives a file's table (None: a
    pyproject.toml without [tool.preflight]); `error(message)` makes the exception to raise."""
    from preflight.config import toml_value

    links = [(path, table)]
    seen = {path.resolve()}
    while "extend" in links[0][1]:
        current, current_table = links[0]
        raw = current_table["extend"]
        if not isinstance(raw, str) or not raw.strip():
            raise error(f"{current}: {where(current)}extend: expected the path of a pyproject.toml or preflight.toml, "
                        f"got {toml_value(raw)}")
        target = Path(os.path.expandvars(raw.strip())).expanduser()
        target = Path(os.path.abspath(target if target.is_absolute() else current.parent / target))
        if target.resolve() in seen:
            raise error(f"{current}: {where(current)}extend = {raw!r}: {target} extends {current} in turn (a cycle)")
        if len(links) >= _DEPTH:
            raise error(f"{path}: extend: more than {_DEPTH} configurations extend one another")
        if not target.is_file():
            raise error(f"{current}: {where(current)}extend = {raw!r}: no such file ({target})")
        extended = read(target)
        if extended is None:
            raise error(f"{target}: has no [tool.preflight] table (extended by {current})")
        seen.add(target.resolve())
        links.insert(0, (target, extended))
    return Chain(links)


def where(path: Path) -> str:
    return "[tool.preflight]." if path.name == "pyproject.toml" else ""


def merge(links: list[tuple[Path, dict[str, Any]]], base: Path,
          home: str) -> tuple[dict[str, Any], dict[str, tuple[Path, ...]]]:
    """The merged table (canonical TOML spellings, patterns rewritten to `base`) and, for each setting
    (`select`, `severity.HF008`, `rules.HF001.strict`), the file that set it (the files that added to a
    list, in order). `home` is the
    extending file's folder relative to `base`: patterns that match at any depth, from a file outside
    it, are applied within it."""
    merged: dict[str, Any] = {}
    origins: dict[str, tuple[Path, ...]] = {}
    for path, table in links:
        own = relative(path, base)
        inside = not home or not own or home == own or home.startswith(own + "/")
        table = _rewritten(canonical(table), own, own if inside else home)
        if "select" in table:  # a selection of its own: nothing inherited is added to it
            for key in ("extend-select", "ignore"):
                merged.pop(key, None)
                origins.pop(key, None)
        for key, value in table.items():
            if key == "extend":
                continue
            if key in LISTS_ADDED:
                merged[key] = [*merged.get(key, []), *value]
                origins[key] = (*origins.get(key, ()), path)
            elif key in TABLES_MERGED and isinstance(value, dict):
                inherited = merged.setdefault(key, {})
                for name, item in value.items():
                    if key == "rules" and isinstance(item, dict):
                        inherited[name] = {**inherited.get(name, {}), **item}
                        for option in item:
                            origins[f"rules.{name}.{option}"] = (path,)
                    else:
                        inherited[name] = item
                        origins[f"{key}.{name}"] = (path,)
            else:
                merged[key] = value
                origins[key] = (path,)
    return merged, origins


def canonical(table: dict[str, Any]) -> dict[str, Any]:
    """The table with every key in its TOML spelling (`extend_select` is accepted for `extend-select`)."""
    import dataclasses

    from preflight.config import Settings

    spelling = {}
    for item in dataclasses.fields(Settings):
        name = item.metadata.get("alias", item.name)
        spelling[item.name] = spelling[name] = name
    return {spelling.get(key, key): value for key, value in table.items()}


def _rewritten(table: dict[str, Any], anchored_in: str, anywhere_in: str) -> dict[str, Any]:
    from preflight import globs

    if not anchored_in and not anywhere_in:
        return table
    table = dict(table)
    for key in _PATTERN_LISTS:
        if isinstance(table.get(key), list):
            table[key] = [globs.moved(p, anchored_in, anywhere_in) for p in table[key]]
    if isinstance(table.get("per-file-ignores"), dict):
        table["per-file-ignores"] = {globs.moved(p, anchored_in, anywhere_in): codes
                                     for p, codes in table["per-file-ignores"].items()}
    return table
