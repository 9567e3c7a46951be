"""What kind of file is this? By path first, then by what a YAML/JSON document contains."""

from __future__ import annotations

import posixpath
import re

from preflight.trackers import is_hydra_tracker_target


PYTHON = "python"
WORKFLOW = "workflow"
COMPOSE = "compose"
SWEEP = "sweep"
AXOLOTL = "axolotl"
HF_ARGS = "hf-args"
HYDRA = "hydra"
NOTEBOOK = "notebook"
KUBERNETES = "kubernetes"
DSTACK = "dstack"
SKYPILOT = "skypilot"
DOCKERFILE = "dockerfile"
SHELL = "shell"
MAKEFILE = "makefile"
DOTENV = "dotenv"
NETRC = "netrc"
REQUIREMENTS = "requirements"
PYPROJECT = "pyproject"
SETUP_PY = "setup.py"
SETUP_CFG = "setup.cfg"
TOML_LOCK = "toml-lock"
PIPFILE_LOCK = "pipfile-lock"
CONDA = "conda"
# The kinds that declare which library versions a project installs (read for a folder below the root too).
DECLARES_VERSIONS = frozenset({REQUIREMENTS, PYPROJECT, SETUP_PY, SETUP_CFG, TOML_LOCK, PIPFILE_LOCK, CONDA})

_COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-][\w.-]+)?\.ya?ml$")
# dstack run configurations: `.dstack.yml` or `<name>.dstack.yml` (dstack's own naming rule).
_DSTACK_NAME = re.compile(r"^[\w.-]*\.dstack\.ya?ml$")
# Every top-level key a SkyPilot task may have (sky/utils/schemas.py get_task_schema, skypilot 0.14.1: any other
# key is rejected), and the ones that, beside `run` or `setup`, only a SkyPilot task has together.
_SKYPILOT_KEYS = frozenset({
    "name", "workdir", "event_callback", "num_nodes", "resources", "file_mounts", "service", "pool", "setup", "run",
    "envs", "secrets", "managed_secrets", "inputs", "outputs", "file_mounts_mapping", "config", "volumes",
    "volume_mounts", "api_server_access", "_metadata",
})
_SKYPILOT_SIGNATURE = frozenset({"resources", "num_nodes", "envs", "secrets", "file_mounts", "workdir", "service"})
_SWEEP_METHODS = {"grid", "random", "bayes", "custom"}
_AXOLOTL_KEYS = frozenset({
    "datasets", "adapter", "sequence_len", "micro_batch_size", "num_epochs", "val_set_size", "wandb_project",
    "lora_r", "lora_alpha", "load_in_8bit", "load_in_4bit", "base_model_config", "model_type", "tokenizer_type",
    "sample_packing", "pad_to_sequence_len", "flash_attention", "special_tokens", "chat_template",
    "evals_per_epoch", "saves_per_epoch", "dataset_prepared_path", "lora_target_modules", "lora_dropout",
    "wandb_name", "wandb_entity", "strict", "plugins", "rl",
})
# Training-argument keys for recognising an HF/TRL argument file (recognition only; field
# validation belongs to the rules that read the generated field data).
_TRAINING_KEYS = frozenset({
    "output_dir", "per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
    "learning_rate", "num_train_epochs", "max_steps", "warmup_steps", "warmup_ratio", "logging_steps",
    "logging_strategy", "eval_strategy", "evaluation_strategy", "eval_steps", "save_strategy", "save_steps",
    "save_total_limit", "bf16", "fp16", "report_to", "run_name", "lr_scheduler_type", "weight_decay",
    "gradient_checkpointing", "seed", "load_best_model_at_end", "metric_for_best_model", "greater_is_better",
    "push_to_hub", "hub_model_id", "optim", "deepspeed", "do_train", "do_eval", "logging_dir",
    "dataloader_num_workers", "max_grad_norm", "torch_compile", "remove_unused_columns", "eval_on_start",
    "logging_first_step", "model_name_or_path", "dataset_name",
})
_DISTINCTIVE = re.compile(r"per_device_|_steps$|_strategy$|^report_to$|^run_name$|^num_train_epochs$")


_DOCKERFILE = re.compile(r"^(?:(?:docker|container)file(?:[.-][\w.-]+)?|[\w.-]+\.(?:docker|container)file)$")
_SHELL_SUFFIXES = (".sh", ".bash", ".sbatch", ".slurm", ".zsh")
_MAKEFILES = {"makefile", "gnumakefile"}
_REQUIREMENTS = re.compile(r"^(?:[\w.-]*[._-])?(?:requirements|constraints)(?:[._-][\w.-]*)?\.(?:txt|in|lock)$")
_DECLARATIONS = {
    "pyproject.toml": PYPROJECT, "setup.py": SETUP_PY, "setup.cfg": SETUP_CFG, "uv.lock": TOML_LOCK,
    "poetry.lock": TOML_LOCK, "pdm.lock": TOML_LOCK, "pylock.toml": TOML_LOCK, "pipfile.lock": PIPFILE_LOCK,
    "environment.yml": CONDA, "environment.yaml": CONDA, "conda.yml": CONDA, "conda.yaml": CONDA,
}
_NAMED_PYLOCK = re.compile(r"^pylock\.[\w-]+\.toml$")  # PEP 751: pylock.<name>.toml


def kind_by_path(path: str) -> str | None:
    """The kind a path implies before reading it; 'yaml'/'json' mean: decide by content."""
    name = posixpath.basename(path)
    lower = name.lower()
    if lower in _DECLARATIONS and not (_DECLARATIONS[lower] == CONDA and _in_workflows(path)):
        return _DECLARATIONS[lower]
    if lower.endswith(".py"):
        return PYTHON
    if lower.endswith(".ipynb"):
        return NOTEBOOK
    if _DOCKERFILE.match(lower):
        return DOCKERFILE
    if lower.endswith(_SHELL_SUFFIXES):
        return SHELL
    if lower in _MAKEFILES or lower.endswith(".mk"):
        return MAKEFILE
    if lower == ".env" or lower.startswith(".env.") or lower.endswith(".env"):
        return DOTENV
    if lower in (".netrc", "_netrc"):
        return NETRC
    if _NAMED_PYLOCK.match(lower):
        return TOML_LOCK
    if _REQUIREMENTS.match(lower) or (lower.endswith(".txt") and posixpath.basename(posixpath.dirname(path)) ==
                                      "requirements"):
        return REQUIREMENTS
    if lower.endswith((".yml", ".yaml")):
        if _in_workflows(path):
            return WORKFLOW
        if _COMPOSE_NAME.match(lower):
            return COMPOSE
        if _DSTACK_NAME.match(lower):
            return DSTACK
        return "yaml"
    if lower.endswith(".json"):
        return "json"
    return None


def _in_workflows(path: str) -> bool:
    return "/.github/workflows/" in f"/{path}" and posixpath.dirname(path).endswith(".github/workflows")


def kind_by_content(path_kind: str, documents: list) -> str | None:
    from preflight.sources import yamltree as y

    if path_kind in (WORKFLOW, COMPOSE, DSTACK):
        return path_kind
    first = documents[0] if documents else None
    if any(isinstance(d, y.MappingNode) and y.get(d, "apiVersion") is not None and y.get(d, "kind") is not None
           for d in documents):
        return KUBERNETES
    if not isinstance(first, y.MappingNode):
        return None
    keys = {name for name, _, _ in y.items(first)}
    if _is_template(first):
        return None
    if path_kind == "yaml":
        if isinstance(y.get(first, "services"), y.MappingNode) and any(
            y.get(spec, k) is not None for _, _, spec in y.items(y.get(first, "services"))
            for k in ("image", "build", "command")
        ):
            return COMPOSE
        method = (y.scalar_text(y.get(first, "method")) or "").lower()
        if (method in _SWEEP_METHODS and keys & {"parameters", "metric", "program", "command"}) or (
                method and isinstance(y.get(first, "parameters"), y.MappingNode)):
            return SWEEP
        if "base_model" in keys and keys & _AXOLOTL_KEYS:
            return AXOLOTL
        if is_skypilot_task(documents):
            return SKYPILOT
    overlap = keys & _TRAINING_KEYS
    if len(overlap) >= 2 and (any(_DISTINCTIVE.search(k) for k in overlap) or _has_trl_keys(keys)):
        return HF_ARGS  # a candidate: the link stage decides from who reads it (preflight.link)
    if path_kind == "yaml" and any(
        is_hydra_tracker_target(y.scalar_text(y.get(m, "_target_")) or "") for m in y.walk_mappings(first)
    ):
        return HYDRA
    return None


# `${NAME}`/`${NAME:-default}`: a placeholder envsubst, a shell heredoc or a templating step fills in (OmegaConf's
# own interpolations name keys, `${model.name}`, or resolvers, `${oc.env:X}`)
_PLACEHOLDER = re.compile(r"\$\{[A-Z][A-Z0-9_]*(?::?[-=?+][^}]*)?\}")


def _is_template(mapping) -> bool:
    """A configuration template: most of its top-level values are environment placeholders (Axolotl's
    RunPod handler writes the real file from one). What reads the file is the filled-in copy, which is
    not in the tree; the template itself is read by nothing that would act on its keys."""
    from preflight.sources import yamltree as y

    values = [y.scalar_text(node) for _, _, node in y.items(mapping)]
    scalars = [text for text in values if text]
    placeholders = sum(1 for text in scalars if _PLACEHOLDER.fullmatch(text.strip()))
    return len(scalars) >= 4 and placeholders * 2 >= len(scalars)


def is_skypilot_task(documents: list) -> bool:
    """A SkyPilot task (or a pipeline of them, one per document): every key of every document is a key SkyPilot
    accepts, and one document has `run` or `setup` beside a key only a task has (`resources`, `num_nodes`,
    `envs`, ...). One shared key (`name`, `run`) decides nothing."""
    from preflight.sources import yamltree as y

    found = False
    for document in documents:
        if not isinstance(document, y.MappingNode):
            return False
        keys = {name for name, _, _ in y.items(document)}
        if not keys <= _SKYPILOT_KEYS:
            return False
        commands = [y.get(document, key) for key in ("run", "setup")]
        if any(isinstance(node, y.ScalarNode) and not y.is_null(node) for node in commands) and \
                keys & _SKYPILOT_SIGNATURE:
            found = True
    return found


# Text that makes an unparsable YAML file worth a PF001 (it looks like one of our kinds).
LOOKS_RELEVANT = re.compile(
    r"^\s*(base_model|report_to|wandb_project|services|jobs|method|program|eval_steps|logging_steps|apiVersion)\s*:",
    re.MULTILINE,
)


def _has_trl_keys(keys: set[str]) -> bool:
    from preflight.sources.configs import TRL_ONLY_KEYS

    return bool(keys & TRL_ONLY_KEYS)
