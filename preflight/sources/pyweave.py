"""Weave in Python: `weave.init` logs traces to W&B, so it needs the W&B key like a run does."""

from __future__ import annotations

from preflight.model import TrackerUse
from preflight.sources.pycalls import Call, Library, calls


class Weave(Library):
    @calls("weave.init")
    def init(self, call: Call) -> None:
        self.file.add(TrackerUse(self.module.location(call.node), "wandb", "weave.init", self.file.site(call.node)))
