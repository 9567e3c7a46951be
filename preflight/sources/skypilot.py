"""SkyPilot task YAML (`sky launch`, `sky jobs launch`, `sky serve up`): the `setup` and `run` scripts of a task,
with the environment SkyPilot gives them.

Read against skypilot 0.14.1 (`sky/task.py` `Task.from_yaml_config`, `sky/execution.py` `_resolve_managed_secrets`,
`sky/client/cli/flags.py`, `sky/utils/schemas.py` `get_task_schema`):

- `envs` and `secrets` are exported to both scripts. An `envs` entry with no value must be given with `sky launch
  --env NAME[=value]` (`--env NAME` alone takes the submitter's value, or stops with "NAME is not set in local
  environment.", flags.py:29-42), or the launch stops before anything is provisioned (task.py:713-719:
  "Environment variable 'NAME' is None. Please set a value for it in task YAML or with --env flag."). A `secrets`
  entry with no value (task.py:780-803), and a `secrets: [secrets:NAME]` list item, is a managed secret reference
  resolved at launch from `--secret NAME[=value]` or a managed secrets provider; with neither,
  `_resolve_managed_secrets` (execution.py:149-169, called before `_execute_dag`, l.356) stops with "No value
  available for secret(s): NAME. A secret with no inline value must be provided at launch with the --secret
  flag ...". Either way such a key reaches the job whenever it starts. (A list item without the `secrets:` prefix
  is refused: "Invalid secret in array form"; it is read as a value preflight cannot know.) `--env`/`--secret` add
  variables the file does not name (`env_overrides`, `secrets_overrides`, task.py:686-709), so the file alone never
  says that a key is missing (`Launch.unseen_env`); nothing else of the submitter's environment reaches the cluster.
- `setup` and `run` are separate shell scripts on every node (`~/sky_workdir` when `workdir` is set): what `setup`
  exports is gone in `run`, a `wandb login` in `setup` has written the node's netrc for `run`. `workdir` is resolved
  against the directory `sky launch` runs in (`os.path.abspath` in `Task.expand_and_validate_workdir`), so relative
  paths start at the task file's folder or one above it.
- `num_nodes: N` runs `run` on N nodes of one cluster, told apart by `SKYPILOT_NODE_RANK` (a trainer logs from rank
  0): one distributed job, not a fan-out.
- `file_mounts` copies local paths to the nodes: a netrc among them carries the W&B key.
"""

from __future__ import annotations

import dataclasses
import posixpath

from preflight.model import Credential, CredentialKind, EnvBinding, EnvDeclaration, Fact, Launcher
from preflight.sources import yamltree as y
from preflight.sources.launching import LaunchContext, ScalarLocator, binding, is_reference, launches_from_script
from preflight.sources.text import SourceText

LAUNCHER = Launcher.SKYPILOT
SUBMITTER = "`sky launch --env NAME` or `--secret NAME`"


def extract(source: SourceText, documents: list) -> list[Fact]:
    facts: list[Fact] = []
    for index, document in enumerate(documents):
        if y.get(document, "run") is not None or y.get(document, "setup") is not None:
            facts.extend(_task(source, document, index))
    return facts


def _task(source: SourceText, document, index: int) -> list[Fact]:
    name = y.scalar_text(y.get(document, "name")) or posixpath.basename(source.path)
    env = [*_variables(source, y.get(document, "envs"), "envs", "sky launch --env"),
           *_variables(source, y.get(document, "secrets"), "secrets", "sky launch --secret")]
    facts: list[Fact] = [EnvDeclaration(b, LAUNCHER) for b in env]
    folder = posixpath.dirname(source.path) or "."
    workdir = y.scalar_text(y.get(document, "workdir"))
    if workdir and not is_reference(workdir) and not workdir.startswith(("/", "~")):
        folder = posixpath.normpath(posixpath.join(folder, workdir))
    context = LaunchContext(
        launcher=LAUNCHER,
        label=f"SkyPilot task '{name}'",
        base_dir=folder,
        cwd_known=False,
        env=env,
        credentials=_netrc_mounts(source, y.get(document, "file_mounts")),
        inherits_env=True,
        unseen_env=SUBMITTER,
        group=f"{source.path}#{index}",
    )
    for part in ("setup", "run"):
        node = y.get(document, part)
        script = y.scalar_text(node)
        if not script:
            continue
        result = launches_from_script(script, dataclasses.replace(context, label=f"{context.label}, {part}"),
                                      ScalarLocator(source, node, script))
        facts += [*result.launches, *result.facts]
        context = dataclasses.replace(context, credentials=[*context.credentials, *result.left_behind])
    return facts


def _variables(source: SourceText, node, field: str, flag: str) -> list[EnvBinding]:
    result = []
    for written, key_node, value_node in y.items(node):
        name = _secret_name(written) if field == "secrets" else written
        location = y.location(source, key_node)
        if y.is_null(value_node):  # given at launch, or the launch stops
            result.append(EnvBinding(name, location, f"SkyPilot {field}, given with `{flag}`", None, reference=True))
        else:
            result.append(binding(name, y.scalar_text(value_node) or "", location, f"SkyPilot {field}"))
    for item in y.sequence(node):  # `secrets: [secrets:NAME]`: managed secret references
        name = _secret_name(y.scalar_text(item) or "")
        if name:
            result.append(EnvBinding(name, y.location(source, item), "SkyPilot managed secret", None, reference=True))
    return result


def _secret_name(written: str) -> str:
    """The variable a secret sets: `[secrets:][personal.|workspace.|global.]NAME` (`_parse_secret_name`)."""
    name = written.removeprefix("secrets:")
    for scope in ("personal.", "workspace.", "global."):
        name = name.removeprefix(scope)
    return name


def _netrc_mounts(source: SourceText, node) -> list[Credential]:
    found = []
    for target, key_node, value_node in y.items(node):
        text = f"{target}: {y.scalar_text(value_node) or ''}"
        if "netrc" in text:
            found.append(Credential(CredentialKind.NETRC, y.location(source, key_node),
                                    f"netrc copied by `file_mounts: {text}`"))
    return found
