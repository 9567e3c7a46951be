"""ENV: what a launcher gives the training process: the W&B key and settings (workflows, compose, Kubernetes,
Slurm, DeepSpeed, containers), the MLflow store it writes to, the tracking host its network allows."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight import classify, launches, textedits
from preflight.findings import Finding, Fix, Location, Related, Severity
from preflight.model import (
    ComposeService, EntryKind, EnvDeclaration, EnvWrite, HostMention, Launch, Launcher, LoginCommand, SecretsPassed,
    SyncCommand, Tracker, TrackerUse, TrainingConfig, WorkflowCall,
)
from preflight.paths import repository_root
from preflight.project import Project
from preflight.rule import Bad, Good, Rule
from preflight.secrets import TRACKING_KEYS


KEY = launches.KEY


def _target(launch: Launch) -> str:
    entry = launch.entry
    if entry.kind is EntryKind.AXOLOTL:
        return f"axolotl train {entry.config}"
    if entry.kind is EntryKind.TRL:
        return f"trl {entry.target}" + (f" --config {entry.config}" if entry.config else "")
    return entry.target


_CRASH = ("the job will crash at wandb.init (UsageError: no API key) or hang at the login prompt, after the "
          "model has loaded")


_HOW_TO_PASS = {
    Launcher.GITHUB_ACTIONS: "pass it to the step or job, e.g. `env: WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}`",
    Launcher.COMPOSE: "add `WANDB_API_KEY: ${WANDB_API_KEY:?set WANDB_API_KEY}` under the service's `environment:`"
                      " (or an `env_file:` that sets it)",
    Launcher.KUBERNETES: "add an env entry with `valueFrom: secretKeyRef:` (or `envFrom: secretRef:`) for "
                         "WANDB_API_KEY",
}


_STEP = """on: push
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Fine-tune
        run: python train.py --epochs 1
"""
_SERVICE = """services:
  trainer:
    build: .
    environment:
      - HF_HOME=/data/hf
    command: axolotl train configs/lora.yml
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
        "preflight follows the launcher (workflow step, compose service, Kubernetes container, the image's CMD) "
        "to the script or config it runs and asks whether any channel gives the process the key: env at any "
        "level, `$GITHUB_ENV`, an earlier `wandb login`, a mounted netrc, `docker run -e`/`--env-file`, "
        "compose `environment`/`env_file`, `secretKeyRef`/`envFrom`, or W&B switched off "
        "(`WANDB_MODE=offline/disabled`, `--report_to none`). Shell and sbatch scripts inherit their caller's "
        "environment and are not asked; a Dockerfile is never asked (the runner supplies the key); nor is a dstack "
        "or SkyPilot task whose file does not name the key (`dstack apply -e`, `sky launch --env`/`--secret` may "
        "add it), nor a Ray job (`ray job submit` gives it the cluster's environment, which is not in the tree). "
        "The W&B use "
        "must run for this launch: calls are followed from the entry point (a function nobody calls, or an "
        "imported module's `__main__` block, is not a run), and conditions on the way are decided with the "
        "launch's own flags and argparse defaults, Hydra overrides and config defaults, and the environment it "
        "sets; where that cannot be decided nothing is reported (`-v` says so). A `docker run` that drops a key "
        "the caller has is ENV004, a blank compose value ENV005, a login in another job ENV012: this rule yields "
        "to them while they are reported."
    )
    examples = [
        Bad(".github/workflows/train.yml", _STEP,
            files={"train.py": 'import wandb\n\nrun = wandb.init(project="llama-sft", name="llama-sft-baseline")\n'},
            expect=".github/workflows/train.yml:8:14", fixed=_STEP, unsafe_fixed=_STEP.replace(
                "        run:", "        env:\n          WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}\n        run:")),
        Bad("docker-compose.yml", _SERVICE,
            files={"configs/lora.yml": "base_model: Qwen/Qwen2.5-0.5B\nwandb_project: qwen-lora\n"
                                       "wandb_name: lora-r16\n"},
            expect="docker-compose.yml:6:14", fixed=_SERVICE, unsafe_fixed=_SERVICE.replace(
                "      - HF_HOME", "      - WANDB_API_KEY=${WANDB_API_KEY:?set WANDB_API_KEY}\n      - HF_HOME"),
            note="the key goes into the service's `environment:` list, as its other variables"),
        Bad("scripts/train.sh", """#!/bin/bash
docker run --gpus all -v "$PWD":/workspace -w /workspace trainer:1.4 python train.py
""", files={"train.py": 'import wandb\n\nrun = wandb.init(project="llama-sft", name="llama-sft-baseline")\n'},
            expect="scripts/train.sh:2:1",
            note="a container gets no variable of the caller's unless `-e`/`--env-file` passes it: whatever the "
                 "shell has, the key stops here; the script is run from the root, where $PWD is mounted"),
        Good(".github/workflows/train.yml", """on: push
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Fine-tune
        env:
          WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}
        run: python train.py --epochs 1
""", files={"train.py": 'import wandb\n\nrun = wandb.init(project="llama-sft", name="llama-sft-baseline")\n'}),
        Good("k8s/job.yaml", """apiVersion: batch/v1
kind: Job
metadata: {name: finetune}
spec:
  template:
    spec:
      containers:
        - name: trainer
          image: registry.example.com/trainer:1.4
          command: ["python", "train.py"]
          env:
            - name: WANDB_API_KEY
              valueFrom:
                secretKeyRef: {name: wandb, key: api-key}
      restartPolicy: Never
""", files={"train.py": 'import wandb\n\nwandb.init(project="p", name="k8s-finetune")\n'}),
        Good("train.dstack.yml", """type: task
name: llama-sft
python: "3.11"
env:
  - WANDB_API_KEY
commands:
  - pip install -r requirements.txt
  - python train.py --epochs 1
resources:
  gpu: 24GB
""", files={"train.py": 'import wandb\n\nrun = wandb.init(project="llama-sft", name="llama-sft-baseline")\n'},
             note="a dstack env name without a value: `dstack apply` takes it from your environment, or refuses to "
                  "start"),
    ]

    autofix = ("Adds the key to the step's `env:` (from the repository's secrets: `WANDB_API_KEY: ${{ "
               "secrets.WANDB_API_KEY }}`) or the compose service's `environment:` (from the caller's environment, "
               "failing fast without it: `WANDB_API_KEY: ${WANDB_API_KEY:?set WANDB_API_KEY}`, or "
               "`- WANDB_API_KEY=${WANDB_API_KEY:?set WANDB_API_KEY}` in a list), creating the key when the step or "
               "service has none; an exact text edit, indented as the file is.")
    fixes = ("unsafe",)
    fix_safety = (
        "Unsafe: it names a credential the fix cannot see. A workflow's `secrets.WANDB_API_KEY` must exist in "
        "the repository or organisation (an unknown secret is an empty string: the job then fails as before, "
        "ENV006 says so), and it exposes the key to that step only, where the job could have other ways. A "
        "compose service's `${WANDB_API_KEY:?...}` makes `docker compose up` refuse to start without the key in "
        "the caller's environment or the `.env` beside the file, where the service started before and crashed at "
        "wandb.init; the form `${WANDB_API_KEY}` is not used, since it turns a missing key into an empty one "
        "(ENV005). Only for a workflow step or compose service whose own block collection takes the entry "
        "exactly (its keys start their lines, no flow style, anchor or merge key in the way); a launch inside a "
        "`docker run` or a `docker compose run` of another service gets no fix.")

    yields_to = ("ENV004", "ENV005", "ENV012")  # the key dropped at a container boundary, blank, or elsewhere

    def check(self, project: Project) -> Iterator[Finding]:
        for launch in project.launches():
            if launch.inherits_env:
                continue
            uses = launches.missing_key(project, launch)
            if uses is None:
                continue
            how = _HOW_TO_PASS.get(launch.launcher, "pass WANDB_API_KEY to the process")
            if launch.boundary:
                how = f"pass it into the container (e.g. `{launch.boundary.split()[0]} ... -e WANDB_API_KEY`)"
            yield self.finding(
                launch.location,
                f"{launch.label} runs {_target(launch)}, which {uses[0].description}, but no channel gives the process "
                f"{KEY}: {_CRASH}; {how}",
                related=[Related(uses[0].location, uses[0].description)],
                subject=launches.subject(launch),
                fix=_pass_key(project, launch),
            )


_SUPPLIED = {Launcher.GITHUB_ACTIONS: f"${{{{ secrets.{KEY} }}}}", Launcher.COMPOSE: f"${{{KEY}:?set {KEY}}}"}


def _pass_key(project: Project, launch: Launch) -> Fix | None:
    """The key added to the launcher's own environment, from where that launcher supplies secrets."""
    value = _SUPPLIED.get(launch.launcher)
    slot = launch.env_slot
    if value is None or slot is None or launch.boundary or launch.compose_service:
        return None
    entry = f"{KEY}={value}" if slot.listed else f"{KEY}: {value}"
    edit = textedits.insert_lines(project, slot.location, slot.lines.replace("{entry}", entry))
    return Fix(f"pass {KEY}", (edit,), safe=False) if edit else None


class SecretsAbsentOnForkPr(Rule):
    code = "ENV002"
    name = "secrets-absent-on-fork-pr"
    severity = Severity.WARNING
    summary = "A W&B step reads secrets.WANDB_API_KEY in a workflow triggered by pull_request"
    why = (
        "Secrets are not passed to workflows triggered by pull requests from forks: `${{ secrets.WANDB_API_KEY }}` "
        "is an empty string there, so the W&B step fails at `wandb.init` for every outside contribution. Gate "
        "the step or job with `if: github.event.pull_request.head.repo.fork == false`, or switch W&B off for "
        "fork PRs (`WANDB_MODE: offline`). `pull_request_target` is not affected."
    )
    examples = [
        Bad(".github/workflows/ci.yml", """on: [push, pull_request]
jobs:
  smoke:
    runs-on: ubuntu-latest
    env:
      WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}
    steps:
      - run: python train.py --max_steps 5
""", files={"train.py": "import wandb\nwandb.init(name='smoke')\n"}, expect=".github/workflows/ci.yml:8:14"),
        Good(".github/workflows/ci.yml", """on: [push, pull_request]
jobs:
  smoke:
    if: github.event.pull_request.head.repo.fork == false
    runs-on: ubuntu-latest
    env:
      WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}
    steps:
      - run: python train.py --max_steps 5
""", files={"train.py": "import wandb\nwandb.init(name='smoke')\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for launch in project.launches():
            if launch.launcher is not Launcher.GITHUB_ACTIONS or "pull_request" not in launch.triggers \
                    or launch.fork_gated:
                continue
            binding = launch.env_map().get(KEY)
            if binding is None or "secrets." not in (binding.value or "") or not launches.running_uses(project, launch):
                continue
            if launches.switched_off(project, launch):
                continue
            yield self.finding(
                launch.location,
                f"{launch.label} runs on pull_request and reads {binding.value.strip()} ({binding.origin}), which is "
                "empty for pull requests from forks: the step fails at wandb.init for outside contributors; gate it "
                "with `if: github.event.pull_request.head.repo.fork == false` or set WANDB_MODE=offline for forks",
                related=[Related(binding.location, f"{KEY} from {binding.origin}")],
            )


_SECRET_REF = re.compile(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)")


class ReusableWorkflowWithoutSecrets(Rule):
    code = "ENV003"
    name = "reusable-workflow-without-secrets"
    severity = Severity.ERROR
    summary = "A reusable workflow that needs the W&B key is called without passing secrets"
    why = (
        "Secrets are not passed to reusable workflows automatically: the called workflow sees an empty "
        "`secrets.WANDB_API_KEY` and its W&B step crashes at `wandb.init`. Call it with `secrets: inherit` or "
        "a `secrets:` map that includes the key."
    )
    examples = [
        Bad(".github/workflows/nightly.yml", """on: {schedule: [{cron: "0 3 * * *"}]}
jobs:
  train:
    uses: ./.github/workflows/train.yml
""", files={".github/workflows/train.yml": """on: {workflow_call: {secrets: {WANDB_API_KEY: {required: true}}}}
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - env:
          WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}
        run: python train.py
""", "train.py": "import wandb\nwandb.init(name='nightly')\n"}, expect=".github/workflows/nightly.yml:4:11"),
        Good(".github/workflows/nightly.yml", """on: {schedule: [{cron: "0 3 * * *"}]}
jobs:
  train:
    uses: ./.github/workflows/train.yml
    secrets: inherit
""", files={".github/workflows/train.yml": """on: {workflow_call: {}}
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - env:
          WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}
        run: python train.py
""", "train.py": "import wandb\nwandb.init(name='nightly')\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for call in project.facts(WorkflowCall):
            if call.secrets is SecretsPassed.INHERIT or not call.callee.startswith("./"):
                continue
            callee = project.resolve(repository_root(call.location.path), call.callee[2:])
            if callee is None:
                continue
            needed: dict[str, Launch] = {}
            for launch in project.facts_in(callee, Launch):
                binding = launch.env_map().get(KEY)
                if binding is None or not launches.running_uses(project, launch) \
                        or launches.switched_off(project, launch):
                    continue
                for secret in _SECRET_REF.findall(binding.value or ""):
                    needed.setdefault(secret, launch)
            missing = [name for name in needed if name not in call.secret_names]
            if not missing:
                continue
            launch = needed[missing[0]]
            passed = "passes no secrets" if call.secrets is None else f"does not pass {missing[0]}"
            yield self.finding(
                call.location,
                f"job '{call.job}' calls {call.callee}, whose {launch.label} needs secrets.{missing[0]}, but "
                f"{passed}: reusable workflows get no secrets by default, so the key is empty and the run "
                f"crashes at wandb.init; add `secrets: inherit` (or `secrets: {missing[0]}: "
                f"${{{{ secrets.{missing[0]} }}}}`)",
                related=[Related(launch.location, "the step that needs the key")],
            )


class DockerRunDropsKey(Rule):
    code = "ENV004"
    name = "docker-run-drops-key"
    severity = Severity.ERROR
    summary = "The key is in the step's environment but `docker run` does not pass it into the container"
    why = (
        "`docker run` and `docker compose run` start a process that sees only the variables passed with "
        "`-e`/`--env-file` (or the compose service's `environment`). A key in the step or script environment "
        "stops at the container boundary and `wandb.init` in the container crashes. Pass it on with "
        "`-e WANDB_API_KEY` (no value: the caller's value is used, and it stays out of `ps`)."
    )
    examples = [
        Bad(".github/workflows/train.yml", """on: push
jobs:
  train:
    runs-on: [self-hosted, gpu]
    env:
      WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}
    steps:
      - run: docker run --gpus all trainer:latest python train.py
""", files={"train.py": "import wandb\nwandb.init(name='r1')\n"}, expect=".github/workflows/train.yml:8:14"),
        Good(".github/workflows/train.yml", """on: push
jobs:
  train:
    runs-on: [self-hosted, gpu]
    env:
      WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}
    steps:
      - run: docker run --gpus all -e WANDB_API_KEY trainer:latest python train.py
""", files={"train.py": "import wandb\nwandb.init(name='r1')\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        reported: set = set()
        for launch, caller in launches.container_launches(project):
            if launch.location in reported or not (launches.outer_has_key(launch) or caller is not None):
                continue
            uses = launches.missing_key(project, launch)
            if uses is None:
                continue
            reported.add(launch.location)
            who = f"{caller.label}, which runs this script, has it" if caller is not None else "the caller has it"
            related = [Related(uses[0].location, uses[0].description)]
            if caller is not None:
                related.append(Related(caller.location, f"{caller.label} has {KEY}"))
            yield self.finding(
                launch.location,
                f"{launch.label} runs {_target(launch)}, which {uses[0].description}, but `{launch.boundary}` does "
                f"not pass {KEY} into the container although {who}: {_CRASH}; add `-e {KEY}`",
                related=related,
                subject=launches.subject(launch),
            )


class BlankComposeInterpolation(Rule):
    code = "ENV005"
    name = "blank-compose-interpolation"
    severity = Severity.WARNING
    summary = "A compose file passes WANDB_API_KEY as `${WANDB_API_KEY}` (or empty) with nothing to fill it"
    why = (
        "When the variable is not set in the shell and no `.env` beside the compose file sets it, compose "
        "substitutes an empty string with only a warning, and the container starts without a key: the run "
        "crashes at `wandb.init` after model loading. `${WANDB_API_KEY:?set WANDB_API_KEY}` stops `docker compose "
        "up` immediately instead; an empty `- WANDB_API_KEY=` never works. Reported for a service whose command "
        "runs W&B code (a dev container that idles, or one whose command is not known here, is not judged)."
    )
    examples = [
        Bad("docker-compose.yml", """services:
  trainer:
    image: trainer:latest
    command: python train.py
    environment:
      WANDB_API_KEY: ${WANDB_API_KEY}
""", files={"train.py": "import wandb\nwandb.init(project='p', name='r')\n"}, expect="docker-compose.yml:6:7",
            fixed="""services:
  trainer:
    image: trainer:latest
    command: python train.py
    environment:
      WANDB_API_KEY: ${WANDB_API_KEY}
""", unsafe_fixed="""services:
  trainer:
    image: trainer:latest
    command: python train.py
    environment:
      WANDB_API_KEY: ${WANDB_API_KEY:?set WANDB_API_KEY}
"""),
        Good("docker-compose.yml", """services:
  trainer:
    image: trainer:latest
    command: python train.py
    environment:
      WANDB_API_KEY: ${WANDB_API_KEY:?export WANDB_API_KEY first}
""", files={"train.py": "import wandb\nwandb.init(project='p', name='r')\n"}),
        Good("docker-compose.yml", """services:
  dev:
    image: trainer:latest
    command: tail -f /dev/null
    environment:
      WANDB_API_KEY: ${WANDB_API_KEY}
""", note="an idle dev container: whether W&B is used there is up to whoever attaches"),
        Bad("docker-compose.yml", """services:
  trainer:
    image: trainer:latest
    command: python train.py
    environment:
      - WANDB_API_KEY=
""", files={"train.py": "import wandb\nwandb.init(project='p', name='r')\n"}, expect="docker-compose.yml:6:9",
            note="an empty value never works",
            fixed="""services:
  trainer:
    image: trainer:latest
    command: python train.py
    environment:
      - WANDB_API_KEY=
""", unsafe_fixed="""services:
  trainer:
    image: trainer:latest
    command: python train.py
    environment:
      - WANDB_API_KEY=${WANDB_API_KEY:?set WANDB_API_KEY}
"""),
    ]
    autofix = ("Writes the value as `${NAME:?set NAME}` (NAME the variable it read, WANDB_API_KEY for an empty "
               "value), quoted as it was: an exact text edit of the value.")
    fixes = ("unsafe",)
    fix_safety = (
        "Unsafe: with the variable set, the service gets the same value as before; without it, "
        "`docker compose` stops (compose v2: \"required variable NAME is missing a value: set NAME\") "
        "instead of starting a container that crashes at wandb.init, which is the finding's intent. But "
        "compose interpolates the whole file whatever the command, so from then on `docker compose down`, "
        "`logs`, or `up` of another service of the file stop the same way when the variable is not set "
        "(docker/compose issue 6978: a required variable of one service stops a run of another).")

    def check(self, project: Project) -> Iterator[Finding]:
        for service in project.facts(ComposeService):
            binding = next((b for b in reversed(service.env) if b.name == KEY), None)
            if binding is None or binding.value is None:
                continue  # a pass-through `- WANDB_API_KEY` uses the shell's value
            if not any(launch.group == service.name and launch.location.path == service.location.path
                       and launches.running_uses(project, launch) for launch in project.launches()):
                continue  # the service runs no W&B code preflight can see
            value = binding.value.strip()
            subject = launches.compose_subject(service.location.path, service.name)
            if not value:
                yield self.finding(binding.location, f"service '{service.name}' sets {KEY} to an empty value: the "
                                   f"container starts without a key and the run crashes at wandb.init; pass it "
                                   f"through with `- {KEY}` or `{KEY}: ${{{KEY}:?...}}`", subject=subject,
                                   fix=_required(project, binding, KEY))
                continue
            match = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(:?-[^}]*)?\}?", value)
            if match is None or (match.group(2) or "").lstrip(":-"):
                continue  # `:?`/`?` fail fast; a non-empty default is a value
            folder = service.location.path.rsplit("/", 1)[0] if "/" in service.location.path else "."
            dot_env = f"{folder}/.env" if folder != "." else ".env"
            if project.env_file_defines(dot_env, match.group(1)):
                continue
            yield self.finding(
                binding.location,
                f"service '{service.name}' passes {KEY} as {value}: when it is not set in the shell (and no .env "
                "beside the compose file sets it) compose substitutes an empty string with only a warning and the run "
                f"crashes at wandb.init; write ${{{match.group(1)}:?set {match.group(1)}}} to fail fast",
                subject=subject, fix=_required(project, binding, match.group(1)),
            )


def _required(project: Project, binding, variable: str) -> Fix | None:
    """The entry's value as `${VARIABLE:?set VARIABLE}`, where the file reads as the binding says."""
    edit = textedits.replace_env_value(project, binding.location, binding.name, binding.value,
                                       f"${{{variable}:?set {variable}}}")
    return Fix(f"require {variable}", (edit,), safe=False) if edit else None


class OptionalSecretRef(Rule):
    code = "ENV006"
    name = "optional-secret-ref"
    severity = Severity.WARNING
    summary = "A Kubernetes secretKeyRef for a tracking key is marked optional"
    why = (
        "With `optional: true` a missing Secret (or key) does not stop the Pod: it starts without the variable "
        "and the run crashes at `wandb.init` (or logs nowhere) after the model has loaded. Without `optional`, "
        "the Pod stays in CreateContainerConfigError where the problem is visible at once."
    )
    examples = [
        Bad("job.yaml", """apiVersion: batch/v1
kind: Job
metadata: {name: train}
spec:
  template:
    spec:
      containers:
        - name: t
          image: trainer
          env:
            - name: WANDB_API_KEY
              valueFrom:
                secretKeyRef: {name: wandb, key: key, optional: true}
""", expect="job.yaml:11:21"),
        Good("job.yaml", """apiVersion: batch/v1
kind: Job
metadata: {name: train}
spec:
  template:
    spec:
      containers:
        - name: t
          image: trainer
          env:
            - name: WANDB_API_KEY
              valueFrom:
                secretKeyRef: {name: wandb, key: key}
"""),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for declaration in project.facts(EnvDeclaration):
            binding = declaration.binding
            if binding.optional and binding.name in TRACKING_KEYS:
                yield self.finding(binding.location, f"{binding.name} comes from a secretKeyRef marked optional: if "
                                   "the Secret is missing the Pod starts without it and the run fails after model "
                                   "loading; drop `optional: true` so the Pod fails to start instead")


class SbatchExportDropsEnv(Rule):
    code = "ENV007"
    name = "sbatch-export-drops-env"
    severity = Severity.WARNING
    summary = "`#SBATCH --export` keeps WANDB_API_KEY from a job that runs W&B"
    why = (
        "sbatch passes the submitting shell's environment by default (`--export=ALL`). `--export=NIL` passes "
        "only SLURM_* variables, `--export=NONE` only what the login environment on the node happens to set, "
        "and a list without `ALL` only the variables named: the key set in your shell does not reach the job, "
        "which then crashes at `wandb.init` after model loading. Use `--export=ALL` (or add WANDB_API_KEY to the "
        "list), or export the key inside the script from a file only you can read."
    )
    examples = [
        Bad("train.sbatch", """#!/bin/bash
#SBATCH --job-name=sft
#SBATCH --export=NONE
#SBATCH --gres=gpu:8
srun python train.py
""", files={"train.py": "import wandb\nwandb.init(name='sft')\n"}, expect="train.sbatch:3:1"),
        Good("train.sbatch", """#!/bin/bash
#SBATCH --job-name=sft
#SBATCH --export=ALL
#SBATCH --gres=gpu:8
srun python train.py
""", files={"train.py": "import wandb\nwandb.init(name='sft')\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        reported: set[Location] = set()
        for launch in project.launches():
            policy = launch.export_policy
            if policy is None or launch.export_location in reported or launch.boundary:
                continue
            items = [item.split("=")[0] for item in policy.split(",")]
            if "ALL" in items or KEY in items:
                continue
            if any(b.name == KEY and not b.is_empty for b in launch.env) or not launches.running_uses(project, launch):
                continue
            if launches.switched_off(project, launch):
                continue
            reported.add(launch.export_location)
            yield self.finding(
                launch.export_location,
                f"--export={policy} keeps {KEY} out of this job, which runs {_target(launch)} (it uses W&B): the job "
                "crashes at wandb.init after model loading; use --export=ALL or add WANDB_API_KEY to the list",
                related=[Related(launch.location, "the W&B command")],
            )


_IN_AN_IMAGE = {"Dockerfile": "FROM python:3.11\nCOPY . .\nCMD [\"bash\", \"run.sh\"]\n"}


class TrackingForcedOffline(Rule):
    code = "ENV008"
    name = "tracking-forced-offline"
    severity = Severity.WARNING
    summary = "WANDB_MODE=offline/disabled is baked into a launcher, image or config with no `wandb sync`"
    why = (
        "With `WANDB_MODE=offline` (or `dryrun`) W&B writes the run to a local `wandb/` folder and uploads "
        "nothing; in a container or a CI runner that folder is gone when the job ends. `disabled` records "
        "nothing at all. Baked into an image, a compose file or a config it also silences every later run "
        "that did want tracking. Set it per invocation, or run `wandb sync` on the offline runs afterwards: "
        "a `wandb sync` in the file that sets the mode, or in a launcher that runs it (directly, through a script "
        "it runs, or through the script that reads the config), answers this. A launcher whose programs, all "
        "read here, never log to W&B is not reported: no run is there to stay offline. Nor is a shell script, "
        "sbatch job or Makefile run directly on a machine (a workstation, a cluster's nodes): its wandb/ folder "
        "stays on that filesystem, and offline is how compute nodes without internet log; it is reported when a "
        "workflow, an image, a compose service, a pod or a cloud task runs it, or for a Ray job's runtime env."
    )
    examples = [
        Bad("Dockerfile", """FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
ENV WANDB_MODE=offline
COPY train.py .
CMD ["python", "train.py"]
""", expect="Dockerfile:2:1"),
        Good("run.sh", """#!/bin/bash
export WANDB_MODE=offline
python train.py
wandb sync --sync-all
""", files=_IN_AN_IMAGE),
        Good("run.sh", "#!/bin/bash\nexport WANDB_MODE=offline\npython train.py --report_to none\n",
             files={**_IN_AN_IMAGE, "train.py": "import sys\nfrom transformers import HfArgumentParser, "
                    "TrainingArguments\n\n(args,) = HfArgumentParser(TrainingArguments)"
                    ".parse_args_into_dataclasses()\n"},
             note="the program it runs logs to no tracker"),
        Good("train.sbatch", "#!/bin/bash\n#SBATCH --gres=gpu:8\nexport WANDB_MODE=offline\nsrun python train.py\n",
             files={"train.py": "import wandb\n\nwandb.init(project='p', name='n')\n"},
             note="run on the cluster itself: the offline runs stay on its filesystem for a later `wandb sync`"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for location, value, where in project.env_settings("WANDB_MODE", scripts=False):
            mode = (value or "").strip().lower()
            if mode not in launches.OFF_MODES or _synced(project, location.path):
                continue
            reached = [launch for launch in project.launches() if any(b.location == location for b in launch.env)]
            if _logs_nowhere(project, reached) or _kept_on_the_host(project, location, reached):
                continue
            what = "nothing is recorded" if mode == "disabled" else "the run stays in a local wandb/ folder that is " \
                                                                 "lost with the container or runner"
            yield self.finding(location, f"WANDB_MODE={mode} is set in this {where} file and nothing runs "
                               f"`wandb sync`: {what}; set it per run, or sync the offline runs afterwards")


_HOST_LAUNCHERS = (classify.SHELL, classify.MAKEFILE)


def _kept_on_the_host(project: Project, location: Location, reached: list[Launch]) -> bool:
    """Set in a shell script, sbatch job or Makefile that a person runs on a machine (a workstation, a
    cluster's login or compute node), whose programs run right there: the wandb/ folder stays on that
    filesystem for `wandb sync`, and offline is how compute nodes without internet log. Not so when a
    workflow, an image, a compose service, a pod or a cloud task runs the script, or when the setting
    goes into a Ray job's runtime environment."""
    file = project.files.get(location.path)
    if file is None or file.kind not in _HOST_LAUNCHERS:
        return False
    if any(launch.unseen_env or launch.boundary for launch in reached):
        return False
    return all(project.files[path].kind in _HOST_LAUNCHERS for path in launches.launcher_files(project, location.path)
               if path in project.files)


def _logs_nowhere(project: Project, reached: list[Launch]) -> bool:
    """Every launch the setting reaches (those whose environment holds it) runs a program of the project
    that is known to log nowhere: no W&B use, and every TrainingArguments it builds names its trackers
    without W&B (`report_to="none"`): no run is there to stay offline. A program not read here, or whose
    `report_to` is unset or not literal (the Trainer's default may include W&B), leaves the question
    open, and the setting is reported."""
    return bool(reached) and all(_program_logs_nowhere(project, launch) for launch in reached)


def _program_logs_nowhere(project: Project, launch: Launch) -> bool:
    resolved = project.entry(launch)
    if not resolved.script or launches.wandb_uses(project, launch):
        return False
    files = [*project.programs.loaded_modules(resolved.script), *([resolved.config] if resolved.config else [])]
    configs = [config for path in files for config in project.facts_in(path, TrainingConfig)]
    return all(config.reports_to("wandb") is False for config in configs) and (
        bool(configs) or launch.entry.arg("report_to") is not None)


def _synced(project: Project, path: str) -> bool:
    """`wandb sync` in the file that sets the mode, or in a launcher that runs it (through a script it runs,
    or the script that reads the config)."""
    return any(project.facts_in(file, SyncCommand) for file in (path, *launches.launcher_files(project, path)))


_LOGS = "import mlflow\n\nwith mlflow.start_run(run_name='sft'):\n    mlflow.log_metric('loss', 0.1, step=1)\n"


class MlflowStoreInContainer(Rule):
    code = "ENV009"
    name = "mlflow-store-in-container"
    severity = Severity.WARNING
    summary = "MLflow logs to its default local store inside a container without a volume"
    why = (
        "Without MLFLOW_TRACKING_URI or `mlflow.set_tracking_uri`, MLflow writes runs to the working directory: "
        "`sqlite:///mlflow.db` since 3.7, `./mlruns` before. In a container started without a volume that store "
        "lives in the container's writable layer and is deleted with it: the job ends green and its runs, "
        "metrics and artifacts are gone. Point MLFLOW_TRACKING_URI at a tracking server (or a mounted path), "
        "or mount a volume."
    )
    examples = [
        Bad("train.py", _LOGS, expect="docker-compose.yml:4:14",
            files={"docker-compose.yml": "services:\n  train:\n    build: .\n    command: python train.py\n"}),
        Good("train.py", _LOGS, files={"docker-compose.yml": "services:\n  train:\n    build: .\n"
                                      "    command: python train.py\n    environment:\n"
                                      "      MLFLOW_TRACKING_URI: http://mlflow:5000\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        mlflow = project.version("mlflow")
        store = "sqlite:///mlflow.db" if mlflow.at_least("3.7") else "./mlruns"
        for launch in project.launches():
            if project.container_volumes(launch) != ():
                continue
            if any(b.name == "MLFLOW_TRACKING_URI" for b in launch.env):
                continue
            resolved = project.entry(launch)
            if not resolved.script:
                continue
            files = [resolved.script, *project.imported_files(resolved.script)]
            sets_uri = any(w.name == "MLFLOW_TRACKING_URI" for f in files for w in project.facts_in(f, EnvWrite))
            if sets_uri or not uses_mlflow(project, files):
                continue
            yield self.finding(launch.location, f"{launch.label} runs {resolved.script}, which logs to MLflow without "
                               f"a tracking URI: {mlflow.describe()} writes {store} in the container's working "
                               "directory, deleted with the container; set MLFLOW_TRACKING_URI to a tracking "
                               "server or mount a volume")


def uses_mlflow(project: Project, files: list[str]) -> bool:
    """One of the files (a script and the modules it imports) writes to MLflow, or its Trainer reports to it."""
    for current in files:
        if any(u.tracker is Tracker.MLFLOW for u in project.facts_in(current, TrackerUse)):
            return True
        if any(c.reports_to("mlflow") for c in project.facts_in(current, TrainingConfig)):
            return True
    return False


_TRUE = {"1", "true", "yes", "on"}
_FILE_STORE = re.compile(r"^(file:|\./|\.\./|~|/(?!/)|mlruns\b)")


class MlflowFileStore(Rule):
    code = "ENV010"
    name = "mlflow-file-store"
    severity = Severity.ERROR
    summary = "A file-system MLflow tracking URI, which MLflow 3.13+ refuses"
    why = (
        "Since MLflow 3.13 the file-system tracking backend (`./mlruns`, `file:///...`, a plain path) is in "
        "maintenance mode: unless MLFLOW_ALLOW_FILE_STORE=true, the first tracking call raises \"The filesystem "
        "tracking backend (e.g., './mlruns') is in maintenance mode and will not receive further updates\". Use "
        "`sqlite:///mlflow.db` or a tracking server, or set MLFLOW_ALLOW_FILE_STORE=true knowingly. The MLflow "
        "version comes from [tool.preflight.versions] or the project's pins."
    )
    examples = [
        Bad("train.py", "import mlflow\n\nmlflow.set_tracking_uri('file:./mlruns')\n", expect="train.py:3:1"),
        Good("train.py", "import mlflow\n\nmlflow.set_tracking_uri('sqlite:///mlflow.db')\n"),
        Good("train.py", "import mlflow\n\nmlflow.set_tracking_uri('file:./mlruns')\n",
             files={"requirements.txt": "mlflow==3.12.0\n"}, note="before 3.13 the file store still works"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        mlflow = project.version("mlflow")
        if not mlflow.at_least("3.13"):
            return
        if any(value and value.strip().lower() in _TRUE
               for _, value, _ in project.env_settings("MLFLOW_ALLOW_FILE_STORE")):
            return
        for location, value, _ in project.env_settings("MLFLOW_TRACKING_URI"):
            if value is None or not _FILE_STORE.match(value.strip()):
                continue
            yield self.finding(location, f"MLFLOW_TRACKING_URI {value.strip()!r} is a file store, which "
                               f"{mlflow.describe()} refuses: the first tracking call raises \"The filesystem "
                               "tracking backend is in maintenance mode\"; use sqlite:///mlflow.db or a tracking "
                               "server (or set MLFLOW_ALLOW_FILE_STORE=true)")


class WandbHostChanged(Rule):
    code = "ENV011"
    name = "wandb-host-changed"
    severity = Severity.INFO
    summary = "Network configuration allows api.wandb.ai, but wandb 0.31+ talks to a new default host"
    why = (
        "wandb 0.31 changed its default server from `https://api.wandb.ai` to `https://api.forge.coreweave.com`. "
        "A cluster whose egress policy, proxy bypass or firewall allow-list names only `api.wandb.ai` blocks the "
        "new host: runs fail to connect (or hang behind the proxy) after an upgrade. Allow the new host too, or "
        "pin the server with WANDB_BASE_URL=https://api.wandb.ai. The wandb version comes from "
        "[tool.preflight.versions] or the project's pins."
    )
    examples = [
        Bad("k8s/egress.yaml", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: train-egress\n"
            "spec:\n  egress:\n    - toFQDNs:\n        - matchName: api.wandb.ai\n", expect="k8s/egress.yaml:8:22"),
        Good("k8s/egress.yaml", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: train-egress\n"
             "spec:\n  egress:\n    - toFQDNs:\n        - matchName: api.wandb.ai\n"
             "        - matchName: api.forge.coreweave.com\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        wandb = project.version("wandb")
        if not wandb.at_least("0.31") or any(True for _ in project.env_settings("WANDB_BASE_URL")):
            return
        mentions = list(project.facts(HostMention))
        allows_new = {m.location.path for m in mentions if m.host == "api.forge.coreweave.com"}
        for mention in mentions:
            if mention.host == "api.wandb.ai" and mention.location.path not in allows_new:
                yield self.finding(mention.location, f"only api.wandb.ai is named here, but {wandb.describe()} "
                                   "connects to https://api.forge.coreweave.com by default: allow that host too, or "
                                   "set WANDB_BASE_URL=https://api.wandb.ai")


class LoginInOtherJob(Rule):
    code = "ENV012"
    name = "login-in-other-job"
    severity = Severity.ERROR
    summary = "`wandb login` runs in one job and the W&B script in another"
    why = (
        "Each job of a workflow runs on a fresh runner: the netrc that `wandb login` wrote in one job does not "
        "exist in the next, so the W&B step there has no key and crashes at `wandb.init`. Log in (or pass "
        "`WANDB_API_KEY`) in the job that runs the script."
    )
    examples = [
        Bad(".github/workflows/train.yml", """on: push
jobs:
  setup:
    runs-on: ubuntu-latest
    steps:
      - run: wandb login ${{ secrets.WANDB_API_KEY }}
  train:
    needs: setup
    runs-on: ubuntu-latest
    steps:
      - run: python train.py
""", files={"train.py": "import wandb\nwandb.init(name='r')\n"}, expect=".github/workflows/train.yml:11:14"),
        Good(".github/workflows/train.yml", """on: push
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - run: echo "$WANDB_API_KEY" | wandb login
        env: {WANDB_API_KEY: "${{ secrets.WANDB_API_KEY }}"}
      - run: python train.py
""", files={"train.py": "import wandb\nwandb.init(name='r')\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for launch in project.launches():
            if launch.launcher is not Launcher.GITHUB_ACTIONS or launch.boundary:
                continue
            elsewhere = _logins_elsewhere(project, launch)
            if not elsewhere or launches.missing_key(project, launch) is None:
                continue
            yield self.finding(
                launch.location,
                f"{launch.label} runs {_target(launch)}, which uses W&B, but `wandb login` ran in job "
                f"'{elsewhere[0].group}' (line {elsewhere[0].location.line}), on another runner: its netrc does not "
                f"exist here and {_CRASH}; log in or pass {KEY} in this job",
                related=[Related(elsewhere[0].location, "the login, on another runner")],
                subject=launches.subject(launch),
            )


def _logins_elsewhere(project: Project, launch: Launch) -> list[LoginCommand]:
    return [login for login in project.facts_in(launch.location.path, LoginCommand) if login.group != launch.group]


class MultinodeEnvNotForwarded(Rule):
    code = "ENV013"
    name = "multinode-env-not-forwarded"
    severity = Severity.WARNING
    summary = "`deepspeed --hostfile` runs W&B on several nodes without a .deepspeed_env carrying WANDB_*"
    why = (
        "The DeepSpeed launcher starts the processes of the other nodes over ssh and forwards only a few "
        "variable prefixes (NCCL, PYTHON, UCX, ...) plus the lines of `.deepspeed_env`: WANDB_API_KEY and the "
        "other WANDB_* settings do not reach the remote ranks, which crash at `wandb.init` or log with the "
        "wrong settings. Put them in `.deepspeed_env` in the launch folder (or your home)."
    )
    examples = [
        Bad("launch.sh", """#!/bin/bash
deepspeed --hostfile hostfile --num_nodes 2 train.py --deepspeed ds.json
""", files={"train.py": "import wandb\nwandb.init(name='ds')\n"}, expect="launch.sh:2:1"),
        Good("launch.sh", """#!/bin/bash
deepspeed --hostfile hostfile --num_nodes 2 train.py --deepspeed ds.json
""", files={"train.py": "import wandb\nwandb.init(name='ds')\n", ".deepspeed_env": "WANDB_API_KEY=${WANDB_API_KEY}\n"}),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for launch in project.launches():
            entry = launch.entry
            if entry.launcher != "deepspeed" or entry.launcher_arg("hostfile", "H") is None:
                continue
            nodes = entry.launcher_arg("num_nodes")
            if nodes is not None and nodes.isdigit() and int(nodes) < 2:
                continue
            if not launches.running_uses(project, launch) or launches.switched_off(project, launch):
                continue
            folder = launch.base_dir
            variables = project.env_file(f"{folder}/.deepspeed_env" if folder not in ("", ".") else ".deepspeed_env")
            if variables is not None and any(name.startswith("WANDB_") for name in variables):
                continue
            yield self.finding(
                launch.location,
                f"{launch.label} starts {_target(launch)} (it uses W&B) on several nodes with deepspeed --hostfile, "
                "but no .deepspeed_env carries WANDB_* variables: DeepSpeed forwards only a few prefixes to the "
                "other nodes, whose ranks then run without the key or the W&B settings; add the WANDB_* lines to "
                ".deepspeed_env",
            )
