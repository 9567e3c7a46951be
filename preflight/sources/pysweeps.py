"""Sweep configurations written in Python: `wandb.sweep(sweep={...})`.

The dict becomes the same SweepSpec a sweep YAML file gives, with positions in the Python source, so
that every SWP rule reads both. A dict that is not literal (built from variables the analysis cannot
follow) or that is changed after it is built gives no spec: no guess.
"""

from __future__ import annotations

import ast

from preflight.findings import Location
from preflight.model import SweepSpec
from preflight.sources import sweepcommand
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
    program = config.get("program") if isinstance(config.get("program"), str) else None
    words = None
    if isinstance(command, list):
        words = [(str(word), _text_start(module, _node(expr, ("command", index), True)))
                 for index, word in enumerate(command)]
    return SweepSpec(
        location=module.location(expr),
        program=program,
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
        trial_command=() if runs_here else sweepcommand.trial_command(
            (program, _text_start(module, _node(expr, ("program",), True))) if program is not None else None,
            words, [str(name) for name in parameters]),
    )


def _text_start(module: Module, node: ast.AST | None) -> Location | None:
    """Where a string literal's text starts: after its prefix and opening quotes."""
    if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
        return None
    at = module.location(node)
    if at.line != at.end_line:
        return at
    written = module.source.line(at.line)[at.column - 1:at.end_column - 1]
    opening = len(written) - len(written.lstrip("rRbBuUfF"))
    rest = written[opening:]
    quotes = 3 if rest[:3] in ('"""', "'''") else 1
    return Location(at.path, at.line, at.column + opening + quotes, at.end_line, at.end_column - quotes)


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
