"""MLP encoder / decoder for the VAE (seed 003/004)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gan_sweeps.nets.blocks import mlp
from gan_sweeps.nets.mlp import IMAGE_SHAPE, IMAGE_SIZE


class MLPEncoder(nn.Module):
    """image -> hidden... -> (mu, logvar) of a diagonal Gaussian over ``latent_dim``."""

    def __init__(self, latent_dim: int = 20, hidden: Sequence[int] = (512, 256)):
        super().__init__()
        self.latent_dim = latent_dim
        self.body = mlp([IMAGE_SIZE, *hidden], "relu", out_act="relu")
        self.head = nn.Linear(hidden[-1], 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x.flatten(1))).chunk(2, dim=1)
        return mu, logvar


class MLPDecoder(nn.Module):
    """latent -> hidden... -> 784 Bernoulli logits shaped as an image."""

    def __init__(self, latent_dim: int = 20, hidden: Sequence[int] = (256, 512)):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = mlp([latent_dim, *hidden, IMAGE_SIZE], "relu")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *IMAGE_SHAPE)
