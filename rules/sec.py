"""SEC: credentials written where they leak. Messages show only the last 4 characters of a secret."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight import textedits
from preflight.findings import Edit, Finding, Fix, Severity
from preflight.model import EnvDeclaration, ImageInstruction, Launcher, SecretArgument, SecretLiteral, WandbLogin
from preflight.project import Project
from preflight.rule import Bad, Good, Rule
from preflight.secrets import TRACKING_KEYS, is_placeholder, mask


_EXAMPLE_KEY = "wandb_v1_" + "Q7rT2mXb9LkP4sVn8cZ1yW6hJ3d" + "_" + "f5Gk2Lm9Nq4Rt7Vx1Zb8Cd3Eh6Jp0Ks5Mw2Py9Ua4Xc7Hb1Tg6"


class HardcodedWandbKey(Rule):
    code = "SEC001"
    name = "hardcoded-wandb-key"
    severity = Severity.ERROR
    summary = "A W&B API key is written in a file"
    why = (
        "Anyone who can read the repository (every fork, every CI log that prints the file, every copy of the "
        "image) can log runs, read artifacts and delete projects in your W&B account. The `wandb_v1_...` key "
        "form is recognised anywhere, comments included; a 40-character hex key only where W&B context says "
        "so (`WANDB_API_KEY=`, a W&B-named setting such as the Hydra override `logging.wandb_key_api=...`, "
        "`wandb.login(key=...)`, `wandb login KEY`, a netrc `machine api.wandb.ai`), "
        "because a bare 40-hex string is usually a git commit. Revoke the key, then pass it from a secret "
        "store as WANDB_API_KEY."
    )
    examples = [
        Bad("train.py", f'import wandb\n\nwandb.login(key="{_EXAMPLE_KEY}")\nwandb.init(name="r1")\n',
            expect="train.py:3:18"),
        Good("train.py", 'import wandb\n\nwandb.init(name="r1")  # the key comes from WANDB_API_KEY\n'),
        Good("requirements.txt.sh", "pip install git+https://github.com/wandb/wandb@"
             "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39\n", note="a commit hash is not a key"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for literal in project.facts(SecretLiteral):
            yield self.finding(literal.location, f"{literal.what} is written here ({literal.masked}): anyone who can "
                               "read this file can use your W&B account; revoke the key and pass it as "
                               "WANDB_API_KEY from a secret store")


class WandbLoginWithKey(Rule):
    code = "SEC002"
    name = "wandb-login-with-key"
    severity = Severity.ERROR
    summary = "`wandb.login(key=...)` in a script"
    why = (
        "A literal key in `wandb.login(key=...)` is a leaked key (error). With a key from elsewhere "
        "(`key=args.key`) the call still writes the key in clear text to `~/.netrc`, where it outlives the job "
        "on shared machines and in images built from the container (info, shown when selected). W&B reads "
        "WANDB_API_KEY by itself: set the variable and drop the call."
    )
    examples = [
        Bad("train.py", 'import wandb\n\nwandb.login(key="0123456789abcdef0123456789abcdef01234567")\n',
            expect="train.py:3:1"),
        Good("train.py", 'import wandb\n\nwandb.init(project="p", name="r1")\n'),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for login in project.facts(WandbLogin):
            if login.key_literal:
                yield self.finding(login.location, "wandb.login() is given the API key literally: the key is leaked "
                                   "with the source; revoke it and let W&B read WANDB_API_KEY from the environment")
            elif login.has_key:
                yield self.finding(login.location, "wandb.login(key=...) writes the key in clear text to ~/.netrc, "
                                   "where it outlives the job; set WANDB_API_KEY instead and drop the call",
                                   severity=Severity.INFO)


class SecretInImage(Rule):
    code = "SEC003"
    name = "secret-in-image"
    severity = Severity.ERROR
    summary = "A tracking key is set with ENV/ARG or `RUN wandb login` in a Dockerfile"
    why = (
        "ENV values and ARG values used by a build are stored in the image's layers and history: anyone who can "
        "pull the image can read the key with `docker history` or `docker inspect`. `RUN wandb login` leaves "
        "the key in a netrc inside a layer. Use a build secret (`RUN --mount=type=secret,id=wandb ...`) for "
        "build steps and pass the key at run time (`docker run -e WANDB_API_KEY`)."
    )
    autofix = ("Removes the ENV/ARG line; each RUN of the stage after it that got the key from it gets it from a "
               "BuildKit build secret instead (`RUN --mount=type=secret,id=wandb_api_key,env=WANDB_API_KEY ...`): "
               "exact text edits.")
    fixes = ("unsafe",)
    fix_safety = (
        "Unsafe: the image no longer carries the key, so whoever builds and runs it must supply it: the build "
        "with `docker build --secret id=wandb_api_key,env=WANDB_API_KEY` instead of `--build-arg` (a build "
        "command elsewhere is not changed), the container at run time (`docker run -e WANDB_API_KEY`, compose "
        "`environment:`), where it started with the key baked in. A secret mount's `env=` option needs the "
        "Dockerfile frontend 1.10 or later, so RUN instructions are changed only under a `# syntax=` directive "
        "that names one (`docker/dockerfile:1` is the newest 1.x); without it the fix applies only where no RUN "
        "of the stage comes after the line (nothing in the build read the key). Only for an ENV/ARG that "
        "declares that variable alone on one line, inside a stage; an ENV with a RUN in a later stage gets no "
        "fix (a stage built FROM this one inherits it, which the text does not show).")
    examples = [
        Bad("Dockerfile", "FROM python:3.11-slim\nARG WANDB_API_KEY\nENV WANDB_API_KEY=$WANDB_API_KEY\n"
            "CMD [\"python\", \"train.py\"]\n", expect=["Dockerfile:2:1", "Dockerfile:3:1"],
            fixed="FROM python:3.11-slim\nARG WANDB_API_KEY\nENV WANDB_API_KEY=$WANDB_API_KEY\n"
            "CMD [\"python\", \"train.py\"]\n",
            unsafe_fixed="FROM python:3.11-slim\nCMD [\"python\", \"train.py\"]\n"),
        Bad("Dockerfile", "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\nARG WANDB_API_KEY\n"
            "RUN python prefetch.py\nCMD [\"python\", \"train.py\"]\n", expect="Dockerfile:3:1",
            note="a build step that needs the key gets it as a build secret",
            fixed="# syntax=docker/dockerfile:1\nFROM python:3.11-slim\nARG WANDB_API_KEY\n"
            "RUN python prefetch.py\nCMD [\"python\", \"train.py\"]\n",
            unsafe_fixed="# syntax=docker/dockerfile:1\nFROM python:3.11-slim\n"
            "RUN --mount=type=secret,id=wandb_api_key,env=WANDB_API_KEY python prefetch.py\n"
            "CMD [\"python\", \"train.py\"]\n"),
        Bad("Dockerfile", "FROM python:3.11-slim\nARG WANDB_API_KEY\nRUN python prefetch.py\n",
            expect="Dockerfile:2:1", note="no fix: without a `# syntax=` directive the frontend may not take `env=`"),
        Good("Dockerfile", "FROM python:3.11-slim\nRUN --mount=type=secret,id=wandb,env=WANDB_API_KEY python "
             "prefetch.py\nCMD [\"python\", \"train.py\"]\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for instruction in project.facts(ImageInstruction):
            if instruction.instruction in ("ENV", "ARG") and instruction.name in TRACKING_KEYS:
                yield self.finding(instruction.location, f"{instruction.instruction} {instruction.name} stores the key "
                                   "in the image (visible in `docker history`/`docker inspect`); use a build secret "
                                   "(RUN --mount=type=secret) and pass it at run time",
                                   fix=_build_secret(project, instruction))
            elif instruction.instruction == "RUN" and re.search(r"\bwandb\s+login\b", instruction.text) \
                    and "type=secret" not in instruction.text:
                yield self.finding(instruction.location, "RUN wandb login writes the key into a netrc inside an image "
                                   "layer; use RUN --mount=type=secret for build steps and pass WANDB_API_KEY at "
                                   "run time")


# `docker/dockerfile:1`, `:1.10`, `:1.12-labs`, ...: the frontends whose secret mounts take `env=` (1.10.0 and later)
_FRONTEND = re.compile(r"(?:docker\.io/)?docker/dockerfile(?:-upstream)?:(\d+)(?:\.(\d+))?(?:\.\d+)?(?:-labs)?"
                       r"(?:@sha256:[0-9a-f]{64})?")


def _secret_env(syntax: str | None) -> bool:
    match = _FRONTEND.fullmatch(syntax or "")
    if match is None:
        return False
    major, minor = int(match.group(1)), match.group(2)
    return major > 1 or (major == 1 and (minor is None or int(minor) >= 10))


def _build_secret(project: Project, instruction: ImageInstruction) -> Fix | None:
    """The ENV/ARG line removed and the RUN instructions that read the key from it given a secret mount."""
    name, where = instruction.name or "", instruction.location
    if not instruction.single or instruction.stage < 1:
        return None
    later = [i for i in project.facts_in(where.path, ImageInstruction) if i.instruction == "RUN"
             and i.location.line > where.line and (i.stage == instruction.stage or instruction.instruction == "ENV")
             and not re.search(rf"--mount=\S*type=secret\S*env={re.escape(name)}\b", i.text)]
    if any(i.stage != instruction.stage for i in later) or (later and not _secret_env(later[0].syntax)):
        return None
    removal = textedits.remove_line(project, where, instruction.instruction)
    mount = f" --mount=type=secret,id={name.lower()},env={name}"
    mounts = [textedits.insert_after_word(project, i.location, "RUN", mount) for i in later]
    if removal is None or None in mounts:
        return None
    return Fix(f"pass {name} as a build secret", (removal, *mounts), safe=False)


class LiteralSecretInEnv(Rule):
    code = "SEC004"
    name = "literal-secret-in-env"
    severity = Severity.ERROR
    summary = "A tracking key's value is written literally in an env map, env file or config"
    why = (
        "A literal value in a workflow `env:`, a compose `environment:`, a Kubernetes `env:` value, a dstack `env`, "
        "SkyPilot `envs` or `secrets`, a TRL `env:` block, an sbatch `--export`, a committed `.env` or Axolotl's "
        "`comet_api_key` is committed with "
        "the file and readable by everyone who can read it. Reference a secret instead: "
        "`${{ secrets.WANDB_API_KEY }}`, `${WANDB_API_KEY:?}`, `valueFrom: secretKeyRef:`. A W&B key in the form "
        "SEC001 recognises is reported by SEC001 alone (revoke it), not twice."
    )
    examples = [
        Bad("docker-compose.yml", "services:\n  t:\n    image: trainer\n    environment:\n"
            "      HF_TOKEN: hf_Xq7Lm2Nb9Vc4Zr8Tp1Ks6Jd3Wf5Gh0Ay\n", expect="docker-compose.yml:5:7"),
        Good("docker-compose.yml", "services:\n  t:\n    image: trainer\n    environment:\n"
             "      HF_TOKEN: ${HF_TOKEN:?}\n"),
        Good("run.sh", f"export WANDB_API_KEY={_EXAMPLE_KEY}\npython train.py\n",
             note="a W&B key is SEC001's finding, which says to revoke it: one finding for one key"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        seen = set()
        for declaration in project.facts(EnvDeclaration):
            binding = declaration.binding
            if declaration.declared_by is Launcher.DOCKERFILE or binding.name not in TRACKING_KEYS or binding.reference:
                continue
            value = (binding.value or "").strip()
            if not value or is_placeholder(value) or binding.location in seen or \
                    _reported_as_wandb_key(project, binding.location.path, value):
                continue
            seen.add(binding.location)
            yield self.finding(binding.location, f"{binding.name} is set to a literal value ({mask(value)}) in this "
                               f"{declaration.declared_by.label} file: it is committed with the file; reference a "
                               "secret instead")


def _reported_as_wandb_key(project: Project, path: str, value: str) -> bool:
    """SEC001 reports every W&B key written in a file, wherever it stands; the same key in an env binding of
    that file is that finding. Values are compared masked, the only form the facts keep."""
    return any(literal.masked == mask(value) for literal in project.facts_in(path, SecretLiteral))


class SecretOnCommandLine(Rule):
    code = "SEC005"
    name = "secret-on-command-line"
    severity = Severity.WARNING
    summary = "A tracking key is passed as a command-line argument"
    why = (
        "Command-line arguments are visible to every user of the machine in `ps` and `/proc/*/cmdline`, and "
        "end up in shell histories and CI logs, whether the key is written literally or expanded from a variable "
        "(`--wandb_key $WANDB_API_KEY`): the expanded value is what `ps` shows. `docker run -e WANDB_API_KEY` "
        "(without a value) takes the caller's value without putting it on the command line; `wandb login` reads "
        "the key from WANDB_API_KEY or stdin; wandb reads WANDB_API_KEY itself, so a program needs no key flag; "
        "a Ray job gets the cluster's environment, so the key belongs there rather than in `--runtime-env-json`. "
        "Reported for `-e NAME=value` of a tracking key, a flag named after a key (`--wandb_key`, "
        "`--logger.wandb.key`), any flag whose value is a key or a key variable (`--use_wandb $WANDB_API_KEY`), "
        "forwarded commands included (`ray job submit -- python train.py ...`), and `wandb login KEY`; each "
        "finding points at the word that carries the key."
    )
    examples = [
        Bad("run.sh", "#!/bin/bash\ndocker run -e WANDB_API_KEY=$WANDB_API_KEY trainer python train.py\n",
            expect="run.sh:2:15", fixed="#!/bin/bash\ndocker run -e WANDB_API_KEY trainer python train.py\n"),
        Good("run.sh", "#!/bin/bash\ndocker run -e WANDB_API_KEY trainer python train.py\n"),
        Bad("submit.sh", "#!/bin/bash\nray job submit --working-dir . -- python train.py --logger.wandb.key $TOKEN\n",
            expect="submit.sh:2:51", note="a dotted config flag, forwarded to the job by `ray job submit --`"),
        Good("submit.sh", "#!/bin/bash\nray job submit --working-dir . -- python train.py --logger.wandb.project sft\n",
             note="a W&B setting that is not a key"),
    ]

    autofix = ("`-e NAME=$VALUE` becomes `-e NAME`: docker takes the same value from the caller's environment, "
               "without putting it on the command line.")
    fixes = ("safe",)
    fix_safety = ("Safe: the container receives the same value, which docker now reads from the environment of the "
                  "command that runs it (where `$VALUE` was expanded) instead of from its command line.")

    def check(self, project: Project) -> Iterator[Finding]:
        for argument in project.facts(SecretArgument):
            fix = None
            if argument.value_location is not None and argument.name:
                fix = Fix(f"pass {argument.name} without a value", (Edit(argument.value_location, argument.name),))
            yield self.finding(argument.location, f"`{argument.flag}` puts the key on the command line, visible in "
                               f"`ps` to every user of the machine and in logs; {_advice(argument.flag)}", fix=fix)


def _advice(flag: str) -> str:
    if flag.startswith("-e "):
        return "pass it through the environment (`-e NAME` without a value takes the caller's)"
    if flag.startswith("wandb login"):
        return "let `wandb login` read WANDB_API_KEY (or stdin), or skip it: wandb reads WANDB_API_KEY itself"
    if "runtime" in flag:
        return "set the key in the cluster's environment, which the job inherits"
    return "pass it through the environment instead (wandb reads WANDB_API_KEY itself; the program needs no flag)"
