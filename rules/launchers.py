"""Launchers and the credentials they pass to the training process."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Location, Related, Severity
from preflight.model import EnvWrite, Launch, TrackerUse, TrainingConfig, WandbLogin, WandbRun
from preflight.project import Project
from preflight.rule import Bad, Good, Rule

KEY = "WANDB_API_KEY"
OFF_MODES = {"offline", "disabled", "dryrun"}
KEY_ALTERNATIVES = ("WANDB_IDENTITY_TOKEN_FILE",)

_HOW_TO_PASS = {
    "GitHub Actions": "pass it to the step or job, e.g. `env: WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}`",
    "docker compose": "add `WANDB_API_KEY: ${WANDB_API_KEY:?set WANDB_API_KEY}` under the service's `environment:`"
                      " (or an `env_file:` that sets it)",
}

_WORKFLOW = """on: push
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Fine-tune
        run: python train.py --epochs 1
"""
_SCRIPT = """import wandb

run = wandb.init(project="llama-sft", name="llama-sft-baseline")
"""


class TrackingKeyNotPassed(Rule):
    code = "ENV001"
    name = "tracking-key-not-passed"
    severity = Severity.ERROR
    summary = "A launcher runs a W&B-using entry point without passing WANDB_API_KEY"
    why = (
        "In a job with no TTY, `wandb.init` without a key raises `UsageError: No API key configured` (older "
        "versions: `api_key not configured (no-tty)`); with a TTY (`docker run -it`, `srun --pty`) it waits "
        "forever at the login prompt. Under the HF Trainer the W&B run starts in `on_train_begin`, after the "
        "model and dataset are loaded, so the GPU time until then is lost. It does not quietly go offline. "
        "preflight follows the launcher (workflow step, compose service) to the script or config it runs and "
        "asks whether any channel gives the process the key: env at any level, `$GITHUB_ENV`, an earlier "
        "`wandb login`, `docker run -e`/`--env-file`, compose `environment`/`env_file`, or W&B switched off "
        "(`WANDB_MODE=offline/disabled`, `--report_to none`)."
    )
    examples = [
        Bad(".github/workflows/train.yml", _WORKFLOW, files={"train.py": _SCRIPT},
            expect=".github/workflows/train.yml:8:14"),
        Bad("docker-compose.yml", """services:
  trainer:
    build: .
    command: axolotl train configs/lora.yml
""", files={"configs/lora.yml": "base_model: Qwen/Qwen2.5-0.5B\nwandb_project: qwen-lora\nwandb_name: lora-r16\n"},
            expect="docker-compose.yml:4:14"),
        Good(".github/workflows/train.yml", _WORKFLOW.replace(
            "        run: python train.py", "        env:\n          WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}\n"
            "        run: python train.py"), files={"train.py": _SCRIPT}),
        Good(".github/workflows/train.yml", _WORKFLOW.replace(
            "        run: python train.py", "        env:\n          WANDB_MODE: offline\n        run: python train.py"),
             files={"train.py": _SCRIPT}, note="W&B switched off for the CI smoke run"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for launch in project.facts(Launch):
            uses = _wandb_uses(project, launch)
            if not uses or _switched_off(project, launch) or _key_reaches(project, launch):
                continue
            first = uses[0]
            target = launch.entry.target if launch.entry.kind != "axolotl" else f"axolotl train {launch.entry.config}"
            how = _HOW_TO_PASS.get(launch.launcher, "pass WANDB_API_KEY to the process")
            yield self.finding(
                launch.location,
                f"{launch.label} runs {target}, which {first[1]}, but no channel gives the process "
                f"{KEY}: the job will crash at wandb.init (UsageError: no API key) or hang at the login prompt, "
                f"after the model has loaded; {how}",
                related=[Related(first[0], first[1])],
            )


def _wandb_uses(project: Project, launch: Launch) -> list[tuple[Location, str]]:
    """Where the launched program uses W&B, as (location, description), honouring CLI overrides."""
    entry = launch.entry
    resolved = project.entry(launch)
    report_to = entry.arg("report_to")
    cli_items = None if report_to is None else [i.strip().lower() for i in report_to.split(",")]
    uses: list[tuple[Location, str]] = []
    if cli_items is not None and "wandb" in cli_items:
        uses.append((launch.location, "reports to W&B (--report_to wandb)"))
    mode = (entry.arg("wandb_mode") or "").lower()
    if entry.arg("wandb_project") and mode not in OFF_MODES:
        uses.append((launch.location, "logs to W&B (--wandb_project)"))
    for path in (resolved.script, resolved.config):
        if path is None:
            continue
        found = project.wandb_uses(path) if path == resolved.script else [
            r for r in project.facts_in(path, WandbRun) if not r.disabled
        ]
        for use in found:
            if cli_items is not None and isinstance(use, WandbRun) and use.api == "report_to":
                continue  # the command line's --report_to replaces the config's
            if isinstance(use, WandbRun) and use.api == "Axolotl wandb_project" and mode in OFF_MODES:
                continue
            uses.append((use.location, _describe(use)))
    return uses


def _describe(use: WandbRun | TrackerUse) -> str:
    where = f"{use.location.path}:{use.location.line}"
    if isinstance(use, TrackerUse):
        return f"calls {use.api} ({where}), which needs the W&B key"
    if use.api == "report_to":
        return f"reports to W&B (report_to at {where})"
    if use.api == "Axolotl wandb_project":
        return f"logs to W&B (wandb_project at {where})"
    return f"starts a W&B run ({use.api} at {where})"


def _launch_files(project: Project, launch: Launch) -> list[str]:
    resolved = project.entry(launch)
    files = []
    if resolved.script:
        files.append(resolved.script)
    if resolved.config:
        files.append(resolved.config)
    return files


def _switched_off(project: Project, launch: Launch) -> bool:
    binding = launch.env_map().get("WANDB_MODE")
    if binding is not None and (binding.value or "").strip().lower() in OFF_MODES:
        return True
    for path in _launch_files(project, launch):
        for write in project.facts_in(path, EnvWrite):
            if write.name == "WANDB_MODE" and write.value.is_str(*OFF_MODES):
                return True
    return False


def _key_reaches(project: Project, launch: Launch) -> bool:
    env = launch.env_map()
    for name in (KEY, *KEY_ALTERNATIVES):
        if name in env and not env[name].is_empty:
            return True
    for credential in launch.credentials:
        if credential.kind in ("wandb-login", "netrc"):
            return True
        if credential.kind == "env-file" and project.env_file_defines(credential.description, KEY) is not False:
            return True
    for path in _launch_files(project, launch):
        if any(w.name == KEY for w in project.facts_in(path, EnvWrite)):
            return True
        if any(login.has_key and not login.key_from_env for login in project.facts_in(path, WandbLogin)):
            return True
        if any(config.env.get(KEY) for config in project.facts_in(path, TrainingConfig)):
            return True
    return False
