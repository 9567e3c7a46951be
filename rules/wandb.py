"""Weights & Biases runs."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Related, Severity
from preflight.model import EnvDeclaration, EnvWrite, Launch, Value, WandbRun
from preflight.project import Project
from preflight.rule import Bad, Good, Rule

IDENTITY_VARIABLES = ("WANDB_NAME", "WANDB_RUN_ID")
_NAME_FLAGS = {"report_to": ("run_name",), "Axolotl wandb_project": ("wandb_name", "wandb_run_id")}

_MISSING = {
    "wandb.init": "wandb.init() starts a run with neither name= nor id=",
    "WandbLogger": "WandbLogger() starts a run without name= or id=",
    "init_trackers": "init_trackers() starts a W&B run without init_kwargs={\"wandb\": {\"name\": ...}}",
    "report_to": "report_to includes \"wandb\" but run_name is not set",
    "Axolotl wandb_project": "wandb_project is set but wandb_name is not",
    "Hydra WandbLogger": "this WandbLogger has no name",
}


class UnnamedWandbRun(Rule):
    code = "WB001"
    name = "unnamed-wandb-run"
    severity = Severity.WARNING
    summary = "W&B run started without a deterministic name"
    why = (
        "Without a name W&B picks a random one (`sunny-river-12`), and a name built from the clock, a UUID "
        "or `wandb.util.generate_id()` differs on every launch. Either way a rerun of the same configuration "
        "cannot be matched to its earlier attempt, related jobs cannot be grouped, and sweeps and reports "
        "fill with runs nobody can identify. Give every run a name derived from what it is (model, dataset, "
        "a short hash of the hyperparameters). Not reported when `WANDB_NAME`/`WANDB_RUN_ID` is set by the "
        "script, its config or its launcher, when the run is off (`mode=\"disabled\"`), or inside a function "
        "run by `wandb.agent` or a program run by a sweep (the sweep names its trials)."
    )
    examples = [
        Bad("train.py", """import wandb

run = wandb.init(project="llama-sft", config={"lr": 2e-5})
""", expect="train.py:3:7"),
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
        for file in list(project.files.values()):
            runs = [f for f in file.facts if isinstance(f, WandbRun)]
            if not runs:
                continue
            named_by_file = _identity_from_env(f for f in file.facts if isinstance(f, EnvWrite))
            swept = project.sweep_running(file.path) is not None  # the sweep names its trials
            launches = project.launches_of(file.path)
            for run in runs:
                if run.disabled or not run.identity_known or run.in_sweep_function:
                    continue
                finding = self._judge(run, named_by_file, swept, launches)
                if finding is not None:
                    yield finding

    def _judge(self, run: WandbRun, named_by_file: str | None, swept: bool, launches: list[Launch]) -> Finding | None:
        for value in (run.name, run.run_id):
            if value is not None and value.nondeterministic:
                return self.finding(
                    value.anchor,
                    f"the W&B run {'name' if value is run.name else 'id'} is built from {value.nondeterministic}, "
                    "so it differs on every launch and a rerun cannot be matched to its earlier attempt: derive "
                    "it from the configuration instead (model, dataset, a short hash of the hyperparameters)",
                )
        if run.name is not None or run.run_id is not None or named_by_file or swept:
            return None
        if any(_launch_names_run(launch, run.api) for launch in launches):
            return None
        return self.finding(
            run.location,
            f"{_MISSING.get(run.api, 'a W&B run starts without a name')}: W&B gives it a random name, so reruns "
            "and related jobs cannot be matched; set a deterministic name (e.g. from a hash of the config)",
        )


def _identity_from_env(writes) -> str | None:
    for write in writes:
        if write.name in IDENTITY_VARIABLES and not _empty(write.value):
            return write.name
    return None


def _empty(value: Value) -> bool:
    return value.known and (value.literal is None or str(value.literal).strip() == "")


def _launch_names_run(launch: Launch, api: str) -> bool:
    env = launch.env_map()
    if any(name in env and not env[name].is_empty for name in IDENTITY_VARIABLES):
        return True
    return any(launch.entry.arg(flag) for flag in _NAME_FLAGS.get(api, ("run_name",)))



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
                if run.disabled or value is None or not value.known or not isinstance(value.literal, str):
                    continue
                if value.nondeterministic or not value.literal.strip():
                    continue
                return value.anchor, f"the run id {value.literal!r}"
        return None


def _declared(project: Project, variable: str):
    """Every place a launcher, config or script sets `variable`: (location, value or None, where)."""
    seen = set()
    for declaration in project.facts(EnvDeclaration):
        binding = declaration.binding
        if binding.name == variable and binding.location not in seen:
            seen.add(binding.location)
            yield binding.location, binding.value, declaration.where
    for launch in project.launches():
        for binding in launch.env:
            if binding.name == variable and binding.origin == "the command's prefix" and binding.location not in seen:
                seen.add(binding.location)
                yield binding.location, binding.value, launch.launcher
    for write in project.facts(EnvWrite):
        if write.name == variable and write.location not in seen:
            seen.add(write.location)
            yield write.location, str(write.value.literal) if write.value.known else None, "script"


_TRUE = {"true", "1", "yes", "on", "y", "t"}


class WandbDisabledVariable(Rule):
    code = "WB010"
    name = "wandb-disabled-variable"
    severity = Severity.WARNING
    summary = "WANDB_DISABLED is used to switch W&B off"
    why = (
        "WANDB_DISABLED is not a W&B setting: the wandb library ignores it, so a direct `wandb.init` still needs a "
        "key and still logs. Only the HF integration read it, and transformers 5 removed it: with transformers >= 5 "
        "`report_to=\"wandb\"` logs (or crashes for want of a key) even with WANDB_DISABLED=true. Use "
        "`WANDB_MODE=disabled` (every W&B call becomes a no-op) or `report_to=\"none\"`."
    )
    examples = [
        Bad(".github/workflows/test.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
            "      WANDB_DISABLED: \"true\"\n    steps:\n      - run: pytest\n", expect=".github/workflows/test.yml:6:7"),
        Good(".github/workflows/test.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
             "      WANDB_MODE: disabled\n    steps:\n      - run: pytest\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for location, value, where in _declared(project, "WANDB_DISABLED"):
            if value is not None and value.strip().lower() not in _TRUE:
                continue
            yield self.finding(location, "WANDB_DISABLED is not a W&B variable: wandb ignores it and transformers 5 "
                               "no longer reads it, so W&B stays on; use WANDB_MODE=disabled (or report_to none)")


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
        for location, value, where in _declared(project, "WANDB_SILENT"):
            if value is not None and value.strip().lower() in _TRUE:
                yield self.finding(location, "WANDB_SILENT=true also hides the warning W&B prints when it drops "
                                   "out-of-order steps: lost metrics go unnoticed")
