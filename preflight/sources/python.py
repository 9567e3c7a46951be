"""Python training scripts: parse once with `ast`, and hand every call to the libraries that understand it.

Each library preflight knows is one module of `preflight.sources` with one `Library` subclass, which
registers the calls it reads (`preflight.sources.pycalls` says how); adding a library is adding a
module and naming its class below.
"""

from __future__ import annotations

import ast

from preflight.findings import Location
from preflight.model import Fact, ParseError, ParseProblem
from preflight.sources import (
    pyaccelerate, pyaim, pyartifacts, pyenviron, pyhf, pyhydra, pylightning, pyloopmetrics, pymlflow, pyneptune,
    pyparameters, pyseeding, pywandb, pyweave,
)
from preflight.sources.pycalls import Dispatcher
from preflight.sources.pyscope import Module
from preflight.sources.text import SourceText

# The order in which they finish: the libraries that start W&B runs (Accelerate's init_trackers is known
# only once the file's Accelerators are) come before W&B, which emits every run; seeding looks at the
# Trainers and parsers found; the artifact analysis reads the whole module.
LIBRARIES = Dispatcher((
    pyparameters.Parameters, pyenviron.Environ, pyneptune.Neptune, pyhf.Transformers, pyaccelerate.Accelerate,
    pymlflow.Mlflow, pyaim.Aim, pyweave.Weave, pywandb.Wandb, pyseeding.Seeds, pyloopmetrics.LoopMetrics,
    pyartifacts.Artifacts, pylightning.Lightning, pyhydra.Hydra,
))


def parse(source: SourceText) -> ast.Module | ParseError:
    try:
        return ast.parse(source.text, filename=source.path)
    except SyntaxError as exc:
        line = max(1, exc.lineno or 1)
        column = max(1, exc.offset or 1)
        return ParseError(Location(source.path, line, column), f"Python syntax error: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc) or type(exc).__name__
        return ParseError(Location.start_of(source.path), f"Python source cannot be parsed: {reason}")


def extract(source: SourceText) -> list[Fact]:
    tree = parse(source)
    if isinstance(tree, ParseError):
        return [tree]
    try:
        return LIBRARIES.extract(Module(source, tree))
    except RecursionError:
        return [ParseError(Location.start_of(source.path), "Python source is nested too deeply to analyse",
                           ParseProblem.TOO_LARGE)]
