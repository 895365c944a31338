"""Fixed-noise sample grid after every epoch: ``samples/epoch_XXX.png`` (1-based) and one W&B image."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_only
from torchvision.utils import make_grid, save_image

from gan_sweeps.atomic import atomic_write


def sample_path(run_dir: Path, epoch: int) -> Path:
    return Path(run_dir) / "samples" / f"epoch_{epoch:03d}.png"


def save_grid(images01: torch.Tensor, nrow: int, path: str | Path) -> Path:
    """[0, 1] images as one PNG grid, written atomically (a report may read the run folder meanwhile)."""
    grid = make_grid(images01.detach().float().cpu(), nrow=nrow, padding=2, pad_value=1.0)
    return atomic_write(path, lambda fh: save_image(grid, fh, format="png"))


class SampleGrid(pl.Callback):
    """``epochs`` (1-based, e.g. ``[1, 25, 50]``; top-level ``sample_epochs``) replaces ``every_n_epochs`` when set."""

    def __init__(self, run_dir: str | Path, every_n_epochs: int = 1, epochs: Sequence[int] | None = None):
        self.run_dir = Path(run_dir)
        self.every_n_epochs = every_n_epochs
        self.epochs = None if epochs is None else {int(e) for e in epochs}

    @rank_zero_only
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        epoch = trainer.current_epoch + 1
        if self.epochs is not None:
            if epoch not in self.epochs:
                return
        elif self.every_n_epochs <= 0 or (epoch % self.every_n_epochs and epoch != trainer.max_epochs):
            return
        path = save_grid(*pl_module.sample_grid(), sample_path(self.run_dir, epoch))
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [str(path)], step=trainer.fit_loop.epoch_loop._batches_that_stepped,
                                 caption=[f"epoch {epoch}"])
