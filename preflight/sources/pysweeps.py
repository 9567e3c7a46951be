"""Sweep configurations written in Python: `wandb.sweep(sweep={...})`.

The dict becomes the same SweepSpec a sweep YAML file gives, with positions in the Python source, so
that every SWP rule reads both. A dict that is not literal (built from variables the analysis cannot
follow) or that is changed after it is built gives no spec: no guess.
"""

from __future__ import annotations

import ast

from preflight.model import SweepSpec
from preflight.sources.pyscope import Module, Scope, argument, dict_mutated


def sweep_spec(module: Module, call: ast.Call, scope: Scope, runs_here: bool) -> SweepSpec | None:
    expr = argument(call, "sweep", 0)
    if isinstance(expr, ast.Name):
        if dict_mutated(expr.id, scope):
            return None
        expr = module.resolve_name(expr, scope)
    if not isinstance(expr, ast.Dict):
        return None
    known, config = module.literal(expr, scope)
    if not known or not isinstance(config, dict):
        return None
    from preflight.sources import sweepschema

    def where(*path, value=False):
        node = _node(expr, path, value)
        return module.location(node if node is not None else expr)

    metric = config.get("metric") if isinstance(config.get("metric"), dict) else {}
    parameters = config.get("parameters") if isinstance(config.get("parameters"), dict) else {}
    command = config.get("command")
    terminate = config.get("early_terminate") if isinstance(config.get("early_terminate"), dict) else {}
    return SweepSpec(
        location=module.location(expr),
        program=config.get("program") if isinstance(config.get("program"), str) else None,
        command=tuple(str(w) for w in command) if isinstance(command, list) else None,
        command_location=where("command") if "command" in config else None,
        metric=metric.get("name") if isinstance(metric.get("name"), str) else None,
        goal=metric.get("goal") if isinstance(metric.get("goal"), str) else None,
        metric_location=where("metric") if "metric" in config else None,
        metric_name_location=where("metric", "name", value=True) if isinstance(metric.get("name"), str) else None,
        problems=tuple((message, where(*path)) for message, path in sweepschema.violations(config)),
        parameters=tuple((str(name), where("parameters", name)) for name in parameters),
        early_terminate=terminate.get("type") if isinstance(terminate.get("type"), str) else None,
        early_terminate_location=where("early_terminate") if "early_terminate" in config else None,
        runs_here=runs_here,
    )


def _node(expr: ast.AST, path: tuple, value: bool = False) -> ast.AST | None:
    """The key node of the last step of `path` inside a dict literal (the value for list indices, or with
    `value`)."""
    node, found = expr, None
    for part in path:
        if isinstance(node, ast.Dict):
            index = next((i for i, k in enumerate(node.keys)
                          if isinstance(k, ast.Constant) and k.value == part), None)
            if index is None:
                return found
            found = node.values[index] if value else node.keys[index]
            node = node.values[index]
        elif isinstance(node, (ast.List, ast.Tuple)) and isinstance(part, int) and part < len(node.elts):
            found = node = node.elts[part]
        else:
            return found
    return found
