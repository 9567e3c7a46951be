"""The questions every launcher rule asks about a launch: does the program it runs use W&B (and does
that code run, with this launch's arguments), is W&B switched off for it, does the key reach it.

They belong to the engine, not the rule pack: ENV001, ENV002, ENV003, ENV004, ENV007, ENV012, ENV013 and
`preflight run` ask them, and must agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.findings import Location
from preflight.model import (
    CredentialKind, EntryKind, EnvWrite, Launch, Launcher, RunStart, Tracker, TrackerUse, TrainingConfig, WandbLogin,
    WandbRun,
)
from preflight.program import MAYBE, NEVER, RUNS, LaunchArguments

KEY = "WANDB_API_KEY"
KEY_ALTERNATIVES = ("WANDB_IDENTITY_TOKEN_FILE",)
OFF_MODES = {"offline", "disabled", "dryrun"}
CONTAINER_BOUNDARIES = ("docker run", "docker compose run", "docker exec", "docker compose exec")
_CREDENTIAL_KINDS = (CredentialKind.WANDB_LOGIN, CredentialKind.NETRC, CredentialKind.ENV_FROM)


@dataclass(frozen=True)
class Use:
    """A place where the launched program uses W&B, and whether it runs for this launch."""

    location: Location
    description: str
    status: int  # preflight.program.RUNS or MAYBE
    integration: bool = False  # through the HF Trainer's W&B integration (report_to), not the wandb library

    @property
    def runs(self) -> bool:
        return self.status == RUNS


def launch_files(project, launch: Launch) -> list[str]:
    resolved = project.entry(launch)
    return [p for p in (resolved.script, resolved.config) if p]


def arguments(project, launch: Launch) -> LaunchArguments:
    """What this launch gives its entry point, for deciding the program's conditions."""
    env = list(launch.env)
    if launch.compose_service:
        service = project.compose_service(launch.base_dir, launch.compose_service)
        env = [*(service.env if service else ()), *env]
    config = project.entry(launch).config
    values: tuple = ()
    for found in project.facts_in(config, TrainingConfig) if config else []:
        values = tuple((k, v.literal) for k, v in found.args.items() if v.known)
    return LaunchArguments(tuple(launch.entry.args), tuple(launch.entry.overrides), tuple(env),
                           not launch.inherits_env and not launch.unseen_env, values)


def launcher_files(project, path: str, hops: int = 4) -> list[str]:
    """The launcher files that run `path` (a script or a config), nearest first, directly or through what
    they run: a workflow that runs a shell script that runs `trl sft --config path`. A config read by a
    script's argument parser is run by that script's launchers."""
    found: list[str] = []
    frontier = [path, *(reader.parser.location.path for reader in project.readers.get(path, []) if reader.parser)]
    for _ in range(hops):
        reached = []
        for current in frontier:
            for launch in project.launches_of(current):
                file = launch.location.path
                if file != path and file not in found:
                    found.append(file)
                    reached.append(file)
        frontier = reached
    return found


def wandb_uses(project, launch: Launch, depth: int = 0) -> list[Use]:
    """Where the launched program uses W&B, honouring command-line overrides and reachability. A
    launched shell script counts through the commands it runs with the environment it inherits."""
    entry = launch.entry
    resolved = project.entry(launch)
    if entry.kind is EntryKind.SHELL_SCRIPT:
        uses: list[Use] = []
        for inner in project.facts_in(resolved.script, Launch) if resolved.script and depth < 4 else []:
            if inner.inherits_env and not switched_off(project, inner) and not key_reaches(project, inner):
                where = f"run by {inner.location.path}:{inner.location.line}"
                uses += [Use(u.location, f"{u.description} ({where})", u.status, u.integration)
                         for u in wandb_uses(project, inner, depth + 1)]
        return uses
    report_to = entry.arg("report_to")
    cli_items = None if report_to is None else [i.strip().lower() for i in report_to.split(",")]
    uses = []
    if cli_items is not None and "wandb" in cli_items:
        uses.append(Use(launch.location, "reports to W&B (--report_to wandb)", RUNS, integration=True))
    mode = (entry.arg("wandb_mode") or "").lower()
    if entry.arg("wandb_project") and mode not in OFF_MODES:
        uses.append(Use(launch.location, "logs to W&B (--wandb_project)", RUNS))
    if resolved.script is not None:
        uses += _program_uses(project, launch, resolved.script, cli_items is not None)
    if resolved.config is not None:
        for run in project.facts_in(resolved.config, WandbRun):
            if run.offline_or_disabled or (cli_items is not None and run.started_by is RunStart.REPORT_TO):
                continue
            if run.started_by is RunStart.AXOLOTL and mode in OFF_MODES:
                continue
            uses.append(Use(run.location, describe(run), RUNS, integration=run.started_by is RunStart.REPORT_TO))
    return uses


def _program_uses(project, launch: Launch, script: str, report_to_overridden: bool) -> list[Use]:
    """The W&B uses of a launched Python program, each with the status its code has for this launch."""
    programs = project.programs
    reach = programs.reach(script, arguments(project, launch))
    uses = []
    for path in programs.loaded_modules(script):
        facts = [r for r in project.facts_in(path, WandbRun) if not r.offline_or_disabled]
        facts += [u for u in project.facts_in(path, TrackerUse) if u.tracker is Tracker.WANDB]
        for fact in facts:
            if report_to_overridden and isinstance(fact, WandbRun) and fact.started_by is RunStart.REPORT_TO:
                continue  # the command line's --report_to replaces the code's
            status = reach.of(path, fact.site)
            if status != NEVER:
                integration = isinstance(fact, WandbRun) and fact.started_by is RunStart.REPORT_TO
                uses.append(Use(fact.location, describe(fact), status, integration))
    return uses


def describe(use: WandbRun | TrackerUse) -> str:
    where = f"{use.location.path}:{use.location.line}"
    if isinstance(use, TrackerUse):
        return f"calls {use.api} ({where}), which needs the W&B key"
    if use.started_by is RunStart.REPORT_TO:
        return f"reports to W&B (report_to at {where})"
    if use.started_by is RunStart.AXOLOTL:
        return f"logs to W&B (wandb_project at {where})"
    return f"starts a W&B run ({use.started_by.label} at {where})"


def running_uses(project, launch: Launch) -> list[Use]:
    """The uses that run for this launch: what an error finding may rest on."""
    return [use for use in wandb_uses(project, launch) if use.runs]


def undecided_uses(project, launch: Launch) -> list[Use]:
    return [use for use in wandb_uses(project, launch) if use.status == MAYBE]


def switched_off(project, launch: Launch) -> bool:
    binding = launch.env_map().get("WANDB_MODE")
    if binding is not None and (binding.value or "").strip().lower() in OFF_MODES:
        return True
    for path in launch_files(project, launch):
        for write in project.facts_in(path, EnvWrite):
            if write.name == "WANDB_MODE" and write.value.is_str(*OFF_MODES):
                return True
    return False


def key_reaches(project, launch: Launch) -> bool:
    env = dict(launch.env_map())
    credentials = list(launch.credentials)
    if launch.compose_service:
        service = project.compose_service(launch.base_dir, launch.compose_service)
        if service is None:
            return True  # the service is not in the scan: nothing can be said
        env = {**{b.name: b for b in service.env}, **env}
        credentials += service.credentials
    for name in (KEY, *KEY_ALTERNATIVES):
        if name in env and not env[name].is_empty:
            return True
    for credential in credentials:
        if credential.kind in _CREDENTIAL_KINDS:
            return True
        if credential.kind is CredentialKind.ENV_FILE and \
                project.env_file_defines(credential.description, KEY) is not False:
            return True
    for path in launch_files(project, launch):
        if any(w.name == KEY for w in project.facts_in(path, EnvWrite)):
            return True
        if any(login.has_key and not login.key_from_env for login in project.facts_in(path, WandbLogin)):
            return True
        if any(config.env.get(KEY) for config in project.facts_in(path, TrainingConfig)):
            return True
    return False


def outer_has_key(launch: Launch) -> bool:
    return any(b.name == KEY and not b.is_empty for b in launch.outer_env)


def subject(launch: Launch) -> str:
    """What launcher findings are about, for declared precedence: a compose service, else the command."""
    if launch.launcher is Launcher.COMPOSE and launch.group:
        return compose_subject(launch.location.path, launch.group)
    return f"launch:{launch.location}"


def compose_subject(path: str, service: str) -> str:
    return f"compose:{path}:{service}"


def missing_key(project, launch: Launch) -> list[Use] | None:
    """The running W&B uses of a launch whose process does not get the key, or None. Never for a job that may get
    it from an environment preflight cannot see (`Launch.unseen_env`: a Ray cluster's, a dstack or SkyPilot
    submitter's)."""
    if launch.unseen_env:
        return None
    uses = running_uses(project, launch)
    if not uses or switched_off(project, launch) or key_reaches(project, launch):
        return None
    return uses


def undecided(project) -> list[str]:
    """Launches whose program may use W&B without the key, where preflight cannot decide whether that code
    runs (a condition it cannot evaluate, a call it cannot follow), or whose job may get the key only from an
    environment preflight cannot see (`Launch.unseen_env`): no finding, but said with --verbose."""
    notes = []
    for launch in project.launches():
        if (launch.inherits_env and not launch.unseen_env) or switched_off(project, launch) \
                or key_reaches(project, launch):
            continue
        running = running_uses(project, launch)
        if running and launch.unseen_env:
            notes.append(f"{launch.location}: {launch.label} runs a W&B use ({running[0].description}) and gives it "
                         f"no {KEY}; {launch.unseen_env} may, which preflight cannot see: not reported")
        if running:
            continue
        for use in undecided_uses(project, launch)[:1]:
            notes.append(f"{launch.location}: {launch.label} may reach a W&B use without {KEY} "
                         f"({use.description}), behind a condition or call preflight cannot decide: not reported")
    return notes


def container_launches(project) -> list[tuple[Launch, Launch | None]]:
    """Launches that start a container (`docker run`, `docker compose run`), each with the launcher that runs
    the script it is in when that launcher has the key (a workflow step with WANDB_API_KEY running
    `bash scripts/train.sh`): the key is in the script's environment then, and stops at the container."""
    found: list[tuple[Launch, Launch | None]] = []
    for launch in project.launches():
        if launch.boundary in CONTAINER_BOUNDARIES:
            found.append((launch, None))
        script = project.entry(launch).script if launch.entry.kind is EntryKind.SHELL_SCRIPT else None
        if script is None or not any(b.name == KEY and not b.is_empty for b in launch.env):
            continue
        found += [(inner, launch) for inner in project.facts_in(script, Launch)
                  if inner.boundary in CONTAINER_BOUNDARIES]
    return found
