"""W&B sweep configs against W&B's own JSON schema (plus the Bayesian-search rule the schema cannot say)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(resources.files("preflight.data").joinpath("wandb-sweep-config.schema.json").read_text())
    return jsonschema.Draft7Validator(schema)


def violations(config: dict) -> list[tuple[str, tuple]]:
    """(message, path inside the config) for each problem; the deepest, most specific error of a group."""
    from jsonschema.exceptions import best_match

    if "job" in config or "scheduler" in config or "launch" in config:
        # a `wandb launch-sweep` config: the CLI pops its `scheduler` and `launch` sections before it
        # validates the rest (wandb/cli/cli.py, launch_sweep)
        config = {key: value for key, value in config.items() if key not in ("scheduler", "launch")}
    found = []
    for error in sorted(_validator().iter_errors(config), key=lambda e: list(e.path)):
        best = best_match([error])  # oneOf/anyOf: jsonschema's own choice of the most relevant branch
        where = ".".join(str(p) for p in best.absolute_path) or "the top level"
        found.append((f"{where}: {best.message}", tuple(best.absolute_path)))
    if config.get("method") == "bayes" and "metric" not in config:
        found.append(("method bayes needs a `metric` section (W&B: 'Bayesian search requires \"metric\" section')",
                      ("method",)))
    return found
