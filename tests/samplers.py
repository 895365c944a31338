"""Hand-built generators for the evaluation tests: real ``nn.Module``s implementing ``passes.Sampler`` (``generate``
in the model's pixel range, ``conditional``, ``num_classes``), whose samples' scores are known in advance."""

from __future__ import annotations

import torch
from torch import nn

from gan_sweeps.data import from_unit_range


class DistinctImages(nn.Module):
    """A conditional 'generator' drawing real images without repeats: each request for class c gets the next unused
    image of class c (in a seeded shuffled order), so its samples are as diverse as the real split."""

    conditional = True

    def __init__(self, images01: torch.Tensor, labels: torch.Tensor, normalize: str = "tanh", seed: int = 0):
        super().__init__()
        self.normalize, self.num_classes = normalize, int(labels.max()) + 1
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
        self.images01 = images01[order]
        self.by_class = [torch.nonzero(labels[order] == c).squeeze(1) for c in range(self.num_classes)]
        self.used = [0] * self.num_classes

    def generate(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        idx = []
        for c in labels.tolist():
            idx.append(self.by_class[c][self.used[c]])
            self.used[c] += 1
        return from_unit_range(self.images01[torch.stack(idx)], self.normalize)


class OneImagePerClass(nn.Module):
    """A collapsed conditional 'generator' (a cGAN that ignores its noise, seed 001 Fig. 20): for class c always the
    same real image, plus pixel noise of ``noise`` (drawn from the seeded sample pass), clipped to [0, 1]."""

    conditional = True

    def __init__(self, images01: torch.Tensor, labels: torch.Tensor, normalize: str = "tanh", noise: float = 0.01):
        super().__init__()
        self.normalize, self.num_classes, self.noise = normalize, int(labels.max()) + 1, noise
        self.images01 = torch.stack([images01[torch.nonzero(labels == c)[0, 0]] for c in range(self.num_classes)])

    def generate(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = self.images01[labels.cpu()]
        return from_unit_range((x + self.noise * torch.randn_like(x)).clamp(0, 1), self.normalize)
