"""Image grids as PNG files (sample grids, reconstructions, interpolations), written atomically: a report may read
the run folder while they are written."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image

from gan_sweeps.atomic import atomic_write


def save_grid(images01: torch.Tensor, nrow: int, path: str | Path) -> Path:
    """[0, 1] images (N, 1, H, W) as one PNG grid of ``nrow`` images per row."""
    grid = make_grid(images01.detach().float().cpu(), nrow=nrow, padding=2, pad_value=1.0)
    return atomic_write(path, lambda fh: save_image(grid, fh, format="png"))
