"""WB: Weights & Biases runs: their names and ids, resuming, steps, saved files, and the variables that switch
W&B off or hide its warnings."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.findings import Action, Finding, Fix, Location, Related, Severity, Transform
from preflight.model import (
    ArtifactLog, EnvWrite, Launch, LoggedMetrics, LoggerModelLogging, RunStart, TrackerCall, TrackerUse, Value,
    WandbRun, WeaveOps,
)
from preflight.project import Project
from preflight.rule import Bad, Good, Rule
from preflight.runs import axolotl, training_runs
from preflight.trainingargs import is_number, number_text, trainer_runs


_TRUE = {"true", "1", "yes", "on", "y", "t"}

# The start of every Axolotl config in the examples: a model and a dataset.
_AXOLOTL_BASE = "base_model: Qwen/Qwen2.5-0.5B\ndatasets:\n  - path: data.jsonl\n    type: alpaca\n"


IDENTITY_VARIABLES = ("WANDB_NAME", "WANDB_RUN_ID")
# transformers <= 4.54 set run_name = output_dir in __post_init__ (4.54 training_args.py)
RUN_NAME_NOT_DEFAULTED = "4.55"
_NAME_FLAGS = {RunStart.REPORT_TO: ("run_name",), RunStart.AXOLOTL: ("wandb_name", "wandb_run_id")}


_MISSING = {
    RunStart.WANDB_INIT: "wandb.init() starts a run with neither name= nor id=",
    RunStart.LIGHTNING_LOGGER: "WandbLogger() starts a run without name= or id=",
    RunStart.INIT_TRACKERS: "init_trackers() starts a W&B run without init_kwargs={\"wandb\": {\"name\": ...}}",
    RunStart.REPORT_TO: "report_to includes \"wandb\" but run_name is not set",
    RunStart.AXOLOTL: "wandb_project is set but wandb_name is not",
    RunStart.HYDRA_LOGGER: "this WandbLogger has no name",
}


# A run name from its config: the same config, the same name (WB001's fix); `default=str` for values JSON lacks.
_HASHED_NAME = "hashlib.sha1(json.dumps({config}, sort_keys=True, default=str).encode()).hexdigest()[:8]"


class UnnamedWandbRun(Rule):
    code = "WB001"
    name = "unnamed-wandb-run"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "W&B run started without a deterministic name"
    why = (
        "Without a name W&B picks a random one (`sunny-river-12`), and a name built from the clock, a UUID "
        "or `wandb.util.generate_id()` differs on every launch. Either way a rerun of the same configuration "
        "cannot be matched to its earlier attempt, related jobs cannot be grouped, and sweeps and reports "
        "fill with runs nobody can identify. Give every run a name derived from what it is (model, dataset, "
        "a short hash of the hyperparameters). Not reported when `WANDB_NAME`/`WANDB_RUN_ID` is set by the "
        "script, its config or its launcher, when the run is off (`mode=\"disabled\"`), or inside a function "
        "run by `wandb.agent` or a program run by a sweep (the sweep names its trials). For HF Trainer runs the "
        "transformers version matters: up to 4.54 `TrainingArguments` set `run_name` to `output_dir` (removed in "
        "4.55), so with a release the project installs below 4.55 the run is named. Test code is not judged."
    )
    autofix = ("Names a wandb.init run from a hash of the config it is given (`name=hashlib.sha1(json.dumps(config, "
               "sort_keys=True, default=str).encode()).hexdigest()[:8]`, importing hashlib and json), in place of "
               "no name or of one built from the clock; only where config= is a name, an attribute or a one-line "
               "literal, which can be read again without effects. A libcst transform: comments and layout kept.")
    fixes = ("unsafe",)
    fix_safety = ("Unsafe: it changes the run's name in every W&B project page, report and script that finds runs by "
                  "name, and the name is only as stable as the config: a config holding a time, a path of the "
                  "attempt or a seed drawn at start still differs on each launch, and keys added to the config after "
                  "wandb.init are not in the hash. Runs of the same config now share a name, which is the point, "
                  "but whether that is the grouping wanted is for the user to say. A run id is never derived: equal "
                  "ids make W&B resume or overwrite the earlier run.")
    examples = [
        Bad("train.py", """import wandb

config = {"lr": 2e-5, "epochs": 3}
run = wandb.init(project="llama-sft", config=config)
""", expect="train.py:4:7", fixed="""import wandb

config = {"lr": 2e-5, "epochs": 3}
run = wandb.init(project="llama-sft", config=config)
""", unsafe_fixed="""import wandb
import hashlib
import json

config = {"lr": 2e-5, "epochs": 3}
run = wandb.init(project="llama-sft", config=config, name=NAME)
""".replace("NAME", _HASHED_NAME.format(config="config"))),
        Bad("train.py", """import time
import wandb

run = wandb.init(project="llama-sft", name=f"sft-{time.time():.0f}")
""", expect="train.py:4:39", note="a name built from the clock differs on every launch"),
        Bad("train.py", """from transformers import TrainingArguments

args = TrainingArguments(output_dir="out", report_to="wandb")
""", expect="train.py:3:44"),
        Bad("axolotl.yml", """base_model: meta-llama/Llama-3.1-8B
datasets:
  - path: tatsu-lab/alpaca
    type: alpaca
wandb_project: llama-sft
""", expect="axolotl.yml:5:1"),
        Bad("run.sh", "torchrun --nproc_per_node 8 train.py --output_dir out --report_to wandb\n",
            files={"train.py": "from transformers import HfArgumentParser, Trainer, TrainingArguments\n\n"
                               "(args,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n"
                               "Trainer(model=model, args=args, train_dataset=train)\n"},
            expect="run.sh:1:55", note="--report_to wandb on the launcher's command line, no --run_name"),
        Good("train.py", """import hashlib, json
import wandb

config = {"lr": 2e-5, "epochs": 3}
name = "sft-" + hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
run = wandb.init(project="llama-sft", name=name, config=config)
"""),
        Good("sweep.py", """import wandb

def train():
    with wandb.init() as run:
        run.log({"loss": 0.1})

wandb.agent("entity/project/abc123", function=train)
""", note="the sweep names its trials"),
        Good("train.py", """import trackio as wandb

wandb.init(project="llama-sft")
""", note="trackio imported as wandb is not W&B"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for path in project.paths_holding(WandbRun):
            runs = project.facts_in(path, WandbRun)
            named_by_file = _identity_from_env(project.facts_in(path, EnvWrite))
            swept = project.whole_file_swept(path)  # the sweep names its trials
            launches = project.launches_of(path)
            transformers = project.version("transformers")
            for run in runs:
                if run.offline_or_disabled or not run.identity_known or run.in_sweep_function:
                    continue
                if run.started_by is RunStart.REPORT_TO and transformers.all_below(RUN_NAME_NOT_DEFAULTED):
                    continue  # up to 4.54 the Trainer names the run after output_dir
                if run.started_by is RunStart.REPORT_TO and _named_run_open_before(runs, run):
                    continue  # the Trainer's W&B callback logs into the run already started (wandb.run)
                finding = self._judge(run, named_by_file, swept, launches, transformers)
                if finding is not None:
                    yield finding
        yield from self._command_lines(project)

    def _command_lines(self, project: Project) -> Iterator[Finding]:
        """`--report_to wandb` on a launcher's command line, with nothing naming the run: no `--run_name`, no
        name in the argument file or the launch's environment, and a script that never sets `run_name`."""

        transformers = project.version("transformers")
        if transformers.all_below(RUN_NAME_NOT_DEFAULTED):
            return
        for run in training_runs(project, where=_reports_to_wandb_unnamed_from_command_line):
            value = run.args["report_to"]
            launch = next((found for found in project.launches() if found.location == run.location), None)
            script = project.entry(launch).script if launch else None
            if launch is None or script is None or _launch_names_run(launch, RunStart.REPORT_TO) or \
                    project.whole_file_swept(script) or _sets_run_name(project, script):
                continue
            yield self.finding(value.anchor, f"{_MISSING[RunStart.REPORT_TO]} on this command line: W&B gives the run "
                               "a random name, so reruns and related jobs cannot be matched; pass --run_name (e.g. "
                               "from the model, dataset and a hash of the arguments)")

    def _judge(self, run: WandbRun, named_by_file: str | None, swept: bool, launches: list[Launch],
               transformers) -> Finding | None:
        for value in (run.name, run.run_id):
            if value is not None and value.nondeterministic:
                fix = _name_fix(run, value.location) if value is run.name else None
                return self.finding(
                    value.anchor,
                    f"the W&B run {'name' if value is run.name else 'id'} is built from {value.nondeterministic}, "
                    "so it differs on every launch and a rerun cannot be matched to its earlier attempt: derive "
                    "it from the configuration instead (model, dataset, a short hash of the hyperparameters)",
                    fix=fix)
        if run.name is not None or run.run_id is not None or named_by_file or swept:
            return None
        if any(_launch_names_run(launch, run.started_by) for launch in launches):
            return None
        which = ""
        if run.started_by is RunStart.REPORT_TO and transformers.admits_below(RUN_NAME_NOT_DEFAULTED):
            which = (f" with transformers {RUN_NAME_NOT_DEFAULTED} and later, which {transformers.describe()} "
                     "admits (up to 4.54 the run was named after output_dir)")
        return self.finding(
            run.location,
            f"{_MISSING.get(run.started_by, 'a W&B run starts without a name')}: W&B gives it a random name{which}, so "
            "reruns and related jobs cannot be matched; set a deterministic name (e.g. from a hash of the config)",
            fix=_name_fix(run, None))


def _name_fix(run: WandbRun, name: Location | None) -> Fix | None:
    """name= from a hash of the config wandb.init is given: added, or in place of the name at `name`."""
    if run.started_by is not RunStart.WANDB_INIT or run.config_code is None or not run.location.path.endswith(".py"):
        return None
    code = _HASHED_NAME.format(config=run.config_code)
    imports = ("import hashlib", "import json")
    change = Transform(run.location, Action.SET_KEYWORD, "name", code, imports) if name is None else \
        Transform(name, Action.REPLACE, "name", code, imports)
    return Fix("name the run from a hash of its config", (change,), safe=False)


def _named_run_open_before(runs: list[WandbRun], run: WandbRun) -> bool:
    """A named (or id'd) `wandb.init` earlier in the same function or at module level: `WandbCallback.setup`
    reuses `wandb.run` when one is active, so the Trainer logs into that run, under its name."""
    place = run.site.function if run.site else None
    return any(other.started_by is RunStart.WANDB_INIT and not other.offline_or_disabled
               and (other.name or other.run_id) and other.location.line < run.location.line
               and (other.site.function if other.site else None) in (None, place) for other in runs)


def _sets_run_name(project: Project, script: str) -> bool:
    """Does the script (or a module it loads) name the run itself (`training_args.run_name = ...`)?"""
    return any("run_name" in (project.read_text(path) or "") for path in project.programs.loaded_modules(script)
               if path.endswith(".py"))


def _reports_to_wandb_unnamed_from_command_line(run) -> bool:
    """`--report_to wandb` on the launch's command line, and no run_name among the run's arguments."""
    value = run.args.get("report_to")
    return value is not None and "report_to" in run.from_command_line and "wandb" in (value.str_items() or ()) \
        and "run_name" not in run.args and bool(run.classes)


def _identity_from_env(writes) -> str | None:
    for write in writes:
        if write.name in IDENTITY_VARIABLES and not _empty(write.value):
            return write.name
    return None


def _empty(value: Value) -> bool:
    return value.known and (value.literal is None or str(value.literal).strip() == "")


def _launch_names_run(launch: Launch, started_by: RunStart) -> bool:
    env = launch.env_map()
    if any(name in env and not env[name].is_empty for name in IDENTITY_VARIABLES):
        return True
    return any(launch.entry.arg(flag) for flag in _NAME_FLAGS.get(started_by, ("run_name",)))


_RESUMING = {"allow", "must", "auto", "true"}


class ResumeWithoutId(Rule):
    code = "WB002"
    name = "resume-without-id"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "`resume` is set but the run has no id to resume"
    why = (
        "W&B resumes a run by its id. Without `id=` (or WANDB_RUN_ID) every launch gets a fresh random id: "
        "`resume=\"allow\"` then never resumes anything, `resume=\"must\"` fails, and `resume=\"auto\"`/True "
        "resumes whatever crashed last in the same folder. `WANDB_RESUME` in a launcher's environment (an "
        "`export` in an sbatch or shell script, a workflow's or compose file's `env`) is the same setting for every "
        "wandb.init that passes no `resume=` itself, the HF Trainer's included. Give the run a stable id (from the "
        "config or the job: `id=`, or `WANDB_RUN_ID` beside `WANDB_RESUME`). Not reported inside a sweep, whose "
        "agent gives each trial its id."
    )
    examples = [
        Bad("train.py", "import wandb\n\nwandb.init(project='p', name='sft', resume='allow')\n", expect="train.py:3:1"),
        Good("train.py", "import wandb\n\nwandb.init(project='p', name='sft', id='sft-r16-seed0', resume='allow')\n"),
        Bad("train.sbatch", "#!/bin/bash\n#SBATCH --time=04:00:00\nexport WANDB_RESUME=must\nsrun python train.py\n",
            files={"train.py": "import wandb\n\nwandb.init(project='p', name='sft')\n"}, expect="train.sbatch:3:1",
            note="WANDB_RESUME is the `resume` setting of every wandb.init that does not pass resume= itself"),
        Good("train.sbatch", "#!/bin/bash\n#SBATCH --time=04:00:00\nexport WANDB_RESUME=must\n"
             "export WANDB_RUN_ID=sft-$SLURM_JOB_NAME\nsrun python train.py\n",
             files={"train.py": "import wandb\n\nwandb.init(project='p', name='sft')\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        yield from self._in_code(project)
        yield from self._in_launch_environment(project)

    def _in_code(self, project: Project) -> Iterator[Finding]:
        for path in project.paths_holding(WandbRun):
            runs = [f for f in project.facts_in(path, WandbRun) if f.started_by is RunStart.WANDB_INIT]
            if not runs:
                continue
            id_from_env = any(w.name == "WANDB_RUN_ID" for w in project.facts_in(path, EnvWrite)) or any(
                "WANDB_RUN_ID" in launch.env_map() for launch in project.launches_of(path))
            for run in runs:
                resume = run.resume
                if resume is None or not resume.known or run.offline_or_disabled or not run.identity_known:
                    continue
                mode = str(resume.literal).lower()
                if mode not in _RESUMING or run.run_id is not None or id_from_env or run.in_sweep_function:
                    continue
                outcome = {"allow": "never resumes anything", "must": "fails: there is no run to resume"}.get(
                    mode, "resumes whatever run crashed last in this folder")
                yield self.finding(run.location, f"wandb.init(resume={resume.text}) without id= (or WANDB_RUN_ID) "
                                   f"{outcome}: every launch gets a new random id; pass a stable id")

    def _in_launch_environment(self, project: Project) -> Iterator[Finding]:
        """`export WANDB_RESUME=must` (or in a workflow's or compose file's environment): the setting of every
        run the launched program starts without resume= of its own, the same as resume= in the code."""
        seen: set = set()
        for launch in project.launches():
            env = launch.env_map()
            binding = env.get("WANDB_RESUME")
            if binding is None or binding.reference or "WANDB_RUN_ID" in env or binding.location in seen:
                continue
            mode = (binding.value or "").strip().lower()
            if mode not in _RESUMING:
                continue
            runs = _runs_resumed_by_env(project, launch)
            if not runs:
                continue
            seen.add(binding.location)
            outcome = {"allow": "never resumes anything", "must": "fails: there is no run to resume"}.get(
                mode, "resumes whatever run crashed last in the same folder")
            yield self.finding(binding.location, f"WANDB_RESUME={binding.value.strip()} without WANDB_RUN_ID "
                               f"{outcome}: the run this launch starts has no id= ({launch.label}), so every launch "
                               "gets a new random id; set WANDB_RUN_ID to a stable id (from the job or the config)",
                               related=[Related(run, "the run, started without resume= or id=") for run in runs[:3]])


def _runs_resumed_by_env(project: Project, launch: Launch) -> list[Location]:
    """Where the W&B runs a launch starts (and that run for it) take resume and id from the environment: no
    resume=/id= passed, no WANDB_RUN_ID set by the program, not a sweep trial (the agent gives the id). The HF
    integration's wandb.init (`--report_to wandb` on the command line) passes neither."""
    from preflight.launches import running_uses

    uses = running_uses(project, launch)
    if not uses:
        return []
    resolved = project.entry(launch)
    files = project.programs.loaded_modules(resolved.script) if resolved.script else []
    files = [*files, *([resolved.config] if resolved.config else [])]
    if any(project.whole_file_swept(path) for path in files):
        return []
    used = {use.location for use in uses}
    found = [use.location for use in uses if use.integration and use.location == launch.location]
    for path in files:
        if any(write.name == "WANDB_RUN_ID" for write in project.facts_in(path, EnvWrite)):
            return []
        found += [run.location for run in project.facts_in(path, WandbRun) if run.location in used
                  and not run.offline_or_disabled and run.identity_known and run.resume is None and run.run_id is None
                  and not run.in_sweep_function]
    return found


class SharedRunId(Rule):
    code = "WB003"
    name = "shared-run-id"
    severity = Severity.ERROR
    summary = "A constant W&B run id in a launcher that starts several jobs at once"
    why = (
        "A run id names one run. An sbatch array, a workflow matrix, Kubernetes parallelism or a shell loop "
        "that gives every job the same `WANDB_RUN_ID` (or a literal `wandb.init(id=...)`, Axolotl "
        "`wandb_run_id`) makes the jobs write into one run: steps interleave, lower steps are dropped with only "
        "a warning, and the summary is whichever job finished last. Build the id from the job's own index "
        "(`$SLURM_ARRAY_TASK_ID`, `${{ matrix.seed }}`, the loop variable) or leave it to W&B."
    )
    examples = [
        Bad("sweep.sbatch", """#!/bin/bash
#SBATCH --array=0-7
export WANDB_RUN_ID=llama-sft
srun python train.py --seed $SLURM_ARRAY_TASK_ID
""", files={"train.py": "import wandb\nwandb.init(project='p', resume='allow')\n"}, expect="sweep.sbatch:3:1"),
        Good("sweep.sbatch", """#!/bin/bash
#SBATCH --array=0-7
export WANDB_RUN_ID=llama-sft-${SLURM_ARRAY_JOB_ID}-${SLURM_ARRAY_TASK_ID}
srun python train.py --seed $SLURM_ARRAY_TASK_ID
""", files={"train.py": "import wandb\nwandb.init(project='p', resume='allow')\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        seen: set = set()
        for launch in project.launches():
            if launch.fan_out is None:
                continue
            related = [Related(launch.fan_out_location or launch.location, f"the fan-out: {launch.fan_out}")]
            binding = launch.env_map().get("WANDB_RUN_ID")
            if binding is not None and not binding.reference and (binding.value or "").strip():
                found = (binding.location, f"WANDB_RUN_ID={binding.value.strip()}")
            else:
                found = self._constant_id_in_program(project, launch)
            if found is None or found[0] in seen:
                continue
            seen.add(found[0])
            yield self.finding(
                found[0],
                f"{found[1]} is the same for every job of {launch.fan_out} ({launch.label}): the jobs write into one "
                "W&B run, their steps interleave and lower steps are dropped; build the id from the job's index or "
                "let W&B choose it",
                related=related,
            )

    @staticmethod
    def _constant_id_in_program(project: Project, launch: Launch):
        resolved = project.entry(launch)
        for path in (resolved.script, resolved.config):
            for run in project.facts_in(path, WandbRun) if path else []:
                value = run.run_id
                if run.offline_or_disabled or value is None or not value.known or not isinstance(value.literal, str):
                    continue
                if value.nondeterministic or not value.literal.strip():
                    continue
                return value.anchor, f"the run id {value.literal!r}"
        return None


REINIT_STRINGS = "0.19.9"  # reinit takes "finish_previous" (wandb/sdk/wandb_settings.py); a bool before


class InitInLoopWithoutFinish(Rule):
    code = "WB004"
    name = "init-in-loop-without-finish"
    severity = Severity.ERROR
    skips_test_code = True  # the consequence is an experiment record
    summary = "wandb.init in a loop with no finish(), `with` block or reinit"
    why = (
        "With the default `reinit`, a second wandb.init while a run is active returns the active run (\"wandb.init() "
        "called while a run is active ... returning the previous run\"): every fold, seed or trial of the loop logs "
        "into run #1, with colliding steps. Use `with wandb.init(...) as run:`, call `run.finish()` in the loop, or "
        "pass `reinit=\"finish_previous\"`/`\"create_new\"`."
    )
    autofix = ("Passes reinit=\"finish_previous\" to the wandb.init in the loop (a libcst transform: comments and "
               "layout kept), when every wandb release the project admits takes it (0.19.9 and later).")
    fixes = ("safe", "unsafe")
    fix_safety = (
        "Safe where the call has no reinit of its own: each wandb.init of the loop then finishes the run of the "
        "previous iteration and starts a new one (wandb 0.19.10, wandb/sdk/wandb_init.py:864: \"Finishing previous "
        "runs because reinit is set to 'finish_previous'\"), which is what the finding asks for, and the last run is "
        "finished at exit as before. What an earlier iteration logged through its run object after the next "
        "wandb.init went into the shared first run: that is the bug. Unsafe where the call sets reinit itself "
        "(reinit=False, \"return_previous\"): the fix replaces a choice that was written down. No fix when the "
        "project admits a wandb release before 0.19.9, whose reinit is a bool (wandb/sdk/wandb_settings.py) and "
        "rejects the string.")
    examples = [
        Bad("cv.py", "import wandb\n\nfor fold in range(5):\n    run = wandb.init(project='p', name=f'fold{fold}')\n"
            "    run.log({'acc': 0.9})\n", expect="cv.py:4:11",
            fixed="import wandb\n\nfor fold in range(5):\n"
            "    run = wandb.init(project='p', name=f'fold{fold}', reinit=\"finish_previous\")\n"
            "    run.log({'acc': 0.9})\n"),
        Bad("cv.py", "import wandb\n\nfor fold in range(5):\n    run = wandb.init(project='p', name=f'fold{fold}')\n"
            "    run.log({'acc': 0.9})\n", files={"requirements.txt": "wandb==0.18.7\n"}, expect="cv.py:4:11",
            note="no fix: wandb 0.18.7 takes only True or False for reinit"),
        Bad("cv.py", "import wandb\n\nfor fold in range(5):\n    run = wandb.init(project='p', reinit=False)\n"
            "    run.log({'acc': 0.9})\n", expect="cv.py:4:11",
            note="reinit written down: only --unsafe-fixes changes it",
            fixed="import wandb\n\nfor fold in range(5):\n    run = wandb.init(project='p', reinit=False)\n"
            "    run.log({'acc': 0.9})\n",
            unsafe_fixed="import wandb\n\nfor fold in range(5):\n"
            "    run = wandb.init(project='p', reinit=\"finish_previous\")\n    run.log({'acc': 0.9})\n"),
        Good("cv.py", "import wandb\n\nfor fold in range(5):\n"
             "    with wandb.init(project='p', name=f'fold{fold}') as run:\n        run.log({'acc': 0.9})\n"),
        Good("cv.py", "import wandb\n\nfor fold in range(5):\n    run = wandb.init(project='p', name=f'fold{fold}')\n"
             "    run.log({'acc': 0.9})\n    run.finish()\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for call in project.facts(TrackerCall):
            if call.api == "wandb.init" and call.context and call.complete:
                yield self.finding(call.location, f"wandb.init {call.context} with nothing finishing the run: from the "
                                   "second iteration on it returns the active run, so every iteration logs into run "
                                   "#1; use `with wandb.init(...) as run:`, run.finish() in the loop, or "
                                   "reinit=\"finish_previous\"", fix=self._fix(project, call))

    @staticmethod
    def _fix(project: Project, call: TrackerCall) -> Fix | None:
        if not call.location.path.endswith(".py") or project.version("wandb").admits_below(REINIT_STRINGS):
            return None
        change = Transform(call.location, Action.SET_KEYWORD, "reinit", '"finish_previous"')
        return Fix('pass reinit="finish_previous"', (change,), safe="reinit" not in call.keywords)


class MixedExplicitStep(Rule):
    code = "WB005"
    name = "mixed-explicit-step"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "wandb.log(step=...) that an implicit-step log of the same run gets ahead of"
    why = (
        "Every wandb.log without `step=` logs at W&B's current step and moves it on by one; a call with an "
        "explicit `step=` below the current step is dropped with only a warning (\"Tried to log to step 3 that is "
        "less than the current step 5 ... this data will be ignored\"). With the explicit step counting a loop's "
        "iterations, that happens when an implicit log comes earlier in the same iteration, when two implicit "
        "logs run per iteration, or when implicit logs before the loop have already passed its first steps "
        "(behaviour verified with wandb 0.31). One implicit log after the explicit one in each iteration, or "
        "after the loop, drops nothing and is not reported. Log with step= everywhere, or nowhere and put the "
        "step in the dict (`{\"epoch\": e, ...}`, with `define_metric`)."
    )
    examples = [
        Bad("train.py", "import wandb\n\nrun = wandb.init(name='r')\nfor step in range(100):\n"
            "    run.log({'lr': 1e-4})\n    run.log({'loss': 0.1}, step=step)\n", expect="train.py:6:5"),
        Bad("train.py", "import wandb\n\nrun = wandb.init(name='r')\nfor step in range(100):\n"
            "    run.log({'loss': 0.1}, step=step)\n    run.log({'lr': 1e-4})\n    run.log({'grad': 2.0})\n",
            expect="train.py:5:5", note="two implicit logs per iteration outrun the step"),
        Good("train.py", "import wandb\n\nrun = wandb.init(name='r')\nfor step in range(100):\n"
             "    run.log({'loss': 0.1, 'lr': 1e-4}, step=step)\n"),
        Good("train.py", "import wandb\n\nrun = wandb.init(name='r')\nfor step in range(100):\n"
             "    run.log({'loss': 0.1}, step=step)\nrun.log({'final_accuracy': 0.9})\n",
             note="an implicit log after the last explicit step drops nothing"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for logged in project.facts(LoggedMetrics):
            for explicit, implicit, how in logged.step_conflicts:
                yield self.finding(explicit, f"wandb.log(..., step=) counts the loop's iterations, but wandb.log "
                                   f"without step (line {implicit.line}) runs {how}: it moves W&B's step past this "
                                   "call's, and W&B drops the points with only a warning; log with step= everywhere "
                                   "or nowhere", related=[Related(implicit, "the implicit-step log")])


_BAD_ID = re.compile(r"[:;,#?/']")
_BAD_PROJECT = re.compile(r"[/\\#?%:]")


class InvalidRunIdentifier(Rule):
    code = "WB006"
    name = "invalid-run-identifier"
    severity = Severity.ERROR
    summary = "A literal W&B run id or project name that W&B rejects"
    why = (
        "wandb.init raises UsageError for a run id that is blank or contains any of `: ; , # ? / '`, and for a "
        "project name longer than 128 characters or containing any of `/ \\ # ? % :`, so the job dies at start "
        "(under the HF Trainer: after the model has loaded)."
    )
    examples = [
        Bad("train.py", "import wandb\n\nwandb.init(project='llm/sft', name='r1')\n", expect="train.py:3:12"),
        Good("train.py", "import wandb\n\nwandb.init(project='llm-sft', name='r1', id='sft-2026-11-26')\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for run in project.facts(WandbRun):
            for value, kind in ((run.run_id, "id"), (run.project, "project")):
                problem = _identifier_problem(value.literal, kind) if value is not None and value.known else None
                if problem:
                    yield self.finding(value.anchor, f"the W&B run {kind} {str(value.literal)!r} {problem}: "
                                       "wandb.init raises UsageError at start")
        for name, kind in (("WANDB_RUN_ID", "id"), ("WANDB_PROJECT", "project")):
            for location, value, _ in project.env_settings(name):
                problem = _identifier_problem(value, kind) if value is not None and "$" not in value else None
                if problem and value.strip():
                    yield self.finding(location, f"{name}={value!r} {problem}: wandb.init raises UsageError at start")


def _identifier_problem(value, kind: str) -> str | None:
    if not isinstance(value, str):
        return None
    if kind == "id":
        if not value.strip():
            return "is blank"
        bad = _BAD_ID.search(value)
        return f"contains {bad.group(0)!r}" if bad else None
    if len(value) > 128:
        return f"is {len(value)} characters long (at most 128)"
    bad = _BAD_PROJECT.search(value)
    return f"contains {bad.group(0)!r}" if bad else None


class ResumeAutoSharedDir(Rule):
    code = "WB007"
    name = "resume-auto-shared-dir"
    severity = Severity.WARNING
    summary = "resume=\"auto\" in jobs launched side by side without a directory of their own"
    why = (
        "`resume=\"auto\"` (and `resume=True`, WANDB_RESUME=auto) keeps the run id in `<dir>/wandb/wandb-resume.json` "
        "and resumes whatever run that file names. Jobs started together from one folder (an array job, a matrix, "
        "parallel pods) share the file and resume each other's runs. Give each job its own `dir=`/WANDB_DIR, or "
        "resume by an explicit id."
    )
    examples = [
        Bad("seeds.sbatch", "#!/bin/bash\n#SBATCH --array=0-3\nsrun python train.py --seed $SLURM_ARRAY_TASK_ID\n",
            files={"train.py": "import wandb\nwandb.init(project='p', name='sft', resume='auto')\n"},
            expect="train.py:2:1"),
        Good("seeds.sbatch", "#!/bin/bash\n#SBATCH --array=0-3\nexport WANDB_DIR=runs/$SLURM_ARRAY_TASK_ID\n"
             "srun python train.py --seed $SLURM_ARRAY_TASK_ID\n",
             files={"train.py": "import wandb\nwandb.init(project='p', name='sft', resume='auto')\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        seen = set()
        for launch in project.launches():
            if launch.fan_out is None:
                continue
            env = launch.env_map()
            directory = env.get("WANDB_DIR")
            if directory is not None and (directory.reference or "$" in (directory.value or "")):
                continue  # a directory per job
            auto_env = (env.get("WANDB_RESUME").value or "").lower() in ("auto", "true") if "WANDB_RESUME" in env \
                else False
            script = project.entry(launch).script
            for run in project.facts_in(script, WandbRun) if script else []:
                resume = run.resume
                auto = auto_env or (resume is not None and resume.known
                                    and str(resume.literal).lower() in ("auto", "true"))
                if not auto or run.directory is not None or run.location in seen:
                    continue
                seen.add(run.location)
                yield self.finding(run.location, f"resume=\"auto\" keeps the run id in wandb/wandb-resume.json, and "
                                   f"{launch.fan_out} ({launch.label}) starts several jobs that share it: they resume "
                                   "each other's runs; give each job its own dir=/WANDB_DIR or resume by id",
                                   related=[Related(launch.fan_out_location or launch.location,
                                                    f"the fan-out: {launch.fan_out}")])


class UncheckedWandbSave(Rule):
    code = "WB008"
    name = "unchecked-wandb-save"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record
    summary = "`wandb.save(path)` on a path the script never writes or checks"
    why = (
        "`wandb.save` (and `run.save`) on a path that does not exist saves nothing, silently, and returns `[]`: "
        "the run looks complete but the file is missing from it. Write the file earlier in the same function, or "
        "check that it exists. Glob patterns and paths produced at run time are not reported."
    )
    examples = [
        Bad("train.py", "import wandb\n\nrun = wandb.init(name='r1')\nwandb.save('outputs/model.safetensors')\n",
            expect="train.py:4:1"),
        Good("train.py", "import wandb\n\nrun = wandb.init(name='r1')\nmodel.save_pretrained('outputs')\n"
             "wandb.save('outputs/model.safetensors')\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for log in project.facts(ArtifactLog):
            if log.api != "wandb.save" or not log.path_static or log.evidence is not None or "*" in log.path_text:
                continue
            yield self.finding(log.location, f"wandb.save({log.path_text}) saves a file this script never writes or "
                               "checks: if it is missing, nothing is saved and no error is raised; write it in this "
                               "function or check that it exists")


class LogModelTrueIgnored(Rule):
    code = "WB009"
    name = "log-model-true-ignored"
    severity = Severity.WARNING
    summary = "A model-logging setting the library ignores: WANDB_LOG_MODEL=true with transformers 5, a " \
              "Lightning logger's log_model string"
    why = (
        "transformers 4.46–4.57 accepted WANDB_LOG_MODEL=true as a deprecated alias for `end`; transformers 5 "
        "treats any value but `end`, `checkpoint` and `false` as unrecognised and disables model logging, with "
        "only a log line: the model you expected in W&B is not uploaded. Use WANDB_LOG_MODEL=end (or "
        "checkpoint). The transformers version comes from [tool.preflight.versions], else the project's pins "
        "(requirements, pyproject, `pip install`), else the newest the rules know. PyTorch Lightning's "
        "`WandbLogger` and `MLFlowLogger` upload checkpoints only when `log_model` is `True` (at the end of "
        "training) or `\"all\"` (each checkpoint as it is saved): `after_save_checkpoint` compares "
        "`self._log_model == \"all\"` and `self._log_model is True` (lightning 2.6.6 `pytorch/loggers/wandb.py` "
        "and `mlflow.py`, the same in 2.0.0 and pytorch_lightning 1.9.5), so the transformers values "
        "`log_model=\"checkpoint\"` or `\"end\"`, or the string `\"true\"`, upload nothing and say nothing."
    )
    examples = [
        Bad("run.sh", "#!/bin/bash\nexport WANDB_LOG_MODEL=true\naccelerate launch train.py\n", expect="run.sh:2:1"),
        Good("run.sh", "#!/bin/bash\nexport WANDB_LOG_MODEL=end\naccelerate launch train.py\n"),
        Bad("train.py", "from lightning.pytorch.loggers import WandbLogger\n\n"
            "logger = WandbLogger(project='p', name='r1', log_model='checkpoint')\n", expect="train.py:3:46",
            note="a Lightning logger given the transformers value"),
        Good("train.py", "from lightning.pytorch.loggers import WandbLogger\n\n"
             "logger = WandbLogger(project='p', name='r1', log_model='all')\n", note="every checkpoint is uploaded"),
        Good("train.py", "from lightning.pytorch.loggers import MLFlowLogger\n\n"
             "logger = MLFlowLogger(experiment_name='p', log_model=True)\n",
             note="True uploads the checkpoints at the end of training"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for logging in project.facts(LoggerModelLogging):
            value = logging.value
            literal = value.literal
            # compared as Lightning does: `is True`, so 1 uploads nothing; 0 and False mean off
            if value.known and not (literal is True or literal is False or literal is None or literal == "all"
                                    or (type(literal) is int and literal == 0)):
                yield self.finding(value.anchor, f"{logging.logger}(log_model={value.text}): Lightning uploads "
                                   "checkpoints only for log_model=True (at the end of training) or \"all\" (each "
                                   "checkpoint as it is saved) and ignores any other value, so no checkpoint is "
                                   "uploaded; use log_model=\"all\" or True")
        assumed = project.version("transformers")
        if assumed.major < 5:
            return
        for location, value, _ in project.env_settings("WANDB_LOG_MODEL"):
            if value is not None and value.strip().lower() in _TRUE:
                yield self.finding(location, f"WANDB_LOG_MODEL={value.strip()} is not a value "
                                   f"{assumed.describe()} knows: it disables model logging, so no model is uploaded; "
                                   "use WANDB_LOG_MODEL=end (or checkpoint)")


class WandbDisabledVariable(Rule):
    code = "WB010"
    name = "wandb-disabled-variable"
    severity = Severity.WARNING
    summary = "WANDB_DISABLED is used to switch W&B off"
    why = (
        "WANDB_DISABLED is not a W&B setting: the wandb library ignores it, so a direct `wandb.init` still needs a "
        "key and still logs. Only the HF integration read it, and transformers 5 removed it: with transformers >= 5 "
        "`report_to=\"wandb\"` logs (or crashes for want of a key) even with WANDB_DISABLED=true. Use "
        "`WANDB_MODE=disabled` (every W&B call becomes a no-op) or `report_to=\"none\"`. When the project installs "
        "only transformers 4.x, only a launched program that calls the wandb library itself is reported."
    )
    examples = [
        Bad(".github/workflows/test.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
            "      WANDB_DISABLED: \"true\"\n    steps:\n      - run: pytest\n",
            expect=".github/workflows/test.yml:6:7"),
        Bad(".github/workflows/test.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
            "      WANDB_DISABLED: \"true\"\n    steps:\n      - run: python train.py\n",
            files={"train.py": "import wandb\nwandb.init(project='p', name='smoke')\n",
                   "requirements.txt": "transformers==4.57.1\n"},
            expect=".github/workflows/test.yml:6:7", note="transformers 4.x, but the script calls wandb itself"),
        Good(".github/workflows/test.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
             "      WANDB_DISABLED: \"true\"\n    steps:\n      - run: pytest\n",
             files={"requirements.txt": "transformers==4.57.1\n"}, note="transformers 4.x's Trainer honours it"),
        Good(".github/workflows/test.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
             "      WANDB_MODE: disabled\n    steps:\n      - run: pytest\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        transformers = project.version("transformers")
        for location, value, where in project.env_settings("WANDB_DISABLED"):
            if value is not None and value.strip().lower() not in _TRUE:
                continue
            if not transformers.admits_at_least("5.0"):
                # transformers 4.x's Trainer integration honours it: only a direct wandb.init ignores it
                direct = _direct_use(project, location.path)
                if direct is not None:
                    yield self.finding(location, f"WANDB_DISABLED is not a W&B variable: {transformers.describe()} "
                                       f"honours it for the Trainer, but wandb ignores it and {direct.description}; "
                                       "use WANDB_MODE=disabled", related=[Related(direct.location, "the W&B use")])
                continue
            yield self.finding(location, "WANDB_DISABLED is not a W&B variable: wandb ignores it and transformers 5 "
                               "no longer reads it, so W&B stays on; use WANDB_MODE=disabled (or report_to none)")


def _direct_use(project: Project, path: str):
    """A W&B use through the wandb library itself (not the Trainer's integration) that a launch in this
    launcher file runs."""
    from preflight import launches

    for launch in project.facts_in(path, Launch):
        found = next((u for u in launches.running_uses(project, launch) if not u.integration), None)
        if found is not None:
            return found
    return None


class FixedIdentityInSweep(Rule):
    code = "WB011"
    name = "fixed-identity-in-sweep"
    severity = Severity.INFO
    skips_test_code = True  # the consequence is an experiment record
    summary = "A sweep program passes a literal name, id or project to wandb.init"
    why = (
        "Inside a sweep, wandb.init ignores `project`, `entity` and `id` (W&B warns \"Ignoring project/entity/run_id "
        "... when running a sweep\"), and a literal `name` gives every trial the same display name. Let the sweep "
        "name its trials, or build the name from the trial's config."
    )
    examples = [
        Bad("train.py", "import wandb\n\nwandb.init(project='llm', name='baseline')\n",
            files={"sweep.yaml": "program: train.py\nmethod: random\nparameters:\n  lr: {values: [1, 2]}\n"},
            expect="train.py:3:12"),
        Good("train.py", "import wandb\n\nwith wandb.init() as run:\n    run.name = f\"lr{run.config.lr}\"\n",
             files={"sweep.yaml": "program: train.py\nmethod: random\nparameters:\n  lr: {values: [1, 2]}\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for path in project.paths_holding(WandbRun):
            runs = [f for f in project.facts_in(path, WandbRun) if f.started_by is RunStart.WANDB_INIT]
            if not runs:
                continue
            swept = project.whole_file_swept(path)
            for run in runs:
                if not (swept or run.in_sweep_function):
                    continue
                for value, what in ((run.project, "project"), (run.run_id, "id"), (run.name, "name")):
                    if value is not None and value.known and isinstance(value.literal, str):
                        effect = "is the same for every trial" if what == "name" else "is ignored inside a sweep"
                        yield self.finding(value.anchor, f"{what}={value.literal!r} {effect}; let the sweep name "
                                           "its trials (or build the name from the trial's config)")
                        break


class WandbSilentHidesLoss(Rule):
    code = "WB012"
    name = "wandb-silent-hides-loss"
    severity = Severity.INFO
    summary = "WANDB_SILENT=true hides W&B's warnings, including dropped steps"
    why = (
        "When a step is logged out of order, W&B drops the data with only a warning (\"Tried to log to step 3 that "
        "is less than the current step 5 ... this data will be ignored\"). WANDB_SILENT=true removes that warning "
        "too, so lost metrics go unnoticed. Keep W&B's warnings, or silence only the noisy logger."
    )
    examples = [
        Bad("run.sh", "#!/bin/bash\nexport WANDB_SILENT=true\npython train.py\n", expect="run.sh:2:1"),
        Good("run.sh", "#!/bin/bash\nexport WANDB_CONSOLE=off\npython train.py\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for location, value, where in project.env_settings("WANDB_SILENT"):
            if value is not None and value.strip().lower() in _TRUE:
                yield self.finding(location, "WANDB_SILENT=true also hides the warning W&B prints when it drops "
                                   "out-of-order steps: lost metrics go unnoticed")



class WeaveOpWithoutInit(Rule):
    code = "WB013"
    name = "weave-op-without-init"
    severity = Severity.WARNING
    skips_test_code = True  # the consequence is an experiment record (traces)
    summary = "@weave.op functions in a program that never calls weave.init"
    why = (
        "A `@weave.op` function records a trace only when a Weave client exists: weave 0.54.0 "
        "`trace/op.py` checks `weave_client_context.get_weave_client() is None` on every call, and then runs the "
        "function untraced, printing once \"Warning: Traces will not be logged. Call weave.init to log your traces "
        "to a project.\" The client comes from `weave.init(project)`, or, from wandb 0.22, from a W&B run start "
        "in a program that has imported weave (`wandb.init` calls `wandb.integration.weave."
        "init_weave_if_imported`, unless WANDB_DISABLE_WEAVE is set; wandb 0.31.0 `sdk/wandb_init.py`). A program "
        "whose code defines ops and starts neither runs every call with nothing recorded. Call `weave.init(\"team/"
        "project\")` at the start of the program. Judged for programs preflight can see whole: a script with a "
        "`__main__` block or a notebook that defines ops, and the scripts a launcher runs, with the project modules "
        "they import. Not reported: a module only imported (its users call `weave.init`), a program that calls "
        "`weave.init` or starts a W&B run anywhere in the modules it loads, an op module that some program with "
        "an init also loads, test code."
    )
    examples = [
        Bad("app.py", "import weave\n\n\n@weave.op\ndef answer(question: str) -> str:\n    return question.upper()\n"
            "\n\nif __name__ == \"__main__\":\n    answer(\"hello\")\n", expect="app.py:4:2"),
        Bad("run.sh", "#!/bin/bash\npython pipeline.py\n",
            files={"pipeline.py": "import weave\n\nfrom steps import clean\n\nclean('x')\n",
                   "steps.py": "from weave import op\n\n\n@op()\ndef clean(text):\n    return text.strip()\n"},
            expect="steps.py:4:2", note="the op is in a module the launched script imports"),
        Good("app.py", "import weave\n\n\n@weave.op\ndef answer(question: str) -> str:\n    return question.upper()\n"
             "\n\nif __name__ == \"__main__\":\n    weave.init(\"team/qa\")\n    answer(\"hello\")\n"),
        Good("app.py", "import wandb\nimport weave\n\n\n@weave.op\ndef answer(question: str) -> str:\n"
             "    return question.upper()\n\n\nif __name__ == \"__main__\":\n    wandb.init(project=\"qa\", "
             "name=\"eval-1\")\n    answer(\"hello\")\n",
             note="a W&B run start initialises Weave when weave is imported (wandb 0.22+)"),
        Good("ops.py", "import weave\n\n\n@weave.op\ndef answer(question: str) -> str:\n    return question.upper()\n",
             note="a module only imported: the program that uses it calls weave.init"),
        Good("run.sh", "#!/bin/bash\npython pipeline.py\n",
             files={"pipeline.py": "import weave\n\nfrom steps import clean\n\nweave.init('team/p')\nclean('x')\n",
                    "steps.py": "from weave import op\n\n\n@op()\ndef clean(text):\n    return text.strip()\n"},
             note="the launched script initialises Weave before calling the imported op"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        ops = [fact for fact in project.facts(WeaveOps)]
        if not ops:
            return
        programs = {fact.location.path for fact in ops if fact.program}
        for launch in project.launches():
            script = project.entry(launch).script
            if script is not None and script.endswith(".py"):
                programs.add(script)
        loaded = {program: project.programs.loaded_modules(program) for program in sorted(programs)}
        for fact in ops:
            path = fact.location.path
            users = [program for program, modules in loaded.items() if path in modules]
            if not users or any(_initialises_weave(project, loaded[program]) for program in users):
                continue
            what = "this op" if fact.count == 1 else f"these {fact.count} ops"
            yield self.finding(fact.location, f"no weave.init (nor W&B run start) runs in {_programs(users)}: "
                               f"calls of {what} run untraced and Weave prints \"Traces will not be logged\"; call "
                               "weave.init(\"team/project\") at the start of the program")


def _initialises_weave(project: Project, modules: list[str]) -> bool:
    """Some module of the program calls weave.init or starts a W&B run (which starts Weave when weave is
    imported, wandb 0.22+), wherever the call sits: an init that may run is not a missing one."""
    return any(project.facts_in(path, WandbRun) or any(use.api == "weave.init"
                                                        for use in project.facts_in(path, TrackerUse))
               for path in modules)


def _programs(paths: list[str]) -> str:
    return f"the program {paths[0]}" if len(paths) == 1 else f"the programs that load it ({', '.join(paths)})"


# More saves than this, each uploaded whole, is what makes checkpoint logging a storage question.
_MANY_SAVES = 10


class CheckpointArtifactsUnbounded(Rule):
    code = "WB014"
    name = "checkpoint-artifacts-unbounded"
    severity = Severity.INFO
    skips_test_code = True  # the consequence is the storage of a real run's artifacts
    summary = "WANDB_LOG_MODEL=checkpoint uploads every checkpoint of a frequently saving run to W&B"
    why = (
        "With `WANDB_LOG_MODEL=checkpoint` (Axolotl: `wandb_log_model: checkpoint`, which it exports as that "
        "variable), transformers' `WandbCallback.on_save` uploads the whole checkpoint folder at every save: "
        "`wandb.Artifact(name=f\"model-{run id or name}\", type=\"model\")`, `add_dir(output_dir/checkpoint-N)`, "
        "`log_artifact(..., aliases=[\"epoch_…\", \"checkpoint_global_step_N\"])` (transformers 4.57.1 and 5.24.0 "
        "`integrations/integration_utils.py`, `on_save`). Each save is a new artifact version holding the weights "
        "and, for a full checkpoint, the optimizer state, and `save_total_limit` deletes only the local folders: "
        "the versions stay in W&B storage, counted against the quota, until someone deletes them. Reported when "
        f"the run saves by steps with no bound on the number of saves (no `max_steps`), or more than {_MANY_SAVES} "
        "times; save less often, use `WANDB_LOG_MODEL=end` (one upload of the final model), or set a TTL or a "
        "cleanup of old versions. Not reported: `end`/`false`, a run that does not report to W&B (an explicit "
        "`report_to` with `wandb`; Axolotl's `use_wandb` or `wandb_project`), `wandb_mode: disabled`, `save_strategy "
        "no`, saves per epoch or a ratio that bound their number, test code."
    )
    examples = [
        Bad("axolotl.yaml", _AXOLOTL_BASE +
            "wandb_project: sft\nwandb_log_model: checkpoint\nsave_steps: 100\n", expect="axolotl.yaml:6:1"),
        Bad("run.sh", "#!/bin/bash\nexport WANDB_LOG_MODEL=checkpoint\npython train.py\n",
            files={"train.py": "from transformers import Trainer, TrainingArguments\n\nargs = TrainingArguments("
                   "output_dir='out', report_to=['wandb'], save_steps=200)\n"
                   "Trainer(model=model, args=args, train_dataset=train).train()\n"},
            expect="run.sh:2:1", note="the variable set by the launcher of a Trainer script"),
        Good("axolotl.yaml", _AXOLOTL_BASE + "wandb_project: sft\nwandb_log_model: end\nsave_steps: 100\n",
             note="only the final model is uploaded"),
        Good("axolotl.yaml", _AXOLOTL_BASE +
             "wandb_project: sft\nwandb_log_model: checkpoint\nsaves_per_epoch: 2\nnum_epochs: 3\n",
             note="six saves: their number is bounded and small"),
        Good("axolotl.yaml", _AXOLOTL_BASE +
             "wandb_log_model: checkpoint\nsave_steps: 100\n", note="W&B is not on: nothing is uploaded"),
        Good("run.sh", "#!/bin/bash\nexport WANDB_LOG_MODEL=checkpoint\npython train.py\n",
             files={"train.py": "from transformers import Trainer, TrainingArguments\n\nargs = TrainingArguments("
                    "output_dir='out', report_to=['wandb'], save_steps=200, max_steps=1000)\n"
                    "Trainer(model=model, args=args, train_dataset=train).train()\n"},
             note="max_steps bounds the saves to five"),
        Good("run.sh", "#!/bin/bash\nexport WANDB_LOG_MODEL=checkpoint\npython train.py\n",
             files={"train.py": "from transformers import Trainer, TrainingArguments\n\nargs = TrainingArguments("
                    "output_dir='out', report_to=['tensorboard'], save_steps=200)\n"
                    "Trainer(model=model, args=args, train_dataset=train).train()\n"},
             note="the run does not report to W&B"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        seen: set[Location] = set()
        for run in training_runs(project, where=axolotl):
            if run.path is None:
                continue
            value = run.args.get("wandb_log_model")
            if value is None or not value.known or value.literal != "checkpoint" or not _axolotl_wandb_on(run):
                continue
            saves = _axolotl_saves(run)
            if saves is not None and value.anchor not in seen:
                seen.add(value.anchor)
                yield self.finding(value.anchor, _artifacts_message("wandb_log_model: checkpoint", saves))
        settings = _checkpoint_logging_targets(project)
        if not settings:
            return
        for run, e in trainer_runs(project):
            places = {p for p in (run.path, run.script, run.location.path) if p}
            for location, targets in settings:
                if location in seen or not places & targets or not _reports_to_wandb(e):
                    continue
                saves = _trainer_saves(e)
                if saves is not None:
                    seen.add(location)
                    yield self.finding(location, _artifacts_message("WANDB_LOG_MODEL=checkpoint", saves),
                                       related=[Related(run.location, "the training arguments of the run")])


def _checkpoint_logging_targets(project: Project) -> list[tuple[Location, set[str]]]:
    """Each place that sets WANDB_LOG_MODEL=checkpoint, with the files whose runs get it: the script and
    config a launch runs (and the modules the script loads), or the Python file that writes os.environ."""
    found: dict[Location, set[str]] = {}
    for launch in project.launches():
        binding = launch.env_map().get("WANDB_LOG_MODEL")
        if binding is None or binding.value is None or binding.value.strip() != "checkpoint":
            continue
        resolved = project.entry(launch)
        targets = set(project.programs.loaded_modules(resolved.script)) if resolved.script else set()
        if resolved.config:
            targets.add(resolved.config)
        found.setdefault(binding.location, set()).update(targets)
    for path in project.paths_holding(EnvWrite):
        for write in project.facts_in(path, EnvWrite):
            if write.name == "WANDB_LOG_MODEL" and write.value.known and write.value.literal == "checkpoint":
                found.setdefault(write.location, set()).add(path)
    return [(location, targets) for location, targets in found.items() if targets]


def _reports_to_wandb(e) -> bool:
    """An explicit report_to that names W&B ("all" depends on what is installed: not judged)."""
    value = e.get("report_to")
    names = [value] if isinstance(value, str) else value if isinstance(value, (list, tuple)) else []
    return "wandb" in names


def _trainer_saves(e) -> str | None:
    """How often the run saves, when that makes many uploads: "every N steps" (no bound) or "N times";
    None when the saves are few, bounded by epochs, or not known."""
    if not e.known("save_strategy", "save_steps", "max_steps") or e.get("save_strategy") != "steps":
        return None
    return _many(e.get("save_steps"), e.get("max_steps"))


def _axolotl_wandb_on(run) -> bool:
    """Axolotl reports to W&B with `use_wandb`, which `wandb_project` sets (utils/wandb_.py); not when the
    run's mode is `disabled`."""
    known, mode = run.literal("wandb_mode")
    if not known or mode == "disabled":
        return False
    known_use, use = run.literal("use_wandb")
    known_project, name = run.literal("wandb_project")
    return (known_use and use is True) or (known_project and isinstance(name, str) and name != "")


def _axolotl_saves(run) -> str | None:
    """Axolotl saves every `save_steps`, else `saves_per_epoch` times an epoch (a ratio: bounded), else each
    epoch (core/builders/base.py `_configure_save_and_eval_strategy`)."""
    values = {}
    for key in ("save_steps", "save_strategy", "max_steps"):
        known, values[key] = run.literal(key)
        if not known:
            return None
    if values["save_strategy"] == "no" or values["save_strategy"] not in (None, "steps"):
        return None
    return _many(values["save_steps"], values["max_steps"])


def _many(interval: object, max_steps: object) -> str | None:
    if not is_number(interval) or interval < 1:
        return None  # a ratio of the total steps bounds the saves to 1/ratio
    if is_number(max_steps) and max_steps > 0:
        saves = int(max_steps // interval) + (1 if max_steps % interval else 0)
        return f"{saves} times" if saves > _MANY_SAVES else None
    return f"every {number_text(interval)} steps, with no max_steps to bound the count"


def _artifacts_message(setting: str, saves: str) -> str:
    return (f"{setting} uploads the whole checkpoint to W&B at every save, and this run saves {saves}: each upload "
            "is a new artifact version kept in W&B storage (save_total_limit deletes only the local folders); save "
            "less often, use WANDB_LOG_MODEL=end, or clean up old versions")
