"""Facts: what the extractors learn from each file, independent of the syntax it was written in.

A `TrainingArguments(eval_steps=100)` call, `eval_steps: 100` in a TRL YAML file and
`--eval_steps 100` on a launcher's command line all become the same `TrainingConfig` value,
so a rule is written once against the concept, never against a syntax. Facts are plain,
immutable, JSON-friendly dataclasses so they can be cached per file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields as _fields
from typing import Any, Literal

from preflight.findings import Location


class _Record:
    """Facts are immutable values: nothing assigns to one after it is built (`dataclasses.replace`
    makes a new one). They are not declared frozen because a frozen slotted dataclass costs twice
    the generated methods, and creating ~50 fact classes was the largest single cost of start-up;
    one shared __repr__ saves another method per class."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f.name}={getattr(self, f.name)!r}' for f in _fields(self))})"


_record = dataclass(slots=True, unsafe_hash=True, repr=False)


class Kind(enum.Enum):
    """A closed set of kinds a fact has: compared by identity (never with a string), cached by its value, and
    named in messages by its `label` (the value, unless another is given)."""

    label: str

    def __new__(cls, value: str, label: str | None = None):
        member = object.__new__(cls)
        member._value_ = value
        member.label = value if label is None else label
        return member


class Launcher(Kind):
    """What a launch is written in."""

    GITHUB_ACTIONS = "github-actions", "GitHub Actions"
    COMPOSE = "compose", "docker compose"
    KUBERNETES = "kubernetes", "Kubernetes"
    DOCKERFILE = "dockerfile", "Dockerfile"  # the image's CMD/ENTRYPOINT
    SHELL_SCRIPT = "shell-script", "shell script"
    SLURM = "slurm", "Slurm (sbatch)"  # a shell script with #SBATCH directives
    MAKE = "make"
    DSTACK = "dstack"  # a dstack configuration's commands
    SKYPILOT = "skypilot", "SkyPilot"  # a SkyPilot task's setup and run
    WANDB_SWEEP = "wandb-sweep", "W&B sweep"  # the trials a `wandb agent` runs (sources/sweepcommand.py)


class EnvSource(Kind):
    """What declares an environment variable, when it is not a launcher itself."""

    ENV_FILE = "env-file", "env file"
    AXOLOTL_CONFIG = "axolotl-config", "Axolotl config"  # keys Axolotl exports (wandb_mode: WANDB_MODE)
    TRL_CONFIG_ENV = "trl-config-env", "TRL config env"  # the `env:` mapping of a `trl` config file
    SBATCH_EXPORT = "sbatch-export", "Slurm"  # `#SBATCH --export=NAME=value`


class Loader(Kind):
    """The library that reads a configuration file: it decides the types its values get."""

    HF_YAML = "hf-yaml"  # HfArgumentParser.parse_yaml_file (PyYAML's types)
    HF_JSON = "hf-json"
    HF_OMEGACONF = "hf-omegaconf"  # parse_dict(OmegaConf.load(...)): OmegaConf's types
    TRL = "trl"  # TrlParser / the `trl` command: argparse converts every value
    OMEGACONF = "omegaconf"
    YAML = "yaml"
    JSON = "json"
    HYDRA = "hydra"
    UNKNOWN = "unknown"

    @property
    def reads_training_arguments(self) -> bool:
        return self in (Loader.HF_YAML, Loader.HF_JSON, Loader.HF_OMEGACONF, Loader.TRL)

    @property
    def reads_own_configuration(self) -> bool:
        """The program's own configuration, not a library's arguments."""
        return self in (Loader.OMEGACONF, Loader.YAML, Loader.JSON, Loader.HYDRA)


class EntryKind(Kind):
    """What a launch runs."""

    PYTHON_SCRIPT = "python-script"  # `python train.py`, `accelerate launch train.py`
    PYTHON_MODULE = "python-module"  # `python -m pkg.train`
    SHELL_SCRIPT = "shell-script"  # `bash run.sh`, `sbatch job.sh`
    AXOLOTL = "axolotl"  # `axolotl train cfg.yml`
    TRL = "trl"  # `trl sft --config cfg.yaml`
    LLAMAFACTORY = "llamafactory"  # `llamafactory-cli train cfg.yaml key=value`
    COMPOSE_SERVICE = "compose-service"  # `docker compose run SERVICE` with no command: the service's own


class RunStart(Kind):
    """How a W&B run is started; the label is how messages name it."""

    WANDB_INIT = "wandb.init"
    LIGHTNING_LOGGER = "lightning-logger", "WandbLogger"
    INIT_TRACKERS = "init_trackers"  # Accelerate's, with log_with="wandb"
    REPORT_TO = "report_to"  # training arguments that report to W&B: the HF integration starts the run
    AXOLOTL = "axolotl", "Axolotl wandb_project"
    HYDRA_LOGGER = "hydra-logger", "Hydra WandbLogger"  # a Hydra config that instantiates Lightning's logger


class UnknownKeys(Kind):
    """What a parser does with a key none of its dataclasses has."""

    REJECTED = "rejected"  # it raises (HfArgumentParser's default)
    DROPPED = "dropped"  # fail_with_unknown_args=False, return_remaining_strings=True, a trl command, Axolotl
    KEPT = "kept"  # allow_extra_keys=True
    UNKNOWN = "unknown"  # the reader was inferred: no claim can be made


class Seeding(Kind):
    """How a script's own training loop seeds its generators."""

    ALWAYS = "always"
    NEVER = "never"
    CONDITIONAL = "conditional"  # only when a --seed option is given


class ParseProblem(Kind):
    """Why a file could not be analysed: each has its own remedy (PF001 says which)."""

    SYNTAX = "syntax"  # the file does not parse as its kind
    UNREADABLE = "unreadable"  # it cannot be opened or read
    TOO_LARGE = "too-large"  # it exceeds what one file (or one script, one job) may cost to analyse


class CredentialKind(Kind):
    """A way a tracking key reaches the process other than an environment variable."""

    WANDB_LOGIN = "wandb-login"  # `wandb login` earlier in the same script or job
    NETRC = "netrc"  # a netrc written or mounted
    ENV_FROM = "env-from"  # Kubernetes envFrom a Secret or ConfigMap
    ENV_FILE = "env-file"  # an env file sourced or passed (--env-file, env_file:)


class Tracker(Kind):
    """The service whose credentials a tracker use needs."""

    WANDB = "wandb", "W&B"
    MLFLOW = "mlflow", "MLflow"


class SecretsPassed(Kind):
    """How a job passes secrets to the reusable workflow it calls."""

    INHERIT = "inherit"  # `secrets: inherit`
    MAP = "map"  # `secrets:` naming each


Framework = Literal["hf", "trl", "axolotl", "unknown"]
ARGUMENTS_FILE = "HF/TRL arguments file"  # the origin of a TrainingConfig read from a YAML/JSON file


@_record
class Value(_Record):
    """One configuration value as written: where it is and, when statically known, what it is."""

    location: Location
    text: str
    known: bool = False
    literal: Any = None
    key_location: Location | None = None
    nondeterministic: str | None = None  # the clock/random source the value is built from

    @property
    def anchor(self) -> Location:
        """Where a finding about this setting points: the key if there is one, else the value."""
        return self.key_location or self.location

    def is_str(self, *choices: str) -> bool:
        return self.known and isinstance(self.literal, str) and (not choices or self.literal.lower() in choices)

    def str_items(self) -> list[str] | None:
        """The value as a list of lower-case strings (`"wandb"` or `["wandb", "mlflow"]`), if known."""
        if not self.known:
            return None
        items = self.literal if isinstance(self.literal, list) else [self.literal]
        if not all(isinstance(i, str) for i in items):
            return None
        return [i.strip().lower() for part in items for i in part.split(",") if i.strip()]


@_record
class Guard(_Record):
    """A condition a piece of code runs under, as preflight.program evaluates it: `test` is a small
    tuple language (see preflight.sources.pyoutline), and the code runs when it is truthy (`holds`)
    or when it is falsy (an `else:` branch, the code after `if x: return`)."""

    test: tuple
    holds: bool = True


@_record
class CodeSite(_Record):
    """Where a call sits in its module: the function it is in ("main", "Trainer.train"; None at module
    level) and the conditions around it inside that function. Whether it runs for a launch is
    decided by the link stage, which follows the calls from the entry point."""

    function: str | None = None
    guards: tuple[Guard, ...] = ()


@_record
class ParseError(_Record):
    location: Location
    message: str
    problem: ParseProblem = ParseProblem.SYNTAX


@_record
class TrainingConfig(_Record):
    """The training arguments of one run (HF TrainingArguments, a TRL config, an Axolotl config)."""

    location: Location
    framework: Framework
    origin: str  # "TrainingArguments(...)", "SFTConfig(...)", "Axolotl config", "HF/TRL arguments file"
    args: dict[str, Value]
    complete: bool = True  # False when some arguments could not be resolved (`**kwargs` from elsewhere)
    env: dict[str, Value] = field(default_factory=dict)  # a TRL `env:` block
    site: CodeSite | None = None  # a constructor call's place in its module
    constructor: str | None = None  # the dataclass called in code ("SFTConfig"); None for a file

    def get(self, key: str) -> Value | None:
        return self.args.get(key)

    def reports_to(self, integration: str) -> bool | None:
        """True/False when `report_to` is literal, None when absent or not statically known."""
        value = self.args.get("report_to")
        items = value.str_items() if value else None
        if items is None:
            return None
        return integration in items


@_record
class WandbRun(_Record):
    """A W&B run start in any form: wandb.init, WandbLogger, init_trackers, report_to, Axolotl, Hydra."""

    location: Location
    started_by: RunStart
    name: Value | None = None
    run_id: Value | None = None
    project: Value | None = None
    resume: Value | None = None
    config_given: bool = True  # config= passed, or updated later in the file (wandb.config.update, ...)
    directory: Value | None = None  # dir=
    identity_known: bool = True  # False when `**kwargs`/settings hide whether a name is given
    mode: Value | None = None
    function: str | None = None  # enclosing function, for Python sources
    in_sweep_function: bool = False  # inside a function run by wandb.agent
    site: CodeSite | None = None  # where the call sits, for reachability (Python sources)
    # The source of wandb.init's config= when it is a name, an attribute or a one-line literal: what a fix
    # can hash into a name without running anything twice that has effects.
    config_code: str | None = None

    @property
    def offline_or_disabled(self) -> bool:
        """mode="disabled", "offline" or "dryrun": the run talks to no W&B server (it needs no key)."""
        return bool(self.mode and self.mode.is_str("disabled", "offline", "dryrun"))


@_record
class TrackerUse(_Record):
    """A use of a tracker that needs its credentials but is not a run start (e.g. `weave.init`)."""

    location: Location
    tracker: Tracker
    api: str
    site: CodeSite | None = None


@_record
class WeaveOps(_Record):
    """The functions a module decorates with `@weave.op` (traced only once `weave.init` has run), and whether
    the module is a program of its own (a `__name__ == "__main__"` block, a notebook)."""

    location: Location  # the first decorator
    count: int
    program: bool


@_record
class EnvWrite(_Record):
    """An environment variable the file itself sets for the process (os.environ, a TRL `env:` block)."""

    location: Location
    name: str
    value: Value
    site: CodeSite | None = None


@_record
class WandbLogin(_Record):
    """`wandb.login(...)` in a script; `key_from_env` when the key it passes is read from WANDB_API_KEY."""

    location: Location
    has_key: bool
    key_from_env: bool
    key_literal: bool = False  # the key is written in the call itself
    site: CodeSite | None = None


@_record
class SweepDriver(_Record):
    """The script calls `wandb.agent`/`wandb.sweep`: its runs are sweep trials."""

    location: Location
    api: str
    # the function wandb.agent runs when another project module defines it: (dotted name, import level);
    # the link stage marks the runs that function starts as trials
    function: tuple[str, int] | None = None


@_record
class ArgumentParserUse(_Record):
    """`HfArgumentParser((..., SFTConfig))`/`TrlParser(...)`: the script reads its training arguments
    from the command line or a config file, with the defaults of `framework`."""

    location: Location
    framework: Framework  # "unknown" only while `pending` classes are not resolved
    dataclasses: tuple[str, ...] = ()  # the library classes it parses into: "TrainingArguments", "SFTConfig"
    local_fields: tuple[str, ...] = ()  # fields of the script's own dataclasses (ModelArguments, ...)
    accepted_known: bool = False  # every dataclass resolved: a key none of them has is rejected
    config_file: str | None = None  # the literal file given to parse_yaml_file / parse_json_file
    unknown_keys: UnknownKeys = UnknownKeys.REJECTED
    site: CodeSite | None = None
    pending: tuple[tuple, ...] = ()  # argument classes imported from the project's modules, resolved when linking
    trl_parser: bool = False  # TrlParser, whose handling of a config file's unknown keys changed in TRL 0.19
    # the defaults the script's own dataclasses declare, a subclass's after its bases' (`report_to: str =
    # field(default="none")` in a TrainingArguments subclass replaces the library's default)
    local_defaults: tuple[tuple[str, Value], ...] = ()


@_record
class OwnArgumentsParser(_Record):
    """`HfArgumentParser(ScriptArguments)` of the script's own dataclasses only, every field known: a
    file whose keys are these fields is the script's own configuration, even where some of them share
    TrainingArguments' names (a script that builds TrainingArguments from them itself)."""

    location: Location
    fields: tuple[str, ...]
    site: CodeSite | None = None


@_record
class HostMention(_Record):
    """A tracker host named in launcher configuration (an egress allow-list, NO_PROXY, a URL)."""

    location: Location
    host: str


@_record
class AimRun(_Record):
    """`aim.Run()`, `AimCallback()`, `AimLogger()`: an Aim run and the repository it writes to."""

    location: Location
    api: str
    repo: Value | None = None  # None: the default, `.aim` in the working directory
    complete: bool = True  # False when `**kwargs` may hold the repo


@_record
class TrainingLoop(_Record):
    """A tracked script that trains by itself (its own steps, Lightning's or Keras' fit, a stochastic
    scikit-learn estimator), and how it seeds."""

    location: Location  # the first training step
    seeding: Seeding
    seed_option: Location | None = None  # the `--seed` option whose default None leaves the run unseeded
    trains_with: str = "its own loop"  # or "Lightning's Trainer.fit", "Keras' model.fit", "scikit-learn's X ..."


@_record
class LoopLogging(_Record):
    """A script's own training loop that logs its loss to a tracker but not what it computes beside it: the
    learning rate of its scheduler, the grad norm `clip_grad_norm_` returns."""

    location: Location  # the first tracker call that logs a loss
    tracker: str  # "W&B", "MLflow", "Accelerate's trackers"
    scheduler: Location | None = None  # the scheduler's step() whose learning rate is never logged
    grad_norm: Location | None = None  # the clip_grad_norm_ call whose result is dropped and never logged


@_record
class TrainerCall(_Record):
    """`Trainer(...)`/`SFTTrainer(...)`: which training arguments it gets and whether it gets an eval set."""

    location: Location
    api: str
    args_at: Location | None = None  # where the TrainingArguments/config it is given were built, if known
    eval_dataset: bool | None = None  # None: hidden in **kwargs
    site: CodeSite | None = None


@_record
class LightningTrainer(_Record):
    """`lightning.Trainer(...)`: the cadence arguments it is given (as written; absent ones are Lightning's
    defaults when `complete`), the tracker loggers `logger=` names, and whether the script validates or fits it."""

    location: Location
    args: tuple[tuple[str, Value], ...]  # log_every_n_steps, val_check_interval, check_val_every_n_epoch, ...
    complete: bool  # no **kwargs or *args hides an argument
    trackers: tuple[str, ...] = ()  # the tracker loggers of `logger=`: "WandbLogger", "MLFlowLogger", ...
    trackers_known: bool = True  # False when `logger=` is something this module cannot resolve
    fits: tuple[Location, ...] = ()  # its `.fit(...)` calls in this module
    fit_has_val_data: bool | None = None  # a fit is given val_dataloaders or a datamodule (None: not known)
    validates: bool = False  # the module calls `.validate(` on it
    site: CodeSite | None = None
    # built by hydra.utils.instantiate from a composed config: the modules its config's `_target_`s name (the
    # LightningModule among them), which the script does not import
    modules: tuple[str, ...] = ()

    def get(self, key: str) -> Value | None:
        return dict(self.args).get(key)


@_record
class HydraInstantiate(_Record):
    """`hydra.utils.instantiate(cfg.trainer, logger=..., ...)`: an object built from a node of the program's
    Hydra configuration, with the keywords that override the node's keys, what `logger=` is built from, and the
    Lightning `fit`/`validate` calls made on the result in this module."""

    location: Location
    config: tuple  # the first argument as a reference (preflight.sources.pyoutline): ("ref", "param", "cfg", ...)
    keywords: tuple[tuple[str, Value], ...] = ()
    complete: bool = True  # no *args/**kwargs beside the config
    # `logger=`: ("instantiate", reference) for hydra.utils.instantiate(cfg.logger), ("call", callee, reference)
    # for a function of the project given cfg.logger (callee as a CallEdge's), None when it is neither
    logger: tuple | None = None
    fits: tuple[Location, ...] = ()
    fit_has_val_data: bool | None = None
    validates: bool = False
    site: CodeSite | None = None


@_record
class LightningHooks(_Record):
    """The LightningModule hooks a module defines: `validation_step`, `val_dataloader`, and, for each
    `self.log`/`self.log_dict` in `training_step`, whether it logs per step (on_step defaults to True there)."""

    location: Location  # the first hook
    methods: tuple[str, ...]
    step_logs: tuple[bool, ...] = ()  # per training_step log call: True when it logs every step (as known)


@_record
class LoggerModelLogging(_Record):
    """`WandbLogger(log_model=...)`/`MLFlowLogger(log_model=...)`: Lightning uploads checkpoints only for
    `log_model=True` or `"all"` (lightning 2.6 loggers/wandb.py `after_save_checkpoint`)."""

    location: Location  # the call
    logger: str  # "WandbLogger", "MLFlowLogger"
    value: Value


@_record
class ArtifactLog(_Record):
    """An MLflow artifact upload and what the script did to the path before it."""

    location: Location
    api: str  # "mlflow.log_artifacts", "MlflowClient.log_artifact", ...
    is_directory: bool
    path_text: str
    path_static: bool  # the path is a literal or a configured value, not produced at run time
    evidence: str | None  # why the path is known to exist ("written by os.makedirs at line 3")
    # The path argument as written, when the upload is a statement of its own (alone on its lines, in a block)
    # and evaluating the argument again has no effect: what a check put before the statement can test.
    path_code: str | None = None


@_record
class LocalImport(_Record):
    """An import that may name a module of the scanned project (for cross-file W&B use)."""

    module: str
    level: int
    names: tuple[str, ...]


@_record
class CallEdge(_Record):
    """A call (or a function handed to another call: `wandb.agent(function=train)`, `mp.spawn(main)`)
    from one place of a module to a function preflight may find in the project. `callee` is
    ("local", "f" | "Class" | "Class.method") for the module's own definitions, ("module", dotted
    module, name, level) through an import, or ("unknown", name)."""

    callee: tuple
    site: CodeSite
    arguments: tuple[tuple[str, tuple], ...] = ()  # (position or keyword, reference) for parameter binding


@_record
class FunctionInfo(_Record):
    name: str  # qualified in the module: "main", "Trainer.train", "main.inner"
    params: tuple[str, ...] = ()
    method: bool = False  # the first parameter is the instance
    hydra: tuple[str | None, str | None] | None = None  # @hydra.main(config_path, config_name)


@_record
class ProgramOption(_Record):
    """A command-line option the program defines (argparse) or a field of its own argument dataclass,
    with its default, so that a condition on it can be decided for a launch's flags."""

    name: str  # the attribute it is read as (argparse dest, dataclass field)
    default: tuple  # a reference: ("lit", value) or ("unknown",)
    flag_value: tuple | None = None  # what a bare `--flag` gives (store_true: True), None when it takes a value


@_record
class ConfigLoader(_Record):
    """How a script reads a configuration file: with which library, and from where (the command line's
    config argument, or a path written in the call)."""

    location: Location
    loader: Loader
    from_command_line: bool  # False: the call names the file (`path`, when it is a literal)
    path: str | None = None  # the literal path
    site: CodeSite | None = None


@_record
class VersionRequirement(_Record):
    """`require_version("trl>=0.8.6,<=0.9.6")` in a script: the code after it runs only with a release
    in that range (it raises first otherwise)."""

    location: Location
    library: str
    specifier: str
    site: CodeSite | None = None


@_record
class ModuleOutline(_Record):
    """The structure of a Python module that reachability needs: its functions, its classes and
    their bases, and every call edge with the conditions around it."""

    functions: tuple[FunctionInfo, ...] = ()
    classes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, bases as written through imports)
    calls: tuple[CallEdge, ...] = ()
    options: tuple[ProgramOption, ...] = ()
    aliases: tuple[tuple[str, tuple], ...] = ()  # local name -> ("module", dotted, name, level) for re-exports
    fields: tuple[tuple[str, tuple[str, ...]], ...] = ()  # the annotated fields of each class (dataclasses)
    defaults: tuple[tuple[str, tuple[tuple[str, Value], ...]], ...] = ()  # the defaults those fields declare


@_record
class SweepSpec(_Record):
    """A W&B sweep configuration and the program it runs."""

    location: Location
    program: str | None
    command: tuple[str, ...] | None
    command_location: Location | None = None
    metric: str | None = None
    goal: str | None = None
    metric_location: Location | None = None  # the `metric:` key
    metric_name_location: Location | None = None  # the metric's name as written (`name:`'s value)
    problems: tuple[tuple[str, Location], ...] = ()  # schema violations: (message, where)
    parameters: tuple[tuple[str, Location], ...] = ()  # swept parameter names and where they are declared
    early_terminate: str | None = None  # its `type` (hyperband)
    early_terminate_location: Location | None = None
    runs_here: bool = False  # a dict given to wandb.sweep in a file whose wandb.agent runs a function of it
    # what `wandb agent` runs for each trial, macros expanded (sources/sweepcommand.py), each word where written
    trial_command: tuple[tuple[str, Location | None], ...] = ()


@_record
class LoggedMetrics(_Record):
    """The metric keys a script logs to W&B, as far as they are literal."""

    keys: tuple[str, ...]
    unknown: bool  # some logging call has keys that cannot be read statically
    trainer: bool  # an HF/TRL Trainer logs through W&B: keys become eval/<x>, train/<x>
    # (explicit `log(step=)`, the implicit `log()` that gets ahead of it, how): points W&B drops
    step_conflicts: tuple[tuple[Location, Location, str], ...] = ()


@_record
class Hyperparameters(_Record):
    """The script takes hyperparameters (argparse, dataclass arguments, click/typer options, Hydra)."""

    how: str


@_record
class ConfigReads(_Record):
    """What a script reads from `wandb.config` and which command-line options it defines."""

    keys: tuple[str, ...]
    options: tuple[str, ...]
    opaque: bool  # the whole config is used (dict(wandb.config), **wandb.config, passed on) or keys are computed


@_record
class ModuleImport(_Record):
    """An import of a tracker package (or one of its integrations) that a rule cares about by itself."""

    location: Location
    name: str  # the qualified name imported, e.g. "neptune" or "lightning.pytorch.loggers.NeptuneLogger"


@_record
class LibraryImport(_Record):
    """`from trl import setup_chat_format`: a name a module takes from a library whose releases export
    different names; the module fails at import with a release that lacks it."""

    location: Location
    library: str
    name: str
    submodule: str = ""  # `from transformers.utils import NAME`: "utils"

    @property
    def export(self) -> str:
        """The name's key in the library's export data ("utils:is_safetensors_available")."""
        return f"{self.submodule}:{self.name}" if self.submodule else self.name


@_record
class VersionPin(_Record):
    """A project's requirement on a library it runs with (requirements files, pyproject, setup.py, a lock
    file, a conda environment, `pip install`). Its role says how much it decides what gets installed, so
    that `preflight.versions` can rank declarations that disagree."""

    location: Location
    library: str  # normalised distribution name: "transformers", "neptune-client"
    specifier: str  # PEP 440, e.g. "==4.57.1", ">=4.40,<5", "" for an unpinned requirement
    where: str  # "requirements.txt", "pyproject dependencies", "Dockerfile pip install", "uv.lock"
    role: str = "main"  # one of the three below
    # the one file whose code the pin decides (a notebook's own `!pip install`), None for the whole project
    scope: str | None = None

    LOCK = "lock"  # what a resolver chose: uv.lock, poetry.lock, Pipfile.lock, requirements.lock
    MAIN = "main"  # the project's own declaration: [project] dependencies, install_requires, requirements.txt
    OPTIONAL = "optional"  # an extra set: an extra, a dependency group, requirements-dev.txt


@_record
class RegistryStageUri(_Record):
    """A `models:/name/<stage>` URI in a string: a model registry reference by stage."""

    location: Location
    uri: str = ""  # as written: "models:/llm/Production"


@_record
class TrackerCall(_Record):
    """A call to a tracker API that a rule judges by its arguments alone (mlflow.start_run, registry stages)."""

    location: Location
    api: str
    keywords: tuple[str, ...] = ()  # the keyword arguments given (all of them known when `complete`)
    complete: bool = True
    context: str | None = None  # e.g. "inside `with mlflow.start_run()` (line 3)", "in a loop without finish()"
    records: bool = True  # False for `with mlflow.start_run(): pass`, a run opened only to look something up
    # The context is a `with` block of the same API that is active around the call (directly, or around a call of
    # the function that holds it), rather than an earlier statement of the module.
    in_block: bool = False
    # The receiver and arguments as written (position "0", "1", ... or keyword, with its source text), for a
    # call that is a statement of its own on one line with no `*`/`**` argument; otherwise empty.
    receiver_code: str | None = None
    arguments_code: tuple[tuple[str, str], ...] = ()


@_record
class RegistryPromotion(_Record):
    """A call that changes which version of a registered model is served: MLflow's
    `transition_model_version_stage` or `set_registered_model_alias`."""

    location: Location
    api: str
    site: CodeSite | None = None


@_record
class MlflowExperimentUse(_Record):
    """Where a Python module names the MLflow experiment its runs go to (`set_experiment`,
    `start_run(experiment_id=)`, `create_run`), or starts runs in whatever experiment is current
    (`start_run()`, `autolog()`)."""

    location: Location
    api: str
    chooses: bool  # True: it names the experiment; False: a run start that takes the current one
    program: bool = False  # the module runs by itself: a __main__ block, a notebook, or the start is module-level


@_record
class EnvBinding(_Record):
    """An environment variable a launcher gives the process, and where it comes from."""

    name: str
    location: Location
    origin: str  # for messages: "step env", "compose environment", "export in the run block", ...
    value: str | None = None  # the literal value; None when it is a reference or passed through
    reference: bool = False  # `${{ secrets.X }}`, `${VAR}`, a pass-through `- VAR`
    optional: bool = False  # a Kubernetes secretKeyRef with `optional: true`
    on_command: bool = False  # set on the command itself (`WANDB_MODE=offline python train.py`, `env X=1 ...`)

    @property
    def is_empty(self) -> bool:
        return not self.reference and not (self.value or "").strip()


@_record
class Credential(_Record):
    """A way a tracking key reaches the process other than an environment variable."""

    kind: CredentialKind
    location: Location
    description: str


@_record
class EntryPoint(_Record):
    """What a launcher command runs: a script, a module, `axolotl train cfg`, `trl sft --config cfg`."""

    kind: EntryKind
    target: str  # script path or module name as written
    location: Location
    command: str  # the command as written, for messages
    config: str | None = None  # a config file argument, as written
    args: tuple[tuple[str, str | None], ...] = ()  # `--flag value` pairs after the target
    arg_locations: tuple[Location | None, ...] = ()  # where each flag of `args` is written, when known
    launcher: str | None = None  # "accelerate", "torchrun", "deepspeed" when one wraps the target
    launcher_args: tuple[tuple[str, str | None], ...] = ()  # the wrapping launcher's own options
    overrides: tuple[tuple[str, str], ...] = ()  # Hydra-style `key.path=value` words after the target

    def arg(self, name: str) -> str | None:
        for key, value in reversed(self.args):
            if key == name:
                return value if value is not None else ""
        return None

    def has_arg(self, name: str) -> bool:
        return any(key == name for key, _ in self.args)

    def launcher_arg(self, *names: str) -> str | None:
        for key, value in self.launcher_args:
            if key in names:
                return value if value is not None else ""
        return None


@_record
class EnvSlot(_Record):
    """Where the launcher file takes one more variable for the process (preflight.sources.envslot): `lines`,
    with `{entry}` replaced by the entry (`NAME: value`, or `NAME=value` when `listed`), go above the line
    `location` starts (an empty span at column 1)."""

    location: Location
    lines: str
    listed: bool = False


@_record
class Launch(_Record):
    """A launcher (workflow step, compose service, ...) running an entry point with some environment."""

    launcher: Launcher
    label: str  # "job 'train', step 'Fine-tune'"
    entry: EntryPoint
    base_dir: str  # where relative paths of the command resolve
    in_container: bool = False  # paths are container paths: match scanned files by suffix
    cwd_known: bool = True  # False for scripts: they run wherever they are started (often the project root);
    # for a container, whether the host folder `docker run` is started from is known
    env: tuple[EnvBinding, ...] = ()  # in order of precedence: later bindings override earlier
    credentials: tuple[Credential, ...] = ()
    inherits_env: bool = False  # the caller's environment flows in, unseen (shell, sbatch, make, image CMD)
    # Who else may give the process variables preflight cannot see: the submitter of a dstack or SkyPilot task
    # (`dstack apply -e`, `sky launch --env`), the Ray cluster a job runs on. No key is called missing there (`-v`
    # names who may give it); unlike `inherits_env`, it is not the caller's environment
    unseen_env: str | None = None
    boundary: str | None = None  # "docker run", "apptainer --cleanenv": the env below does not cross it
    outer_env: tuple[EnvBinding, ...] = ()  # the environment on the caller's side of the boundary
    fan_out: str | None = None  # "sbatch --array", "a matrix", "parallelism: 4", "a shell loop"
    fan_out_location: Location | None = None
    group: str | None = None  # the unit that shares a machine: a workflow job, a compose service
    triggers: tuple[str, ...] = ()  # workflow events
    fork_gated: bool = False  # the step or job does not run for pull requests from forks
    export_policy: str | None = None  # sbatch `--export` value
    export_location: Location | None = None
    compose_service: str | None = None  # `docker compose run SERVICE`: the service's own env applies
    volumes: tuple[str, ...] | None = None  # a container's mount targets; None when not known here
    mounts: tuple[tuple[str | None, str], ...] = ()  # `docker run -v SRC:DST`: (host source, container target)
    workdir: str | None = None  # the container's working folder (`-w`), when given
    # What else may listen on the process's own localhost, when something may: a job's service containers on
    # the runner, a server started earlier in the job or script, `network_mode: host`, a pod's other
    # containers, a self-hosted runner's machine, an image entrypoint not read here. None: nothing known does
    localhost_shared: str | None = None
    concurrency: bool = False  # GitHub Actions: the job or its workflow sets `concurrency:`
    env_slot: EnvSlot | None = None  # where the step's or service's own environment takes one more variable

    @property
    def location(self) -> Location:
        return self.entry.location

    def env_map(self) -> dict[str, EnvBinding]:
        result: dict[str, EnvBinding] = {}
        for binding in self.env:
            result[binding.name] = binding
        return result


@_record
class EnvDeclaration(_Record):
    """An environment variable a launcher file, image or config declares, whether or not preflight
    recognised the command it reaches (for the secret and offline-mode rules)."""

    binding: EnvBinding
    declared_by: Launcher | EnvSource  # its label names it in messages


@_record
class WorkflowCall(_Record):
    """A job that calls a reusable workflow (`uses: ./.github/workflows/x.yml`)."""

    location: Location
    job: str
    callee: str  # the path as written
    secrets: SecretsPassed | None  # None: it passes none
    secret_names: tuple[str, ...] = ()


@_record
class LoginCommand(_Record):
    """`wandb login` in a launcher file; `group` is the unit whose machine keeps the netrc."""

    location: Location
    group: str | None


@_record
class SyncCommand(_Record):
    """`wandb sync` in a launcher file: offline runs are uploaded afterwards."""

    location: Location


@_record
class SecretLiteral(_Record):
    """A credential written literally in a file. Only its masked form is kept."""

    location: Location
    what: str  # "a W&B API key", "HF_TOKEN"
    masked: str


@_record
class SecretArgument(_Record):
    """A credential passed on a command line (`-e WANDB_API_KEY=$KEY`, `wandb login KEY`)."""

    location: Location
    flag: str
    value_location: Location | None = None  # `NAME=value` in `-e NAME=value`: `-e NAME` passes the same value
    name: str | None = None


@_record
class ImageInstruction(_Record):
    """A Dockerfile instruction that can persist a secret in an image layer (ENV, ARG, RUN)."""

    location: Location
    instruction: str
    name: str | None = None  # the variable of ENV/ARG
    text: str = ""  # the RUN command
    stage: int = 0  # the build stage: how many FROM come before it (0: before the first)
    single: bool = False  # an ENV/ARG that declares only this variable, on one line
    syntax: str | None = None  # a RUN's: the frontend the file's `# syntax=` directive names, if any


@_record
class ComposeService(_Record):
    """A compose service's environment, for `docker compose run SERVICE` and image-CMD launches."""

    location: Location
    name: str
    env: tuple[EnvBinding, ...] = ()
    credentials: tuple[Credential, ...] = ()
    build_context: str | None = None  # folder of the image it builds, when it builds one
    dockerfile: str | None = None
    has_command: bool = False
    volumes: tuple[str, ...] = ()  # mount targets in the container


Fact = _Record  # every fact is one of the records of this module (the cache rebuilds exactly these)


@dataclass(slots=True)
class FileFacts:
    """Everything one file contributes to the project model."""

    path: str
    kind: str | None
    facts: list = field(default_factory=list)
    suppressions: list = field(default_factory=list)
    imports_pending: bool = False  # a pre-filtered Python file: its imports are read only if a launcher needs them
    note: str | None = None  # why a file was skipped (shown with --verbose)
    # where its credentials are written, (line, column, end_line, end_column) each: code frames and diffs mask
    # them (preflight.secrets); the facts themselves hold only masked values
    secrets: tuple = ()
