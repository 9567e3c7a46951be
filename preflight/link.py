"""The link stage, between extraction and the rules: what the project's files mean together.

Extraction reads each file alone; some answers need the whole project and must be the same whichever
rules run: which Python modules a launch runs (they are loaded here, not while a rule asks), and above
all **who reads each configuration file, and how**. A YAML is training arguments because a parser reads
it as such, not because it shares keys with TrainingArguments:

- a launcher runs `trl sft --config F` or `llamafactory-cli train F`, or a script given `F` that parses its
  arguments with HfArgumentParser/TrlParser, or a script calls `parser.parse_yaml_file("F")`: F is an argument file of
  that parser, with that parser's loader (PyYAML's types for `parse_yaml_file`, OmegaConf's for
  `parse_dict(OmegaConf.load(...))`, argparse conversion for TrlParser and the `trl` CLI);
- a script given F reads it with OmegaConf, Hydra, `yaml.safe_load` or `json.load` and no HF parser,
  or F sits in a Hydra config folder: F is that program's own configuration, never training arguments;
- nothing names F: it is an argument file only if its keys are (nearly) all keys of a parser the
  project has, or of a `trl` command, whose defaults then apply.

After `link`, the model is frozen: rules read it and never change it, so a rule's findings do not depend
on which other rules run.
"""

from __future__ import annotations

import dataclasses
import enum
import posixpath
from dataclasses import dataclass

from preflight import classify
from preflight.model import (
    ARGUMENTS_FILE, ArgumentParserUse, ConfigLoader, EntryKind, EnvDeclaration, EnvSource, EnvWrite, Loader,
    OwnArgumentsParser, RunStart, SweepDriver, SweepSpec, TrainingConfig, WandbRun,
)
from preflight.sources import entrypoints

_MATCHING_SHARE = 0.9  # an unnamed file is a parser's argument file when this share of its keys is accepted
_MIN_KEYS = 3


class ReaderKind(enum.Enum):
    """Who reads an argument file."""

    PARSER = "parser"  # a script's HfArgumentParser/TrlParser
    TRL_CLI = "trl"  # the `trl` command
    LLAMAFACTORY = "llamafactory"  # `llamafactory-cli train`
    KEYS = "keys"  # some HF/TRL parser: the file's keys say so, nothing names it
    OTHER = "other"  # a loader that makes it the program's own configuration

    @property
    def reads_training_arguments(self) -> bool:
        return self is not ReaderKind.OTHER


@dataclass(frozen=True)
class Reader:
    """Who reads an argument file, and with which loader."""

    kind: ReaderKind
    via: str  # for messages: "TrlParser(...) in scripts/sft.py:30", "`trl sft`", "omegaconf in x.py:12"
    parser: ArgumentParserUse | None = None
    trl_command: str | None = None
    loader: Loader = Loader.HF_YAML  # whose types the values get
    inferred: bool = False  # matched by its keys: no launcher or call names the file


def link(project) -> None:
    """Resolve what needs the whole project, once, then freeze the model."""
    _preload(project)
    _resolve_parsers(project)
    _sweep_functions(project)
    readers = _readers(project)
    _apply(project, readers)
    project.readers = readers
    project.freeze()


# -- the Python modules launches run ------------------------------------------------------------


def _preload(project) -> None:
    """Load the lazily kept Python files that launched programs and sweeps import, so that no rule
    loads a file (and changes the model) while it asks."""
    entries = set()
    for launch in project.launches():
        resolved = project.entry(launch)
        if resolved.script:
            entries.add(resolved.script)
    for spec in project.facts(SweepSpec):
        entries.update(p for p in project.sweep_targets(spec) if p.endswith(".py"))
    for entry in sorted(entries):
        for path in project.programs.loaded_modules(entry):
            project.file(path)


# -- functions wandb.agent runs from other modules ----------------------------------------------


def _sweep_functions(project) -> None:
    """`wandb.agent(sweep_id, function=train)` with `train` imported from a project module: the runs that
    function starts (in its body, or in a function nested in it) are the sweep's trials, named and given
    their id by the agent. Functions it calls in turn are not followed."""
    for path in project.paths_holding(SweepDriver):
        file = project.file(path)
        for driver in (f for f in file.facts if isinstance(f, SweepDriver) and f.function):
            found = project.programs.module_file(path, *driver.function)
            if not found or not found[1]:
                continue
            module, function = found
            target = project.file(module)
            if target is None:
                continue
            marked = [dataclasses.replace(f, in_sweep_function=True) if isinstance(f, WandbRun)
                      and _inside(f, function) else f for f in target.facts]
            project.files[module] = dataclasses.replace(target, facts=marked)
            project.swept_functions.setdefault(module, []).append((function, driver.location))


def _inside(run: WandbRun, function: str) -> bool:
    where = (run.site.function if run.site else None) or run.function or ""
    return where == function or where.startswith(function + ".")


# -- argument classes defined in other modules --------------------------------------------------


def _resolve_parsers(project) -> None:
    """A parser's argument classes imported from the project's own modules (`from .args import
    TrainingArguments`, a subclass of transformers' with fields of its own): followed to their bases."""
    from preflight.sources.pyhf import parser_framework

    for path in project.paths_holding(ArgumentParserUse):
        file = project.file(path)
        parsers = [f for f in file.facts if isinstance(f, ArgumentParserUse) and f.pending]
        if not parsers:
            continue
        facts = [f for f in file.facts if f not in parsers]
        for parser in parsers:
            library, local, defaults = list(parser.dataclasses), list(parser.local_fields), list(parser.local_defaults)
            known = parser.accepted_known
            for ref in parser.pending:
                found = project.programs.module_file(path, ref[1], ref[2])
                known = bool(found and found[1]) and _class_fields(project, *found, library, local, defaults) and known
            framework = parser_framework(library, "trl." if parser.framework == "trl" else "")
            if framework is not None:
                facts.append(dataclasses.replace(
                    parser, framework=framework, dataclasses=tuple(dict.fromkeys(library)),
                    local_fields=tuple(dict.fromkeys(local)), accepted_known=known, pending=(),
                    local_defaults=tuple(defaults)))
            elif known and local:  # the project's own dataclasses only, no training arguments
                facts.append(OwnArgumentsParser(parser.location, tuple(dict.fromkeys(local)), parser.site))
        project.files[path] = dataclasses.replace(file, facts=facts)


def _class_fields(project, module: str, name: str, library: list[str], local: list[str], defaults: list[tuple],
                  depth: int = 0) -> bool:
    """Adds the library bases, the own fields of class `name` of `module` and their defaults (after its
    bases'); False when a part of it cannot be followed."""
    outline = project.programs.outline(module) if depth <= 6 else None
    classes = dict(outline.classes) if outline else {}
    if name not in classes:
        alias = dict(outline.aliases).get(name) if outline else None  # re-exported by a package
        found = project.programs.module_file(module, alias[1], alias[2]) if alias else None
        return bool(found and found[1]) and _class_fields(project, *found, library, local, defaults, depth + 1)
    known = True
    for base in classes[name]:
        if base.startswith(("transformers.", "trl.")):
            library.append(base.rsplit(".", 1)[-1])
        elif base.startswith("local:"):
            known = _class_fields(project, module, base[6:], library, local, defaults, depth + 1) and known
        elif base.startswith("module:"):
            _, level, dotted = base.split(":", 2)
            found = project.programs.module_file(module, dotted, int(level))
            known = bool(found and found[1]) and \
                _class_fields(project, *found, library, local, defaults, depth + 1) and known
        elif base != "object":
            known = False
    local.extend(dict(outline.fields).get(name, ()))
    defaults.extend(dict(outline.defaults).get(name, ()))
    return known


# -- who reads each configuration file ---------------------------------------------------------


def _readers(project) -> dict[str, list[Reader]]:
    found: dict[str, list[Reader]] = {}

    def add(path: str | None, reader: Reader) -> None:
        if path and reader not in found.setdefault(path, []):
            found[path].append(reader)

    for launch in project.launches():
        entry = launch.entry
        resolved = project.entry(launch)
        if not resolved.config:
            continue
        if entry.kind is EntryKind.TRL:
            add(resolved.config, Reader(ReaderKind.TRL_CLI, f"`trl {entry.target}`", trl_command=entry.target,
                                        loader=Loader.TRL))
        elif entry.kind is EntryKind.LLAMAFACTORY:
            add(resolved.config, llamafactory_reader(project))
        elif entry.kind in (EntryKind.PYTHON_SCRIPT, EntryKind.PYTHON_MODULE) and resolved.script:
            reader = script_reader(project, resolved.script)
            if reader is not None:
                add(resolved.config, reader)
    for spec in project.facts(SweepSpec):
        _sweep_readers(project, spec, add)
    for parser in project.facts(ArgumentParserUse):
        if parser.config_file:
            add(_near(project, parser.location.path, parser.config_file), _parser_reader(project, parser))
    for loader in project.facts(ConfigLoader):
        if not loader.from_command_line and loader.path and loader.loader.reads_own_configuration:
            add(_near(project, loader.location.path, loader.path),
                Reader(ReaderKind.OTHER, f"{loader.loader.label} in {loader.location.path}:{loader.location.line}",
                       loader=loader.loader))
    for folder, via in _hydra_folders(project):
        for path in list(project.files):
            if path.startswith(folder) and path.endswith((".yaml", ".yml")):
                add(path, Reader(ReaderKind.OTHER, via, loader=Loader.OMEGACONF))
    return found


def llamafactory_reader(project) -> Reader:
    """`llamafactory-cli train F`: HfArgumentParser.parse_dict over F as OmegaConf loads it (0.9.3+, with the
    `key=value` words merged over it), as PyYAML loads it before (parse_yaml_file until 0.9.1, yaml.safe_load
    in 0.9.2): the loader decides the values' types."""
    omegaconf = project.version("llamafactory").at_least("0.9.3")
    return Reader(ReaderKind.LLAMAFACTORY, "`llamafactory-cli train`",
                  loader=Loader.HF_OMEGACONF if omegaconf else Loader.HF_YAML)


def script_reader(project, script: str) -> Reader | None:
    """How a script reads the configuration file its command line gives it, if that can be told."""
    parsers = project.facts_in(script, ArgumentParserUse)
    loaders = project.programs.loaders(script)
    if parsers:
        reader = _parser_reader(project, parsers[0])
        hf = next((item.loader for item in loaders if item.loader.reads_training_arguments), None)
        return dataclasses.replace(reader, loader=hf) if hf else reader
    other = next((item for item in loaders if item.loader.reads_own_configuration and
                  (item.from_command_line or item.loader is Loader.HYDRA)), None)
    if other is None:
        return None
    return Reader(ReaderKind.OTHER, f"{other.loader.label} in {script}:{other.location.line}", loader=other.loader)


def _parser_reader(project, parser: ArgumentParserUse) -> Reader:
    kind = "TrlParser" if parser.trl_parser else "HfArgumentParser"
    via = f"{kind}({', '.join(parser.dataclasses)}) in {parser.location.path}:{parser.location.line}"
    loaders = project.programs.loaders(parser.location.path)
    loader = next((item.loader for item in loaders if item.loader.reads_training_arguments), None)
    return Reader(ReaderKind.PARSER, via, parser=parser,
                  loader=loader or (Loader.TRL if parser.framework == "trl" else Loader.HF_YAML))


def _sweep_readers(project, spec: SweepSpec, add) -> None:
    words = list(spec.command) if spec.command else ["${interpreter}", "${program}", "${args}"]
    argv = ["python" if w == "${interpreter}" else (spec.program or "") if w == "${program}" else w
            for w in words if not w.startswith("${") or w in ("${interpreter}", "${program}")]
    found = entrypoints.recognize(argv)
    if found is None or not found.config:
        return
    base = posixpath.dirname(spec.location.path) or "."
    config = _near(project, spec.location.path, found.config)
    if found.kind is EntryKind.TRL:
        add(config, Reader(ReaderKind.TRL_CLI, f"`trl {found.target}`", trl_command=found.target, loader=Loader.TRL))
    elif found.kind is EntryKind.PYTHON_SCRIPT:
        script = project.resolve(base, found.target) or project.resolve(".", found.target)
        reader = script_reader(project, script) if script else None
        if reader is not None:
            add(config, reader)


def _near(project, from_path: str, target: str) -> str | None:
    base = posixpath.dirname(from_path) or "."
    return project.resolve(base, target) or project.resolve(".", target)


def _hydra_folders(project) -> list[tuple[str, str]]:
    """The config folders of `@hydra.main(config_path=...)`: what is in them is the program's own config."""
    folders = []
    for loader in project.facts(ConfigLoader):
        if loader.loader is Loader.HYDRA and loader.path is not None:
            here = posixpath.dirname(loader.location.path)
            folder = posixpath.normpath(posixpath.join(here, loader.path))
            folders.append((folder.rstrip("/") + "/", f"@hydra.main in {loader.location.path}"))
    return folders


# -- applying it -------------------------------------------------------------------------------


def _apply(project, readers: dict[str, list[Reader]]) -> None:
    """Keep the training arguments of files a parser reads, drop those of files something else reads
    (or nothing does), and read as arguments a file a parser names although its content alone did
    not say so."""
    candidates = {f.location.path for f in project.facts(TrainingConfig) if f.origin == ARGUMENTS_FILE}
    for path in sorted(candidates | {p for p, found in readers.items() if _training_reader(found)}):
        reading = readers.get(path, [])
        chosen = _training_reader(reading)
        if chosen is None and not any(r.kind is ReaderKind.OTHER for r in reading) and path in candidates:
            matched = _matching_reader(project, path)
            if matched is not None:
                readers.setdefault(path, []).append(matched)
                reading = readers[path]
                chosen = matched if matched.kind.reads_training_arguments else None
        if chosen is None:
            if path in candidates:
                _drop_arguments(project, path, reading)
            continue
        if path not in candidates:
            _promote(project, path)


def _training_reader(readers: list[Reader]) -> Reader | None:
    return next((r for r in readers if r.kind.reads_training_arguments), None)


def _matching_reader(project, path: str) -> Reader | None:
    """Who reads a file nothing names, judged by its keys: one of the project's parsers whose fields are
    known, else the HF/TRL argument dataclasses themselves (a file whose keys are all TrainingArguments,
    TRL config, ScriptArguments or ModelConfig fields is that, not another framework's config). Nearly
    every key must be accepted; the reader's loader, and so the values' types, stay unknown."""
    config = next(iter(project.facts_in(path, TrainingConfig)), None)
    if config is None or len(config.args) < _MIN_KEYS:
        return None
    keys = set(config.args)
    best: tuple[int, Reader] | None = None
    for parser in project.facts(ArgumentParserUse):
        if not parser.accepted_known:
            continue
        accepted = _ever_accepted(parser)
        if _belongs(keys, accepted) and (best is None or len(keys & accepted) > best[0]):
            reader = _parser_reader(project, parser)
            best = (len(keys & accepted), dataclasses.replace(
                reader, inferred=True, via=f"{reader.via} (the file's keys are its arguments)"))
    if best is not None:
        return best[1]
    own = next((p for p in project.facts(OwnArgumentsParser) if _belongs(keys, p.fields)), None)
    if own is not None:  # the script's own configuration, whatever names it shares with TrainingArguments
        return Reader(ReaderKind.OTHER, f"HfArgumentParser of the script's own dataclasses in {own.location.path}:"
                      f"{own.location.line} (the file's keys are its fields)", loader=Loader.UNKNOWN, inferred=True)
    if is_llamafactory_recipe(keys):
        return dataclasses.replace(llamafactory_reader(project), inferred=True,
                                   via="`llamafactory-cli train` (the file's keys are its arguments)")
    command = _trl_recipe(project, keys)
    if command is not None:
        return Reader(ReaderKind.TRL_CLI, f"`trl {command}` (the file's keys are its arguments)",
                      trl_command=command, loader=Loader.TRL, inferred=True)
    if _belongs(keys, _library_fields()):  # which one, and so whether unknown keys raise or are dropped, is not known
        return Reader(ReaderKind.KEYS, "an HF/TRL argument parser (the file's keys are its fields)",
                      loader=Loader.UNKNOWN, inferred=True)
    return None


# Keys of LLaMA-Factory's own dataclasses that no HF or TRL dataclass has, and that every training recipe of it
# sets: its training stage, and how it fine-tunes or which chat template it formats the data with
_LLAMAFACTORY_MARKERS = ("stage",)
_LLAMAFACTORY_EITHER = ("finetuning_type", "template")


def is_llamafactory_recipe(keys) -> bool:
    """A file of `llamafactory-cli train` arguments, by its keys: `stage` with `finetuning_type` or `template`,
    and (nearly) every key one of LLaMA-Factory's or TrainingArguments' in some release."""
    from preflight.libraries import library

    keys = set(keys)
    if not all(k in keys for k in _LLAMAFACTORY_MARKERS) or not keys & set(_LLAMAFACTORY_EITHER):
        return False
    accepted = library("llamafactory").every_field.get("train", frozenset()) | \
        library("transformers").every_field.get("TrainingArguments", frozenset())
    return _belongs(keys, accepted)


def _trl_recipe(project, keys: set[str]) -> str | None:
    """The `trl` command a recipe is for, when the project has no TRL parser of its own to read it (a
    collection of recipes run by `trl sft --config`): keys only TRL's dataclasses have, and (nearly) all
    keys those of one command. With a parser of the project's own, its extra fields make that guess unsafe."""
    from preflight.libraries import library
    from preflight.sources.configs import TRL_ONLY_KEYS

    if not keys & TRL_ONLY_KEYS or any(p.framework == "trl" for p in project.facts(ArgumentParserUse)):
        return None
    trl, transformers = library("trl").every_field, library("transformers").every_field
    version = project.version("trl").version
    best: tuple[int, str] | None = None
    for command in sorted(entrypoints.TRL_COMMANDS):
        classes = library("trl").script_dataclasses(command, version) or []
        accepted = set().union(*(trl.get(name, frozenset()) for name in classes),
                               transformers.get("TrainingArguments", frozenset()))
        if classes and _belongs(keys, accepted) and (best is None or len(keys & accepted) > best[0]):
            best = (len(keys & accepted), command)
    return best[1] if best else None


def _belongs(keys: set[str], accepted) -> bool:
    """Are (nearly) all these keys accepted? One unknown key in ten is allowed: a typo or a removed key
    is what the rules are there to find."""
    unknown = len(keys - set(accepted))
    return len(keys) - unknown >= _MIN_KEYS and unknown <= max(1, int(len(keys) * (1 - _MATCHING_SHARE)))


def _ever_accepted(parser: ArgumentParserUse) -> set[str]:
    """The keys a parser's dataclasses accept in any release, and the script's own fields."""
    from preflight.libraries import HF_CLASSES, library

    transformers, trl = library("transformers").every_field, library("trl").every_field
    keys = set(parser.local_fields)
    for name in parser.dataclasses:
        keys |= transformers.get(name, frozenset()) | trl.get(name, frozenset())
        if name in HF_CLASSES or "TrainingArguments" in library("trl").bases(name):
            keys |= transformers.get("TrainingArguments", frozenset())
    return keys


def _library_fields() -> frozenset[str]:
    """Every key TrainingArguments or a TRL dataclass has had in any release."""
    from preflight.libraries import library

    trl = library("trl").every_field
    return library("transformers").every_field.get("TrainingArguments", frozenset()).union(*trl.values())


def _drop_arguments(project, path: str, readers: list[Reader]) -> None:
    """A file whose keys look like training arguments but that no HF parser reads: its facts as such go."""
    file = project.files[path]
    kept = [fact for fact in file.facts if not isinstance(fact, TrainingConfig) and not (
        isinstance(fact, WandbRun) and fact.started_by is RunStart.REPORT_TO) and not (
        isinstance(fact, EnvWrite) and fact.site is None) and not (
        isinstance(fact, EnvDeclaration) and fact.declared_by is EnvSource.TRL_CONFIG_ENV)]
    other = next((r for r in readers if r.kind is ReaderKind.OTHER), None)
    why = f"read by {other.via}, not as training arguments" if other else \
        "training-argument keys, but no parser of the project reads it as training arguments"
    project.files[path] = dataclasses.replace(file, kind=None, facts=kept, note=why)


def _promote(project, path: str) -> None:
    """A file a parser names, read as training arguments although too sparse to be recognised by content."""
    from preflight.extract import extract

    file = project.files.get(path)
    if file is None or file.kind is not None:
        return  # not scanned, unparsable (PF001), or of another kind
    data = project.read_bytes(path)
    if data is None:
        return
    promoted = extract(path, data, force_kind=classify.HF_ARGS)
    if promoted.kind == classify.HF_ARGS:
        project.files[path] = promoted
