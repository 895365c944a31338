"""DCGAN convolutional nets with seed 001's shapes (``model=dcgan``; the cGAN's are in nets/cgan.py).

Generator: z -> dense -> 7x7x128 -> [3x3 conv, stride 1] (deep only) -> 3x3 transposed conv s2 -> 14x14x64
-> 3x3 transposed conv s2 -> 28x28x32 -> 3x3 conv -> 1 channel, tanh. ReLU, BatchNorm after activations.
Discriminator: 28x28 -> 3x3 conv s2 (32) -> [3x3 conv s1] (deep only) -> s2 (64) -> s2 (128) -> 4x4x128 -> flatten
2048 -> 1 logit (seed 001 l.37: "The 4 x 4 x 128 output of the last convolutional layer is flattened into a 2048
tensor and mapped to a unique output using a fully connected layer"). LeakyReLU, BatchNorm after activations.
"""

from __future__ import annotations

import torch
from torch import nn

from gan_sweeps.nets.blocks import Reshape, activation, conv_block, init_weights
from gan_sweeps.nets.nets_config import DEPTHS


def is_deep(depth: str) -> bool:
    if depth not in DEPTHS:
        raise ValueError(f"unknown model.depth {depth!r}; choose one of {list(DEPTHS)}")
    return depth == "deep"


class ConvGenerator(nn.Module):
    def __init__(self, *, latent_dim: int, depth: str, channels: int, batch_norm: bool, bn_eps: float,
                 bn_momentum: float, init: str, out_act: str = "tanh"):
        super().__init__()
        bn = (bn_eps, bn_momentum)  # BatchNorm's eps and momentum (nets/blocks.py BN_TORCH, BN_KERAS)
        deep = is_deep(depth)
        self.latent_dim = latent_dim
        c1, c2, c3 = channels, channels // 2, channels // 4
        self.project = nn.Sequential(*conv_block(nn.Sequential(nn.Linear(latent_dim, c1 * 49), Reshape(c1, 7, 7)),
                                                 "relu", c1, batch_norm, bn))
        layers: list[nn.Module] = []
        if deep:
            layers += conv_block(nn.Conv2d(c1, c1, 3, 1, 1), "relu", c1, batch_norm, bn)
        layers += conv_block(nn.ConvTranspose2d(c1, c2, 3, 2, 1, output_padding=1), "relu", c2, batch_norm, bn)
        layers += conv_block(nn.ConvTranspose2d(c2, c3, 3, 2, 1, output_padding=1), "relu", c3, batch_norm, bn)
        layers += [nn.Conv2d(c3, 1, 3, 1, 1), activation(out_act)]
        self.trunk = nn.Sequential(*layers)
        init_weights(self, init)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.trunk(self.project(z))


class ConvDiscriminator(nn.Module):
    def __init__(self, *, depth: str, channels: int, batch_norm: bool, bn_eps: float, bn_momentum: float,
                 dropout: float, init: str):
        super().__init__()
        bn = (bn_eps, bn_momentum)  # BatchNorm's eps and momentum (nets/blocks.py BN_TORCH, BN_KERAS)
        deep = is_deep(depth)
        c1, c2, c3 = channels, channels * 2, channels * 4
        layers = conv_block(nn.Conv2d(1, c1, 3, 2, 1), "leaky_relu", c1, batch_norm, bn)
        if deep:
            layers += conv_block(nn.Conv2d(c1, c1, 3, 1, 1), "leaky_relu", c1, batch_norm, bn)
        layers += conv_block(nn.Conv2d(c1, c2, 3, 2, 1), "leaky_relu", c2, batch_norm, bn)
        layers += conv_block(nn.Conv2d(c2, c3, 3, 2, 1), "leaky_relu", c3, batch_norm, bn)
        layers += [nn.Flatten()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c3 * 16, 1)
        init_weights(self, init)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        features = self.body(x)
        return {"adv": self.head(features).squeeze(1), "features": features}
