"""Seconds per epoch and training images per second (the numbers seed 002 compares across batch sizes)."""

from __future__ import annotations

import time

import pytorch_lightning as pl
import torch


def _sync(module: pl.LightningModule) -> None:
    if module.device.type == "cuda":
        torch.cuda.synchronize(module.device)


class Throughput(pl.Callback):
    def __init__(self):
        self.epoch_seconds: list[float] = []
        self.images = 0
        self._epoch_start = 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        _sync(pl_module)
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.images += batch[0].shape[0] * trainer.world_size

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        _sync(pl_module)
        self.epoch_seconds.append(time.perf_counter() - self._epoch_start)

    @property
    def images_per_s(self) -> float:
        total = sum(self.epoch_seconds)
        return self.images / total if total > 0 else 0.0

    def summary(self) -> dict:
        return {"epoch_seconds": [round(s, 3) for s in self.epoch_seconds],
                "train_images": self.images, "images_per_s": round(self.images_per_s, 1)}
