"""Image grids during training: ``samples/epoch_XXX.png`` (1-based) plus one W&B image per grid, and for models that
reconstruct (autoencoders) ``reconstructions/epoch_XXX.png`` after every epoch.

The grids are assembled here from what a model can do: a sampler decodes its fixed noise (``fixed_z``, saved in
its checkpoints, so a resumed run keeps drawing the same grid; conditional models one row per class); a model with
``reconstruct`` shows a fixed batch of test images (two per class) each followed by its reconstruction. A plain
autoencoder is no sampler: its sample grid is that reconstruction grid."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_only

from gan_sweeps.data import to_unit_range
from gan_sweeps.data.subsets import first_per_class
from gan_sweeps.evaluation.passes import eval_mode
from gan_sweeps.images import save_grid
from gan_sweeps.models.base import log_step

GRID_PER_CLASS = 2  # test images per class in the reconstruction grid


def sample_path(run_dir: Path, epoch: int) -> Path:
    return Path(run_dir) / "samples" / f"epoch_{epoch:03d}.png"


@torch.no_grad()
def fixed_noise_grid(module) -> tuple[torch.Tensor, int]:
    """[0, 1] images decoded from the module's fixed noise (eval mode), and the row length (one row per class if
    the module is conditional)."""
    with eval_mode(module):
        labels = (torch.arange(module.num_classes, device=module.device).repeat_interleave(module.num_classes)
                  if module.conditional else None)
        images = module.decode(module.fixed_z, labels)
    nrow = module.num_classes if module.conditional else int(len(module.fixed_z) ** 0.5)
    return to_unit_range(images.float(), module.normalize), nrow


@torch.no_grad()
def reconstruction_grid(module, images: torch.Tensor, per_row: int) -> tuple[torch.Tensor, int]:
    """[0, 1] images: rows of ``per_row`` inputs, each row followed by their reconstructions (eval mode)."""
    with eval_mode(module):
        rec = module.reconstruct(images)
    rows = [img for pair in zip(images.split(per_row), rec.split(per_row)) for img in pair]
    return to_unit_range(torch.cat(rows).float(), module.normalize), per_row


class SampleGrid(pl.Callback):
    """``epochs`` (1-based, e.g. ``[1, 25, 50]``; top-level ``sample_epochs``) replaces ``every_n_epochs`` when set.
    Reconstruction grids are written after every epoch."""

    def __init__(self, run_dir: str | Path, every_n_epochs: int = 1, epochs: Sequence[int] | None = None):
        self.run_dir = Path(run_dir)
        self.every_n_epochs = every_n_epochs
        self.epochs = None if epochs is None else {int(e) for e in epochs}
        self.test_batch: torch.Tensor | None = None  # the fixed inputs of reconstruction grids

    def on_fit_start(self, trainer: pl.Trainer, pl_module) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if callable(getattr(pl_module, "reconstruct", None)) and datamodule is not None:
            x, y = datamodule.load(train=False, device=pl_module.device)
            self.test_batch = x[first_per_class(y, GRID_PER_CLASS, pl_module.num_classes)]

    def sample_grid(self, pl_module) -> tuple[torch.Tensor, int]:
        if pl_module.is_generative or self.test_batch is None:
            return fixed_noise_grid(pl_module)
        return reconstruction_grid(pl_module, self.test_batch, pl_module.num_classes)

    def _due(self, trainer: pl.Trainer, epoch: int) -> bool:
        if self.epochs is not None:
            return epoch in self.epochs
        return self.every_n_epochs > 0 and not (epoch % self.every_n_epochs and epoch != trainer.max_epochs)

    @rank_zero_only
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        epoch = trainer.current_epoch + 1
        if self.test_batch is not None:
            save_grid(*reconstruction_grid(pl_module, self.test_batch, pl_module.num_classes),
                      self.run_dir / "reconstructions" / f"epoch_{epoch:03d}.png")
        if not self._due(trainer, epoch):
            return
        path = save_grid(*self.sample_grid(pl_module), sample_path(self.run_dir, epoch))
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [str(path)], step=log_step(trainer),
                                 caption=[f"epoch {epoch}"])
