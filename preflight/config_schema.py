"""The pydantic model that validates `[tool.preflight]` (imported only when a configuration exists)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Library = Literal["transformers", "trl", "axolotl", "wandb", "mlflow"]
_VERSION = re.compile(r"^\d+(\.\d+){0,3}([a-z]+\d*)?$")


class SettingsModel(BaseModel):
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
