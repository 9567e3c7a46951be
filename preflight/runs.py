"""The training arguments each run will receive, assembled across files.

One run's arguments can come from a constructor call (`SFTConfig(...)`), from an argument file read by
`HfArgumentParser`/`TrlParser` or `trl sft --config`, and from `--flag value` pairs on the launcher's
command line, which override the file. The rules about argument values and keys (HF, TRL, AXO) ask
this module, so that every syntax that expresses an argument is judged once, the same way.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass, field

from preflight.findings import Location
from preflight.model import ArgumentParserUse, Launch, TrainingConfig, Value


@dataclass(frozen=True)
class Arguments:
    args: dict[str, Value]
    framework: str  # "hf", "trl", "axolotl", "unknown"
    location: Location  # where a finding about the whole set points
    origin: str  # for messages: "TrainingArguments(...)", "sft.yaml", "the command line of `trl sft`"
    complete: bool  # every argument is known: an absent key means the library default
    classes: tuple[str, ...] = ()  # library dataclasses that receive the arguments
    local_fields: frozenset[str] = frozenset()  # fields of the script's own dataclasses
    accepted_known: bool = False  # a key no class (nor local field) has is not accepted
    unknown_keys: str = "error"  # what the library does with such a key: "error" or "dropped"
    via: str = ""  # the parser or command that reads them, for messages
    path: str | None = None  # the argument file, when there is one
    from_command_line: frozenset[str] = field(default_factory=frozenset)  # keys given as --flags
    trl_command: str | None = None  # `trl <command> --config`: "sft", "dpo", ...

    def typed(self, key: str) -> bool:
        """Is this key's value converted to the field's type before the dataclass sees it? Command-line
        flags and `trl` configs are (argparse); HfArgumentParser.parse_yaml_file and constructors are not."""
        return self.trl_command is not None or key in self.from_command_line

    def get(self, key: str) -> Value | None:
        return self.args.get(key)

    def literal(self, key: str, default: object = None) -> tuple[bool, object]:
        """(known, value) of a key: absent means `default` when the set is complete."""
        value = self.args.get(key)
        if value is None:
            return self.complete, default
        if not value.known:
            return False, None
        return True, value.literal

    def anchor(self, *keys: str) -> Location:
        """Where to point for a finding about `keys`: the first one that is set, else the whole set."""
        return next((self.args[k].anchor for k in keys if k in self.args), self.location)


def training_runs(project) -> list[Arguments]:
    """Every set of HF/TRL/Axolotl training arguments in the project (computed once per project)."""
    cached = project.memo.get("training_runs")
    if cached is None:
        cached = project.memo["training_runs"] = list(_assemble(project))
    return cached


def _assemble(project):
    consumed: set[str] = set()
    for launch in project.launches():
        run = _from_launch(project, launch)
        if run is not None:
            if run.path:
                consumed.add(run.path)
            yield run
    parsers = {}
    for parser in project.facts(ArgumentParserUse):
        if parser.config_file:
            base = posixpath.dirname(parser.location.path) or "."
            target = project.resolve(base, parser.config_file) or project.resolve(".", parser.config_file)
            if target and project.training_arguments_file(target) is not None:
                parsers.setdefault(target, parser)
    seen_files: set[str] = set()
    for config in project.facts(TrainingConfig):
        path = config.location.path
        if config.framework == "axolotl":
            yield Arguments(config.args, "axolotl", config.location, path, config.complete, ("AxolotlInputConfig",),
                            accepted_known=True, unknown_keys="dropped", via="Axolotl", path=path)
        elif config.origin.endswith("(...)"):
            name = config.origin[:-5]
            yield Arguments(config.args, config.framework, config.location, config.origin, config.complete,
                            (name,), accepted_known=True, unknown_keys="error", via=name)
        elif path not in consumed and path not in seen_files:
            seen_files.add(path)
            parser = parsers.get(path)
            yield _with_parser(Arguments(config.args, project.framework_of(config), config.location, path,
                                         config.complete, path=path), parser)


def _with_parser(run: Arguments, parser: ArgumentParserUse | None) -> Arguments:
    if parser is None:
        return run
    return dataclasses.replace(
        run, framework=parser.framework if run.framework == "unknown" else run.framework,
        classes=parser.dataclasses, local_fields=frozenset(parser.local_fields),
        accepted_known=parser.accepted_known and parser.unknown_keys != "kept", unknown_keys=parser.unknown_keys,
        via=_parser_name(parser))


def _parser_name(parser: ArgumentParserUse) -> str:
    kind = "TrlParser" if parser.framework == "trl" else "HfArgumentParser"
    return f"{kind}({', '.join(parser.dataclasses)}) in {parser.location.path}:{parser.location.line}"


def _from_launch(project, launch: Launch) -> Arguments | None:
    entry = launch.entry
    if entry.kind not in ("python-script", "python-module", "trl"):
        return None
    resolved = project.entry(launch)
    config = project.training_arguments_file(resolved.config) if resolved.config else None
    if config is not None and config.framework == "axolotl":
        config = None
    parser = None
    if entry.kind != "trl" and resolved.script:
        parsers = project.facts_in(resolved.script, ArgumentParserUse)
        parser = parsers[0] if parsers else None
        if parser is None:
            return None  # the script builds its arguments itself (or is not a trainer)
    if entry.kind != "trl" and parser is None and config is None:
        return None
    from preflight.sources.entrypoints import CONFIG_FLAGS  # loaded by whatever made the launch

    flags = {}
    for index, (key, value) in enumerate(entry.args):
        if key not in CONFIG_FLAGS and key != "accelerate_config":  # the launcher's options, not arguments
            at = entry.arg_locations[index] if index < len(entry.arg_locations) else None
            flags[key] = command_line_value(value, launch.location, at)
    if config is None and not flags:
        return None
    args = dict(config.args) if config else {}
    args.update(flags)
    complete = (config.complete if config else True) and (parser is not None or entry.kind == "trl")
    location = launch.location if flags or config is None else config.location
    origin = f"`{entry.command}`" if flags else (config.location.path if config else entry.command)
    run = Arguments(args, config.framework if config else "unknown", location, origin, complete,
                    path=resolved.config if config else None, from_command_line=frozenset(flags))
    if entry.kind == "trl":
        from preflight.libraries import library

        version = project.version("trl").version
        classes = library("trl").script_dataclasses(entry.target.replace("-", "_"), version)
        return dataclasses.replace(run, framework="trl", classes=tuple(classes or ()),
                                   accepted_known=classes is not None, unknown_keys="dropped",
                                   via=f"`trl {entry.target}`", trl_command=entry.target)
    return _with_parser(run, parser)


def command_line_value(raw: str | None, location: Location, flag_at: Location | None = None) -> Value:
    """`--key value` as HfArgumentParser would type it: numbers, booleans, and a bare flag as True.
    Findings point at the flag when its position is known, else at the command."""
    if raw is None:
        return Value(location=location, text="", known=True, literal=True, key_location=flag_at)
    literal: object = raw
    lowered = raw.lower()
    if lowered == "true":
        literal = True
    elif lowered == "false":
        literal = False
    else:
        for convert in (int, float):
            try:
                literal = convert(raw)
                break
            except ValueError:
                continue
    return Value(location=location, text=raw, known="$" not in raw, literal=literal, key_location=flag_at)
