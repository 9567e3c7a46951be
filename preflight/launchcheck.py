"""`preflight run -- CMD`: the last line of defence, inside the job, before the model is loaded.

Static analysis cannot see the machine the job lands on. These checks read the real environment
(variables, files, disk, installed package metadata and, with --online, the tracking servers) for
exactly what CMD will run, and report in a few lines a job log can show. Secrets are checked for
format only and never printed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from preflight import reading
from preflight.findings import Location
from preflight.model import ArtifactLog, EntryPoint, EnvBinding, Launch, LocalImport, RunStart, TrainingConfig, WandbRun
from preflight.project import Project
from preflight.sources import entrypoints
from preflight.versions import release

LIBRARIES = ("transformers", "trl", "axolotl", "wandb", "mlflow")
_KEY = re.compile(r"^(?:[a-z]+-)?[\w-]{40,}$")
_WANDB_HOSTS = ("api.wandb.ai", "api.forge.coreweave.com")


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "info", "warning", "error"
    message: str


def describe_launch(argv: list[str], cwd: Path) -> Launch | None:
    """The command as a Launch, with the environment this process really has."""
    found = entrypoints.recognize(argv)
    if found is None:
        return None
    here = Location("<command line>", 1, 1)
    entry = EntryPoint(found.kind, found.target, here, " ".join(argv), found.config, tuple(found.args),
                       found.launcher, tuple(found.launcher_args))
    env = tuple(EnvBinding(name, here, "the environment", value) for name, value in os.environ.items())
    return Launch("preflight run", "this job", entry, base_dir=".", env=env)


# -- W&B ------------------------------------------------------------------------------------------

_NETRC_LIMIT = 1 << 20


def _netrc_has_wandb() -> tuple[bool, str | None]:
    """(whether the netrc has a password for the W&B host, why it could not be read)."""
    path = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
    try:
        text = reading.read_text(path, _NETRC_LIMIT)
    except FileNotFoundError:
        return False, None
    except OSError as exc:
        return False, f"the netrc {path} cannot be read: {reading.why(exc)}"
    except UnicodeDecodeError:
        return False, f"the netrc {path} is not UTF-8 text, which Python's netrc module (as wandb) cannot read"
    custom = re.sub(r"^https?://", "", os.environ.get("WANDB_BASE_URL", "")).split("/")[0]
    passwords = _netrc_passwords(text)
    return any(passwords.get(host) for host in (*_WANDB_HOSTS, custom) if host), None


def _netrc_passwords(text: str) -> dict[str, bool]:
    """machine -> whether its entry has a password, read as the netrc format has it: whitespace-separated
    tokens, `machine NAME` or `default` opening an entry, `macdef NAME` a macro whose body runs to the next
    blank line."""
    found: dict[str, bool] = {}
    machine: str | None = None
    expect: str | None = None  # the keyword whose value is the next token
    in_macro = False
    for line in text.splitlines():
        if in_macro:
            in_macro = bool(line.strip())
            continue
        for token in line.split():
            if expect == "machine":
                machine, expect = token, None
                found.setdefault(machine, False)
            elif expect == "password":
                if machine is not None:
                    found[machine] = True
                expect = None
            elif expect == "macdef":  # the body starts on the next line
                expect, in_macro = None, True
            elif expect is not None:  # the value of login, account
                expect = None
            elif token == "default":
                machine = "default"
            elif token in ("machine", "password", "macdef", "login", "user", "account"):
                expect = token
    return found


def wandb_checks(project: Project, launch: Launch, uses: list) -> list[Check]:
    checks = []
    mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if mode in ("disabled",):
        return [Check("W&B", "info", "WANDB_MODE=disabled: nothing will be logged to W&B")]
    if mode in ("offline", "dryrun"):
        checks.append(Check("W&B mode", "warning", f"WANDB_MODE={mode}: the run is written to ./wandb only; it is lost "
                            "with the container unless `wandb sync` uploads it"))
    key = os.environ.get("WANDB_API_KEY", "").strip()
    token_file = os.environ.get("WANDB_IDENTITY_TOKEN_FILE", "").strip()
    netrc = _netrc_has_wandb() if not key and not token_file else (False, None)
    if key:
        if _KEY.match(key) or key.startswith("wandb_v1_"):
            checks.append(Check("W&B key", "ok", f"WANDB_API_KEY is set ({len(key)} characters, well-formed)"))
        else:
            checks.append(Check("W&B key", "error", f"WANDB_API_KEY is malformed ({len(key)} characters; W&B keys have "
                                "40 or more letters, digits, - or _): wandb.init will fail with AuthenticationError"))
    elif token_file:
        status = "ok" if Path(token_file).is_file() else "error"
        found = "exists" if status == "ok" else "is missing"
        checks.append(Check("W&B key", status, f"WANDB_IDENTITY_TOKEN_FILE {found}: {token_file}"))
    elif netrc[0]:
        checks.append(Check("W&B key", "ok", "a netrc entry for the W&B host is present"))
    elif mode not in ("offline", "dryrun"):
        where = f" ({uses[0].description})" if uses else ""
        if netrc[1]:
            where += f" ({netrc[1]})"
        checks.append(Check("W&B key", "error", f"W&B is used{where} but there is no WANDB_API_KEY, identity token or "
                            "netrc entry: wandb.init will raise UsageError (or wait at the login prompt) after the "
                            "model has loaded"))
    project_name, run_name = _identity(project, launch)
    checks.append(Check("W&B run", "info" if run_name else "warning",
                        f"project {project_name or '(W&B default)'}, run name "
                        f"{run_name or '(random: set a name to match reruns)'}"))
    return checks


def _identity(project: Project, launch: Launch) -> tuple[str | None, str | None]:
    project_name = os.environ.get("WANDB_PROJECT") or None
    run_name = os.environ.get("WANDB_NAME") or launch.entry.arg("run_name") or launch.entry.arg("wandb_name") or None
    resolved = project.entry(launch)
    for path in (resolved.script, resolved.config):
        for run in project.facts_in(path, WandbRun) if path else []:
            if project_name is None and run.project is not None and run.project.known:
                project_name = str(run.project.literal)
            if run_name is None and run.name is not None:
                run_name = str(run.name.literal) if run.name.known else run.name.text
            if project_name is None and run.started_by is RunStart.REPORT_TO:
                project_name = "huggingface (the HF integration's default; set WANDB_PROJECT)"
    return project_name, run_name


def wandb_reachable(timeout: float) -> Check:
    url = os.environ.get("WANDB_BASE_URL") or _default_wandb_url()
    return _reachable("W&B host", url, timeout)


def _default_wandb_url() -> str:
    version = installed_here("wandb")
    if version and release(version) >= (0, 31):
        return "https://api.forge.coreweave.com"
    return "https://api.wandb.ai"


def _reachable(name: str, url: str, timeout: float) -> Check:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=timeout):
            return Check(name, "ok", f"{url} answered")
    except urllib.error.HTTPError as exc:  # it answered, with a status: reachable
        return Check(name, "ok", f"{url} answered (HTTP {exc.code})")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(name, "error", f"{url} is not reachable within {timeout:g}s ({reason}): the run would fail or "
                     "hang at its first tracking call")


# -- MLflow ---------------------------------------------------------------------------------------

def uses_mlflow(project: Project, launch: Launch) -> bool:
    resolved = project.entry(launch)
    report_to = launch.entry.arg("report_to")
    if report_to is not None and "mlflow" in report_to.lower():
        return True
    for path in (resolved.script, resolved.config):
        if not path:
            continue
        if project.facts_in(path, ArtifactLog) or any(i.module.split(".")[0] == "mlflow"
                                                      for i in project.facts_in(path, LocalImport)):
            return True
        for config in project.facts_in(path, TrainingConfig):
            if config.reports_to("mlflow") or any(k.startswith("mlflow_") or k == "use_mlflow" for k in config.args):
                return True
    return False


def mlflow_checks(online: bool, timeout: float) -> list[Check]:
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if not uri:
        return [Check("MLflow store", "warning", "MLFLOW_TRACKING_URI is not set: MLflow writes to ./mlflow.db "
                      "(./mlruns before 3.7) in the working folder, which is lost with the container")]
    if uri.startswith(("http://", "https://", "databricks")):
        checks = [Check("MLflow store", "ok", f"tracking server {uri}")]
        if online and uri.startswith("http"):
            checks.append(_reachable("MLflow server", uri.rstrip("/") + "/health", timeout))
        return checks
    path = uri
    for prefix in ("sqlite:///", "file://", "file:"):
        if uri.startswith(prefix):
            path = uri[len(prefix):]
            break
    target = Path(path).expanduser()
    folder = target if not uri.startswith("sqlite") else target.parent
    if not _writable_folder(folder):
        return [Check("MLflow store", "error", f"the local store {uri} is not writable: the first log call fails")]
    resolved = folder.resolve()
    temporary = {Path(tempfile.gettempdir()).resolve(), Path("/dev/shm"), Path("/var/tmp")}
    if any(resolved == root or root in resolved.parents for root in temporary):
        return [Check("MLflow store", "warning", f"the local store {uri} is in a temporary folder: it does not "
                      "outlive the job")]
    return [Check("MLflow store", "ok", f"local store {uri} is writable")]


# -- paths ----------------------------------------------------------------------------------------

def _writable_folder(folder: Path) -> bool:
    """Can this folder be written, or created? The nearest existing ancestor must be a writable folder."""
    existing = next((p for p in [folder, *folder.parents] if p.exists()), None)
    return existing is not None and existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)


def _setting(project: Project, launch: Launch, *names: str) -> tuple[str, object] | None:
    for name in names:
        value = launch.entry.arg(name)
        if value:
            return name, value
    resolved = project.entry(launch)
    for path in (resolved.config, resolved.script):
        for config in project.facts_in(path, TrainingConfig) if path else []:
            for name in names:
                value = config.args.get(name)
                if value is not None and value.known and value.literal not in (None, ""):
                    return name, value.literal
    return None


def path_checks(project: Project, launch: Launch, cwd: Path, min_free_gb: float) -> list[Check]:
    checks = []
    output = _setting(project, launch, "output_dir")
    if output and isinstance(output[1], str) and "$" not in output[1]:
        target = (cwd / output[1]).resolve()
        existing = next((p for p in [target, *target.parents] if p.exists()), None)
        if not _writable_folder(target):
            checks.append(Check("output_dir", "error", f"{output[1]} is not writable: checkpoints and the final model "
                                "cannot be saved"))
        else:
            checks.append(Check("output_dir", "ok", f"{output[1]} is writable"))
            free = shutil.disk_usage(existing).free / 1e9
            status = "ok" if free >= min_free_gb else "error"
            checks.append(Check("disk space", status, f"{free:.1f} GB free where output_dir lives "
                                f"(minimum {min_free_gb:g} GB)"))
    resume = _setting(project, launch, "resume_from_checkpoint")
    if resume and isinstance(resume[1], str) and resume[1].lower() not in ("true", "false", "none"):
        exists = (cwd / resume[1]).exists()
        state = "exists" if exists else "does not exist: the Trainer raises at resume time"
        checks.append(Check("resume_from_checkpoint", "ok" if exists else "error", f"{resume[1]} {state}"))
    checks.extend(_dataset_checks(project, launch, cwd))
    checks.extend(_artifact_checks(project, launch, cwd))
    return checks


def _local(path: str) -> bool:
    return path.startswith(("./", "../", "/", "~")) or path.endswith((".json", ".jsonl", ".csv", ".parquet", ".txt"))


def _dataset_checks(project: Project, launch: Launch, cwd: Path) -> list[Check]:
    candidates = []
    for name in ("train_file", "validation_file", "dataset_path", "data_path", "dataset_name"):
        found = _setting(project, launch, name)
        if found and isinstance(found[1], str):
            candidates.append((name, found[1]))
    resolved = project.entry(launch)
    for config in project.facts_in(resolved.config, TrainingConfig) if resolved.config else []:
        datasets = config.args.get("datasets")
        if datasets is not None and datasets.known and isinstance(datasets.literal, list):
            for item in datasets.literal:
                if isinstance(item, dict) and isinstance(item.get("path"), str):
                    candidates.append(("datasets[].path", item["path"]))
    checks = []
    for name, path in candidates:
        if not _local(path) or "$" in path:
            continue  # a hub dataset id
        exists = (cwd / os.path.expanduser(path)).exists()
        checks.append(Check(f"dataset ({name})", "ok" if exists else "error",
                            f"{path} {'exists' if exists else 'does not exist: loading the data fails'}"))
    return checks


def _artifact_checks(project: Project, launch: Launch, cwd: Path) -> list[Check]:
    checks = []
    resolved = project.entry(launch)
    for log in project.facts_in(resolved.script, ArtifactLog) if resolved.script else []:
        literal = log.path_text.strip("'\"")
        if log.evidence is not None or not log.path_static or literal == log.path_text or "{" in literal:
            continue
        if (cwd / literal).exists():
            checks.append(Check("artifact path", "ok", f"{literal} exists (uploaded by {log.api} at line "
                                f"{log.location.line})"))
        else:
            checks.append(Check("artifact path", "warning", f"{literal} does not exist and the script never creates "
                                f"it: {log.api} at line {log.location.line} will upload nothing (or raise)"))
    return checks


# -- versions -------------------------------------------------------------------------------------

def installed_here(library: str) -> str | None:
    """The release installed in this environment (the launch's own), not what the project declares."""
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return None


def version_checks(assumed: dict[str, str]) -> list[Check]:
    checks = []
    for library in LIBRARIES:
        version = installed_here(library)
        expected = assumed.get(library)
        if expected and version and release(version)[:2] != release(expected)[:2]:
            checks.append(Check(f"{library} version", "warning", f"{library} {version} is installed but the static "
                                f"rules assumed {expected} ([tool.preflight.versions]): behaviour may differ"))
        elif expected and not version:
            checks.append(Check(f"{library} version", "warning", f"{library} is not installed, but the static rules "
                                f"assumed {expected}"))
        elif version:
            checks.append(Check(f"{library} version", "ok", f"{library} {version}"))
    return checks


def as_dict(check: Check) -> dict:
    return dataclasses.asdict(check)
