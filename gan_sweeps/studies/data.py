"""The images studies train and test classifiers on, as [0, 1] float tensors (N, 1, 28, 28) with labels.

Real data: the training split in one seeded random order; its last ``val_size`` images are a validation set (the
sequential study's curves) and never trained on; the training pool is the first ``train_size`` of the rest, so a
smaller real set is always a prefix of a larger one (the 20 % real of a mix are the images the 20 % real-only
baseline trains on). Test data: the test split (or a seeded random part of it, for quick runs).

Generated data: ``n`` images of a run's generator from one seeded sample pass (``evaluation.passes``): labels
cycle 0..C-1, so every prefix is class-balanced and a smaller generated set is a prefix of a larger one."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan_sweeps.data import load_split
from gan_sweeps.evaluation.evaluator import unit_images
from gan_sweeps.evaluation.passes import sample_pass
from gan_sweeps.studies.runs import StudyError, StudyRun


@dataclass
class Labelled:
    images01: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int) -> "Labelled":
        return Labelled(self.images01[:n], self.labels[:n])

    def cat(self, other: "Labelled") -> "Labelled":
        return Labelled(torch.cat([self.images01, other.images01]), torch.cat([self.labels, other.labels]))


@dataclass
class RealData:
    train: Labelled  # the training pool (prefixes are the smaller real sets)
    val: Labelled
    test: Labelled


def real_data(dataset: str, data_root: str | None, *, train_size: int | None, val_size: int,
              test_size: int | None, seed: int) -> RealData:
    train_split = load_split(dataset, data_root, train=True)
    n = len(train_split.labels)
    if not 0 <= val_size < n:
        raise StudyError(f"--val-size {val_size} must be in [0, {n - 1}] ({dataset} has {n} training images)")
    available = n - val_size
    if train_size is not None and not 1 <= train_size <= available:
        raise StudyError(f"--train-size {train_size} must be in [1, {available}] ({n} training images minus "
                         f"--val-size {val_size})")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    pool, val = order[:available][:train_size], order[available:]
    test_split = load_split(dataset, data_root, train=False)
    test_order = torch.arange(len(test_split.labels))
    if test_size is not None:
        if not 1 <= test_size <= len(test_order):
            raise StudyError(f"--test-size {test_size} must be in [1, {len(test_order)}]")
        test_order = torch.randperm(len(test_order), generator=torch.Generator().manual_seed(seed))[:test_size]

    def take(split, idx: torch.Tensor) -> Labelled:
        return Labelled(unit_images(split.images[idx]), split.labels[idx].clone())

    return RealData(train=take(train_split, pool), val=take(train_split, val), test=take(test_split, test_order))


def generated_data(run: StudyRun, n: int, *, seed: int, batch_size: int = 1000) -> Labelled:
    """``n`` labelled [0, 1] samples of a conditional run's generator (CPU tensors)."""
    if n == 0:
        return Labelled(torch.empty(0, 1, 28, 28), torch.empty(0, dtype=torch.long))
    images, labels = [], []

    def keep(x01: torch.Tensor, y: torch.Tensor | None) -> None:
        images.append(x01.cpu())
        labels.append(y.cpu())

    sample_pass(run.model, [keep], normalize=run.model.normalize, num_samples=n, batch_size=batch_size,
                seed=seed)
    return Labelled(torch.cat(images), torch.cat(labels))
