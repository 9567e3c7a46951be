"""The environment a Python script sets for its own process: `os.environ[...] = ...`,
`os.environ.setdefault/update(...)`, `os.putenv(...)` (a variable set before a tracker starts
counts like one the launcher gives)."""

from __future__ import annotations

import ast

from preflight.model import EnvWrite
from preflight.sources.pycalls import Call, Library, calls, calls_where
from preflight.sources.pyscope import Scope, argument

ENVIRON = "os.environ"


class Environ(Library):
    def assigned(self, node: ast.Assign, scope: Scope) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript) and self.module.qualname(target.value, scope) == ENVIRON:
                self._write(target.slice, node.value, scope, node)

    @calls("os.putenv")
    def putenv(self, call: Call) -> None:
        self._write(argument(call.node, "key", 0), argument(call.node, "value", 1), call.scope, call.node)

    @calls_where(lambda name: name.startswith(ENVIRON + "."))
    def environ_method(self, call: Call) -> None:
        node, scope, method = call.node, call.scope, call.name.rsplit(".", 1)[-1]
        if method == "setdefault":
            self._write(argument(node, "key", 0), argument(node, "default", 1), scope, node)
        elif method == "update":
            for kw in node.keywords:
                if kw.arg:
                    self._write(kw, kw.value, scope, node)
            if node.args and isinstance(node.args[0], ast.Dict):
                for key, value in zip(node.args[0].keys, node.args[0].values):
                    if key is not None:
                        self._write(key, value, scope, node)

    def _write(self, key: ast.AST | None, value: ast.expr | None, scope: Scope, at: ast.AST) -> None:
        if key is None or value is None:
            return
        module = self.module
        if isinstance(key, ast.keyword):
            name, location = key.arg, module.keyword_location(key)
        else:
            known, name = module.literal(key, scope)
            if not known or not isinstance(name, str):
                return
            location = module.location(key)
        self.file.add(EnvWrite(location, name, module.value(value, scope, location), self.file.site(at)))
