"""Configuration: `[tool.preflight]` in pyproject.toml (or a preflight.toml), validated by pydantic.

A configuration mistake is a usage error (exit 2) with a message that names the file and the key:
silently ignoring a misspelt `extend-select` would let a CI gate pass that should fail.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILES = (".preflight.toml", "preflight.toml", "pyproject.toml")


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


def parse(path: Path, table: dict[str, Any]) -> Settings:
    if not table:
        return Settings()
    from pydantic import ValidationError

    from preflight.config_schema import SettingsModel

    try:
        model = SettingsModel.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(_format(path, exc)) from None
    return Settings(**model.model_dump())


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


def load(explicit: str | None, start: Path, fallback_base: Path) -> LoadedConfig:
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
    return LoadedConfig(settings=parse(path, table), path=path, base=path.parent.absolute())
