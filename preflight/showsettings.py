"""`preflight check --show-settings`: the settings a check of these paths runs with, each with where it came
from (a default, a configuration file, the command line), the library versions the rules assume and why,
and the rules that run. A CI owner who inherits a configuration (`extend`) or finds a gate failing sees
what decides it without reading every file.

The text form is TOML (dotted keys for the tables, the origin and the rest as comments), so a setting can
be copied into a configuration as it is; `--format json` gives the same as one document.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from preflight import config as config_module
from preflight import display, engine
from preflight.discover import display_path

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
DEFAULT = "default"


@dataclasses.dataclass(frozen=True)
class Shown:
    configuration: str | None
    extends: list[str]
    patterns_relative_to: str
    settings: list[tuple[str, Any, str]]  # (TOML key, value, origin)
    versions: list[tuple[str, str, str]]  # (library, version, why)
    rules: list[str]  # the enabled rules' codes


def gather(request: engine.Request, command_line: dict[str, Any]) -> Shown:
    """What a check of `request` runs with. `command_line` holds the options given (select, extend_select,
    ignore, fail_on), whose values the request's settings already include."""
    loaded = request.config
    settings = loaded.settings
    cwd = request.cwd

    def where(path: Path) -> str:
        return display.path(display_path(path, cwd))

    origins = {key: " + ".join(where(path) for path in paths) for key, paths in loaded.origins.items()}
    given = {"select": "--select", "extend-select": "--extend-select", "ignore": "--ignore", "fail-on": "--fail-on"}
    for key, flag in given.items():
        if command_line.get(key.replace("-", "_")):
            origins[key] = (f"{origins[key]} + {flag}" if key in ("extend-select", "ignore") and key in origins
                            else f"{flag} (command line)")
    rows: list[tuple[str, Any, str]] = []
    for item in dataclasses.fields(config_module.Settings):
        key = item.metadata.get("alias", item.name)
        if key == "extend":
            continue
        value = getattr(settings, item.name)
        if key == "fail-on" and command_line.get("fail_on"):
            value = command_line["fail_on"]
        if key in ("per-file-ignores", "severity", "versions", "rules"):
            for name, entry in value.items():
                if key == "rules":
                    rows += [(f"rules.{_key(name)}.{_key(o)}", v, origins.get(f"rules.{name}.{o}", DEFAULT))
                             for o, v in entry.items()]
                else:
                    rows.append((f"{key}.{_key(name)}", entry, origins.get(f"{key}.{name}", DEFAULT)))
            if not value:
                rows.append((key, {}, DEFAULT))
            continue
        rows.append((key, value, origins.get(key, DEFAULT)))
    if settings.exclude is None:  # the defaults, as the check applies them
        rows = [(k, engine.exclude_patterns(dataclasses.replace(loaded, settings=dataclasses.replace(
            settings, extend_exclude=[]))), f"{DEFAULT}: {_DEFAULTS_WHY}") if k == "exclude" else (k, v, o)
                for k, v, o in rows]
    project = engine.model(request)
    versions = []
    for library in config_module.LIBRARIES:
        assumed = project.version(library)
        why = assumed.source
        if assumed.configured:
            why += f" in {origins.get(f'versions.{library}', '?')}"
        versions.append((library, assumed.version, why))
    return Shown(where(loaded.path) if loaded.path else None, [where(p) for p in loaded.extends],
                 display.path(str(loaded.base)), rows, versions, list(engine.enabled_codes(loaded)))


_DEFAULTS_WHY = "folders of tools, environments and builds"


def _key(name: str) -> str:
    return name if _BARE.match(name) else json.dumps(name)


def _value(value: Any) -> str:
    """A TOML value (JSON's spelling is TOML's for strings, numbers, booleans and arrays of them)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value)


def text(shown: Shown) -> str:
    out = []
    if shown.configuration is None:
        out.append("# no configuration file: every setting is the default")
    else:
        out.append(f"# configuration: {shown.configuration}")
        for path in shown.extends[::-1]:
            out.append(f"#   extends {path}")
    out.append(f"# patterns are relative to {shown.patterns_relative_to}")
    if shown.configuration is None or Path(shown.configuration).name == "pyproject.toml":
        out.append("[tool.preflight]")
    else:  # a preflight.toml holds the settings at its top level: what is shown reads as that file
        out.append("# the settings, as the top level of a preflight.toml holds them")
    for key, value, origin in shown.settings:
        if value is None:
            out.append(f"# {key} is not set: every error and warning rule runs  # {origin}")
        else:
            out.append(f"{key} = {_value(value)}  # {origin}")
    out.append("")
    out.append("# the library versions the rules assume, and why")
    out += [f"#   {library} {version}: {display.text(why)}" for library, version, why in shown.versions]
    out.append("")
    out.append(f"# the rules that run ({len(shown.rules)}): {', '.join(shown.rules)}")
    return "\n".join(out) + "\n"


def as_json(shown: Shown) -> str:
    return json.dumps({
        "configuration": shown.configuration, "extends": shown.extends,
        "patterns_relative_to": shown.patterns_relative_to,
        "settings": [{"key": k, "value": v, "origin": o} for k, v, o in shown.settings],
        "versions": [{"library": lib, "version": v, "why": w} for lib, v, w in shown.versions],
        "rules": shown.rules,
    }, indent=2) + "\n"
