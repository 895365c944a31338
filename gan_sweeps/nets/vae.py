"""Encoder / decoder nets of the autoencoder family (AE, denoising AE, VAE; seeds 003/004).

``arch`` picks the trunk, the same for every member of the family:
- ``mlp`` (default, seed 003/004 shapes): encoder 784-512-256-head, decoder latent-256-512-784, ReLU;
- ``conv``: encoder 4x4 conv s2 (c) -> 4x4 conv s2 (2c) -> 7x7x2c -> head; decoder latent -> 7x7x2c -> 4x4
  transposed conv s2 (c) -> 4x4 transposed conv s2 (1), ReLU, no BatchNorm (train and eval mode compute the same).

The encoder's head gives ``latent_dim`` numbers (a deterministic code) or, with ``variational=True``, ``2 *
latent_dim`` split into ``(mu, logvar)`` of a diagonal Gaussian. The decoder returns Bernoulli logits shaped as an
image (the models apply the sigmoid)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gan_sweeps.nets.blocks import Reshape, mlp
from gan_sweeps.nets.mlp import IMAGE_SHAPE, IMAGE_SIZE
from gan_sweeps.nets.nets_config import ARCHS


def _check_arch(arch: str) -> str:
    if arch not in ARCHS:
        raise ValueError(f"unknown model.arch {arch!r}; choose one of {list(ARCHS)}")
    return arch


class Encoder(nn.Module):
    """image -> trunk -> code (latent_dim) or (mu, logvar) when ``variational``."""

    def __init__(self, *, latent_dim: int, arch: str, hidden: Sequence[int], channels: int, variational: bool):
        super().__init__()
        self.latent_dim, self.variational = latent_dim, variational
        if _check_arch(arch) == "mlp":
            self.body = nn.Sequential(nn.Flatten(), mlp([IMAGE_SIZE, *hidden], "relu", out_act="relu"))
            features = hidden[-1]
        else:
            c = channels
            self.body = nn.Sequential(nn.Conv2d(1, c, 4, 2, 1), nn.ReLU(inplace=True),
                                      nn.Conv2d(c, 2 * c, 4, 2, 1), nn.ReLU(inplace=True), nn.Flatten())
            features = 2 * c * 7 * 7
        self.head = nn.Linear(features, (2 if variational else 1) * latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        out = self.head(self.body(x.view(-1, *IMAGE_SHAPE)))
        return tuple(out.chunk(2, dim=1)) if self.variational else out


class Decoder(nn.Module):
    """latent -> trunk -> 784 Bernoulli logits shaped as an image (N, 1, 28, 28)."""

    def __init__(self, *, latent_dim: int, arch: str, hidden: Sequence[int], channels: int):
        super().__init__()
        self.latent_dim = latent_dim
        if _check_arch(arch) == "mlp":
            self.net = nn.Sequential(mlp([latent_dim, *hidden, IMAGE_SIZE], "relu"), Reshape(*IMAGE_SHAPE))
        else:
            c = channels
            self.net = nn.Sequential(nn.Linear(latent_dim, 2 * c * 7 * 7), nn.ReLU(inplace=True),
                                     Reshape(2 * c, 7, 7), nn.ConvTranspose2d(2 * c, c, 4, 2, 1),
                                     nn.ReLU(inplace=True), nn.ConvTranspose2d(c, 1, 4, 2, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
