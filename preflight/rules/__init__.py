"""Stands for the rule pack when preflight runs from a source checkout.

The rule pack lives in the repository's top-level `rules/` folder, so that the layout shows the
architecture (engine in `preflight/`, rules in `rules/`); installed, it is the package `preflight.rules`
(pyproject.toml maps it). Run from the checkout itself (`python -m preflight`, pytest from the root,
where the local `preflight/` comes before any installed copy), this package points at the same folder.
"""

from pathlib import Path

__path__ = [str(Path(__file__).resolve().parent.parent.parent / "rules")]
