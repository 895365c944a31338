"""DCGAN / cGAN convolutional nets with seed 001's shapes.

Generator: z -> dense -> 7x7x128 -> [3x3 conv, stride 1] (deep only) -> 3x3 transposed conv s2 -> 14x14x64
-> 3x3 transposed conv s2 -> 28x28x32 -> 3x3 conv -> 1 channel, tanh. ReLU, BatchNorm after activations.
Discriminator: 28x28 -> 3x3 conv s2 (32) -> [3x3 conv s1] (deep only) -> s2 (64) -> s2 (128) -> 4x4x128 -> 1 logit.
LeakyReLU, BatchNorm after activations. Conditional versions (``num_classes > 0``) project the one-hot label with
a dense layer: to a 7x7 map concatenated with the generator's projected noise, and to a 28x28 map concatenated
with the discriminator's input image. The trunks are shared, so a cGAN differs from a DCGAN only in those heads.
"""

from __future__ import annotations

import torch
from torch import nn

from gan_sweeps.nets.blocks import Reshape, activation, init_weights, one_hot
from gan_sweeps.nets.nets_config import DEPTHS


def _check_depth(depth: str) -> bool:
    if depth not in DEPTHS:
        raise ValueError(f"unknown model.depth {depth!r}; choose one of {list(DEPTHS)}")
    return depth == "deep"


def _block(conv: nn.Module, act: str, channels: int, batch_norm: bool) -> list[nn.Module]:
    return [conv, activation(act)] + ([nn.BatchNorm2d(channels)] if batch_norm else [])


class ConvGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, depth: str = "shallow", channels: int = 128, num_classes: int = 0,
                 label_channels: int = 16, batch_norm: bool = True, out_act: str = "tanh",
                 init: str = "xavier_uniform"):
        super().__init__()
        deep = _check_depth(depth)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        c1, c2, c3 = channels, channels // 2, channels // 4
        self.project = nn.Sequential(*_block(nn.Sequential(nn.Linear(latent_dim, c1 * 49), Reshape(c1, 7, 7)),
                                             "relu", c1, batch_norm))
        trunk_in = c1
        if num_classes:
            self.label = nn.Sequential(nn.Linear(num_classes, label_channels * 49), activation("relu"),
                                       Reshape(label_channels, 7, 7))
            trunk_in += label_channels
        layers: list[nn.Module] = []
        if deep:
            layers += _block(nn.Conv2d(trunk_in, c1, 3, 1, 1), "relu", c1, batch_norm)
            trunk_in = c1
        layers += _block(nn.ConvTranspose2d(trunk_in, c2, 3, 2, 1, output_padding=1), "relu", c2, batch_norm)
        layers += _block(nn.ConvTranspose2d(c2, c3, 3, 2, 1, output_padding=1), "relu", c3, batch_norm)
        layers += [nn.Conv2d(c3, 1, 3, 1, 1), activation(out_act)]
        self.trunk = nn.Sequential(*layers)
        init_weights(self, init)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(z)
        if self.num_classes:
            h = torch.cat([h, self.label(one_hot(y, self.num_classes))], dim=1)
        return self.trunk(h)


class ConvDiscriminator(nn.Module):
    def __init__(self, depth: str = "shallow", channels: int = 32, num_classes: int = 0, batch_norm: bool = True,
                 dropout: float = 0.0, init: str = "xavier_uniform"):
        super().__init__()
        deep = _check_depth(depth)
        self.num_classes = num_classes
        c1, c2, c3 = channels, channels * 2, channels * 4
        in_ch = 1
        if num_classes:
            self.label = nn.Sequential(nn.Linear(num_classes, 28 * 28), Reshape(1, 28, 28))
            in_ch += 1
        layers = _block(nn.Conv2d(in_ch, c1, 3, 2, 1), "leaky_relu", c1, batch_norm)
        if deep:
            layers += _block(nn.Conv2d(c1, c1, 3, 1, 1), "leaky_relu", c1, batch_norm)
        layers += _block(nn.Conv2d(c1, c2, 3, 2, 1), "leaky_relu", c2, batch_norm)
        layers += _block(nn.Conv2d(c2, c3, 3, 2, 1), "leaky_relu", c3, batch_norm)
        layers += [nn.Flatten()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c3 * 16, 1)
        init_weights(self, init)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if self.num_classes:
            x = torch.cat([x, self.label(one_hot(y, self.num_classes))], dim=1)
        features = self.body(x)
        return {"adv": self.head(features).squeeze(1), "features": features}
