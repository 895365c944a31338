"""Optuna pruning for runs launched by an Optuna sweeper (``hydra/sweeper=optuna``).

After each periodic evaluation (``eval.every_n_epochs``) the run's objective is reported to its trial
(``trial.report(value, epoch)``); when the study's pruner says so, ``optuna.TrialPruned`` is raised, which
``train.run`` records as status ``pruned`` and the sweeper tells Optuna as PRUNED.

The job side of the sweeper's trial contract (documented in ``hydra_plugins/gan_sweeps_optuna/trial_link.py``):
a job of the sweeper finds ``optuna.trial`` in its config; when that node has a ``_target_``, instantiating it
returns the running ``optuna.trial.Trial`` (reopened from the study's storage: the job may run in another process
or machine than the sweeper). This module never imports the sweeper. Written for ``pytorch_lightning``
(optuna-integration's callback imports the ``lightning`` package, whose callbacks our Trainer refuses)."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from gan_sweeps.callbacks.evaluation import PeriodicEvaluation

log = logging.getLogger(__name__)


class OptunaPruning(pl.Callback):
    """Reports ``objective`` from each :class:`PeriodicEvaluation` result to trial ``trial_number`` and stops the run
    when the pruner prunes it. Must come after ``evaluation`` in the Trainer's callbacks (hooks run in list order)."""

    def __init__(self, evaluation: PeriodicEvaluation, objective: str, link: Any):
        self.evaluation = evaluation
        self.objective = objective
        self.link = link  # the ``optuna.trial`` config node: instantiate it to get the trial
        self.trial_number = link.get("number")
        self._trial: Any = None
        self._reported_epoch = 0
        self._warned = False

    @classmethod
    def from_config(cls, cfg: DictConfig, evaluation: PeriodicEvaluation) -> "OptunaPruning | None":
        """The callback for a job whose trial takes intermediate values, or None for any other run."""
        link = OmegaConf.select(cfg, "optuna.trial", default=None)
        if not isinstance(link, DictConfig) or "_target_" not in link:
            return None
        return cls(evaluation, str(cfg.objective), link)

    @property
    def trial(self) -> Any:
        """The Optuna trial, opened from the storage on first use."""
        if self._trial is None:
            from hydra.utils import instantiate

            self._trial = instantiate(self.link)
        return self._trial

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        history = self.evaluation.history
        if not history or history[-1].get("epoch") != epoch or epoch <= self._reported_epoch:
            return  # no evaluation at this epoch
        value = history[-1].get(self.objective)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            if not self._warned:
                log.warning("Optuna pruning: the periodic evaluation has no finite %r, so nothing is reported "
                            "(pruning needs an objective the evaluation computes, e.g. eval/fid)", self.objective)
                self._warned = True
            return
        import optuna

        self._reported_epoch = epoch
        self.trial.report(float(value), step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"trial {self.trial_number} pruned at epoch {epoch}: "
                                     f"{self.objective}={value:.6g}")
