"""Recognise what a command line runs: `python train.py`, `accelerate launch -m axolotl.cli.train cfg.yml`,
`torchrun ... train.py`, `axolotl train cfg.yml`, `trl sft --config cfg.yml`, `llamafactory-cli train cfg.yaml`,
and `docker run` around them."""

from __future__ import annotations

import json
import os.path
import re
from dataclasses import dataclass, field

from preflight.model import EntryKind

_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?w?$")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_OVERRIDE = re.compile(r"^[+~]{0,2}[A-Za-z_][\w-]*(?:\.[\w-]+)*=")  # Hydra: `trainer.logger=console`, `+x.y=1`
CONFIG_FLAGS = {"config", "config_file", "cfg", "config_path", "args_file"}
_CONFIG_SUFFIXES = (".yml", ".yaml", ".json")
_PYTHON_VALUE_OPTIONS = {"-W", "-X", "--check-hash-based-pycs"}
_SHELL_SCRIPT_SUFFIXES = (".sh", ".bash", ".sbatch", ".slurm")
_SBATCH_FLAGS = {"--wait", "-W", "--parsable", "--hold", "-H", "--exclusive", "--requeue", "--no-requeue", "-Q",
                 "--quiet", "--test-only", "-v", "--verbose"}
_WRAPPERS_PLAIN = {"exec", "nohup", "time", "command", "xvfb-run", "stdbuf"}
_SRUN_VALUE_OPTIONS = {
    "-n", "-N", "-c", "-p", "-t", "-J", "-o", "-e", "-w", "-G", "-A", "-q", "--ntasks", "--nodes", "--cpus-per-task",
    "--partition", "--time", "--job-name", "--gres", "--mem", "--export", "--output", "--error", "--ntasks-per-node",
    "--gpus", "--gpus-per-node", "--gpus-per-task", "--account", "--qos", "--container-image", "--container-mounts",
    "--nodelist", "--mpi", "--cpu-bind", "--mem-per-cpu", "--mem-per-gpu", "--kill-on-bad-exit",
}
_COMPOSE_RUN_VALUE_OPTIONS = {"-e", "--env", "-w", "--workdir", "-u", "--user", "-v", "--volume", "-p", "--publish",
                              "--entrypoint", "--name", "-l", "--label"}
_COMPOSE_EXEC_VALUE_OPTIONS = {"-e", "--env", "-w", "--workdir", "-u", "--user", "--index"}
_DOCKER_EXEC_VALUE_OPTIONS = {"-e", "--env", "--env-file", "-w", "--workdir", "-u", "--user", "--detach-keys"}
_APPTAINER_VALUE_OPTIONS = {"-B", "--bind", "--env", "--env-file", "-H", "--home", "--pwd", "-W", "--workdir",
                            "--overlay", "-o", "--mount", "--security", "--network", "--hostname"}
# `ray job submit` options that take a value (ray 2.60.0, ray/dashboard/modules/job/cli.py `submit`, with
# add_common_job_options and add_click_logging_options); -v/--verbose and --no-wait are flags.
_RAY_SUBMIT_VALUE_OPTIONS = {
    "--address", "--job-id", "--submission-id", "--runtime-env", "--runtime-env-json", "--working-dir",
    "--metadata-json", "--entrypoint-num-cpus", "--entrypoint-num-gpus", "--entrypoint-memory",
    "--entrypoint-resources", "--entrypoint-label-selector", "--verify", "--headers", "--log-style", "--log-color",
}
_RUNNERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"), ("rye", "run")}
_CONDA = {"conda", "mamba", "micromamba"}
TRL_COMMANDS = {"sft", "dpo", "grpo", "kto", "reward", "rloo", "distillation", "orpo", "ppo", "gkd", "xpo",
                "nash_md", "online_dpo", "prm", "bco", "cpo"}
LLAMAFACTORY_COMMANDS = ("llamafactory-cli", "lmf")  # llamafactory's console scripts (`lmf` since 0.9.0)
_LAUNCHER_MODULES = {"torch.distributed.run": "torchrun", "torch.distributed.launch": "torchrun",
                     "accelerate.commands.launch": "accelerate", "deepspeed.launcher.runner": "deepspeed"}
_DOCKER_VALUE_OPTIONS = {
    "-e", "--env", "--env-file", "-v", "--volume", "-w", "--workdir", "--name", "--network", "--net", "--gpus",
    "-p", "--publish", "--entrypoint", "--shm-size", "--ipc", "-u", "--user", "--mount", "--runtime",
    "--platform", "-l", "--label", "--cpus", "-m", "--memory", "--device", "--add-host", "-h", "--hostname",
    "--restart", "--ulimit", "--cap-add", "--cap-drop", "--security-opt", "--pull", "--log-driver",
    "--log-opt", "--tmpfs", "--cidfile", "--pid", "--uts", "--memory-swap", "--cpuset-cpus", "--group-add",
    "--dns", "--link", "--volumes-from", "--stop-signal", "--stop-timeout", "--health-cmd", "--label-file",
}


@dataclass(slots=True)
class Recognized:
    kind: EntryKind
    target: str
    config: str | None = None
    args: list[tuple[str, str | None]] = field(default_factory=list)
    launcher: str | None = None
    launcher_args: list[tuple[str, str | None]] = field(default_factory=list)
    overrides: list[tuple[str, str]] = field(default_factory=list)  # Hydra-style `a.b=c` words


@dataclass(slots=True)
class ContainerExec:
    """`apptainer exec`/`singularity run`: with --cleanenv only --env and APPTAINERENV_* cross."""

    clean: bool
    env: list[tuple[str, str | None]]
    env_files: list[str]
    inner: list[str]


@dataclass(slots=True)
class ComposeRun:
    """`docker compose run|exec [-e K=V] SERVICE [command]`: the service's environment, plus `-e`."""

    service: str
    env: list[tuple[str, str | None]]
    inner: list[str]
    verb: str = "run"  # "exec": a command in the service's running container (a command is required)


@dataclass(slots=True)
class DockerExec:
    """`docker exec [options] CONTAINER command`: a command in a running container, with that container's
    environment plus `-e`/`--env-file`; never the caller's."""

    container: str
    env: list[tuple[str, str | None]]
    env_files: list[str]
    inner: list[str]
    workdir: str | None = None


@dataclass(slots=True)
class DockerRun:
    env: list[tuple[str, str | None]]  # `-e NAME=value`, or `-e NAME` (value from the caller's env)
    env_files: list[str]
    inner: list[str]  # the command run in the container; empty means the image's CMD
    netrc_mounted: bool = False
    volumes: list[str] = field(default_factory=list)  # mount targets (`-v src:dst`, `--mount target=dst`)
    mounts: list[tuple[str | None, str]] = field(default_factory=list)  # (host source or None, target)
    workdir: str | None = None  # `-w`: where the command's relative paths start in the container
    name: str | None = None  # `--name`: what a later `docker exec` calls it


@dataclass(slots=True)
class RayJob:
    """`ray job submit [options] [--] ENTRYPOINT...`: the entrypoint runs on the Ray cluster with the cluster's
    environment plus the runtime environment's `env_vars`, never the submitter's (ray 2.60.0: the job supervisor,
    an actor whose runtime environment is the job's (`JobManager._get_supervisor_runtime_env`,
    dashboard/modules/job/job_manager.py:385-409), starts the entrypoint with `os.environ.copy()` of its own process
    (job_supervisor.py:366-373) in a shell, `subprocess.Popen(..., shell=True)` (l.182-184)). `--runtime-env FILE`
    (YAML, read on the submitter's side) and `--runtime-env-json` are exclusive, and `--working-dir` overrides the
    runtime environment's `working_dir` (`parse_runtime_env_args`, dashboard/modules/dashboard_sdk.py:45-77). The
    file is not read here: what it sets is unseen, like the cluster's environment. `env_vars` must be strings
    (`parse_and_validate_env_vars`, _private/runtime_env/validation.py:412-437), and a `${NAME}` in a value is the
    cluster's variable. A job submitted from Python (`JobSubmissionClient.submit_job(entrypoint=...,
    runtime_env=...)`) is not read; `ray.init(runtime_env=...)` sets the environment of the tasks and actors it
    starts, never of the driver that calls it (`job_config.set_runtime_env`, _private/worker.py:1817-1829)."""

    inner: list[str]
    runtime_env: dict | None  # the parsed --runtime-env-json; None when there is none or it does not parse
    runtime_env_file: str | None  # --runtime-env FILE (YAML)
    working_dir: str | None  # --working-dir, else the runtime environment's working_dir


def unwrap(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """Strip wrappers (`env A=b`, `exec`, `uv run`, `conda run -n x`, `sudo -E`) and return their env.
    (An index walks the words: slicing per option would cost the square of a command's length.)"""
    env: dict[str, str] = {}
    at, end = 0, len(argv)

    def skip_options(takes_value=()) -> int:
        index = at
        while index < end and argv[index].startswith("-"):
            index += 2 if argv[index] in takes_value else 1
        return index

    for _ in range(8):
        if at >= end:
            break
        head = os.path.basename(argv[at])
        if head in _WRAPPERS_PLAIN:
            at += 1
        elif head == "env":
            at += 1
            while at < end and (argv[at].startswith("-") or "=" in argv[at]):
                if "=" in argv[at] and not argv[at].startswith("-"):
                    name, _, value = argv[at].partition("=")
                    env[name] = value
                at += 1
        elif head == "sudo":
            at += 1
            at = skip_options()
        elif at + 1 < end and (head, argv[at + 1]) in _RUNNERS:
            at += 2
            at = skip_options(("--with", "--python", "-p", "--env-file"))
        elif head == "srun":
            at += 1
            while at < end and argv[at].startswith("-"):
                option = argv[at].split("=", 1)[0]
                at += 2 if option in _SRUN_VALUE_OPTIONS and "=" not in argv[at] else 1
        elif head in _CONDA and at + 1 < end and argv[at + 1] == "run":
            at += 2
            at = skip_options(("-n", "--name", "-p", "--prefix"))
        else:
            break
    return (argv[at:] if at else argv), env


def recognize(argv: list[str]) -> Recognized | None:
    argv, _ = unwrap(argv)
    if not argv:
        return None
    head = os.path.basename(argv[0])
    rest = argv[1:]
    if _PYTHON.match(head):
        return _python(rest)
    if head == "accelerate" and rest[:1] == ["launch"]:
        return _launcher(rest[1:], "accelerate")
    if head in ("torchrun", "deepspeed"):
        return _launcher(rest, head)
    if head == "axolotl" and rest[:1] == ["train"]:
        return _axolotl(rest[1:])
    if head == "trl" and rest and rest[0] in TRL_COMMANDS:
        found = Recognized(EntryKind.TRL, rest[0])
        _parse_args(rest[1:], found)
        return found
    if head in LLAMAFACTORY_COMMANDS and rest[:1] == ["train"]:
        return _llamafactory(rest[1:])
    if head.endswith(".py") and ("/" in argv[0] or head == argv[0]) and argv[0].startswith(("./", "/")):
        return _script(argv[0], rest)
    if head in ("bash", "sh", "zsh", "dash") and rest and rest[0].endswith(_SHELL_SCRIPT_SUFFIXES):
        return Recognized(EntryKind.SHELL_SCRIPT, rest[0])
    if head == "sbatch":
        for index, token in enumerate(rest):
            if not token.startswith("-") and (index == 0 or "=" in rest[index - 1]
                                              or not rest[index - 1].startswith("-")
                                              or rest[index - 1] in _SBATCH_FLAGS):
                return Recognized(EntryKind.SHELL_SCRIPT, token, launcher="sbatch")
        return None
    if argv[0].startswith(("./", "/")) and head.endswith(_SHELL_SCRIPT_SUFFIXES):
        return Recognized(EntryKind.SHELL_SCRIPT, argv[0])
    return None


def _python(rest: list[str]) -> Recognized | None:
    index = 0
    while index < len(rest):
        token = rest[index]
        if token == "-m" or (token.startswith("-m") and len(token) > 2):
            module = rest[index + 1] if token == "-m" and index + 1 < len(rest) else token[2:]
            after = rest[index + 2:] if token == "-m" else rest[index + 1:]
            return _module(module, after)
        if token == "-c" or token.startswith("-c"):
            return None
        if token in _PYTHON_VALUE_OPTIONS:
            index += 2
            continue
        if token.startswith("-"):
            index += 1
            continue
        return _script(token, rest[index + 1:])
    return None


def _module(module: str, rest: list[str]) -> Recognized | None:
    if not module:
        return None
    launcher = _LAUNCHER_MODULES.get(module)
    if launcher:
        return _launcher(rest, launcher)
    if module in ("axolotl.cli.train", "axolotl.cli"):
        return _axolotl(rest[1:] if module == "axolotl.cli" and rest[:1] == ["train"] else rest)
    if module == "trl" and rest and rest[0] in TRL_COMMANDS:
        found = Recognized(EntryKind.TRL, rest[0])
        _parse_args(rest[1:], found)
        return found
    found = Recognized(EntryKind.PYTHON_MODULE, module)
    _parse_args(rest, found)
    return found


def _launcher(rest: list[str], name: str) -> Recognized | None:
    """accelerate launch / torchrun / deepspeed: options first, then the script or `-m module`."""
    module_mode = False
    for index, token in enumerate(rest):
        if token in ("-m", "--module"):
            module_mode = True
            continue
        if token.startswith("-"):
            continue
        found = None
        if token.endswith(".py"):
            found = _script(token, rest[index + 1:])
        elif module_mode and _DOTTED.match(token):
            found = _module(token, rest[index + 1:])
        if found is not None:
            options = Recognized(found.kind, name)  # only its args are read
            _parse_args([t for t in rest[:index] if t not in ("-m", "--module")], options)
            found.launcher, found.launcher_args = found.launcher or name, options.args + found.launcher_args
            return found
    return None


def _axolotl(rest: list[str]) -> Recognized | None:
    for index, token in enumerate(rest):
        if not token.startswith("-"):
            found = Recognized(EntryKind.AXOLOTL, "axolotl train", config=token)
            _parse_args(rest[index + 1:], found)
            return found
    return None


def _llamafactory(rest: list[str]) -> Recognized:
    """`llamafactory-cli train cfg.yaml key=value ...` (llamafactory 0.9.5 hparams/parser.py `read_args`: a first
    argument ending in .yaml/.yml/.json is the config, the words after it are merged over it with
    `OmegaConf.from_cli`), or `llamafactory-cli train --key value ...` (HfArgumentParser's flags). The
    `key=value` words are its arguments over the file, as flags are a script's; a word that is not one (an
    unexpanded `$EXTRA`) is an override with an empty key, so that nothing is claimed about what it sets."""
    found = Recognized(EntryKind.LLAMAFACTORY, "train")
    if rest and rest[0].lower().endswith(_CONFIG_SUFFIXES):
        found.config = rest[0]
        for token in rest[1:]:
            key, eq, value = token.partition("=")
            if eq and re.fullmatch(r"[A-Za-z_]\w*", key):
                found.args.append((key, value))
            else:
                found.overrides.append(("", token))
    else:
        _parse_args(rest, found)
    return found


def _script(path: str, rest: list[str]) -> Recognized:
    found = Recognized(EntryKind.PYTHON_SCRIPT, path)
    _parse_args(rest, found)
    return found


def _parse_args(rest: list[str], found: Recognized) -> None:
    index = 0
    while index < len(rest):
        token = rest[index]
        index += 1
        if token == "--":
            continue
        if token.startswith("--") or (token.startswith("-") and len(token) == 2 and token[1].isalpha()):
            key, eq, value = token.lstrip("-").partition("=")
            key = key.replace("-", "_")
            if not eq:
                if index < len(rest) and not rest[index].startswith("-"):
                    value = rest[index]
                    index += 1
                else:
                    value = None  # type: ignore[assignment]
            found.args.append((key, value))
            if key in CONFIG_FLAGS and value and found.config is None:
                found.config = value
        elif _OVERRIDE.match(token):
            key, _, value = token.partition("=")
            found.overrides.append((key, value))
        elif found.config is None and token.lower().endswith(_CONFIG_SUFFIXES):
            found.config = token


def _options(rest: list[str], value_options: set[str]) -> tuple[list[tuple[str, str | None]], list[str] | None]:
    """The `--option value` pairs before the first operand, and the operand onwards (None: no operand)."""
    options: list[tuple[str, str | None]] = []
    index = 0
    while index < len(rest):
        token = rest[index]
        if not token.startswith("-"):
            return options, rest[index:]
        option, eq, inline = token.partition("=")
        takes_value = option in value_options
        value = inline if eq else (rest[index + 1] if takes_value and index + 1 < len(rest) else None)
        index += 1 if eq or not takes_value else 2
        options.append((option, value))
    return options, None


def _env_pairs(options, flags: tuple[str, ...], lists: bool = False) -> list[tuple[str, str | None]]:
    """`-e NAME=value` / `-e NAME` (the caller's value) options as (name, value or None); with
    `lists`, one option may carry several comma-separated assignments (apptainer's --env)."""
    pairs = []
    for option, value in options:
        if option in flags and value is not None:
            for item in value.split(",") if lists else [value]:
                name, has_value, literal = item.partition("=")
                pairs.append((name, literal if has_value else None))
    return pairs


def docker_run(argv: list[str]) -> DockerRun | None:
    """`docker run [options] IMAGE [command]` (also `podman run`, `nvidia-docker run`)."""
    argv, _ = unwrap(argv)
    if len(argv) < 3 or os.path.basename(argv[0]) not in ("docker", "podman", "nvidia-docker"):
        return None
    rest = argv[1:]
    if rest[:2] == ["container", "run"]:
        rest = rest[2:]
    elif rest[:1] == ["run"]:
        rest = rest[1:]
    else:
        return None
    options, operands = _options(rest, _DOCKER_VALUE_OPTIONS)
    if operands is None:
        return None
    env_files = [value for option, value in options if option == "--env-file" and value is not None]
    netrc = any(option in ("-v", "--volume", "--mount") and value and "netrc" in value for option, value in options)
    mounts = [mount(value) for option, value in options if option in ("-v", "--volume", "--mount") and value]
    workdir = next((value for option, value in reversed(options) if option in ("-w", "--workdir") and value), None)
    name = next((value for option, value in reversed(options) if option == "--name" and value), None)
    return DockerRun(_env_pairs(options, ("-e", "--env")), env_files, operands[1:], netrc,
                     [target for _, target in mounts], mounts, workdir, name)


def docker_exec(argv: list[str]) -> DockerExec | None:
    """`docker exec [options] CONTAINER command` (also `docker container exec`, `podman exec`)."""
    argv, _ = unwrap(argv)
    if len(argv) < 4 or os.path.basename(argv[0]) not in ("docker", "podman"):
        return None
    rest = argv[1:]
    if rest[:2] == ["container", "exec"]:
        rest = rest[2:]
    elif rest[:1] == ["exec"]:
        rest = rest[1:]
    else:
        return None
    options, operands = _options(rest, _DOCKER_EXEC_VALUE_OPTIONS)
    if operands is None or len(operands) < 2:
        return None
    env_files = [value for option, value in options if option == "--env-file" and value is not None]
    workdir = next((value for option, value in reversed(options) if option in ("-w", "--workdir") and value), None)
    return DockerExec(operands[0], _env_pairs(options, ("-e", "--env")), env_files, operands[1:], workdir)


def mount(spec: str) -> tuple[str | None, str]:
    """(host source, container target) of a volume: `src:dst[:mode]`, `type=bind,source=x,target=dst`, or an
    anonymous `dst` (no source)."""
    if "=" in spec:
        fields = dict(part.partition("=")[::2] for part in spec.split(","))
        target = fields.get("target") or fields.get("destination") or fields.get("dst") or spec
        return fields.get("source") or fields.get("src"), target
    parts = spec.split(":")
    return (parts[0], parts[1]) if len(parts) >= 2 else (None, parts[0])


def mount_target(spec: str) -> str:
    """Where a volume lands in the container."""
    return mount(spec)[1]


def container_exec(argv: list[str]) -> ContainerExec | None:
    """`apptainer|singularity exec|run [options] IMAGE [command]`."""
    argv, _ = unwrap(argv)
    if len(argv) < 3 or os.path.basename(argv[0]) not in ("apptainer", "singularity") or argv[1] not in ("exec", "run"):
        return None
    options, operands = _options(argv[2:], _APPTAINER_VALUE_OPTIONS)
    if operands is None:
        return None
    clean = any(option in ("-e", "--cleanenv", "-C", "--containall") for option, _ in options)
    env_files = [value for option, value in options if option == "--env-file" and value]
    return ContainerExec(clean, _env_pairs(options, ("--env",), lists=True), env_files, operands[1:])


def compose_run(argv: list[str]) -> ComposeRun | None:
    """`docker compose run|exec` / `docker-compose run|exec`."""
    argv, _ = unwrap(argv)
    if len(argv) >= 3 and os.path.basename(argv[0]) == "docker" and argv[1] == "compose":
        rest = argv[2:]
    elif len(argv) >= 2 and os.path.basename(argv[0]) == "docker-compose":
        rest = argv[1:]
    else:
        return None
    while rest and rest[0].startswith("-"):  # global options: -f file, -p project
        rest = rest[2:] if rest[0] in ("-f", "--file", "-p", "--project-name", "--env-file", "--profile") else rest[1:]
    verb = rest[0] if rest[:1] in (["run"], ["exec"]) else None
    if verb is None:
        return None
    options, operands = _options(rest[1:], _COMPOSE_RUN_VALUE_OPTIONS if verb == "run" else _COMPOSE_EXEC_VALUE_OPTIONS)
    if operands is None or (verb == "exec" and len(operands) < 2):
        return None
    return ComposeRun(operands[0], _env_pairs(options, ("-e", "--env")), operands[1:], verb)


def ray_job_submit(argv: list[str]) -> RayJob | None:
    """`ray job submit`: click reads its options up to `--` or the first word that is not one (the entrypoint is
    `nargs=-1, UNPROCESSED`), and the job runs `shlex.join` of the rest in a shell on the cluster
    (JobSupervisor._exec_entrypoint, shell=True)."""
    argv, _ = unwrap(argv)
    if len(argv) < 4 or os.path.basename(argv[0]) != "ray" or argv[1:3] != ["job", "submit"]:
        return None
    rest = argv[3:]
    options: dict[str, str | None] = {}
    index = 0
    while index < len(rest) and rest[index].startswith("-") and rest[index] != "--":
        option, eq, inline = rest[index].partition("=")
        if option in _RAY_SUBMIT_VALUE_OPTIONS:
            value = inline if eq else (rest[index + 1] if index + 1 < len(rest) else None)
            index += 1 if eq else 2
        else:
            value, index = None, index + 1
        options[option] = value
    inner = rest[index + 1:] if rest[index:index + 1] == ["--"] else rest[index:]
    if not inner:
        return None
    runtime_env = None
    if options.get("--runtime-env-json"):
        try:
            parsed = json.loads(options["--runtime-env-json"])
        except ValueError:
            parsed = None
        runtime_env = parsed if isinstance(parsed, dict) else None
    working_dir = options.get("--working-dir")
    if working_dir is None and runtime_env is not None and isinstance(runtime_env.get("working_dir"), str):
        working_dir = runtime_env["working_dir"]
    return RayJob(inner, runtime_env, options.get("--runtime-env"), working_dir)


def is_wandb_command(argv: list[str], command: str) -> bool:
    argv, _ = unwrap(argv)
    if len(argv) >= 2 and os.path.basename(argv[0]) == "wandb" and argv[1] == command:
        return True
    return len(argv) >= 4 and bool(_PYTHON.match(os.path.basename(argv[0]))) and argv[1:4] == ["-m", "wandb", command]


def is_wandb_login(argv: list[str]) -> bool:
    argv, _ = unwrap(argv)
    if len(argv) >= 2 and os.path.basename(argv[0]) == "wandb" and argv[1] == "login":
        return True
    if len(argv) >= 4 and _PYTHON.match(os.path.basename(argv[0])) and argv[1] == "-m" \
            and argv[2:4] == ["wandb", "login"]:
        return True
    return False
