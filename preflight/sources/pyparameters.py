"""Where a script's hyperparameters come from: command-line options, argument dataclasses, click and
typer options, Hydra, the configuration files it loads, and the keys it reads from `wandb.config` (which
a sweep fills)."""

from __future__ import annotations

import ast
import dataclasses
import re

from preflight.model import ConfigReads, Hyperparameters
from preflight.sources import pyoutline
from preflight.sources.pycalls import Call, Library, calls, methods

_HYPERPARAMETERS = re.compile(r"\.add_argument\(\s*['\"]--|@dataclass|typer\.Option|click\.option|hydra\.main|"
                              r"HfArgumentParser|TrlParser|OmegaConf\.load")


class Parameters(Library):
    @calls(*pyoutline.LOADER_NAMES)
    @methods(*pyoutline.LOADER_METHODS)
    def config_file(self, call: Call) -> None:
        """A configuration file the script loads (the link stage decides which file it is)."""
        loader = pyoutline.config_loader(self.module, call.node, call.scope, None)
        if loader is not None:
            self.file.add(dataclasses.replace(loader, site=self.file.site(call.node)))

    def finish(self) -> None:
        module = self.module
        takes = _HYPERPARAMETERS.search(module.source.text)
        if takes:
            self.file.add(Hyperparameters(takes.group(0).strip("(@.'\"")))
        if "config" in module.source.text or "add_argument" in module.source.text:
            self.file.add(self._config_reads())

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
