"""Where a script's hyperparameters come from: command-line options, argument dataclasses, click and
typer options, Hydra, the configuration files it loads, and the keys it reads from `wandb.config` (which
a sweep fills)."""

from __future__ import annotations

import ast
import dataclasses

from preflight.model import ConfigReads, Hyperparameters
from preflight.sources import pyoutline
from preflight.sources.pycalls import Call, Library, PythonFile, calls, methods
from preflight.sources.pyhf import ARGUMENT_PARSERS
from preflight.sources.pyscope import Scope, simple_name

# Calls that declare hyperparameters (or read them from a file), besides argparse options.
DECLARING = {"typer.Option", "click.option", "hydra.main", "omegaconf.OmegaConf.load",
             "omegaconf.omegaconf.OmegaConf.load", *ARGUMENT_PARSERS}
_PARSER_CLASSES = {name.rsplit(".", 1)[-1] for name in ARGUMENT_PARSERS}


class Parameters(Library):
    def __init__(self, file: PythonFile) -> None:
        super().__init__(file)
        self.taken_by: str | None = None  # how the script takes hyperparameters, when it does

    @methods("add_argument")
    def option(self, call: Call) -> None:
        """An argparse option (`parser.add_argument("--lr", ...)`)."""
        first = call.node.args[0] if call.node.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("--"):
            self.taken_by = self.taken_by or "argparse"

    @calls(*DECLARING)
    def declaration(self, call: Call) -> None:
        self.taken_by = self.taken_by or call.name

    @calls(*pyoutline.LOADER_NAMES)
    @methods(*pyoutline.LOADER_METHODS)
    def config_file(self, call: Call) -> None:
        """A configuration file the script loads (the link stage decides which file it is)."""
        loader = pyoutline.config_loader(self.module, call.node, call.scope, None)
        if loader is not None:
            self.file.add(dataclasses.replace(loader, site=self.file.site(call.node)))

    def finish(self) -> None:
        module = self.module
        taken_by = self.taken_by or self._declared_in_signatures()
        if taken_by:
            self.file.add(Hyperparameters(taken_by))
        # SWP005 judges the reads of a program that names `config` or `add_argument` anywhere (wandb.config, a
        # config= argument, a config module, a --config option); one that names neither takes its parameters
        # in a way these facts do not describe (click, fire, sys.argv) and is not judged. A text test, kept as
        # the rule's premise: a question to the tree in its place changes what SWP005 reports.
        if "config" in module.source.text or "add_argument" in module.source.text:
            self.file.add(self._config_reads())

    def _declared_in_signatures(self) -> str | None:
        """What the calls do not show: a dataclass the script defines (its fields become command-line
        arguments once a parser reads it), an option declared in a parameter's annotation
        (`lr: Annotated[float, typer.Option()]`), an HfArgumentParser/TrlParser imported (to subclass)."""
        module = self.module
        for scope in module.scopes.values():
            node = scope.node
            if isinstance(node, ast.ClassDef) and any(self._is_dataclass(d, scope.parent) for d in node.decorator_list):
                return "dataclass"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
                    for call in ast.walk(arg.annotation) if arg.annotation is not None else ():
                        if isinstance(call, ast.Call) and module.qualname(call.func, scope.parent) in DECLARING:
                            return module.qualname(call.func, scope.parent)
        imported = [*(name.rsplit(".", 1)[-1] for name in module.aliases.values()),
                    *(name for _, _, name in module.relative.values())]
        return next((name for name in imported if name in _PARSER_CLASSES), None)

    def _config_reads(self) -> ConfigReads:
        """Keys read from wandb.config / run.config, argparse options, and whether the config escapes whole.
        Reads what the module walk gathered (calls, `.config` attributes with their parents): no walk of its own."""
        module, keys, options, opaque = self.module, [], [], False
        for call, _, _ in module.calls:
            func = call.func
            if not isinstance(func, ast.Attribute):
                continue
            if func.attr == "add_argument":
                for arg in call.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("--"):
                        options.append(arg.value[2:].replace("-", "_"))
            elif func.attr == "get" and isinstance(func.value, ast.Attribute) and func.value.attr == "config" \
                    and call.args:  # wandb.config.get("key")
                known, key = module.literal(call.args[0], module.module_scope)
                if known and isinstance(key, str):
                    keys.append(key)
        for node, parent in module.config_uses:
            base = module.qualname(node.value) or ""
            is_run = isinstance(node.value, ast.Name) and module.constructor_of(node.value, module.module_scope) in (
                "wandb.init", "wandb.sdk.init")
            if base != "wandb" and not is_run and not (isinstance(node.value, ast.Name) and node.value.id == "run"):
                continue
            if isinstance(parent, ast.Attribute) and parent.attr not in ("update", "setdefaults", "keys", "items"):
                keys.append(parent.attr)
            elif isinstance(parent, ast.Subscript) and parent.value is node:
                known, key = module.literal(parent.slice, module.module_scope)
                if known and isinstance(key, str):
                    keys.append(key)
                else:
                    opaque = True
            elif isinstance(parent, ast.Attribute) and parent.attr in ("keys", "items"):
                opaque = True
            elif isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr == "get":
                pass
            elif not isinstance(parent, ast.Attribute):
                opaque = True  # the whole config is handed on
        return ConfigReads(tuple(dict.fromkeys(keys)), tuple(dict.fromkeys(options)), opaque)

    def _is_dataclass(self, decorator: ast.expr, scope: Scope | None) -> bool:
        """`@dataclass`, `@dataclasses.dataclass(frozen=True)`, pydantic's (not flax's `struct.dataclass`)."""
        decorator = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = self.module.qualname(decorator, scope)
        return name.endswith("dataclasses.dataclass") if name else simple_name(decorator) == "dataclass"
