"""Configuration: `[tool.preflight]` in pyproject.toml (or a preflight.toml), validated by pydantic.

A configuration mistake is a usage error (exit 2) with a message that names the file and the key:
silently ignoring a misspelt `extend-select` would let a CI gate pass that should fail.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Library = Literal["transformers", "trl", "axolotl", "wandb", "mlflow"]
_VERSION = re.compile(r"^\d+(\.\d+){0,3}([a-z]+\d*)?$")
CONFIG_FILES = (".preflight.toml", "preflight.toml", "pyproject.toml")


class ConfigError(Exception):
    pass


class Settings(BaseModel):
    """The `[tool.preflight]` table."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    select: list[str] | None = Field(None, description="Rule codes or prefixes to enable (default: all E and W rules).")
    extend_select: list[str] = Field(default_factory=list, alias="extend-select",
                                     description="Codes or prefixes to enable in addition to `select`.")
    ignore: list[str] = Field(default_factory=list, description="Codes or prefixes to disable.")
    per_file_ignores: dict[str, list[str]] = Field(
        default_factory=dict, alias="per-file-ignores", description="Glob pattern -> codes ignored in matching files.")
    exclude: list[str] | None = Field(None, description="Patterns to skip (replaces the defaults).")
    extend_exclude: list[str] = Field(default_factory=list, alias="extend-exclude",
                                      description="Patterns to skip in addition to the defaults.")
    rules: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-rule options, keyed by code or name: [tool.preflight.rules.HF001].")
    versions: dict[Library, str] = Field(
        default_factory=dict, description="Library versions the rules assume, e.g. transformers = \"4.57.1\".")

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: dict[str, str]) -> dict[str, str]:
        for library, version in value.items():
            if not _VERSION.match(str(version)):
                raise ValueError(f"{library} = {version!r} is not a version number like \"4.57.1\"")
        return value


class LoadedConfig(BaseModel):
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


def _format(path: Path, error: ValidationError) -> str:
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
    try:
        return Settings.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(_format(path, exc)) from None


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
