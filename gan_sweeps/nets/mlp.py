"""MLP generator and discriminator (seed 003 shapes; seed 002's dropout study)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gan_sweeps.nets.blocks import init_weights, mlp

IMAGE_SHAPE = (1, 28, 28)
IMAGE_SIZE = 28 * 28


class MLPGenerator(nn.Module):
    """z -> hidden... -> 784 -> image, LeakyReLU + BatchNorm in hidden layers, ``out_act`` at the end."""

    def __init__(self, *, latent_dim: int, hidden: Sequence[int], batch_norm: bool, init: str, norm_first_layer: bool,
                 norm_before_act: bool, out_act: str = "tanh"):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = mlp([latent_dim, *hidden, IMAGE_SIZE], "leaky_relu", batch_norm=batch_norm, out_act=out_act,
                       norm_first_layer=norm_first_layer, norm_before_act=norm_before_act)
        init_weights(self, init)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(-1, *IMAGE_SHAPE)


class MLPDiscriminator(nn.Module):
    """image -> 784 -> hidden... -> features; ``adv`` logit from a last linear layer. No BatchNorm unless
    ``batch_norm`` (the conv discriminator's switch too, so ``loss=wgan_gp`` turns it off by config)."""

    def __init__(self, *, hidden: Sequence[int], dropout: float, init: str, batch_norm: bool):
        super().__init__()
        self.body = mlp([IMAGE_SIZE, *hidden], "leaky_relu", batch_norm=batch_norm, dropout=dropout,
                        out_act="leaky_relu")
        if dropout > 0:
            self.body.append(nn.Dropout(dropout))
        self.head = nn.Linear(hidden[-1], 1)
        init_weights(self, init)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        features = self.body(x.flatten(1))
        return {"adv": self.head(features).squeeze(1), "features": features}
