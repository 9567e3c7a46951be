"""The training arguments each run will receive, assembled across files.

One run's arguments can come from a constructor call (`SFTConfig(...)`), from an argument file read by
`HfArgumentParser`/`TrlParser`, `trl sft --config` or `llamafactory-cli train`, and from `--flag value` pairs
(`key=value` words for `llamafactory-cli`) on the launcher's command line, which override the file. The rules
about argument values and keys (HF, TRL, AXO) ask this module, so that every syntax that expresses an argument
is judged once, the same way.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from preflight.findings import Location
from preflight.link import ReaderKind, script_reader
from preflight.model import (
    ArgumentParserUse, EntryKind, Launch, LibraryImport, Loader, TrainerCall, TrainingConfig, UnknownKeys, Value,
    VersionRequirement,
)


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
    unknown_keys: UnknownKeys = UnknownKeys.REJECTED  # what the parser does with such a key
    via: str = ""  # the parser or command that reads them, for messages
    path: str | None = None  # the argument file, when there is one
    from_command_line: frozenset[str] = field(default_factory=frozenset)  # keys given as --flags
    trl_command: str | None = None  # `trl <command> --config`: "sft", "dpo", ...
    loader: Loader = Loader.HF_YAML  # who reads the file (preflight.link.Reader.loader): it decides the values' types
    inferred: bool = False  # the file's reader was inferred from its keys, no launcher or call names it
    trains: bool | None = None  # a Trainer is built with these arguments (None: not known)
    requires: tuple[tuple[str, str], ...] = ()  # (library, specifier) a require_version before it demands
    script: str | None = None  # the project module whose code reads these arguments
    receiver: str = ""  # for messages, when not the classes: "the arguments of `llamafactory-cli train` (...)"
    constructor: str | None = None  # the dataclass the code calls with them ("TrainingArguments")

    def typed(self, key: str) -> bool:
        """Is this key's value converted to the field's type before the dataclass sees it? Command-line
        flags, TrlParser and `trl` configs are (argparse converts string defaults too), and OmegaConf reads
        `2e-5` as a number; HfArgumentParser.parse_yaml_file (PyYAML) and constructors do not convert."""
        return self.trl_command is not None or key in self.from_command_line or \
            self.loader in (Loader.TRL, Loader.HF_OMEGACONF, Loader.UNKNOWN)  # unknown: the claim cannot be made

    def get(self, key: str) -> Value | None:
        return self.args.get(key)

    @property
    def home(self) -> str:
        """The file whose environment these arguments run in (for the versions it installs itself)."""
        return self.script or self.path or self.location.path

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


def training_runs(project, where: Callable[[Arguments], bool] | None = None) -> list[Arguments]:
    """Every set of HF/TRL/Axolotl training arguments in the project that can run with the releases it
    installs (computed once per project). `where`: only the runs it admits, as an answer of its own, named by
    the function (a module-level one, the same from one check to the next): an edit of a run it does not
    admit leaves that answer as it was, and a warm server does not run again the rules that asked for it."""
    if where is not None:
        return project.derive(("training runs where", where), lambda: _admitted(project, where), lasting=True,
                              recipe=lambda again: _admitted(again, where))
    return project.derive("training_runs", lambda: [run for run, _ in runs_with_effective_values(project)],
                          lasting=True)


def _admitted(project, where: Callable[[Arguments], bool]) -> list[Arguments]:
    return [run for run in training_runs(project) if where(run)]


def axolotl(run: Arguments) -> bool:
    """A run of Axolotl's (training_runs(project, where=axolotl))."""
    return run.framework == "axolotl"


def runs_with_effective_values(project) -> list[tuple[Arguments, object]]:
    """The training runs, each with its effective TrainingArguments values (a preflight.trainingargs.Effective,
    None when TrainingArguments does not receive them). Each run is one answer of its own (of a launch, or of
    a file's n-th set of arguments): a warm server's next check takes each run nothing of which changed as it
    is, with its effective values and what they worked out (Effective.problems)."""
    return project.derive("runs with effective values", lambda: [
        (run, effective) for run, effective in _assemble(project) if run is not None], lasting=True)


def _assemble(project):
    consumed: set[str] = set()
    for launch in project.launches():
        run, runs, effective = project.derive(
            ("training run", "launch", launch), lambda: _running(project, _from_launch(project, launch)), lasting=True)
        if run is not None and run.path:
            consumed.add(run.path)  # (whether the releases let it run or not, the launch reads that file)
        yield (run, effective) if runs else (None, None)
    seen_files: set[str] = set()
    counted: dict[str, int] = {}
    for config in project.facts(TrainingConfig):
        path = config.location.path
        index = counted[path] = counted.get(path, -1) + 1
        if config.framework != "axolotl" and config.constructor is None:
            if path in consumed or path in seen_files:
                continue
            seen_files.add(path)
        run, runs, effective = project.derive(
            ("training run", "config", path, index), lambda: _running(project, _from_config(project, path, index)),
            lasting=True)
        yield (run, effective) if runs else (None, None)


def _running(project, run: Arguments | None) -> tuple[Arguments | None, bool, object]:
    """The run, whether it can run with the releases the project installs, and its effective TrainingArguments
    values if TrainingArguments receives it."""
    from preflight import trainingargs

    if run is None or not runs_with_project_versions(project, run):
        return run, False, None
    return run, True, trainingargs.effective_values(project, run) if trainingargs.applies(run) else None


def _from_config(project, path: str, index: int) -> Arguments:
    """The arguments of the index-th TrainingConfig of a file (read again here: the answer depends on it)."""
    config = project.facts_in(path, TrainingConfig)[index]
    if config.framework == "axolotl":
        return Arguments(config.args, "axolotl", config.location, path, config.complete, ("AxolotlInputConfig",),
                         accepted_known=True, unknown_keys=UnknownKeys.DROPPED, via="Axolotl", path=path, trains=True)
    if config.constructor is not None:
        name = config.constructor
        trains = any(call.args_at == config.location for call in project.facts_in(path, TrainerCall)) or None
        return Arguments(config.args, config.framework, config.location, config.origin, config.complete,
                         (name,), accepted_known=True, unknown_keys=UnknownKeys.REJECTED, via=name, trains=trains,
                         requires=_requirements(project, config), script=path, constructor=name)
    run = Arguments(config.args, project.framework_of(config), config.location, path, config.complete, path=path)
    return _with_reader(project, run, _training_reader(project, path))


def _training_reader(project, path: str):
    return next((r for r in project.readers.get(path, []) if r.kind.reads_training_arguments), None)


def _with_reader(project, run: Arguments, reader) -> Arguments:
    if reader is None:
        return run
    if reader.kind is ReaderKind.KEYS:
        return dataclasses.replace(run, via=reader.via, loader=reader.loader, inferred=True,
                                   unknown_keys=UnknownKeys.UNKNOWN)
    if reader.kind is ReaderKind.TRL_CLI:
        return _with_trl_command(project, run, reader.trl_command, reader.via, reader.inferred)
    if reader.kind is ReaderKind.LLAMAFACTORY:
        return _with_llamafactory(project, run, None)
    parser = reader.parser
    unknown_keys = parser.unknown_keys
    if parser.trl_parser and unknown_keys is UnknownKeys.REJECTED and run.path is not None \
            and not project.version("trl").at_least("0.19"):
        # before TRL 0.19, parse_args_and_config dropped the config file's unknown keys (its
        # fail_with_unknown_args, which raises "Unknown arguments from config file", came in 0.19)
        unknown_keys = UnknownKeys.DROPPED
    own_defaults = dict(parser.local_defaults)
    return dataclasses.replace(
        run, args={**own_defaults, **run.args} if own_defaults else run.args,
        framework=parser.framework if run.framework == "unknown" else run.framework,
        classes=parser.dataclasses, local_fields=frozenset(parser.local_fields),
        accepted_known=parser.accepted_known and parser.unknown_keys is not UnknownKeys.KEPT,
        unknown_keys=unknown_keys, via=reader.via, loader=reader.loader, inferred=reader.inferred,
        trains=bool(project.facts_in(parser.location.path, TrainerCall)) or None, script=parser.location.path)


def script_defaults(project, script: str | None) -> dict[str, Value]:
    """The defaults the dataclasses of a script's argument parser declare themselves (a TrainingArguments
    subclass's `report_to: str = field(default="none")`): what a key the launch leaves unset is."""
    parsers = project.facts_in(script, ArgumentParserUse) if script else ()
    return dict(parsers[0].local_defaults) if parsers else {}


def file_defaults(project, path: str) -> dict[str, Value]:
    """The defaults the parser that reads an argument file declares in its own dataclasses."""
    reader = _training_reader(project, path)
    return dict(reader.parser.local_defaults) if reader is not None and reader.parser is not None else {}


def _with_trl_command(project, run: Arguments, command: str, via: str, inferred: bool = False) -> Arguments:
    from preflight.libraries import library

    classes = library("trl").script_dataclasses(command.replace("-", "_"), project.version("trl").version)
    return dataclasses.replace(run, framework="trl", classes=tuple(classes or ()), accepted_known=classes is not None,
                               unknown_keys=UnknownKeys.DROPPED, via=via, trl_command=command, loader=Loader.TRL,
                               inferred=inferred, trains=True)


# LLaMA-Factory's ALLOW_EXTRA_ARGS (0.9.2+, hparams/parser.py `_parse_train_args`): is_env_enabled reads
# os.getenv(name, "0").lower() in ["true", "y", "1"] (extras/misc.py)
_ENABLED = ("true", "y", "1")


def _with_llamafactory(project, run: Arguments, launch: Launch | None) -> Arguments:
    """`llamafactory-cli train`: HfArgumentParser over LLaMA-Factory's ModelArguments, DataArguments,
    TrainingArguments (a Seq2SeqTrainingArguments subclass from 0.9.2), FinetuningArguments and
    GeneratingArguments, whose own fields come from its released wheels. An unknown key raises ("Some keys are
    not used by the HfArgumentParser") unless ALLOW_EXTRA_ARGS is enabled, which ignores it."""
    from preflight.libraries import library
    from preflight.link import llamafactory_reader

    data, version = library("llamafactory"), project.version("llamafactory").version
    known = data.describes(version)
    # in LLaMA-Factory's own source (or a copy of it), its argument classes may differ from every release's
    accepted = known and not project.holds_llamafactory
    unknown_keys = _extra_args(project, launch) if project.version("llamafactory").at_least("0.9.2") else \
        UnknownKeys.REJECTED
    return dataclasses.replace(
        run, framework="hf", classes=("Seq2SeqTrainingArguments",),
        local_fields=frozenset(data.fields("train", version)) if known else frozenset(),
        accepted_known=accepted and unknown_keys is UnknownKeys.REJECTED, unknown_keys=unknown_keys,
        via="`llamafactory-cli train`", loader=llamafactory_reader(project).loader, trains=True,
        script=run.script or project.llamafactory_cli,
        receiver=f"the arguments of `llamafactory-cli train` (llamafactory {version}'s and Seq2SeqTrainingArguments)")


def _extra_args(project, launch: Launch | None) -> UnknownKeys:
    """What ALLOW_EXTRA_ARGS makes of an unknown key for this launch: ignored when its environment enables
    it, rejected when it sets it otherwise or nothing in the project sets it, unknown when a reference (or a
    setting elsewhere that enables it, for a file whose launch is not known) may enable it."""
    bindings = [b for b in (launch.env if launch else ()) if b.name == "ALLOW_EXTRA_ARGS"]
    if bindings:
        value = bindings[-1].value
        if bindings[-1].reference or value is None:
            return UnknownKeys.UNKNOWN
        return UnknownKeys.KEPT if value.strip().lower() in _ENABLED else UnknownKeys.REJECTED
    elsewhere = [value for _, value, _ in project.env_settings("ALLOW_EXTRA_ARGS")]
    return UnknownKeys.UNKNOWN if any(value is None or value.strip().lower() in _ENABLED for value in elsewhere) \
        else UnknownKeys.REJECTED


def _from_launch(project, launch: Launch) -> Arguments | None:
    entry = launch.entry
    if entry.kind is EntryKind.LLAMAFACTORY:
        return _from_llamafactory(project, launch)
    if entry.kind not in (EntryKind.PYTHON_SCRIPT, EntryKind.PYTHON_MODULE, EntryKind.TRL):
        return None
    resolved = project.entry(launch)
    config = next(iter(project.facts_in(resolved.config, TrainingConfig)), None) if resolved.config else None
    if config is not None and config.framework == "axolotl":
        config = None
    reader = None
    if entry.kind is not EntryKind.TRL:
        reader = script_reader(project, resolved.script) if resolved.script else None
        if reader is None or reader.kind is not ReaderKind.PARSER:
            return None  # the script builds its arguments itself (or is not a trainer)
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
    complete = config.complete if config else True
    location = launch.location if flags or config is None else config.location
    origin = f"`{entry.command}`" if flags else (config.location.path if config else entry.command)
    run = Arguments(args, config.framework if config else "unknown", location, origin, complete,
                    path=resolved.config if config else None, from_command_line=frozenset(flags))
    if entry.kind is EntryKind.TRL:
        return _with_trl_command(project, run, entry.target, f"`trl {entry.target}`")
    return _with_reader(project, run, reader)


def _from_llamafactory(project, launch: Launch) -> Arguments | None:
    """`llamafactory-cli train cfg.yaml key=value ...`: the words merged over the file (OmegaConf.from_cli,
    typed as YAML values), or `llamafactory-cli train --key value ...` alone."""
    entry = launch.entry
    resolved = project.entry(launch)
    config = next(iter(project.facts_in(resolved.config, TrainingConfig)), None) if resolved.config else None
    if entry.config and config is None:
        return None  # a config file that is not scanned (or not arguments): what it sets is not known
    args = dict(config.args) if config else {}
    complete = config.complete and not entry.overrides if config else True
    given = {}
    for index, (key, value) in enumerate(entry.args):
        at = entry.arg_locations[index] if index < len(entry.arg_locations) else None
        given[key] = command_line_value(value, launch.location, at)
    args.update(given)
    if not args:
        return None
    location = config.location if config and not given else launch.location
    flags = frozenset() if config else frozenset(given)  # `key=value` words join the file's dict; flags are argv
    run = Arguments(args, "hf", location, f"`{entry.command}`" if given else config.location.path, complete,
                    path=resolved.config if config else None, from_command_line=flags)
    return _with_llamafactory(project, run, launch)


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


def accepted_keys(project, classes: tuple[str, ...], local_fields, trl_command: str | None,
                  home: str | None = None) -> frozenset[str] | None:
    """Every key these dataclasses accept at the effective versions (for the code of `home`), or None when
    one is not known."""
    if not classes:
        return None
    accelerate = project.version("accelerate").version if trl_command is not None else None
    return _accepted_keys(classes, frozenset(local_fields), trl_command, project.version("trl", home).version,
                          project.version("transformers", home).version, accelerate)


@functools.lru_cache(maxsize=512)
def _accepted_keys(classes: tuple[str, ...], local_fields: frozenset[str], trl_command: str | None,
                   trl_version: str, hf_version: str, accelerate_version: str | None) -> frozenset[str] | None:
    """accepted_keys at known releases: library data only, the same for every run that shares the classes and
    releases (a project's hundred scripts of TrainingArguments share one answer)."""
    from preflight.libraries import HF_CLASSES, extends_training_arguments, library

    trl, transformers = library("trl"), library("transformers")
    if not transformers.describes(hf_version):
        return None  # a release outside the examined ones: which keys it takes is not known
    keys = set(local_fields)
    for name in classes:
        if name in HF_CLASSES:
            keys |= set(transformers.fields("TrainingArguments", hf_version))
            keys |= set(transformers.fields(name, hf_version))
        elif not trl.describes(trl_version):
            return None
        elif trl.has_class(name, trl_version) or trl.fields(name, trl_version):
            keys |= set(trl.fields(name, trl_version))
            if extends_training_arguments(name):
                keys |= set(transformers.fields("TrainingArguments", hf_version))
        else:
            return None  # a class the data does not describe at this version
    if trl_command is not None:
        # `trl <command>` hands config keys its dataclasses lack to `accelerate launch` (num_processes,
        # mixed_precision, ...), and resolves its own `accelerate_config`
        keys |= set(library("accelerate").fields("launch", accelerate_version))
        keys.add("accelerate_config")
    return frozenset(keys)


def _requirements(project, config: TrainingConfig) -> tuple[tuple[str, str], ...]:
    """The require_version calls that run before this constructor: at module level, or earlier in its function."""
    found = []
    for requirement in project.facts_in(config.location.path, VersionRequirement):
        function = requirement.site.function if requirement.site else None
        mine = config.site.function if config.site else None
        if function is None or (function == mine and requirement.location.line < config.location.line):
            found.append((requirement.library, requirement.specifier))
    return tuple(found)


def runs_with_project_versions(project, run: Arguments) -> bool:
    """Can this code run with the releases the project installs? Not after a `require_version` that the
    effective release fails: the guard raises first, and what the code would do under the release it
    demands is another question (preflight keeps silent rather than judge it against the wrong one).
    Nor when the script, or a project module it loads, imports a name the effective release no longer
    (or does not yet) export: `from trl import setup_chat_format` fails with TRL 0.26 before any
    argument is read (`from transformers.utils import is_safetensors_available` with transformers 5). Nor
    when no release is decided for its file: notebooks of the project install transformers or TRL and
    nothing declares them for it (Project.version_undecided)."""
    if run.script is not None and missing_import(project, run.script) is not None:
        return False
    if any(project.version_undecided(name, run.home)
           for name in ("transformers", "trl") if name == "transformers" or run.framework == "trl"):
        return False
    if not run.requires:  # nearly every run (and asked by several rules, every check)
        return True
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    for library_name, specifier in run.requires:
        try:
            if Version(project.version(library_name, run.home).version) not in SpecifierSet(specifier):
                return False
        except (InvalidSpecifier, InvalidVersion):
            return False
    return True


def missing_import(project, script: str) -> LibraryImport | None:
    """The first top-level `from <library> import NAME` of the script or the project modules it loads
    that the effective release of that library does not export (None when every one is, or the data
    cannot tell)."""
    from preflight.libraries import library

    for path in project.programs.loaded_modules(script):
        for found in project.facts_in(path, LibraryImport):
            if library(found.library).exports(found.export, project.version(found.library, script).version) \
                    is False:
                return found
    return None
