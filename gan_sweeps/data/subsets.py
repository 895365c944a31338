"""Labelled subsets for semi-supervised runs: N labelled images per class, seeded, plus batch and triplet samplers.

Everything here works on index tensors, so the images themselves stay where the datamodule put them (on the
training device). Randomness comes from explicit ``torch.Generator`` objects on the CPU: the same seed gives the same
subset, batches and triplets on any device."""

from __future__ import annotations

import torch

UNLABELLED = -1  # label value of images used without their label (the unlabelled stream of a semi-supervised run)


def to_device(indices: torch.Tensor, device: torch.device) -> torch.Tensor:
    """CPU-drawn indices onto the training device without waiting for it (a pageable copy to a GPU synchronises; a
    pinned, non-blocking one does not)."""
    if device.type == "cuda":
        return indices.pin_memory().to(device, non_blocking=True)
    return indices.to(device)


def balanced_subset(labels: torch.Tensor, per_class: int, num_classes: int | None = None,
                    seed: int = 0) -> torch.Tensor:
    """Indices of ``per_class`` images of each class, drawn uniformly without replacement with ``seed``.

    The result is grouped by class (class 0 first) and within a class in the random draw's order, so the same
    ``(labels, per_class, seed)`` always gives the same tensor. Raises ValueError when a class has too few images."""
    if per_class < 1:
        raise ValueError(f"labelled_per_class must be >= 1, got {per_class}")
    labels = labels.detach().cpu().long()
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    gen = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(len(labels), generator=gen)  # one permutation; take each class's first N in it
    shuffled = labels[order]
    chosen = []
    for c in range(num_classes):
        members = order[shuffled == c]
        if len(members) < per_class:
            raise ValueError(f"class {c} has only {len(members)} training images, fewer than "
                             f"data.labelled_per_class={per_class} (raise data.train_size or lower N)")
        chosen.append(members[:per_class])
    return torch.cat(chosen)


def first_per_class(labels: torch.Tensor, per_class: int, num_classes: int) -> torch.Tensor:
    """Indices (per_class * num_classes,): the first image of each class, then the second of each class, ..."""
    cols = [torch.nonzero(labels == c).squeeze(1)[:per_class] for c in range(num_classes)]
    if any(len(c) < per_class for c in cols):
        raise ValueError(f"every class needs {per_class} images, some have fewer")
    return torch.stack(cols, 1).flatten()


def complement(n: int, indices: torch.Tensor) -> torch.Tensor:
    """The indices in ``range(n)`` that are not in ``indices``, in increasing order."""
    keep = torch.ones(n, dtype=torch.bool)
    keep[indices.cpu()] = False
    return keep.nonzero().squeeze(1)


class LabelledBatches:
    """Endless random batches from a (small) labelled set already on the device.

    Like Salimans et al.'s code, it walks through one random permutation of the labelled set after another, so over
    an epoch every labelled image is seen equally often. Its state is one CPU generator, seeded."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int = 0):
        if len(images) == 0:
            raise ValueError("the labelled set is empty")
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.gen = torch.Generator().manual_seed(int(seed))
        self._order = torch.empty(0, dtype=torch.long)

    def next(self, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.batch_size if n is None else n
        while len(self._order) < n:
            self._order = torch.cat([self._order, torch.randperm(len(self.images), generator=self.gen)])
        idx, self._order = self._order[:n], self._order[n:]
        idx = to_device(idx, self.images.device)
        return self.images[idx], self.labels[idx]


class TripletSampler:
    """Random (anchor, positive, negative) index triplets from labelled data.

    Anchor: uniform over the labelled set. Positive: uniform over the *other* images of the anchor's class. Negative:
    uniform over the images of all other classes. Needs at least two images in every class that occurs and at least
    two classes. Vectorised: classes are kept as contiguous blocks of a class-sorted index."""

    def __init__(self, labels: torch.Tensor, seed: int = 0):
        labels = labels.detach().cpu().long()
        self.order = torch.argsort(labels, stable=True)  # positions in the labelled set, grouped by class
        classes, counts = torch.unique(labels, return_counts=True)
        if len(classes) < 2:
            raise ValueError("triplets need labelled images of at least two classes")
        if int(counts.min()) < 2:
            raise ValueError("triplets need at least two labelled images per class")
        n_cls = int(classes.max()) + 1
        self.count = torch.zeros(n_cls, dtype=torch.long)
        self.count[classes] = counts
        self.start = torch.cumsum(self.count, 0) - self.count  # first position of each class in ``order``
        self.rank = torch.empty_like(labels)  # position of each labelled image inside its class block
        self.rank[self.order] = torch.arange(len(labels)) - self.start[labels[self.order]]
        self.labels = labels
        self.gen = torch.Generator().manual_seed(int(seed))

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Three LongTensors of ``n`` indices into the labelled set (on the CPU)."""
        total = len(self.labels)
        anchor = torch.randint(total, (n,), generator=self.gen)
        c = self.labels[anchor]
        cnt, start = self.count[c], self.start[c]
        # positive: one of the cnt - 1 other members of the class (skip the anchor's own slot)
        r = (torch.rand(n, generator=self.gen) * (cnt - 1)).long().clamp_max(cnt - 2)
        r = r + (r >= self.rank[anchor]).long()
        positive = self.order[start + r]
        # negative: one of the total - cnt images outside the class block
        s = (torch.rand(n, generator=self.gen) * (total - cnt)).long().clamp_max(total - cnt - 1)
        s = s + (s >= start).long() * cnt
        negative = self.order[s]
        return anchor, positive, negative
