"""Evaluation every N epochs: curves of FID/IS/... in the logs, and the values Optuna's pruner reads."""

from __future__ import annotations

import math
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
