"""Checkpoints written atomically, so an interrupted job never leaves a half-written ``last.ckpt`` to resume from.

Lightning's own save goes through an fsspec transaction whose local temporary file lives in the system temp folder
and is moved into place with ``shutil.move``: a copy, not an atomic rename, when the run folder is on another file
system. This CheckpointIO plugin writes beside the target and renames (``gan_sweeps.atomic``)."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from gan_sweeps.atomic import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not support storage_options, got {storage_options!r}")
        atomic_write(path, lambda fh: torch.save(checkpoint, fh))
