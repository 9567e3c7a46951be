"""Neptune in Python: the imports of its packages and of the integrations that log to it (the NEP rules
judge the import itself: a client that is end-of-life, a logger that needs the new one)."""

from __future__ import annotations

import ast

from preflight.model import ModuleImport
from preflight.sources.pycalls import Library
from preflight.trackers import NEPTUNE_INTEGRATIONS, NEPTUNE_PACKAGES


class Neptune(Library):
    def imported(self, node: ast.Import | ast.ImportFrom) -> None:
        location = self.module.location(node)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in NEPTUNE_PACKAGES:
                    self.file.add(ModuleImport(location, alias.name))
        elif node.level == 0 and node.module:
            top = node.module.split(".")[0]
            for alias in node.names:
                if alias.name != "*" and (top in NEPTUNE_PACKAGES or alias.name in NEPTUNE_INTEGRATIONS):
                    self.file.add(ModuleImport(location, f"{node.module}.{alias.name}"))
