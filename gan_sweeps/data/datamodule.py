"""A LightningDataModule that holds the whole split as one tensor on the training device.

28x28 digits fit in memory many times over; batching by indexing a device tensor avoids per-item PIL transforms
and worker processes (GUIDE §2: 6,000 vs 3,500 images/s for the MLP GAN on this CPU)."""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch

from gan_sweeps.data.idx import load_split
from gan_sweeps.data.subsets import UNLABELLED, balanced_subset, complement
from gan_sweeps.data.transforms import to_model_range


class TensorBatches:
    """Iterable of shuffled ``(images, labels)`` batches drawn from tensors already on the device.

    Under DDP each rank takes its own slice of one shared permutation. The last partial batch is dropped unless
    the whole set is smaller than one batch (tiny smoke runs), in which case it is one batch."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, *, shuffle: bool = True,
                 seed: int = 0, rank: int = 0, world_size: int = 1, drop_last: bool = True,
                 epoch_fn=None):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.drop_last = drop_last
        self.epoch = 0
        self.epoch_fn = epoch_fn  # e.g. the trainer's current epoch, so a resumed run reshuffles the same way

    def _per_rank(self) -> int:
        return len(self.images) // self.world_size

    def __len__(self) -> int:
        n = self._per_rank()
        if n < self.batch_size:
            return 1 if n else 0
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n_total = len(self.images)
        if self.epoch_fn is not None:
            self.epoch = self.epoch_fn()
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(n_total, generator=gen).to(self.images.device)
        else:
            order = torch.arange(n_total, device=self.images.device)
        self.epoch += 1
        per_rank = self._per_rank()
        order = order[self.rank * per_rank:(self.rank + 1) * per_rank]
        size = min(self.batch_size, per_rank)
        for b in range(len(self)):
            idx = order[b * size:(b + 1) * size]
            yield self.images[idx], self.labels[idx]


class ImageDataModule(pl.LightningDataModule):
    """``train_images/labels``: the whole training split (cut to ``train_size``), true labels, on the device.

    Semi-supervised runs (``labelled_per_class`` = N): ``labelled_images/labels`` hold a class-balanced subset of N
    images per class drawn with ``labelled_seed`` (``labelled_indices`` index the training split); the training
    batches then come from the rest of the split with every label set to ``UNLABELLED`` (-1), so no model can use
    a label outside the subset by accident. With N = null every training image is labelled: ``labelled_*`` is the
    whole split and the batches carry their labels, as for any other model."""

    def __init__(self, name: str = "mnist", root: str | None = None, batch_size: int = 128,
                 train_size: int | None = None, normalize: str = "tanh", download: bool = False, seed: int = 0,
                 num_classes: int = 10, labelled_per_class: int | None = None, labelled_seed: int | None = None):
        super().__init__()
        self.name, self.root, self.batch_size = name, root, batch_size
        self.train_size, self.normalize, self.download, self.seed = train_size, normalize, download, seed
        self.num_classes = num_classes
        self.labelled_per_class = labelled_per_class
        self.labelled_seed = seed if labelled_seed is None else labelled_seed
        self.train_images: torch.Tensor | None = None
        self.train_labels: torch.Tensor | None = None
        self.labelled_indices: torch.Tensor | None = None
        self.labelled_images: torch.Tensor | None = None
        self.labelled_labels: torch.Tensor | None = None
        self._stream: tuple[torch.Tensor, torch.Tensor] | None = None  # what the training batches are drawn from

    def prepare_data(self) -> None:
        # Runs once per node: fetch or locate the files (raises a one-line error if absent).
        load_split(self.name, self.root, train=False, download=self.download)

    def load(self, train: bool = True, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """The split in model range, optionally cut to the first ``train_size`` images, on ``device``."""
        split = load_split(self.name, self.root, train=train, download=self.download)
        images, labels = split.images, split.labels
        if train and self.train_size:
            images, labels = images[: self.train_size], labels[: self.train_size]
        return to_model_range(images.to(device), self.normalize), labels.to(device)

    def setup(self, stage: str | None = None) -> None:
        if self.train_images is None:
            device = self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")
            self.train_images, self.train_labels = self.load(train=True, device=device)
            self._split_labelled()

    def _split_labelled(self) -> None:
        images, labels = self.train_images, self.train_labels
        if self.labelled_per_class is None:
            self.labelled_indices = torch.arange(len(labels), device=labels.device)
            self.labelled_images, self.labelled_labels = images, labels
            self._stream = (images, labels)
            return
        idx = balanced_subset(labels, self.labelled_per_class, self.num_classes, self.labelled_seed)
        rest = complement(len(labels), idx)
        if len(rest) == 0:
            raise ValueError(f"data.labelled_per_class={self.labelled_per_class} labels every training image; "
                             "nothing is left for the unlabelled stream (raise data.train_size or use null)")
        self.labelled_indices = idx.to(labels.device)
        self.labelled_images, self.labelled_labels = images[self.labelled_indices], labels[self.labelled_indices]
        rest = rest.to(labels.device)
        self._stream = (images[rest], torch.full_like(labels[rest], UNLABELLED))

    def train_dataloader(self) -> TensorBatches:
        rank = self.trainer.global_rank if self.trainer is not None else 0
        world = self.trainer.world_size if self.trainer is not None else 1
        epoch_fn = (lambda: self.trainer.current_epoch) if self.trainer is not None else None
        images, labels = self._stream if self._stream is not None else (self.train_images, self.train_labels)
        return TensorBatches(images, labels, self.batch_size, seed=self.seed,
                             rank=rank, world_size=world, epoch_fn=epoch_fn)
