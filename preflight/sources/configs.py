"""Training and sweep configuration files: Axolotl YAML, HF/TRL argument YAML/JSON, W&B sweeps, Hydra."""

from __future__ import annotations

import re

from preflight.findings import Location
from preflight.model import (
    ARGUMENTS_FILE, EnvBinding, EnvDeclaration, EnvSource, EnvWrite, Fact, ModuleImport, RunStart, SweepSpec,
    TrainingConfig, Value, WandbRun,
)
from preflight.sources import sweepcommand
from preflight.sources import yamltree as y
from preflight.sources.text import SourceText
from preflight.trackers import is_neptune

_HYDRA_NOW = re.compile(r"\$\{now:[^}]*\}")

# Keys that only TRL's parsers accept (ScriptArguments, ModelConfig, the trainer configs, TrlParser's
# `env:`), used to tell which defaults an HF/TRL argument file gets when no launcher says so.
TRL_ONLY_KEYS = frozenset({
    "packing", "dataset_text_field", "completion_only_loss", "assistant_only_loss", "beta", "loss_type",
    "num_generations", "max_prompt_length", "max_completion_length", "use_peft", "lora_r", "lora_alpha",
    "lora_target_modules", "dataset_train_split", "dataset_test_split", "use_vllm", "reward_funcs", "env",
    "max_seq_length", "dataset_num_proc", "generation_batch_size", "steps_per_generation",
})


def value(source: SourceText, key_node, value_node) -> Value:
    known, literal = y.to_python(value_node)
    text = y.scalar_text(value_node)
    if text is None:
        text = "[...]" if isinstance(value_node, y.SequenceNode) else "{...}" if isinstance(value_node, y.MappingNode) \
            else ""
    nondeterministic = None
    if text and _HYDRA_NOW.search(text):
        nondeterministic = _HYDRA_NOW.search(text).group(0)
    return Value(
        location=y.location(source, value_node),
        text=text[:80],
        known=known and not _is_interpolation(text),
        literal=literal,
        key_location=y.location(source, key_node) if key_node is not None else None,
        nondeterministic=nondeterministic,
    )


def _is_interpolation(text: str | None) -> bool:
    return bool(text) and ("${" in text and "}" in text)


def arguments(source: SourceText, mapping) -> dict[str, Value]:
    """Top-level keys as Values; an empty value (`eval_steps:`) means unset and is dropped."""
    return {
        name: value(source, key_node, value_node)
        for name, key_node, value_node in y.items(mapping)
        if not y.is_null(value_node)
    }


# Axolotl keys it exports as environment variables (utils/wandb_.py, comet_.py, mlflow_.py)
_AXOLOTL_ENV = {"wandb_mode": "WANDB_MODE", "wandb_run_id": "WANDB_RUN_ID", "wandb_log_model": "WANDB_LOG_MODEL",
                "comet_api_key": "COMET_API_KEY", "mlflow_tracking_uri": "MLFLOW_TRACKING_URI"}


def _declaration(name: str, value: Value, source: EnvSource) -> EnvDeclaration:
    literal = value.literal if value.known and isinstance(value.literal, (str, int, float)) else None
    text = None if literal is None else str(literal)
    binding = EnvBinding(name, value.anchor, source.label, text, reference=text is None or "${" in text)
    return EnvDeclaration(binding, source)


def axolotl(source: SourceText, document) -> list[Fact]:
    args = arguments(source, document)
    facts: list[Fact] = [TrainingConfig(y.location(source, document), "axolotl", "Axolotl config", args)]
    facts.extend(_declaration(env, args[key], EnvSource.AXOLOTL_CONFIG)
                 for key, env in _AXOLOTL_ENV.items() if key in args)
    project = args.get("wandb_project")
    if project is not None and project.known and isinstance(project.literal, str) and project.literal.strip():
        facts.append(WandbRun(
            location=project.anchor,
            started_by=RunStart.AXOLOTL,
            name=_non_empty(args.get("wandb_name")),
            run_id=_non_empty(args.get("wandb_run_id")),
            project=project,
            mode=args.get("wandb_mode"),
        ))
    return facts


def _non_empty(v: Value | None) -> Value | None:
    if v is None or (v.known and (v.literal is None or (isinstance(v.literal, str) and not v.literal.strip()))):
        return None
    return v


def training_arguments(source: SourceText, document) -> list[Fact]:
    args = arguments(source, document)
    env_node = y.get(document, "env")
    env = arguments(source, env_node) if isinstance(env_node, y.MappingNode) else {}
    args.pop("env", None)
    framework = "trl" if (TRL_ONLY_KEYS & set(args)) or env else "unknown"
    config = TrainingConfig(y.location(source, document), framework, ARGUMENTS_FILE, args, env=env)
    facts: list[Fact] = [config]
    facts.extend(EnvWrite(v.anchor, name, v) for name, v in env.items())
    facts.extend(_declaration(name, v, EnvSource.TRL_CONFIG_ENV) for name, v in env.items())
    if config.reports_to("wandb"):
        facts.append(WandbRun(location=args["report_to"].anchor, started_by=RunStart.REPORT_TO,
                              name=args.get("run_name")))
    return facts


def sweep(source: SourceText, document) -> list[Fact]:
    program = y.get(document, "program")
    command = y.get(document, "command")
    words = None
    if isinstance(command, y.SequenceNode):
        words = tuple(w for w in (y.scalar_text(n) for n in command.value) if w is not None)
    metric = y.get_item(document, "metric")
    metric_node = metric[1] if metric else None
    metric_name = y.get(metric_node, "name")
    problems = tuple(_schema_problems(source, document))
    parameters = tuple((name, y.location(source, key)) for name, key, _ in y.items(y.get(document, "parameters")))
    return [SweepSpec(
        location=y.location(source, document),
        program=y.scalar_text(program),
        command=words,
        command_location=y.location(source, command) if command is not None else None,
        metric=y.scalar_text(metric_name),
        goal=y.scalar_text(y.get(metric_node, "goal")),
        metric_location=y.location(source, metric[0]) if metric else None,
        metric_name_location=y.location(source, metric_name) if metric_name is not None else None,
        problems=problems,
        parameters=parameters,
        early_terminate=y.scalar_text(y.get(y.get(document, "early_terminate"), "type")),
        early_terminate_location=(y.location(source, y.get_item(document, "early_terminate")[0])
                                  if y.get_item(document, "early_terminate") else None),
        trial_command=sweepcommand.trial_command(
            _word(source, program),
            [w for w in (_word(source, n) for n in y.sequence(command)) if w] if words is not None else None,
            [name for name, _ in parameters]),
    )]


def _word(source: SourceText, node) -> tuple[str, Location] | None:
    """A scalar of a command list and where its text starts (inside the quotes of a quoted scalar)."""
    text = y.scalar_text(node)
    if text is None:
        return None
    at = y.location(source, node)
    if getattr(node, "style", None) in ("'", '"'):
        at = Location(at.path, at.line, at.column + 1, at.end_line, max(at.end_column - 1, at.column + 1))
    return text, at


def _schema_problems(source: SourceText, document) -> list[tuple[str, object]]:
    """Violations of W&B's own sweep schema (shipped in preflight/data), each at the node it concerns."""
    from preflight.sources import sweepschema

    known, value = y.to_python(document)
    if not known or not isinstance(value, dict):
        return []
    problems = []
    for message, path in sweepschema.violations(value):
        node, key = document, None
        for part in path:
            item = y.get_item(node, str(part)) if isinstance(node, y.MappingNode) else None
            if item is not None:
                key, node = item
            elif isinstance(node, y.SequenceNode) and isinstance(part, int) and part < len(node.value):
                key, node = None, node.value[part]
            else:
                break
        problems.append((message, y.location(source, key if key is not None else node)))
    return problems


def hydra(source: SourceText, document) -> list[Fact]:
    """Tracker loggers a Hydra config instantiates (`_target_:`): a WandbLogger starts a W&B run, a Neptune
    target is an import of Neptune (hydra.utils.instantiate imports the path)."""
    facts: list[Fact] = []
    for mapping in y.walk_mappings(document):
        target = y.scalar_text(y.get(mapping, "_target_")) or ""
        if is_neptune(target):
            facts.append(ModuleImport(y.location(source, y.get(mapping, "_target_")), target))
        if not target.endswith("WandbLogger"):
            continue
        args = arguments(source, mapping)
        run_id = args.get("id") or args.get("version")
        facts.append(WandbRun(
            location=args["_target_"].anchor,
            started_by=RunStart.HYDRA_LOGGER,
            name=args.get("name"),
            run_id=run_id,
            mode=args.get("mode") or (args.get("offline") and _offline(args["offline"])),
        ))
    return facts


def _offline(flag: Value) -> Value | None:
    if flag.known and flag.literal is True:
        return Value(flag.location, "offline", True, "offline", flag.key_location)
    return None
