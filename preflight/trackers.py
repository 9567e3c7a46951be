"""Names by which code reaches a tracker, shared by every extractor that recognises them (Python imports,
Hydra `_target_` paths in YAML)."""

from __future__ import annotations

NEPTUNE_PACKAGES = frozenset({"neptune", "neptune_scale", "neptune_client"})
NEPTUNE_INTEGRATIONS = frozenset({"NeptuneLogger", "NeptuneCallback"})  # Lightning's logger, the HF callback


def is_neptune(qualified_name: str) -> bool:
    """`neptune.init_run`, `neptune_scale.Run`, `lightning.pytorch.loggers.NeptuneLogger`, ..."""
    return (qualified_name.split(".")[0] in NEPTUNE_PACKAGES
            or qualified_name.rsplit(".", 1)[-1] in NEPTUNE_INTEGRATIONS)


def is_hydra_tracker_target(target: str) -> bool:
    """A Hydra `_target_` that instantiates a tracker this project's rules know: Lightning's WandbLogger, and
    anything of Neptune's (whose hosted service shut down)."""
    return target.endswith("WandbLogger") or is_neptune(target)
