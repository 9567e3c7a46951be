"""Python training scripts: parse once with `ast`, turn tracker, trainer and env calls into facts."""

from __future__ import annotations

import ast
import dataclasses
import re

from preflight.findings import Location
from preflight.trackers import NEPTUNE_INTEGRATIONS, NEPTUNE_PACKAGES
from preflight.model import (
    AimRun, ArgumentParserUse, TrainerCall, TrainingLoop, ConfigReads, EnvWrite, Hyperparameters, LoggedMetrics,
    ModuleImport, TrackerCall, Fact, LocalImport, ParseError, SweepDriver, TrackerUse, TrainingConfig, Value,
    VersionRequirement, WandbLogin, WandbRun,
)
from preflight.sources import pyartifacts, pyoutline, pysweeps
from preflight.sources.pyscope import Module, Scope, argument, dict_mutated, keyword_map, position, simple_name
from preflight.sources.text import SourceText

WANDB_INIT = {"wandb.init", "wandb.sdk.init", "wandb.sdk.wandb_init.init"}
WANDB_AGENT = {"wandb.agent", "wandb.wandb_agent.agent"}
WANDB_SWEEP = {"wandb.sweep", "wandb.sdk.wandb_sweep.sweep"}
WANDB_LOGIN = {"wandb.login", "wandb.sdk.wandb_login.login"}
WEAVE_INIT = {"weave.init"}
HF_ARGUMENTS = {
    "transformers.TrainingArguments", "transformers.training_args.TrainingArguments",
    "transformers.Seq2SeqTrainingArguments", "transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
}
TRL_NON_TRAINING_CONFIGS = {"ModelConfig"}
HF_CLASS_NAMES = {name.rsplit(".", 1)[-1] for name in HF_ARGUMENTS}
MLFLOW_START_RUN = {"mlflow.start_run", "mlflow.tracking.fluent.start_run"}
REGISTRY_STAGE_METHODS = {"transition_model_version_stage", "get_latest_versions"}
MLFLOW_SET_URI = {"mlflow.set_tracking_uri", "mlflow.tracking.set_tracking_uri"}
MLFLOW_CLIENT = {"mlflow.MlflowClient", "mlflow.tracking.MlflowClient", "mlflow.client.MlflowClient"}
# Calls that write to the tracking store (the fluent API, autologging, the client).
MLFLOW_USES = {"start_run", "log_metric", "log_metrics", "log_param", "log_params", "log_artifact", "log_artifacts",
               "autolog", "log_model", "set_experiment", "log_dict", "log_text", "log_figure", "log_table",
               "MlflowClient"}
MLFLOW_LOG_METRIC = {"mlflow.log_metric": 2, "mlflow.log_metrics": 1}  # positional index of `step`
ARGUMENT_PARSERS = {"transformers.HfArgumentParser", "transformers.hf_argparser.HfArgumentParser",
                    "trl.TrlParser", "trl.scripts.utils.TrlParser"}
# Aim's run starts -> the positional index of `repo` (None: keyword only). aim/sdk/run.py, sdk/adapters.
AIM_RUNS = {"aim.Run": None, "aim.sdk.Run": None, "aim.sdk.run.Run": None, "aim.Session": 0,
            "aim.hugging_face.AimCallback": 0, "aim.sdk.adapters.hugging_face.AimCallback": 0,
            "aim.pytorch_lightning.AimLogger": 0, "aim.sdk.adapters.pytorch_lightning.AimLogger": 0}
TRAINERS = {"transformers.Trainer", "transformers.trainer.Trainer", "transformers.Seq2SeqTrainer",
            "transformers.trainer_seq2seq.Seq2SeqTrainer"}
ACCELERATOR = {"accelerate.Accelerator", "accelerate.accelerator.Accelerator"}
LIGHTNING_PREFIXES = ("lightning.", "pytorch_lightning.", "lightning_fabric.")
ENVIRON = "os.environ"
SACRED_EXPERIMENTS = {"sacred.Experiment", "sacred.experiment.Experiment"}
REQUIRE_VERSION = {"transformers.utils.versions.require_version", "transformers.utils.versions.require_version_core",
                   "transformers.utils.require_version"}


_HYPERPARAMETERS = re.compile(r"\.add_argument\(\s*['\"]--|@dataclass|typer\.Option|click\.option|hydra\.main|"
                              r"HfArgumentParser|TrlParser|OmegaConf\.load")
_STAGE_URI = re.compile(r"models:/[^/\s'\"]+/(?:Production|Staging|Archived|None)\b")
def parse(source: SourceText) -> ast.Module | ParseError:
    try:
        return ast.parse(source.text, filename=source.path)
    except SyntaxError as exc:
        line = max(1, exc.lineno or 1)
        column = max(1, exc.offset or 1)
        return ParseError(Location(source.path, line, column), f"Python syntax error: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc) or type(exc).__name__
        return ParseError(Location.start_of(source.path), f"Python source cannot be parsed: {reason}")


def extract(source: SourceText) -> list[Fact]:
    tree = parse(source)
    if isinstance(tree, ParseError):
        return [tree]
    try:
        module = Module(source, tree)
        facts = _Extractor(module).run()
        facts.extend(pyartifacts.extract(module))
    except RecursionError:
        return [ParseError(Location.start_of(source.path), "Python source is nested too deeply to analyse")]
    return facts


_TRACKER_PACKAGES = {"wandb", "mlflow", "neptune", "neptune_scale", "aim"}


def _starts_at_zero(loop: ast.For) -> bool:
    """`range(n)`, `range(0, n)`, `enumerate(x)`: the loop's counter starts at 0."""
    call = loop.iter
    if not isinstance(call, ast.Call):
        return False
    if simple_name(call.func) == "enumerate":
        start = argument(call, "start", 1)
        return start is None or (isinstance(start, ast.Constant) and start.value == 0)
    return len(call.args) == 1 or (len(call.args) >= 2 and isinstance(call.args[0], ast.Constant)
                                   and call.args[0].value == 0)


def _is_training_step(call: ast.Call) -> bool:
    """`loss.backward()`, `optimizer.step()`, `accelerator.backward(loss)`: the script trains by itself."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr == "backward":
        return True
    name = simple_name(func.value)
    return func.attr == "step" and ("optim" in name.lower() or name.lower() in ("opt", "optimiser"))


def parser_framework(library: list[str], parser: str) -> str | None:
    """Whose defaults a parser's arguments get: TRL's when a TRL class (or TrlParser) is among them, HF's
    when TrainingArguments is; None when it parses only the script's own dataclasses."""
    if any(name.endswith("Config") and name not in TRL_NON_TRAINING_CONFIGS for name in library):
        return "trl"
    if any(name in HF_CLASS_NAMES for name in library):
        return "hf"
    return "trl" if library and parser.startswith("trl.") else None


def training_framework(qualname: str | None) -> str | None:
    if not qualname:
        return None
    if qualname in HF_ARGUMENTS:
        return "hf"
    last = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("trl.") and last.endswith("Config") and last not in TRL_NON_TRAINING_CONFIGS:
        return "trl"
    return None


class _Extractor:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.facts: list[Fact] = []
        self.runs: list[tuple[WandbRun, tuple[str, ...]]] = []
        self.agent_functions: set[str] = set()
        self.calls_by_function: dict[str, set[str]] = {}
        self.accelerator_wandb: list[bool | None] = []
        self.init_trackers: list[tuple[ast.Call, Scope, tuple[str, ...]]] = []
        self._parent_map: dict[int, ast.AST] | None = None
        self.logged: list[str] = []
        self.logged_unknown = False
        self.uses_trainer = False
        self.step_logs: list[tuple[ast.Call, Scope, bool]] = []  # (wandb log call, scope, has step=)
        self.parsed_files: list[str] = []
        self.mlflow_used = False
        self.sweep_calls: list[tuple[ast.Call, Scope]] = []
        self.unknown_key_policy = "error"
        self._sites: pyoutline.SiteFinder | None = None
        self._scopes: dict[int, Scope] | None = None
        self._local_trainers = self._trainer_subclasses()

    def _version_requirement(self, call: ast.Call, scope: Scope) -> None:
        requirement = argument(call, "requirement", 0)
        known, text = self.module.literal(requirement, scope) if requirement is not None else (False, None)
        if not known or not isinstance(text, str):
            return
        from packaging.requirements import InvalidRequirement, Requirement

        try:
            parsed = Requirement(text)
        except InvalidRequirement:
            return
        self.facts.append(VersionRequirement(self.module.location(call), parsed.name.lower(), str(parsed.specifier),
                                             self.site(call)))

    def _trainer_subclasses(self) -> dict[str, str]:
        """The module's own Trainer subclasses (`class MyTrainer(SFTTrainer)`), by name -> the library base."""
        found: dict[str, str] = {}
        for node in self.module.tree.body:
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    qualname = self.module.qualname(base) or found.get(getattr(base, "id", ""), "")
                    if qualname in TRAINERS or (qualname.startswith("trl.") and qualname.endswith("Trainer")):
                        found[node.name] = qualname
        return found

    def site(self, node: ast.AST):
        """Where a call (or an assignment) sits, for the link stage's reachability."""
        if self._sites is None:
            self._sites = pyoutline.SiteFinder(self.module, self._parents())
            self._scopes = {id(n): scope for n, scope, *_ in (*self.module.calls, *self.module.assignments)}
        return self._sites.site(node, self._scopes.get(id(node), self.module.module_scope))

    def run(self) -> list[Fact]:
        module = self.module
        self._registry_uris()
        takes = _HYPERPARAMETERS.search(module.source.text)
        if takes:
            self.facts.append(Hyperparameters(takes.group(0).strip("(@.'\"")))
        if "config" in module.source.text or "add_argument" in module.source.text:
            self.facts.append(self._config_reads())
        for node in module.imports:
            self._import(node)
        for node, scope in module.assignments:
            self._environ_assignment(node, scope)
        for call, scope, chain in module.calls:
            self._call(call, scope, chain)
        self._resolve_init_trackers()
        for call, scope in self.sweep_calls:
            spec = pysweeps.sweep_spec(self.module, call, scope, runs_here=bool(self.agent_functions))
            if spec is not None:
                self.facts.append(spec)
        loop = self._training_loop()
        if loop is not None:
            self.facts.append(loop)
        if self.parsed_files or self.unknown_key_policy != "error":
            self.facts = [dataclasses.replace(f, config_file=self.parsed_files[0] if self.parsed_files else None,
                                              unknown_keys=self.unknown_key_policy)
                          if isinstance(f, ArgumentParserUse) else f for f in self.facts]
        if self.logged or self.logged_unknown or self.uses_trainer:
            self.facts.append(LoggedMetrics(tuple(dict.fromkeys(self.logged)), self.logged_unknown, self.uses_trainer,
                                            tuple(self._step_conflicts())))
        reachable = self._reachable(self.agent_functions)
        for run, chain in self.runs:
            if reachable.intersection(chain):
                run = dataclasses.replace(run, in_sweep_function=True)
            self.facts.append(run)
        return self.facts

    def _registry_uris(self) -> None:
        """`models:/name/Production` URIs: stage-based registry references, in any string."""
        source = self.module.source
        for match in _STAGE_URI.finditer(source.text):
            self.facts.append(TrackerCall(source.location(match.start(), match.end()), "models:/ stage URI"))

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.facts.append(LocalImport(alias.name, 0, ()))
                if alias.name.split(".")[0] in NEPTUNE_PACKAGES:
                    self.facts.append(ModuleImport(self.module.location(node), alias.name))
        else:
            names = tuple(a.name for a in node.names if a.name != "*")
            self.facts.append(LocalImport(node.module or "", node.level, names))
            if node.level == 0 and node.module:
                top = node.module.split(".")[0]
                for name in names:
                    if top in NEPTUNE_PACKAGES or name in NEPTUNE_INTEGRATIONS:
                        self.facts.append(ModuleImport(self.module.location(node), f"{node.module}.{name}"))

    # -- calls ----------------------------------------------------------------------------------

    def _call(self, call: ast.Call, scope: Scope, chain: tuple[str, ...]) -> None:
        module = self.module
        if chain and isinstance(call.func, ast.Name):
            self.calls_by_function.setdefault(chain[-1], set()).add(call.func.id)
        name = module.qualname(call.func, scope)
        self._logged_keys(call, name, scope)
        if name in pyoutline.LOADER_NAMES or (isinstance(call.func, ast.Attribute) and call.func.attr in
                                              pyoutline.LOADER_METHODS):
            loader = pyoutline.config_loader(module, call, scope, None)
            if loader is not None:
                self.facts.append(dataclasses.replace(loader, site=self.site(call)))
        if isinstance(call.func, ast.Attribute) and call.func.attr in REGISTRY_STAGE_METHODS and \
                any(v.split(".")[0] == "mlflow" for v in module.aliases.values()):
            keywords = tuple(kw.arg for kw in call.keywords if kw.arg)
            if call.func.attr == "transition_model_version_stage" or "stages" in keywords or len(call.args) >= 2:
                self.facts.append(TrackerCall(module.location(call), f"MlflowClient.{call.func.attr}", keywords))
        if name is None:
            if isinstance(call.func, ast.Attribute):
                self._parse_call(call, scope)
                if call.func.attr == "init_trackers":
                    self.init_trackers.append((call, scope, chain))
                elif self._is_environ(call.func.value, scope):
                    self._environ_method(call, call.func.attr, scope)
            elif isinstance(call.func, ast.Name) and call.func.id in self._local_trainers:
                self._trainer(call, self._local_trainers[call.func.id], scope)
            return
        if name.startswith("mlflow.") and name.rsplit(".", 1)[-1] in MLFLOW_USES and not self.mlflow_used:
            self.mlflow_used = True
            self.facts.append(TrackerUse(module.location(call), "mlflow", name, self.site(call)))
        if name in MLFLOW_SET_URI or (name in MLFLOW_CLIENT and argument(call, "tracking_uri", 0) is not None):
            uri = argument(call, "uri", 0) if name in MLFLOW_SET_URI else argument(call, "tracking_uri", 0)
            if uri is not None:  # the same setting as MLFLOW_TRACKING_URI, for this process
                self.facts.append(EnvWrite(module.location(call), "MLFLOW_TRACKING_URI", module.value(uri, scope),
                                           self.site(call)))
        if name in WANDB_INIT:
            self._wandb_init(call, scope, chain)
        elif name.startswith(LIGHTNING_PREFIXES) and name.endswith(".WandbLogger"):
            self._wandb_logger(call, scope, chain)
        elif name in ACCELERATOR:
            self.accelerator_wandb.append(self._accelerator_uses_wandb(call, scope))
        elif training_framework(name):
            self._training_config(call, name, scope, chain)
        elif name in ARGUMENT_PARSERS:
            self._argument_parser(call, name, scope)
        elif name in TRAINERS or (name.startswith("trl.") and name.endswith("Trainer")):
            self._trainer(call, name, scope)
        elif name in MLFLOW_START_RUN:
            keywords = tuple(kw.arg for kw in call.keywords if kw.arg)
            complete = not any(kw.arg is None for kw in call.keywords) and not call.args[2:3]
            outer = next((w for w in self._enclosing(call, (ast.With, ast.AsyncWith))
                          if all(item.context_expr is not call for item in w.items)
                          and any(self._is_start_run(item.context_expr, scope) for item in w.items)), None)
            context = f"inside `with mlflow.start_run()` (line {outer.lineno})" if outer is not None else None
            block = self._parents().get(id(self._parents().get(id(call))))
            empty = isinstance(block, ast.With) and all(
                isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                for s in block.body)
            self.facts.append(TrackerCall(module.location(call), "mlflow.start_run", keywords, complete, context,
                                          records=not empty))
        elif name in MLFLOW_LOG_METRIC:
            keywords = tuple(kw.arg for kw in call.keywords if kw.arg)
            has_step = "step" in keywords or len(call.args) > MLFLOW_LOG_METRIC[name]
            loops = self._enclosing(call, (ast.For, ast.AsyncFor, ast.While)) if not has_step else []
            if loops and self._key_per_iteration(call, name, loops[0]):
                loops = []  # `for metric in ["rmse", "r2"]: log_metric(metric, ...)`: each key once, no series
            if loops and not any(kw.arg is None for kw in call.keywords):
                self.facts.append(TrackerCall(module.location(call), name, keywords, True,
                                              f"in the loop at line {loops[0].lineno}"))
        elif name in WANDB_AGENT:
            self.facts.append(SweepDriver(module.location(call), "wandb.agent"))
            function = argument(call, "function", 1)
            if function is not None:
                self.agent_functions.update(self._function_names(function))
        elif name in WANDB_SWEEP:
            self.facts.append(SweepDriver(module.location(call), "wandb.sweep"))
            self.sweep_calls.append((call, scope))
        elif name in AIM_RUNS:
            kwargs, complete = self._kwargs(call, scope)
            repo = kwargs.get("repo")
            if repo is None and call.args and AIM_RUNS[name] is not None and len(call.args) > AIM_RUNS[name]:
                repo = module.value(call.args[AIM_RUNS[name]], scope)
            self.facts.append(AimRun(module.location(call), name.rsplit(".", 1)[-1], repo, complete))
        elif name in WEAVE_INIT:
            self.facts.append(TrackerUse(module.location(call), "wandb", "weave.init", self.site(call)))
        elif name in WANDB_LOGIN:
            key = argument(call, "key", 0)
            from_env = key is not None and self._reads_env(key, scope, "WANDB_API_KEY")
            literal = key is not None and module.literal(key, scope)[0]
            self.facts.append(WandbLogin(module.location(call), key is not None, from_env, literal, self.site(call)))
        elif name in REQUIRE_VERSION:
            self._version_requirement(call, scope)
        elif name == "os.putenv":
            self._env_write(argument(call, "key", 0), argument(call, "value", 1), scope, call)
        elif name.startswith(ENVIRON + "."):
            self._environ_method(call, name.rsplit(".", 1)[-1], scope)

    # -- structure around a call (computed only for the few calls that need it) ---------------------

    def _parents(self) -> dict[int, ast.AST]:
        if self._parent_map is None:
            from preflight.sources.pyscope import child_nodes

            parents: dict[int, ast.AST] = {}
            stack = [self.module.tree]
            while stack:
                node = stack.pop()
                for child in child_nodes(node):
                    parents[id(child)] = node
                    stack.append(child)
            self._parent_map = parents
        return self._parent_map

    def _enclosing(self, node: ast.AST, kinds: tuple[type, ...]) -> list[ast.AST]:
        """Ancestors of the given kinds, innermost first, up to the enclosing function."""
        parents, found = self._parents(), []
        current = parents.get(id(node))
        while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if isinstance(current, kinds):
                found.append(current)
            current = parents.get(id(current))
        return found

    def _is_start_run(self, expr: ast.AST, scope: Scope) -> bool:
        return isinstance(expr, ast.Call) and self.module.qualname(expr.func, scope) in MLFLOW_START_RUN

    def _loop_without_finish(self, call: ast.Call, kwargs: dict[str, Value]) -> int | None:
        """The line of a loop that runs this wandb.init repeatedly with nothing finishing the run."""
        reinit = kwargs.get("reinit")
        if reinit is not None and (not reinit.known or reinit.literal in (True, "finish_previous", "create_new")):
            return None
        parent = self._parents().get(id(call))
        if isinstance(parent, ast.withitem):
            return None  # `with wandb.init() as run:` finishes the run at the end of the block
        for loop in self._enclosing(call, (ast.For, ast.AsyncFor, ast.While)):
            finishes = any(isinstance(n, ast.Call) and simple_name(n.func) == "finish" for n in ast.walk(loop))
            if not finishes:
                return loop.lineno
        return None

    def _wandb_init(self, call: ast.Call, scope: Scope, chain: tuple[str, ...]) -> None:
        kwargs, complete = self._kwargs(call, scope)
        loop = self._loop_without_finish(call, kwargs)
        if loop is not None:
            keywords = tuple(kw.arg for kw in call.keywords if kw.arg)
            self.facts.append(TrackerCall(self.module.location(call), "wandb.init", keywords, complete,
                                          f"in the loop at line {loop}"))
        name, run_id = kwargs.get("name"), kwargs.get("id")
        settings = argument(call, "settings")
        if settings is not None:
            if isinstance(settings, ast.Call) \
                    and (self.module.qualname(settings.func, scope) or "").endswith("Settings"):
                settings_kwargs, settings_complete = self._kwargs(settings, scope)
                name = name or settings_kwargs.get("run_name")
                run_id = run_id or settings_kwargs.get("run_id")
                complete = complete and settings_complete
            else:
                complete = False
        self._add_run("wandb.init", call, scope, chain, name, run_id, kwargs.get("mode"), complete,
                      kwargs.get("project"), kwargs.get("resume"), "config" in kwargs or not complete,
                      kwargs.get("dir"))

    def _wandb_logger(self, call: ast.Call, scope: Scope, chain: tuple[str, ...]) -> None:
        kwargs, complete = self._kwargs(call, scope, positional=("name", "save_dir", "version"))
        run_id = kwargs.get("id") or kwargs.get("version")
        self._add_run("WandbLogger", call, scope, chain, kwargs.get("name"), run_id, kwargs.get("mode"), complete,
                      kwargs.get("project"))

    def _add_run(self, api, call, scope, chain, name, run_id, mode, complete, project=None, resume=None,
                 config_given=True, directory=None) -> None:
        run = WandbRun(
            location=self.module.location(call),
            api=api,
            name=name,
            run_id=run_id,
            project=project,
            resume=resume,
            config_given=config_given or self._config_updated(),
            directory=directory,
            identity_known=complete,
            mode=mode,
            function=chain[-1] if chain else None,
            site=self.site(call),
        )
        self.runs.append((run, chain))

    def _config_reads(self) -> ConfigReads:
        """Keys read from wandb.config / run.config, argparse options, and whether the config escapes whole.
        Reads what the module walk gathered (calls, `.config` attributes with their parents): no walk of its own."""
        module, keys, options, opaque = self.module, [], [], False
        for call, _, _ in module.calls:
            func = call.func
            if not isinstance(func, ast.Attribute):
                continue
            if func.attr == "add_argument":
                for arg in call.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("--"):
                        options.append(arg.value[2:].replace("-", "_"))
            elif func.attr == "get" and isinstance(func.value, ast.Attribute) and func.value.attr == "config" \
                    and call.args:  # wandb.config.get("key")
                known, key = module.literal(call.args[0], module.module_scope)
                if known and isinstance(key, str):
                    keys.append(key)
        for node, parent in module.config_uses:
            base = module.qualname(node.value) or ""
            is_run = isinstance(node.value, ast.Name) and module.constructor_of(node.value, module.module_scope) in (
                "wandb.init", "wandb.sdk.init")
            if base != "wandb" and not is_run and not (isinstance(node.value, ast.Name) and node.value.id == "run"):
                continue
            if isinstance(parent, ast.Attribute) and parent.attr not in ("update", "setdefaults", "keys", "items"):
                keys.append(parent.attr)
            elif isinstance(parent, ast.Subscript) and parent.value is node:
                known, key = module.literal(parent.slice, module.module_scope)
                if known and isinstance(key, str):
                    keys.append(key)
                else:
                    opaque = True
            elif isinstance(parent, ast.Attribute) and parent.attr in ("keys", "items"):
                opaque = True
            elif isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr == "get":
                pass
            elif not isinstance(parent, ast.Attribute):
                opaque = True  # the whole config is handed on
        return ConfigReads(tuple(dict.fromkeys(keys)), tuple(dict.fromkeys(options)), opaque)

    def _key_per_iteration(self, call: ast.Call, name: str, loop: ast.AST) -> bool:
        """Does the metric's key change with the loop (it is, or is built from, the loop's variable)?"""
        if not isinstance(loop, (ast.For, ast.AsyncFor)):
            return False
        names = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
        keys = argument(call, "key", 0) if name.endswith("log_metric") else argument(call, "metrics", 0)
        return keys is not None and any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(keys))

    def _step_conflicts(self) -> list[tuple[Location, Location, str]]:
        """Explicit-step logs an implicit log of the same run gets ahead of. Each `log()` without step= logs
        at W&B's current step and moves it on by one; a `log(step=s)` with s below it is dropped with a
        warning (verified with wandb 0.31). With the step counting the iterations of its loop, that happens
        when an implicit log precedes it in the iteration, when two do, or when implicit logs before the loop
        move the step past the first iterations. An implicit log after the loop drops nothing."""
        found = []
        implicit = [(c, s) for c, s, has_step in self.step_logs if not has_step]
        for call, scope, has_step in self.step_logs:
            loop = next(iter(self._enclosing(call, (ast.For, ast.AsyncFor))), None)
            if not has_step or loop is None or not self._counts_iterations(argument(call, "step", 1), loop):
                continue
            mine = [c for c, s in implicit if s is scope and self._same_run(c, call)]
            inside = [c for c in mine if loop in self._enclosing(c, (ast.For, ast.AsyncFor))]
            before = [c for c in inside if position(c) < position(call)]
            ahead = [c for c in mine if c not in inside and position(c) < position(loop) and _starts_at_zero(loop)]
            if before:
                found.append((call, before[0], "earlier in the same iteration"))
            elif len(inside) >= 2:
                found.append((call, inside[0], f"{len(inside)} times in each iteration"))
            elif ahead:
                found.append((call, ahead[0], "before the loop, so the first steps are already passed"))
        return [(self.module.location(a), self.module.location(b), how) for a, b, how in found]

    def _counts_iterations(self, step: ast.AST | None, loop: ast.For) -> bool:
        """Is the step the loop's own counter (`for step in range(n)`, `for i, batch in enumerate(...)`)?"""
        names = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
        return isinstance(step, ast.Name) and step.id in names and isinstance(loop.iter, ast.Call) and \
            simple_name(loop.iter.func) in ("range", "enumerate")

    def _same_run(self, one: ast.Call, other: ast.Call) -> bool:
        """Both log to the same run: `wandb.log` and a run object are the one run when the file starts one."""
        a, b = one.func.value, other.func.value  # type: ignore[attr-defined]
        if ast.dump(a) == ast.dump(b):
            return True
        starts = sum(1 for f, _ in self.runs if f.api == "wandb.init")
        return starts <= 1

    def _config_updated(self) -> bool:
        """`wandb.config.update(...)`, `run.config.update(...)` or `wandb.config[...] = ...` anywhere, or the
        config handed on whole (`config = wandb.config`, `log_params(wandb.config)`), to be filled there."""
        text = self.module.source.text
        if re.search(r"\.config\.(update|setdefaults)\(|\.config\[[^\]]+\]\s*=|\.config\.\w+\s*=(?!=)", text):
            return True
        for node, parent in self.module.config_uses:
            if (self.module.qualname(node.value) or "") == "wandb" and (
                    isinstance(parent, (ast.Assign, ast.AnnAssign, ast.keyword)) or
                    (isinstance(parent, ast.Call) and node in parent.args)):
                return True
        return False

    def _logged_keys(self, call: ast.Call, name: str | None, scope: Scope) -> None:
        """Keys of wandb.log / run.log / Lightning's self.log and log_dict (for SWP001)."""
        func = call.func
        is_wandb_log = name in ("wandb.log",) or (
            isinstance(func, ast.Attribute) and func.attr == "log"
            and self.module.constructor_of(func.value, scope) in ("wandb.init", "wandb.sdk.init"))
        is_lightning = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id == "self" and func.attr in ("log", "log_dict") and any(
                v.startswith(LIGHTNING_PREFIXES) for v in self.module.aliases.values())
        if name and (name.endswith(("Trainer", "SFTTrainer")) and name.split(".")[0] in ("transformers", "trl")):
            self.uses_trainer = True
        if not (is_wandb_log or is_lightning):
            return
        if is_wandb_log:
            committed = keyword_map(call).get("commit")
            if committed is None or self.module.literal(committed.value, scope) != (True, False):
                self.step_logs.append((call, scope, argument(call, "step", 1) is not None))
        first = call.args[0] if call.args else argument(call, "data") or argument(call, "name") or argument(
            call, "dictionary")
        if is_lightning and func.attr == "log":
            known, key = self.module.literal(first, scope) if first is not None else (False, None)
            if known and isinstance(key, str):
                self.logged.append(key)
            else:
                self.logged_unknown = True
            return
        entries = self._dict_expression(first, scope) if first is not None else None
        if isinstance(entries, ast.Dict) and all(k is not None for k in entries.keys):
            for key in entries.keys:
                known, text = self.module.literal(key, scope)
                if known and isinstance(text, str):
                    self.logged.append(text)
                else:
                    self.logged_unknown = True
        else:
            self.logged_unknown = True

    def _training_config(self, call: ast.Call, qualname: str, scope: Scope, chain: tuple[str, ...]) -> None:
        kwargs, complete = self._kwargs(call, scope, positional=("output_dir",))
        class_name = qualname.rsplit(".", 1)[-1]
        config = TrainingConfig(
            location=self.module.location(call),
            framework=training_framework(qualname),  # type: ignore[arg-type]
            origin=f"{class_name}(...)",
            args=kwargs,
            complete=complete,
            site=self.site(call),
        )
        self.facts.append(config)
        self.uses_trainer = True
        if config.reports_to("wandb"):
            report_to = kwargs["report_to"]
            run = WandbRun(
                location=report_to.anchor,
                api="report_to",
                name=kwargs.get("run_name"),
                identity_known=complete,
                function=chain[-1] if chain else None,
                site=self.site(call),
            )
            self.runs.append((run, chain))

    def _argument_parser(self, call: ast.Call, name: str, scope: Scope) -> None:
        classes = argument(call, "dataclass_types", 0)
        if isinstance(classes, ast.Name):
            classes = self.module.resolve_name(classes, scope) or classes
        elements = classes.elts if isinstance(classes, (ast.Tuple, ast.List)) else [classes] if classes else []
        library: list[str] = []
        local: list[str] = []
        pending: list[tuple] = []
        known = bool(elements) and not isinstance(classes, ast.Starred)
        for element in elements:
            found = self._dataclass_fields(element, scope, library, local, pending)
            known = known and found
        framework = parser_framework(library, name)
        if framework is None and not pending:
            return  # the script's own dataclasses only: not training arguments
        self.facts.append(ArgumentParserUse(self.module.location(call), framework or "unknown",
                                            tuple(dict.fromkeys(library)), tuple(dict.fromkeys(local)),
                                            known, site=self.site(call), pending=tuple(pending)))

    def _dataclass_fields(self, expr: ast.AST, scope: Scope, library: list[str], local: list[str],
                          pending: list[tuple], depth: int = 0) -> bool:
        """Adds the library class or the script's own dataclass fields `expr` names (following a subclass to
        its bases); a class imported from a project module goes to `pending`. False when unknown."""
        qualname = self.module.qualname(expr, scope)
        if qualname is not None:
            if qualname in HF_ARGUMENTS or qualname.startswith("trl."):
                library.append(qualname.rsplit(".", 1)[-1])
                return True
            if not qualname.startswith(("transformers.", "trl.")):
                pending.append(("module", qualname, 0))  # perhaps the project's own module
            return False
        if not isinstance(expr, ast.Name) or depth > 5:
            return False
        if expr.id in self.module.relative:
            module, level, name = self.module.relative[expr.id]
            pending.append(("module", f"{module}.{name}" if module else name, level))
            return False
        definition = next((node for node in self.module.tree.body
                           if isinstance(node, ast.ClassDef) and node.name == expr.id), None)
        if definition is None:
            return False
        known = True
        for base in definition.bases:
            known = self._dataclass_fields(base, scope, library, local, pending, depth + 1) and known
        local.extend(statement.target.id for statement in definition.body
                     if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name))
        return known

    def _training_loop(self) -> TrainingLoop | None:
        """The script's own training steps and its seeding; None for Trainer-based scripts, which the
        HF Trainer seeds (TrainingArguments.seed = 42)."""
        if self.uses_trainer or any(isinstance(f, (TrainerCall, ArgumentParserUse)) for f in self.facts):
            return None
        if not {name.split(".")[0] for name in self.module.aliases.values()} & _TRACKER_PACKAGES:
            return None  # only runs that are logged to a tracker are checked (and the pre-filter keeps exactly those)
        step = next((call for call, _, _ in self.module.calls if _is_training_step(call)), None)
        if step is None:
            return None
        # seed calls, not counting the body of a seeding helper (`def set_seed(s): torch.manual_seed(s)`):
        # whether the helper's own call is conditional is what matters
        seeds = [call for call, scope, chain in self.module.calls if self._seeds(call, scope)
                 and not any("seed" in function.lower() for function in chain)]
        if not seeds:
            return TrainingLoop(self.module.location(step), "never")
        option = self._seed_option_without_default()
        if option is not None and all(self._guarded_by_seed(call) for call in seeds):
            return TrainingLoop(self.module.location(step), "conditional", option)
        return TrainingLoop(self.module.location(step), "always")

    def _seeds(self, call: ast.Call, scope: Scope) -> bool:
        """A call that seeds the run's generators: any `*seed*` function (torch.manual_seed, set_seed,
        seed_everything), MONAI's set_determinism, or a Sacred Experiment (Sacred seeds random, numpy and torch
        from the run's `seed` config before the main function runs)."""
        name = simple_name(call.func)
        return "seed" in name.lower() or name == "set_determinism" or \
            self.module.qualname(call.func, scope) in SACRED_EXPERIMENTS

    def _seed_option_without_default(self) -> Location | None:
        for call, scope, _ in self.module.calls:
            if isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument" and call.args:
                known, flag = self.module.literal(call.args[0], scope)
                if not (known and isinstance(flag, str) and flag.lstrip("-").replace("-", "_") == "seed"):
                    continue
                default = keyword_map(call).get("default")
                if default is None or self.module.literal(default.value, scope) == (True, None):
                    return self.module.location(call)
        return None

    def _guarded_by_seed(self, call: ast.Call) -> bool:
        """Inside an `if` whose test reads a seed (`if args.seed is not None:`, `if args.seed:`)."""
        for statement in self._enclosing(call, (ast.If,)):
            if any("seed" in simple_name(n).lower() for n in ast.walk(statement.test)):
                return True
        return False

    def _parse_call(self, call: ast.Call, scope: Scope) -> None:
        """`parser.parse_yaml_file("args.yaml")` and how a parse call treats keys no dataclass has."""
        method = call.func.attr  # type: ignore[attr-defined]
        if method in ("parse_yaml_file", "parse_json_file") and call.args:
            known, path = self.module.literal(call.args[0], scope)
            if known and isinstance(path, str):
                self.parsed_files.append(path)
        for keyword, literal, policy in (("allow_extra_keys", True, "kept"), ("fail_with_unknown_args", False,
                                                                            "dropped"),
                                         ("return_remaining_strings", True, "dropped")):
            node = keyword_map(call).get(keyword)
            if node is not None and self.module.literal(node.value, scope) == (True, literal):
                self.unknown_key_policy = policy

    def _trainer(self, call: ast.Call, name: str, scope: Scope) -> None:
        """A Trainer and the arguments it is built with (for the eval-dataset check)."""
        self.uses_trainer = True
        args = argument(call, "args", 1)
        args_at = None
        if isinstance(args, ast.Name):
            args = self.module.resolve_name(args, scope)
        if isinstance(args, ast.Call) and training_framework(self.module.qualname(args.func, scope)):
            args_at = self.module.location(args)
        eval_dataset: bool | None = None
        keywords = keyword_map(call)
        if "eval_dataset" in keywords:
            eval_dataset = not (isinstance(keywords["eval_dataset"].value, ast.Constant)
                                and keywords["eval_dataset"].value.value is None)
        elif len(call.args) >= 5:  # Trainer(model, args, data_collator, train_dataset, eval_dataset, ...)
            eval_dataset = True
        elif not any(kw.arg is None for kw in call.keywords) and not any(isinstance(a, ast.Starred) for a in call.args):
            eval_dataset = False
        self.facts.append(TrainerCall(self.module.location(call), name.rsplit(".", 1)[-1], args_at, eval_dataset,
                                      self.site(call)))

    def _accelerator_uses_wandb(self, call: ast.Call, scope: Scope) -> bool | None:
        log_with = argument(call, "log_with", 3)
        if log_with is None:
            return False
        elements = log_with.elts if isinstance(log_with, (ast.List, ast.Tuple)) else [log_with]
        answer: bool | None = False
        for element in elements:
            known, value = self.module.literal(element, scope)
            if known and isinstance(value, str):
                if value.lower() == "wandb":
                    return True
                if value.lower() == "all":
                    answer = None
            elif isinstance(element, ast.Attribute) and element.attr.upper() == "WANDB":
                return True
            else:
                answer = None
        return answer

    def _init_trackers_wandb(self, call: ast.Call, scope: Scope) -> bool | None:
        """Does the Accelerator this `init_trackers` is called on log to W&B? Its receiver is followed to
        the `Accelerator(log_with=...)` it was built from; when that cannot be seen, the file's only
        Accelerator decides, if there is one."""
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        candidates: list[ast.AST] = []
        for built in self._assigned(receiver, scope) if isinstance(receiver, ast.Name) else []:
            candidates += [built.body, built.orelse] if isinstance(built, ast.IfExp) else [built]
        answers = [self._accelerator_uses_wandb(c, scope) for c in candidates
                   if isinstance(c, ast.Call) and self.module.qualname(c.func, scope) in ACCELERATOR]
        if answers:
            return True if True in answers else (None if None in answers else False)
        return self.accelerator_wandb[0] if len(self.accelerator_wandb) == 1 else None

    def _assigned(self, name: ast.Name, scope: Scope) -> list[ast.expr]:
        """Every value assigned to `name` in the scope it is bound in (`if tracking: acc = A(log_with=...)
        else: acc = A()` gives both: the branch a later call runs on is not known here)."""
        current: Scope | None = scope
        while current is not None:
            bindings = current.bindings.get(name.id)
            if bindings:
                return [b.value for b in bindings if b.kind == "assign" and b.value is not None]
            current = current.parent
        return []

    def _resolve_init_trackers(self) -> None:
        if True not in self.accelerator_wandb:
            return
        for call, scope, chain in self.init_trackers:
            if self._init_trackers_wandb(call, scope) is not True:
                continue
            init_kwargs = argument(call, "init_kwargs", 2)
            name = run_id = None
            complete = True
            if init_kwargs is not None:
                wandb_kwargs = self._dict_entry(init_kwargs, "wandb", scope)
                if wandb_kwargs is False:
                    complete = False
                elif wandb_kwargs is not None:
                    entries, complete = self._dict_entries(wandb_kwargs, scope)
                    name, run_id = entries.get("name"), entries.get("id")
            self._add_run("init_trackers", call, scope, chain, name, run_id, None, complete)

    # -- environment ----------------------------------------------------------------------------

    def _is_environ(self, expr: ast.AST, scope: Scope) -> bool:
        return self.module.qualname(expr, scope) == ENVIRON

    def _environ_assignment(self, node: ast.Assign, scope: Scope) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript) and self._is_environ(target.value, scope):
                self._env_write(target.slice, node.value, scope, node)

    def _environ_method(self, call: ast.Call, method: str, scope: Scope) -> None:
        if method == "setdefault":
            self._env_write(argument(call, "key", 0), argument(call, "default", 1), scope, call)
        elif method == "update":
            for kw in call.keywords:
                if kw.arg:
                    self._env_write(kw, kw.value, scope, call)
            if call.args and isinstance(call.args[0], ast.Dict):
                for key, value in zip(call.args[0].keys, call.args[0].values):
                    if key is not None:
                        self._env_write(key, value, scope, call)

    def _env_write(self, key: ast.AST | None, value: ast.expr | None, scope: Scope, at: ast.AST) -> None:
        if key is None or value is None:
            return
        if isinstance(key, ast.keyword):
            name, location = key.arg, self._keyword_location(key)
        else:
            known, name = self.module.literal(key, scope)
            if not known or not isinstance(name, str):
                return
            location = self.module.location(key)
        self.facts.append(EnvWrite(location, name, self.module.value(value, scope, location), self.site(at)))

    def _reads_env(self, expr: ast.AST, scope: Scope, variable: str) -> bool:
        for node in ast.walk(expr):
            if isinstance(node, ast.Constant) and node.value == variable:
                return True
        if isinstance(expr, ast.Name):
            target = self.module.resolve_name(expr, scope)
            return target is not None and self._reads_env(target, scope, variable)
        return False

    # -- arguments ------------------------------------------------------------------------------

    def _keyword_location(self, kw: ast.keyword) -> Location:
        source = self.module.source
        line = kw.lineno
        column = source.char_column(line, kw.col_offset)
        return Location(source.path, line, column, line, column + len(kw.arg or ""))

    def _kwargs(self, call: ast.Call, scope: Scope, positional: tuple[str, ...] = ()) -> tuple[dict[str, Value], bool]:
        """Keyword arguments as Values; `**dict_literal` merged; complete=False if anything is opaque."""
        module = self.module
        result: dict[str, Value] = {}
        complete = True
        for index, arg in enumerate(call.args):
            if isinstance(arg, ast.Starred):
                complete = False
                break
            if index < len(positional):
                result[positional[index]] = module.value(arg, scope)
        for kw in call.keywords:
            if kw.arg is not None:
                result[kw.arg] = module.value(kw.value, scope, self._keyword_location(kw))
                continue
            entries, entries_complete = self._dict_entries(kw.value, scope)
            complete = complete and entries_complete
            for key, value in entries.items():
                result.setdefault(key, value)
        return result, complete

    def _dict_expression(self, expr: ast.AST, scope: Scope) -> ast.Dict | ast.Call | None:
        for _ in range(4):
            if isinstance(expr, ast.Dict):
                return expr
            if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict" \
                    and self.module.lookup("dict", scope, position(expr))[0] == "unknown":
                return expr
            if isinstance(expr, ast.Name) and not dict_mutated(expr.id, scope):
                target = self.module.resolve_name(expr, scope)
                if target is None:
                    return None
                expr = target
                continue
            return None
        return None

    def _dict_entries(self, expr: ast.AST, scope: Scope) -> tuple[dict[str, Value], bool]:
        module = self.module
        found = self._dict_expression(expr, scope)
        if isinstance(found, ast.Dict):
            result: dict[str, Value] = {}
            complete = True
            for key, value in zip(found.keys, found.values):
                if key is None:
                    nested, nested_complete = self._dict_entries(value, scope)
                    result.update(nested)
                    complete = complete and nested_complete
                    continue
                known, name = module.literal(key, scope)
                if known and isinstance(name, str):
                    result[name] = module.value(value, scope, module.location(key))
                else:
                    complete = False
            return result, complete
        if isinstance(found, ast.Call):
            return self._kwargs(found, scope)
        return {}, False

    def _dict_entry(self, expr: ast.AST, key: str, scope: Scope) -> ast.AST | None | bool:
        """The value node stored under `key` in a dict literal; None if absent; False if unknown."""
        found = self._dict_expression(expr, scope)
        if isinstance(found, ast.Dict):
            for k, v in zip(found.keys, found.values):
                if k is None:
                    return False
                known, name = self.module.literal(k, scope)
                if not known:
                    return False
                if name == key:
                    return v
            return None
        if isinstance(found, ast.Call):
            for kw in found.keywords:
                if kw.arg is None:
                    return False
                if kw.arg == key:
                    return kw.value
            return None
        return False

    # -- sweeps ---------------------------------------------------------------------------------

    def _function_names(self, expr: ast.AST) -> set[str]:
        if isinstance(expr, ast.Name):
            return {expr.id}
        if isinstance(expr, ast.Attribute):
            return {expr.attr}
        if isinstance(expr, ast.Lambda):
            return {n.func.id for n in ast.walk(expr.body) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        if isinstance(expr, ast.Call):  # functools.partial(train, ...)
            return set().union(*(self._function_names(a) for a in expr.args[:1])) if expr.args else set()
        return set()

    def _reachable(self, roots: set[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(self.calls_by_function.get(name, ()))
        return seen


