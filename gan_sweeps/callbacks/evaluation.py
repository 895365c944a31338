"""Evaluation during training: every N epochs (curves of FID/IS/... in the logs, the values Optuna's pruner reads)
and at a model's phase switch."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import pytorch_lightning as pl


def scalar_metrics(results: dict[str, Any]) -> dict[str, float]:
    """The finite numbers among evaluation results (lists, flags and text stay in metrics.json only)."""
    return {k: float(v) for k, v in results.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))}


class PeriodicEvaluation(pl.Callback):
    """Calls ``evaluate(module) -> dict`` after every ``every_n_epochs``-th epoch and logs the scalars.

    The last epoch is left to the end-of-run evaluation (train.py), which scores with the full sample count."""

    def __init__(self, evaluate: Callable[[pl.LightningModule], dict[str, Any]], every_n_epochs: int):
        self.evaluate = evaluate
        self.every_n_epochs = every_n_epochs
        self.history: list[dict[str, Any]] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if self.every_n_epochs <= 0 or epoch % self.every_n_epochs or epoch >= (trainer.max_epochs or 0):
            return
        results = self.evaluate(pl_module)
        self.history.append({"epoch": epoch, **results})
        pl_module.log_dict(scalar_metrics(results), on_step=False, on_epoch=True)


class PhaseSwitchEvaluation(pl.Callback):
    """For models with a ``phase_switch_epoch`` (the Triplet GAN's last pre-training epoch): after that epoch, when
    training goes on past it, score the embedding once (``evaluation.run.phase_switch_scores``), keep the numbers
    in the module's ``pretrain_metrics`` (saved in checkpoints, reported as ``eval/pretrain/*``) and log them."""

    def __init__(self, run_dir: str | Path, batch_size: int = 1000):
        self.run_dir = Path(run_dir)
        self.batch_size = batch_size

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        switch = getattr(pl_module, "phase_switch_epoch", None)
        if switch is None or trainer.current_epoch + 1 != switch or (trainer.max_epochs or 0) <= switch:
            return
        from gan_sweeps.evaluation.run import phase_switch_scores

        pl_module.pretrain_metrics = phase_switch_scores(pl_module, trainer.datamodule, self.run_dir,
                                                         self.batch_size)
        pl_module.log_dict(pl_module.pretrain_metrics, on_step=False, on_epoch=True)
