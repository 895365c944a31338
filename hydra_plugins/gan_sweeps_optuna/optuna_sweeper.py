"""The Hydra plugin class named by ``hydra/sweeper=optuna``; the work is in ``_impl`` (imported on first use, so
Hydra's start-up scan of plugins does not import Optuna)."""

from __future__ import annotations

from typing import Any, List

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Runs an Optuna study whose trials are Hydra jobs; see ``config.OptunaSweeperConf`` for the keys."""

    def __init__(self, **keys: Any) -> None:  # the keys of config.OptunaSweeperConf (Hydra checks their names)
        from ._impl import OptunaSweeperImpl

        self._impl = OptunaSweeperImpl(**keys)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self._impl.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        return self._impl.sweep(arguments)
