"""The command a W&B sweep agent runs for each trial, from the sweep's `program` and `command`.

`wandb agent` expands the macros of `command` (default `${env} ${interpreter} ${program} ${args}`):
`${env}` is `/usr/bin/env`, `${interpreter}` is `python`, `${program}` the `program` value, `${args}` every
swept parameter as `--name=value` (`${args_no_boolean_flags}` the same, true booleans as bare flags),
`${args_no_hyphens}` as `name=value`, and `${args_json}`/`${args_json_file}` as one JSON argument. The values of
swept parameters change from trial to trial, so they are written `${name}` here: a reference, whose value is
unknown to every rule. The JSON forms are dropped: which keys they carry is the script's business.
"""

from __future__ import annotations

from preflight.findings import Location

DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
_FLAG_MACROS = ("${args}", "${args_no_boolean_flags}")


def trial_command(program: tuple[str, Location | None] | None, command: list[tuple[str, Location | None]] | None,
                  parameters: list[str]) -> tuple[tuple[str, Location | None], ...]:
    """The words a trial runs, each with where it is written (`None` where no single place says it), or ()
    when the sweep runs nothing recognisable (no program, and no command)."""
    words = command if command is not None else [(word, None) for word in DEFAULT_COMMAND]
    result: list[tuple[str, Location | None]] = []
    for word, at in words:
        if word == "${env}":
            continue
        if word == "${interpreter}":
            result.append(("python", at))
        elif word == "${program}":
            if program is None:
                return ()
            result.append(program)
        elif word in _FLAG_MACROS:
            result.extend((f"--{name}=${{{name}}}", at) for name in parameters)
        elif word == "${args_no_hyphens}":
            result.extend((f"{name}=${{{name}}}", at) for name in parameters)
        elif not (word.startswith("${") and word.endswith("}")):
            result.append((word, at))
    return tuple(result)
