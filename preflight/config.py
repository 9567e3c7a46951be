"""Configuration: `[tool.preflight]` in pyproject.toml (or a preflight.toml), validated by pydantic.

A configuration mistake is a usage error (exit 2) with a message that names the file and the key:
silently ignoring a misspelt `extend-select` would let a CI gate pass that should fail.

`Settings` is declared once, as a plain frozen dataclass that pydantic validates (its field metadata
carries the TOML spellings and descriptions, `__pydantic_config__` forbids unknown keys) and that the
engine reads. A plain dataclass rather than a BaseModel so that a run whose settings were validated
before never imports pydantic (about a third of a warm pre-commit run), like the rules' options.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import typing
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal

from preflight import cachedir, reading

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILES = (".preflight.toml", "preflight.toml", "pyproject.toml")
CACHE_DIRECTORY = ".preflight_cache"  # beside the configuration, unless --cache-dir says otherwise
_CONFIG_LIMIT = 4 << 20  # a pyproject.toml of a large project is a few KiB

# Every library whose version a rule asks (preflight.versions: WITH_FIELD_DATA and NEWEST_KNOWN).
Library = Literal["transformers", "trl", "axolotl", "accelerate", "wandb", "mlflow", "neptune", "aim"]
LIBRARIES = typing.get_args(Library)
Level = Literal["error", "warning", "info"]
VERSION_PATTERN = r"^\d{1,9}(\.\d{1,9}){0,3}([a-z]+\d{0,9})?$"  # also in the published JSON schema
_VERSION = re.compile(VERSION_PATTERN)


class ConfigError(Exception):
    pass


def _version_numbers(value: dict[str, str]) -> dict[str, str]:
    for library, version in value.items():
        if not _VERSION.match(str(version)):
            raise ValueError(f"{library} = {version!r} is not a version number like \"4.57.1\"")
        _in_range(library, str(version))
    return value


def _in_range(library: str, version: str) -> None:
    """A library whose fields preflight reads from released wheels is answered for the minor releases it
    examined: `transformers = "3.0.0"` would be answered as the oldest examined release, silently wrong."""
    from preflight import versions

    if library not in versions.WITH_FIELD_DATA:
        return
    known = versions.known_versions(library)
    wanted = versions.release(version)[:2]
    if not (versions.release(known[0])[:2] <= wanted <= versions.release(known[-1])[:2]):
        raise ValueError(f"{library} = {version!r} is outside the releases preflight knows ({known[0]} to "
                         f"{known[-1]}): set one of those, or use a preflight release that knows {version}")


def _patterns(value):
    """Every exclude and per-file-ignores pattern must compile: a bad one (`[z-a]`, `[!]`) would stop the
    scan with a regex error at the first path it meets."""
    from preflight import globs

    for pattern in value or ():  # a list, or the keys of per-file-ignores
        try:
            globs.pattern_set((pattern,))
            if pattern.strip().startswith("!"):  # per-file-ignores matches what follows the `!` on its own
                globs.pattern_set((pattern.strip()[1:],))
        except globs.PatternError as exc:
            raise ValueError(str(exc)) from None
    return value


class _Patterns:
    """Marks the pattern settings for pydantic (see `_patterns`)."""

    def __get_pydantic_core_schema__(self, source, handler):
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(_patterns, handler(source))


class _VersionNumbers:
    """Marks `versions` for pydantic (which calls this hook only while validating): every value must
    be a version number."""

    def __get_pydantic_core_schema__(self, source, handler):
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(_version_numbers, handler(source))


def _setting(description: str, default: Any = None, *, alias: str | None = None, factory: Any = None,
             strict: bool = True) -> Any:
    # strict: TOML has types of its own, and a value of another type is a mistake to name, never one to
    # convert (pydantic's lax mode reads "yes", "on" and 1 as true)
    metadata = {"description": description, **({"strict": True} if strict else {})}
    if alias:
        metadata["alias"] = alias
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The `[tool.preflight]` table, with the command line's selection applied (`selecting`)."""

    __pydantic_config__ = {"extra": "forbid", "populate_by_name": True}

    select: list[str] | None = _setting("Rule codes or prefixes to enable (default: all E and W rules).")
    extend_select: list[str] = _setting("Codes or prefixes to enable in addition to `select`.",
                                        alias="extend-select", factory=list)
    ignore: list[str] = _setting("Codes or prefixes to disable.", factory=list)
    per_file_ignores: Annotated[dict[str, list[str]], _Patterns()] = _setting(
        "Glob pattern -> codes ignored in matching files.", alias="per-file-ignores", factory=dict)
    exclude: Annotated[list[str] | None, _Patterns()] = _setting("Patterns to skip (replaces the defaults).")
    extend_exclude: Annotated[list[str], _Patterns()] = _setting("Patterns to skip in addition to the defaults.",
                                                                 alias="extend-exclude", factory=list)
    rules: dict[str, dict[str, Any]] = _setting(
        "Per-rule options, keyed by code or name: [tool.preflight.rules.HF001].", factory=dict)
    versions: Annotated[dict[Library, str], _VersionNumbers()] = _setting(
        "Library versions the rules assume, e.g. transformers = \"4.57.1\".", factory=dict)
    extend: str | None = _setting(
        "A configuration this one extends (pyproject.toml or preflight.toml; relative to this file's folder): its "
        "settings apply where this one sets none; extend-select, ignore and extend-exclude add to its lists "
        "(a select here starts the selection afresh), per-file-ignores, severity, versions and rules merge key "
        "by key.")
    severity: dict[str, Level] = _setting(
        "Rule code or name -> the severity its findings are reported with: [tool.preflight.severity] "
        "HF008 = \"error\".", factory=dict)
    fail_on: Level = _setting(
        "The least severity that makes `preflight check` exit 1: \"error\", \"warning\" or \"info\" "
        "(default: any reported finding fails).", "info", alias="fail-on", strict=False)  # a Literal is exact

    def selecting(self, select: list[str] | None = None, extend_select: list[str] | None = None,
                  ignore: list[str] | None = None) -> Settings:
        """These settings with the command line's selection: `--select` replaces `select`,
        `--extend-select` and `--ignore` add to theirs."""
        return dataclasses.replace(self, select=select or self.select,
                                   extend_select=[*self.extend_select, *(extend_select or [])],
                                   ignore=[*self.ignore, *(ignore or [])])


@dataclasses.dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    path: Path | None
    base: Path  # patterns and per-file-ignores are relative to this folder
    shadowed: tuple[Path, ...] = ()  # configurations beside `path` that it outranks (and are not read)
    extends: tuple[Path, ...] = ()  # the configurations `path` extends, the farthest first (preflight.inherit)
    # setting (TOML spelling: `select`, `severity.HF008`, `rules.HF001.strict`) -> the file that set it (the
    # files that added to an inherited list, in order)
    origins: dict[str, tuple[Path, ...]] = dataclasses.field(default_factory=dict, compare=False)
    home: str = ""  # the configuration's folder relative to `base` ("": the same; else `extend` reached above)

    @property
    def folder(self) -> Path:
        """The configuration's own folder, where its cache lives."""
        return self.base / self.home if self.home else self.base


def _table(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(reading.read_text(path, _CONFIG_LIMIT))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {reading.why(exc)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("preflight")
        return table if isinstance(table, dict) else None
    return data


def _format(path: Path, error) -> str:
    prefix = "[tool.preflight]" if path.name == "pyproject.toml" else ""
    lines = [f"{path}: invalid configuration"]
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        message = problem(item)
        if len(item["loc"]) == 3 and item["loc"][0] == "versions" and item["loc"][2] == "[key]":
            where = f"versions.{item['loc'][1]}"  # a library preflight has no versions of (a misspelt name)
            message = (f"unknown library{_closest(str(item['loc'][1]), LIBRARIES)}; the libraries whose version "
                       f"the rules ask are {', '.join(LIBRARIES)}")
        if item["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            message = "unknown setting" + _did_you_mean(str(item["loc"][-1]) if item["loc"] else "")
            if not prefix and where == "tool":  # [tool.preflight] in a file read as a preflight.toml
                message = ("unknown setting: only a file named pyproject.toml is read from its [tool.preflight] "
                           "table; this one holds the settings at its top level, as preflight.toml does")
        lines.append(f"  {prefix}{'.' if prefix and where else ''}{where}: {message}")
    return "\n".join(lines)


_EXPECTED = {"bool_type": "a boolean (true or false)", "string_type": "a string", "list_type": "an array",
             "dict_type": "a table", "int_type": "an integer", "float_type": "a number",
             "int_from_float": "an integer", "dataclass_type": "a table"}


def problem(item: dict) -> str:
    """A pydantic error as a TOML reader says it: the type expected and the value given, in TOML's words
    (`strict = "yes"`: expected a boolean (true or false), got the string "yes")."""
    expected = _EXPECTED.get(item["type"])
    if item["type"] == "literal_error":
        expected = "one of " + item.get("ctx", {}).get("expected", "").replace("'", '"')
    if expected is None:
        return item["msg"].removeprefix("Value error, ")
    return f"expected {expected}, got {toml_value(item.get('input'))}"


def toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"  # a date or time


def _did_you_mean(key: str) -> str:
    """The setting a misspelt top-level key most likely meant (`extend_select`, `per-file-ignore`)."""
    return _closest(key.replace("_", "-"), [f.metadata.get("alias", f.name) for f in dataclasses.fields(Settings)])


def _closest(key: str, names) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse(path: Path, table: dict[str, Any], memo_dir: Path | None = None) -> Settings:
    """Validate the table with pydantic. A valid table's settings are remembered in `memo_dir` (the
    facts cache, when it exists), keyed by the table's content and this code: a warm run of the
    pre-commit hook then never imports pydantic, and a changed table is validated again."""
    if not table:
        return Settings()
    usable = memo_dir is not None and memo_dir.is_dir() and cachedir.refusal(memo_dir) is None
    memo = _memo_path(memo_dir, table) if usable else None
    remembered = _recall(memo) if memo is not None else None
    if remembered is not None:
        return remembered
    from pydantic import TypeAdapter, ValidationError

    try:
        settings = TypeAdapter(Settings).validate_python(table)
    except ValidationError as exc:
        raise ConfigError(_format(path, exc)) from None
    if memo is not None:
        _remember(memo, settings)
    return settings


def _memo_path(directory: Path, table: dict[str, Any]) -> Path:
    import hashlib
    import json

    from preflight.cache import TOOL  # the build that validates (loaded by the run that caches anyway)

    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps(table, sort_keys=True, default=repr).encode())
    digest.update(TOOL.encode())
    return directory / f"settings-{digest.hexdigest()}.json"


def _recall(memo: Path) -> Settings | None:
    import json

    try:
        data = json.loads(reading.read_text(memo, _CONFIG_LIMIT))
        return Settings(**data)
    except (OSError, ValueError, TypeError):
        return None  # absent or damaged: validate again


def _remember(memo: Path, settings: Settings) -> None:
    import json

    with contextlib.suppress(OSError):
        cachedir.write_private(memo, json.dumps(dataclasses.asdict(settings)))


def shadowed(path: Path) -> tuple[Path, ...]:
    """The configurations in `path`'s folder that `path` outranks (CONFIG_FILES order): a preflight.toml
    beside a pyproject.toml with [tool.preflight] wins, and the user should know the other is not read."""
    later = CONFIG_FILES[CONFIG_FILES.index(path.name) + 1:] if path.name in CONFIG_FILES else ()
    found = []
    for name in later:
        other = path.parent / name
        with contextlib.suppress(ConfigError):
            if other.is_file() and (name != "pyproject.toml" or _table(other) is not None):
                found.append(other)
    return tuple(found)


def find(start: Path) -> Path | None:
    start = Path(os.path.abspath(start))  # without `..`: ../other/x.py is in other/, not below the cwd
    directory = start if start.is_dir() else start.parent
    for candidate in [directory, *directory.parents]:
        for name in CONFIG_FILES:
            path = candidate / name
            if path.is_file():
                if name != "pyproject.toml" or _table(path) is not None:
                    return path
    return None


def load(explicit: str | None, start: Path, fallback_base: Path, remember: bool = False,
         cache_dir: Path | None = None) -> LoadedConfig:
    """The configuration that applies to `start`. With `remember`, validated settings are kept in the
    cache folder (`cache_dir`, else the one beside the configuration) when it exists."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{explicit}: configuration file not found")
    else:
        path = find(start)
    if path is None:
        return LoadedConfig(settings=Settings(), path=None, base=fallback_base)
    table = _table(path)
    if table is None:
        if explicit:
            raise ConfigError(f"{path}: has no [tool.preflight] table")
        table = {}
    base = Path(os.path.dirname(os.path.abspath(path)))  # without `..`, as the paths it is compared with
    memo_dir = (cache_dir or base / CACHE_DIRECTORY) if remember else None
    others = () if explicit else shadowed(path)
    if "extend" not in table:
        return LoadedConfig(settings=parse(path, table, memo_dir), path=path, base=base, shadowed=others,
                            origins={key: (path,) for key in _keys(table)})
    from preflight import inherit

    chain = inherit.chain(path, table, _table, ConfigError)
    for link, link_table in chain.links:
        parse(link, link_table, memo_dir)  # each file alone: an error names the file that holds it
    home = chain.prefix(path)
    merged, origins = inherit.merge(chain.links, chain.base, home)
    return LoadedConfig(settings=parse(path, merged, memo_dir), path=path, base=chain.base, shadowed=others,
                        extends=chain.paths[:-1], origins=origins, home=home)


def _keys(table: dict[str, Any]):
    """Each setting a table sets, as LoadedConfig.origins names them."""
    from preflight import inherit

    for key, value in inherit.canonical(table).items():
        if key in inherit.TABLES_MERGED and isinstance(value, dict):
            for name, item in value.items():
                if key == "rules" and isinstance(item, dict):
                    yield from (f"rules.{name}.{option}" for option in item)
                else:
                    yield f"{key}.{name}"
        else:
            yield key
