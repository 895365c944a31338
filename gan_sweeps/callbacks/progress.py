"""Training progress into the run folder's ``progress.json`` (format: ``gan_sweeps.sweep.progress``), for
``python -m gan_sweeps.sweep.status``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from gan_sweeps.callbacks.throughput import Throughput
from gan_sweeps.sweep.progress import PROGRESS_INTERVAL_S, this_host, write_progress


class Progress(pl.Callback):
    """Writes progress.json at train start, every epoch end, at most every ``interval_s`` within an epoch, and at
    train end. Epoch durations come from the run's ``Throughput`` callback (one clock for both records)."""

    def __init__(self, run_dir: str | Path, throughput: Throughput, interval_s: float = PROGRESS_INTERVAL_S):
        self.run_dir = Path(run_dir)
        self.throughput = throughput
        self.interval_s = interval_s
        self.state: dict[str, Any] = {"pid": os.getpid(), "host": this_host(), "stage": "training",
                                      "train_ended": None, "batch": 0, "losses": {}}
        self._last_write = 0.0

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule, check: bool = True, **changes: Any) -> None:
        if not trainer.is_global_zero:
            return
        losses = getattr(pl_module, "running_epoch_losses", None)
        current = losses(check=check) if callable(losses) else {}
        self.state.update(changes, updated=time.time(), max_epochs=trainer.max_epochs,
                          batches_per_epoch=_batches(trainer), epoch_seconds=list(self.throughput.epoch_seconds))
        if current:
            self.state["losses"] = current
        write_progress(self.run_dir, self.state)
        self._last_write = time.monotonic()

    def on_train_start(self, trainer, pl_module) -> None:
        now = time.time()
        self._write(trainer, pl_module, started=now, epoch_started=now, epoch=trainer.current_epoch)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.state.update(epoch_started=time.time(), batch=0)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if time.monotonic() - self._last_write >= self.interval_s:
            self._write(trainer, pl_module, check=False, batch=batch_idx + 1)  # no wait for the device in a step

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # Callbacks run before the module's own hook: the running means are still the whole epoch's.
        self._write(trainer, pl_module, epoch=trainer.current_epoch + 1, batch=0)

    def on_train_end(self, trainer, pl_module) -> None:
        self._write(trainer, pl_module, stage="finishing", train_ended=time.time())


def _batches(trainer: pl.Trainer) -> int | None:
    batches = trainer.num_training_batches
    return int(batches) if isinstance(batches, (int, float)) and batches != float("inf") else None


class LossBar(pl.callbacks.RichProgressBar):
    """Lightning's progress bar (interactive runs), with the epoch's running mean losses as of the module's last
    check (every ``trainer.log_every_n_steps`` batches): the bar never reads a tensor on the device (a value logged
    with ``prog_bar=True`` would be read back at every batch)."""

    def get_metrics(self, trainer, pl_module) -> dict[str, Any]:
        items = super().get_metrics(trainer, pl_module)
        losses = getattr(pl_module, "running_epoch_losses", None)
        if callable(losses):
            items.update({k: f"{v:.3g}" for k, v in losses(check=False).items()})
        return items
