"""Aim in Python: the runs a script starts (`aim.Run`, its Hugging Face callback and Lightning logger)
and the repository each writes to."""

from __future__ import annotations

from preflight.model import AimRun
from preflight.sources.pycalls import Call, Library, calls

# Aim's run starts -> the positional index of `repo` (None: keyword only). aim/sdk/run.py, sdk/adapters.
RUNS = {"aim.Run": None, "aim.sdk.Run": None, "aim.sdk.run.Run": None, "aim.Session": 0,
        "aim.hugging_face.AimCallback": 0, "aim.sdk.adapters.hugging_face.AimCallback": 0,
        "aim.pytorch_lightning.AimLogger": 0, "aim.sdk.adapters.pytorch_lightning.AimLogger": 0}


class Aim(Library):
    @calls(*RUNS)
    def run(self, call: Call) -> None:
        node, module, index = call.node, self.module, RUNS[call.name]
        kwargs, complete = module.kwargs(node, call.scope)
        repo = kwargs.get("repo")
        if repo is None and node.args and index is not None and len(node.args) > index:
            repo = module.value(node.args[index], call.scope)
        self.file.add(AimRun(module.location(node), call.name.rsplit(".", 1)[-1], repo, complete))
