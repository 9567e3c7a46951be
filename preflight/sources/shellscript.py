"""Shell and Slurm batch scripts: `#SBATCH` directives and the commands the script runs.

A script inherits the environment of whoever runs it (sbatch exports the submitting shell's
environment by default), so a missing key is never assumed here; what a script can get wrong is
what crosses a container boundary, what `--export` drops, and a constant run id in an array job.
"""

from __future__ import annotations

import posixpath
import re

from preflight.model import EnvDeclaration, EnvSource, Fact, Launcher
from preflight.sources.launching import LaunchContext, TextLocator, binding, launches_from_script, local_server
from preflight.sources import requirements
from preflight.sources.text import SourceText

_SBATCH = re.compile(r"^#SBATCH\s+(?P<option>--?[\w-]+)(?:[= ](?P<value>\S+))?", re.MULTILINE)


def extract(source: SourceText) -> list[Fact]:
    facts: list[Fact] = []
    name = posixpath.basename(source.path)
    fan_out = fan_out_location = export_policy = export_location = None
    env = []
    directives = list(_SBATCH.finditer(source.text))
    for match in directives:
        option, value = match.group("option"), match.group("value") or ""
        location = source.location(match.start(), match.end())
        if option in ("--array", "-a"):
            fan_out, fan_out_location = f"an sbatch array job (--array={value})", location
        elif option == "--export":
            export_policy, export_location = value, location
            for item in value.split(","):
                variable, has_value, literal = item.partition("=")
                if has_value:
                    env.append(binding(variable, literal, location, "#SBATCH --export"))
    facts.extend(EnvDeclaration(b, EnvSource.SBATCH_EXPORT) for b in env)
    if "install" in source.text:
        for line in re.finditer(r"^[^#\n]*\binstall\b.*$", source.text, re.MULTILINE):
            facts.extend(requirements.pip_installs(source, line.start(), line.end(), line.group(0),
                                                   f"{name} pip install"))
    context = LaunchContext(
        launcher=Launcher.SLURM if directives else Launcher.SHELL_SCRIPT,
        label=f"{'sbatch script' if directives else 'script'} {name}",
        base_dir=posixpath.dirname(source.path) or ".",
        env=env,
        inherits_env=True,
        cwd_known=False,
        fan_out=fan_out,
        fan_out_location=fan_out_location,
        group=source.path,
        export_policy=export_policy,
        export_location=export_location,
        # a server the script starts (`mlflow server &`, `docker compose up`) listens on the localhost of every
        # program it runs, wherever the script itself runs (an image's entrypoint script)
        localhost_shared=f"`{server}` in {name}" if (server := local_server(source.text)) else None,
    )
    result = launches_from_script(source.text, context, TextLocator(source))
    return [*facts, *result.launches, *result.facts]
