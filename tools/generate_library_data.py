"""Generate preflight/data/libraries/*.json: the argument fields of transformers, TRL, Axolotl and LLaMA-Factory
per version.

The rules must know which keys each version accepts (a removed TrainingArguments key crashes the
run, an unknown TRL or Axolotl key is silently dropped), and that knowledge must come from the real
packages, not from memory. This script downloads the released wheels from PyPI (no dependencies,
nothing installed, nothing imported), reads the dataclass and pydantic model definitions with `ast`,
and writes one JSON file per library. preflight reads those files at run time.

    python tools/generate_library_data.py            # all three libraries
    python tools/generate_library_data.py trl        # one

Wheels are cached in ~/.cache/preflight-library-data. One wheel per minor release is read (its
newest patch): field sets change with minor releases. LLaMA-Factory adds and removes arguments in patch
releases (0.9.0 to 0.9.5), so every one of its releases is read.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "preflight" / "data" / "libraries"
CACHE = Path.home() / ".cache" / "preflight-library-data"

# The oldest minor release examined per library. Axolotl published wheels with its sources only from
# 0.17 on (older releases are sdists, whose metadata pip can only get by running setup.py).
OLDEST = {"transformers": Version("4.36"), "trl": Version("0.12"), "axolotl": Version("0.17"),
          "accelerate": Version("1.0"), "llamafactory": Version("0.8")}
EVERY_RELEASE = {"llamafactory"}  # read each patch release, not only the newest of each minor
ENUM_BASES = {"ExplicitEnum", "Enum", "str", "StrEnum"}


def available_versions(package: str) -> list[Version]:
    out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", package],
                         capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("Available versions:"))
    versions = [Version(v.strip()) for v in line.split(":", 1)[1].split(",")]
    return [v for v in versions if not v.is_prerelease]


def releases_per_minor(package: str) -> list[list[Version]]:
    """Per minor release (oldest first), its patch releases newest first."""
    minors: dict[tuple[int, ...], list[Version]] = {}
    for version in available_versions(package):
        if version >= OLDEST[package]:
            key = version.release if package in EVERY_RELEASE else (version.major, version.minor)
            minors.setdefault(key, []).append(version)
    return [sorted(patches, reverse=True) for _, patches in sorted(minors.items())]


def wheel(package: str, version: Version) -> Path | None:
    """The release's wheel, or None when it published none (some Axolotl releases are sdists only)."""
    folder = CACHE / package / str(version)
    found = list(folder.glob("*.whl"))
    if not found and not (folder / "NO-WHEEL").exists():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                               f"{package}=={version}", "-d", str(folder)], capture_output=True)
        if done.returncode != 0:
            (folder / "NO-WHEEL").write_text(done.stderr.decode(errors="replace"))
        found = list(folder.glob("*.whl"))
    return found[0] if found else None


class Package:
    """Every class of a wheel's Python modules, by name, read with ast."""

    def __init__(self, path: Path, top: str, only: re.Pattern[str] | None = None) -> None:
        self.classes: dict[str, list[tuple[str, ast.ClassDef]]] = {}
        self.modules: dict[str, ast.Module] = {}
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith(f"{top}/") and name.endswith(".py") and (only is None or only.search(name)):
                    try:
                        tree = ast.parse(archive.read(name))
                    except SyntaxError:
                        continue
                    self.modules[name] = tree
                    for node in ast.walk(tree):
                        if isinstance(node, ast.ClassDef):
                            self.classes.setdefault(node.name, []).append((name, node))

    def find(self, name: str, module_hint: str = "") -> ast.ClassDef | None:
        candidates = self.classes.get(name, [])
        for module, node in candidates:
            if module_hint and module_hint in module:
                return node
        return candidates[0][1] if candidates else None


def _literal(node: ast.AST | None):
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _call_keywords(node: ast.AST | None) -> dict[str, ast.AST]:
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        if name in ("field", "Field"):
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            if node.args and name == "Field":
                keywords.setdefault("default", node.args[0])
            return keywords
    return {}


def own_fields(cls: ast.ClassDef) -> dict[str, dict]:
    """The fields a dataclass or pydantic model declares itself, with what a rule can use."""
    fields: dict[str, dict] = {}
    for statement in cls.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        name = statement.target.id
        annotation = ast.unparse(statement.annotation)
        if name.startswith("_") or name == "model_config" or "ClassVar" in annotation:
            continue
        info: dict = {"type": annotation}
        keywords = _call_keywords(statement.value)
        default_node = keywords.get("default") if keywords else statement.value
        default = _literal(default_node)
        if default_node is not None and (default is not None or isinstance(default_node, ast.Constant)):
            info["default"] = default
        metadata = _literal(keywords.get("metadata")) if keywords else None
        if isinstance(metadata, dict) and isinstance(metadata.get("choices"), (list, tuple)):
            info["choices"] = list(metadata["choices"])
        json_extra = _literal(keywords.get("json_schema_extra")) if keywords else None
        if isinstance(json_extra, dict) and isinstance(json_extra.get("choices"), (list, tuple)):
            info["choices"] = list(json_extra["choices"])
        alias = _literal(keywords.get("alias")) if keywords else None
        if isinstance(alias, str):
            info["alias"] = alias
        fields[name] = info
    return fields


def base_names(cls: ast.ClassDef) -> list[str]:
    names = []
    for base in cls.bases:
        if isinstance(base, ast.Name):
            names.append(base.id)
        elif isinstance(base, ast.Attribute):
            names.append(base.attr)
    return names


def all_fields(package: Package, name: str, stop: set[str] = frozenset(), hint: str = "") -> dict[str, dict]:
    """Fields including the inherited ones (bases first, as Python's MRO lets subclasses override)."""
    cls = package.find(name, hint)
    if cls is None:
        return {}
    fields: dict[str, dict] = {}
    for base in reversed(base_names(cls)):
        if base not in stop:
            fields.update(all_fields(package, base, stop))
    fields.update(own_fields(cls))
    return fields


def enums(package: Package, module_hints: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for name, candidates in package.classes.items():
        for module, cls in candidates:
            if not any(hint in module for hint in module_hints) or not set(base_names(cls)) & ENUM_BASES:
                continue
            values = [_literal(s.value) for s in cls.body
                      if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)]
            values = [v for v in values if isinstance(v, str)]
            if values and "Enum" in "".join(base_names(cls)) + "Enum" * ("str" in base_names(cls)):
                found[name] = values
    return found


# -- per-library readers ------------------------------------------------------------------------

def read_transformers(package: Package) -> dict:
    """TrainingArguments (and Seq2Seq) fields; each enum's values and the `report_to` integrations as
    pseudo-classes (`enum:IntervalStrategy`, `report_to`) so that their history per version is kept too."""
    classes = {
        "TrainingArguments": {"fields": all_fields(package, "TrainingArguments", hint="training_args.py")},
        "Seq2SeqTrainingArguments": {"fields": own_fields(package.find("Seq2SeqTrainingArguments")),
                                     "bases": ["TrainingArguments"]},
    }
    for name, values in enums(package, ("trainer_utils.py", "training_args.py", "debug_utils.py")).items():
        classes[f"enum:{name}"] = {"fields": {value: {} for value in values}}
    classes["report_to"] = {"fields": {name: {} for name in report_integrations(package)}}
    return {"classes": classes, "exports": [f"utils:{name}" for name in package_names(package, "transformers/utils")]}


def report_integrations(package: Package) -> list[str]:
    """The keys of `INTEGRATION_TO_CALLBACK` (integrations/integration_utils.py): every valid report_to value."""
    for module, tree in package.modules.items():
        if module.endswith("integration_utils.py"):
            for node in tree.body:
                if (isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "INTEGRATION_TO_CALLBACK"
                                                         for t in node.targets) and isinstance(node.value, ast.Dict)):
                    return [k for k in (_literal(key) for key in node.value.keys) if isinstance(k, str)]
    raise SystemExit("INTEGRATION_TO_CALLBACK not found")


TRL_CLASS_PATTERN = re.compile(r"^(\w+Config|\w*ScriptArguments|ModelConfig)$")


def read_trl(package: Package) -> dict:
    classes = {}
    for name, candidates in package.classes.items():
        module, cls = candidates[0]
        if not TRL_CLASS_PATTERN.match(name) or not module.startswith("trl/"):
            continue
        if not any(isinstance(d, ast.Name) and d.id == "dataclass" or
                   isinstance(d, ast.Call) and getattr(d.func, "id", "") == "dataclass" for d in cls.decorator_list):
            continue
        bases = [b for b in base_names(cls) if b != "object"]
        fields = {}
        for base in reversed(bases):  # TRL-internal bases (e.g. _BaseConfig) are flattened in
            if base != "TrainingArguments" and package.find(base) is not None:
                fields.update(all_fields(package, base, stop={"TrainingArguments"}))
        fields.update(own_fields(cls))
        inherits = ["TrainingArguments"] if _inherits_training_arguments(package, name) else []
        classes[name] = {"fields": fields, "bases": inherits}
    return {"classes": classes, "scripts": trl_scripts(package), "exports": top_level_names(package, "trl")}


def top_level_names(package: Package, top: str) -> list[str]:
    """The names `from <top> import NAME` finds: the lazy module's `_import_structure` lists (with what
    `.extend`/`.append` add under optional-dependency checks) and the names `__init__.py` binds itself."""
    tree = package.modules.get(f"{top}/__init__.py")
    if tree is None:
        return []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_import_structure"
                                                for t in node.targets) and isinstance(node.value, ast.Dict):
            for value in node.value.values:
                names.update(_strings(value))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("extend", "append") \
                and isinstance(node.func.value, ast.Subscript) \
                and getattr(node.func.value.value, "id", "") == "_import_structure":
            for arg in node.args:
                names.update(_strings(arg))
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            names.update(alias.asname or alias.name for alias in node.names if alias.name != "*")
    return sorted(name for name in names if not name.startswith("_"))


def package_names(package: Package, folder: str) -> list[str]:
    """The names `from <folder as a module> import NAME` finds in a package whose `__init__.py` imports them
    from its own modules (`transformers.utils`: `from .import_utils import is_safetensors_available`,
    under `try:` too) or defines them itself."""
    tree = package.modules.get(f"{folder}/__init__.py")
    if tree is None:
        return []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            names.update(alias.asname or alias.name for alias in node.names if alias.name != "*")
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return sorted(name for name in names if not name.startswith("_"))


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _inherits_training_arguments(package: Package, name: str, depth: int = 0) -> bool:
    cls = package.find(name)
    if cls is None or depth > 10:
        return False
    return any(b == "TrainingArguments" or _inherits_training_arguments(package, b, depth + 1)
               for b in base_names(cls) if b != name)


def trl_scripts(package: Package) -> dict[str, list[str]]:
    """`trl <command>` -> the dataclasses its script parses (`TrlParser((ScriptArguments, SFTConfig, ModelConfig))`)."""
    scripts = {}
    for module, tree in package.modules.items():
        match = re.match(r"trl/scripts/(\w+)\.py$", module)
        if not match:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "TrlParser" and node.args:
                arg = _assigned_tuple(tree, node.args[0])
                items = arg.elts if isinstance(arg, (ast.Tuple, ast.List)) else [arg]
                names = [i.id for i in items if isinstance(i, ast.Name)]
                if names:
                    scripts[match.group(1)] = names
                    break
    return scripts


def _assigned_tuple(tree: ast.Module, node: ast.AST) -> ast.AST:
    """`TrlParser(dataclass_types)`: the tuple the name was assigned in the module."""
    if not isinstance(node, ast.Name):
        return node
    for candidate in ast.walk(tree):
        if (isinstance(candidate, ast.Assign) and isinstance(candidate.value, (ast.Tuple, ast.List))
                and any(isinstance(t, ast.Name) and t.id == node.id for t in candidate.targets)):
            return candidate.value
    return node


def read_axolotl(package: Package) -> dict:
    for name in ("AxolotlConfigWCapabilities", "AxolotlInputConfig"):
        if package.find(name) is not None:
            fields = all_fields(package, name, stop={"BaseModel"})
            return {"classes": {"AxolotlInputConfig": {"fields": fields}, **plugin_args(package)}}
    raise SystemExit("no AxolotlInputConfig in this axolotl wheel")


def plugin_args(package: Package) -> dict[str, dict]:
    """The keys each built-in plugin adds to the schema (`axolotl/integrations/<name>/args.py`), as
    classes named `plugin:<name>`: a config listing the plugin may use them."""
    plugins: dict[str, dict] = {}
    for module, tree in package.modules.items():
        match = re.match(r"axolotl/integrations/(\w+)/args\.py$", module)
        if not match:
            continue
        fields: dict[str, dict] = {}
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                fields.update(all_fields(package, node.name, stop={"BaseModel"}, hint=module))
        plugins[f"plugin:{match.group(1)}"] = {"fields": fields}
    return plugins


def read_accelerate(package: Package) -> dict:
    """The options of `accelerate launch`: `trl <command> --config` forwards config keys that no dataclass
    of the script has to it, so they are not unknown keys there."""
    options: dict[str, dict] = {}
    for module, tree in package.modules.items():
        if module.endswith("commands/launch.py"):
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                    for arg in node.args:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("--"):
                            options[arg.value[2:].replace("-", "_")] = {}
    return {"classes": {"launch": {"fields": dict(sorted(options.items()))}}}


def read_llamafactory(package: Package) -> dict:
    """The arguments `llamafactory-cli train` parses besides transformers' Seq2SeqTrainingArguments: the own
    fields of the dataclasses of `_TRAIN_ARGS` (llamafactory/hparams/parser.py), as one class `train`. Its
    TrainingArguments (0.9.2+) extends Seq2SeqTrainingArguments, whose fields come from transformers' data."""
    tree = package.modules.get("llamafactory/hparams/parser.py")
    names: list[str] = []
    for node in tree.body if tree else []:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_TRAIN_ARGS" for t in node.targets) \
                and isinstance(node.value, (ast.List, ast.Tuple)):
            names = [e.id for e in node.value.elts if isinstance(e, ast.Name)]
    if not names:
        raise SystemExit("no _TRAIN_ARGS in llamafactory/hparams/parser.py")
    transformers_classes = {"Seq2SeqTrainingArguments", "TrainingArguments", "BaseTrainingArguments"}
    fields: dict[str, dict] = {}
    for name in names:
        if name == "Seq2SeqTrainingArguments":
            continue
        fields.update(all_fields(package, name, stop=transformers_classes, hint="llamafactory/hparams/"))
    return {"classes": {"train": {"fields": fields, "bases": ["Seq2SeqTrainingArguments"]}}}


READERS = {"transformers": read_transformers, "trl": read_trl, "axolotl": read_axolotl, "accelerate": read_accelerate,
           "llamafactory": read_llamafactory}
# The modules each reader needs (transformers has thousands of model files that define no arguments).
MODULES = {
    "transformers": re.compile(r"^transformers/(training_args\w*|trainer_utils|debug_utils|"
                               r"integrations/integration_utils|utils/__init__)\.py$"),
    "trl": re.compile(r"^trl/(trainer|scripts|commands|cli)/|^trl/\w+\.py$"),
    "accelerate": re.compile(r"^accelerate/commands/launch\.py$"),
    "axolotl": re.compile(r"^axolotl/utils/(schemas|config)/|^axolotl/utils/\w+\.py$"
                          r"|^axolotl/integrations/\w+/args\.py$"),
    "llamafactory": re.compile(r"^llamafactory/hparams/\w+\.py$"),
}


def generate(library: str, through: Version | None = None) -> dict:
    per_version = {}
    for patches in releases_per_minor(library):
        patches = [version for version in patches if through is None or version <= through]
        if not patches:
            continue
        for version in patches:
            path = wheel(library, version)
            if path is not None:
                print(f"{library} {version}", file=sys.stderr)
                per_version[str(version)] = READERS[library](Package(path, library, MODULES[library]))
                break
    return merge(library, per_version)


def merge(library: str, per_version: dict[str, dict]) -> dict:
    """One record per field: the versions that have it (as ranges of examined versions) and its
    latest type, default and choices."""
    versions = list(per_version)
    classes: dict[str, dict] = {}
    for index, (version, data) in enumerate(per_version.items()):
        for class_name, cls in data["classes"].items():
            record = classes.setdefault(class_name, {"present": [], "bases": [], "fields": {}})
            _extend(record["present"], index)
            record["bases"] = sorted(set(record["bases"]) | set(cls.get("bases", [])))
            for field_name, info in cls["fields"].items():
                entry = record["fields"].setdefault(field_name, {"present": []})
                _extend(entry["present"], index)
                if "default" in info and entry.get("default", _NONE) != info["default"]:
                    entry.setdefault("defaults", []).append([version, info["default"]])
                entry.update(info)
    for record in classes.values():
        for entry in record["fields"].values():
            if len(entry.get("defaults", [])) < 2:
                entry.pop("defaults", None)  # one default for every version: `default` says it
        record["present"] = [[versions[a], versions[b]] for a, b in record["present"]]
        for entry in record["fields"].values():
            entry["present"] = [[versions[a], versions[b]] for a, b in entry["present"]]
    result = {"library": library, "versions": versions, "classes": classes,
              "generated_by": "tools/generate_library_data.py"}
    newest = per_version[versions[-1]]
    if "scripts" in newest:
        scripts: dict[str, dict[str, list[str]]] = {}
        for version, data in per_version.items():
            for command, names in data["scripts"].items():
                scripts.setdefault(command, {})[version] = names
        result["scripts"] = {command: _compress(by_version, versions) for command, by_version in scripts.items()}
    if "exports" in newest:
        exports: dict[str, list[list[int]]] = {}
        for index, data in enumerate(per_version.values()):
            for name in data["exports"]:
                _extend(exports.setdefault(name, []), index)
        result["exports"] = {name: [[versions[a], versions[b]] for a, b in ranges]
                             for name, ranges in sorted(exports.items())}
    return result


_NONE = object()


def _extend(ranges: list[list[int]], index: int) -> None:
    if ranges and ranges[-1][1] == index - 1:
        ranges[-1][1] = index
    else:
        ranges.append([index, index])


def _compress(by_version: dict[str, list[str]], versions: list[str]) -> list[dict]:
    """[{since, dataclasses}] entries, one per change."""
    out: list[dict] = []
    for version in versions:
        names = by_version.get(version)
        if names and (not out or out[-1]["dataclasses"] != names):
            out.append({"since": version, "dataclasses": names})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("libraries", nargs="*", default=list(READERS), choices=list(READERS))
    parser.add_argument("--through", type=Version, metavar="VERSION",
                        help="only releases up to this one: regenerate the examined range without adding newer ones")
    args = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for library in args.libraries:
        data = generate(library, args.through)
        path = OUTPUT / f"{library}.json"
        path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
        print(f"wrote {path.relative_to(ROOT)} ({len(data['versions'])} versions)", file=sys.stderr)


if __name__ == "__main__":
    main()
