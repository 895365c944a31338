"""Fixed-noise sample grid after every epoch: ``samples/epoch_XXX.png`` (1-based) and one W&B image."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pytorch_lightning as pl
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_only
from torchvision.utils import make_grid, save_image


def sample_path(run_dir: Path, epoch: int) -> Path:
    return Path(run_dir) / "samples" / f"epoch_{epoch:03d}.png"


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
        images, nrow = pl_module.sample_grid()
        grid = make_grid(images.cpu(), nrow=nrow, padding=2, pad_value=1.0)
        path = sample_path(self.run_dir, epoch)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [str(path)], step=trainer.fit_loop.epoch_loop._batches_that_stepped,
                                 caption=[f"epoch {epoch}"])
