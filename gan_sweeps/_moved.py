"""Modules that moved into packages (issue 17), still importable by their old names: run folders made before
the move name them in their configs' ``_target_`` (``gan_sweeps.losses.Hinge``), and the studies and ``resume=true``
rebuild models from those configs. The old name gives the new module itself (no copy)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

MOVED = {
    "gan_sweeps.train": "gan_sweeps.run.train",
    "gan_sweeps.build": "gan_sweeps.run.build",
    "gan_sweeps.launch": "gan_sweeps.run.launch",
    "gan_sweeps.run_record": "gan_sweeps.run.run_record",
    "gan_sweeps.timings": "gan_sweeps.run.timings",
    "gan_sweeps.tracking": "gan_sweeps.run.tracking",
    "gan_sweeps.hydra_callbacks": "gan_sweeps.run.hydra_callbacks",
    "gan_sweeps.train_config": "gan_sweeps.run.train_config",
    "gan_sweeps.plan": "gan_sweeps.sweep.plan",
    "gan_sweeps.status": "gan_sweeps.sweep.status",
    "gan_sweeps.progress": "gan_sweeps.sweep.progress",
    "gan_sweeps.sweep_keys": "gan_sweeps.sweep.keys",
    "gan_sweeps.losses": "gan_sweeps.training.losses",
    "gan_sweeps.losses_config": "gan_sweeps.training.losses_config",
    "gan_sweeps.losses_ssl": "gan_sweeps.training.losses_ssl",
    "gan_sweeps.regularizers": "gan_sweeps.training.regularizers",
    "gan_sweeps.regularizers_config": "gan_sweeps.training.regularizers_config",
    "gan_sweeps.optim": "gan_sweeps.training.optim",
    "gan_sweeps.optim_config": "gan_sweeps.training.optim_config",
    "gan_sweeps.provenance": "gan_sweeps.config.provenance",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec: Any) -> Any:
        return importlib.import_module(self.new)

    def exec_module(self, module: Any) -> None:
        pass


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds ``gan_sweeps.losses`` as ``gan_sweeps.training.losses``, and so on for every entry of MOVED."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        new = MOVED.get(name)
        return importlib.util.spec_from_loader(name, _Alias(new)) if new else None


def register() -> None:
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModules())  # before any finder that might know a stale copy
