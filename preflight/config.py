"""Configuration: `[tool.preflight]` in pyproject.toml (or a preflight.toml), validated by pydantic.

A configuration mistake is a usage error (exit 2) with a message that names the file and the key:
silently ignoring a misspelt `extend-select` would let a CI gate pass that should fail.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILES = (".preflight.toml", "preflight.toml", "pyproject.toml")
CACHE_DIRECTORY = ".preflight_cache"  # beside the configuration, unless --cache-dir says otherwise


class ConfigError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Settings:
    """The validated `[tool.preflight]` table (see config_schema.SettingsModel for the rules)."""

    select: list[str] | None = None
    extend_select: list[str] = dataclasses.field(default_factory=list)
    ignore: list[str] = dataclasses.field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    exclude: list[str] | None = None
    extend_exclude: list[str] = dataclasses.field(default_factory=list)
    rules: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    versions: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    path: Path | None
    base: Path  # patterns and per-file-ignores are relative to this folder


def _table(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
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
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"  {prefix}{'.' if prefix and where else ''}{where}: {message}")
    return "\n".join(lines)


def parse(path: Path, table: dict[str, Any], memo_dir: Path | None = None) -> Settings:
    """Validate the table with pydantic. A valid table's settings are remembered in `memo_dir` (the
    facts cache, when it exists), keyed by the table's content and this code: a warm run of the
    pre-commit hook then never imports pydantic, and a changed table is validated again."""
    if not table:
        return Settings()
    memo = _memo_path(memo_dir, table) if memo_dir is not None and memo_dir.is_dir() else None
    remembered = _recall(memo) if memo is not None else None
    if remembered is not None:
        return remembered
    from pydantic import ValidationError

    from preflight.config_schema import SettingsModel

    try:
        model = SettingsModel.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(_format(path, exc)) from None
    settings = Settings(**model.model_dump())
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
        data = json.loads(memo.read_text(encoding="utf-8"))
        return Settings(**data)
    except (OSError, ValueError, TypeError):
        return None  # absent or damaged: validate again


def _remember(memo: Path, settings: Settings) -> None:
    import json
    import os

    temporary = memo.with_suffix(f".{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        temporary.write_text(json.dumps(dataclasses.asdict(settings)), encoding="utf-8")
        os.replace(temporary, memo)


def find(start: Path) -> Path | None:
    start = start.absolute()
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
    base = path.parent.absolute()
    memo_dir = (cache_dir or base / CACHE_DIRECTORY) if remember else None
    return LoadedConfig(settings=parse(path, table, memo_dir), path=path, base=base)
