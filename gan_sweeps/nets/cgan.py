"""Seed 001's cGAN nets (``model=cgan``), built from the seed's words (../shared/seeds/001_f099b7c2026c9d28.txt).

l.93: "The two branches of the two inputs (noise and label for G, image and label for D) are merged by
concatenation in an early stage, and are followed by convolutional layers as in the DCGAN architectures".

Generator, l.95: "takes as an input a random, normally sampled, noise vector of size 100 and a label vector size 10
(one-hot encoding). Each of which is follows by a fully connected layer to expand the number of nodes, and is then
projected and reshaped into a 14 x 14 x 128 tensor. Both are merged by concatenation, which is followed by a
transposed convolution with stride 2x2 to upsample the image to the desired resolution of 28x28 pixels. [...] Last,
a normal convolution reduces the number of filters to one, obtaining the output image."
Built as: z -> dense -> 14x14x128; one-hot label -> dense -> 14x14x128 ("Each of which [...] is then projected
and reshaped into a 14 x 14 x 128 tensor": both branches; ``model.label_channels=N`` sets another width, e.g. 1 for
the one-channel label map of common Keras cGAN examples, which learned no conditioning within 16,384 images here:
eval/cond_acc 0.099 against 0.61 with 128 channels, one epoch, d_step=separate); concat -> [deep: 3x3 conv s1,
128] -> 3x3 transposed conv s2 -> 28x28x64 (filters halve, l.39) -> 3x3 conv -> 1, tanh.

Discriminator, l.97: "the 28x28 input gets halved in the first layer, in this case using normal convolutions with
stride 2x2, whilst the input labels pass through a fully connected layer and get projected and reshaped to match
the tensor shape. [...] The two branches are then merged, and a final convolutional layer halves the image size to
7 x 7 x 128. This gets flattened and passed through a fully connected layer to output a single output."
Built as: image -> 3x3 conv s2 -> 14x14x64 (filters double, l.39); one-hot label -> dense -> 14x14x64 ("to match the
tensor shape"; ``label_channels``);
concat -> [deep: 3x3 conv s1, 64] -> 3x3 conv s2 -> 7x7x128 -> flatten 6272 -> dense -> 1 logit.

Deep variant (``model.depth=deep``), l.99: "The second implementation has an additional convolutional layer after
the merge, in both the generator and the discriminator."

Every hidden layer (the dense projections included): activation, then BatchNorm (l.41-43: "Each layer of the
generator and discriminator uses ReLU and leaky ReLU activations [...] After each activation layer, batch
normalisation is introduced [...] it is not applied at the output of the generator"); 3x3 kernels (l.39: "All
kernels used are of size 3x3").
"""

from __future__ import annotations

import torch
from torch import nn

from gan_sweeps.nets.blocks import Reshape, activation, conv_block, init_weights, one_hot
from gan_sweeps.nets.conv import is_deep

MERGE_SIZE = 14  # both nets merge their two branches at 14 x 14


def _projection(n_in: int, channels: int, act: str, batch_norm: bool,
                bn: tuple[float, float]) -> nn.Sequential:
    """A dense layer reshaped to a ``channels`` x 14 x 14 map, then activation and BatchNorm."""
    dense = nn.Sequential(nn.Linear(n_in, channels * MERGE_SIZE ** 2), Reshape(channels, MERGE_SIZE, MERGE_SIZE))
    return nn.Sequential(*conv_block(dense, act, channels, batch_norm, bn))


def _merged_branches(merged: int, channels: int, act: str, batch_norm: bool, deep: bool,
                     bn: tuple[float, float]) -> list[nn.Module]:
    """Nothing after the merge in the shallow nets; the deep ones' extra 3x3 stride-1 conv to ``channels`` (l.99)."""
    return conv_block(nn.Conv2d(merged, channels, 3, 1, 1), act, channels, batch_norm, bn) if deep else []


class CGANGenerator(nn.Module):
    def __init__(self, *, latent_dim: int, num_classes: int, depth: str, channels: int, label_channels: int | None,
                 batch_norm: bool, bn_eps: float, bn_momentum: float, init: str, out_act: str = "tanh"):
        super().__init__()
        bn = (bn_eps, bn_momentum)  # BatchNorm's eps and momentum (nets/blocks.py BN_TORCH, BN_KERAS)
        deep = is_deep(depth)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.noise = _projection(latent_dim, channels, "relu", batch_norm, bn)
        label_channels = label_channels or channels  # null: as wide as the noise's map
        self.label = _projection(num_classes, label_channels, "relu", batch_norm, bn)
        merged = channels + label_channels
        layers = _merged_branches(merged, channels, "relu", batch_norm, deep, bn)
        merged = channels if deep else merged
        layers += conv_block(nn.ConvTranspose2d(merged, channels // 2, 3, 2, 1, output_padding=1), "relu",
                             channels // 2, batch_norm, bn)
        layers += [nn.Conv2d(channels // 2, 1, 3, 1, 1), activation(out_act)]
        self.trunk = nn.Sequential(*layers)
        init_weights(self, init)

    def merge(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The concatenated 14 x 14 maps of noise and label."""
        return torch.cat([self.noise(z), self.label(one_hot(y, self.num_classes))], dim=1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError("the cGAN generator needs class labels")
        return self.trunk(self.merge(z, y))


class CGANDiscriminator(nn.Module):
    def __init__(self, *, num_classes: int, depth: str, channels: int, label_channels: int | None, batch_norm: bool,
                 bn_eps: float, bn_momentum: float, dropout: float, init: str):
        super().__init__()
        bn = (bn_eps, bn_momentum)  # BatchNorm's eps and momentum (nets/blocks.py BN_TORCH, BN_KERAS)
        deep = is_deep(depth)
        self.num_classes = num_classes
        self.image = nn.Sequential(*conv_block(nn.Conv2d(1, channels, 3, 2, 1), "leaky_relu", channels, batch_norm,
                                               bn))
        label_channels = label_channels or channels  # null: as wide as the image's map
        self.label = _projection(num_classes, label_channels, "leaky_relu", batch_norm, bn)
        merged = channels + label_channels
        layers = _merged_branches(merged, channels, "leaky_relu", batch_norm, deep, bn)
        merged = channels if deep else merged
        layers += conv_block(nn.Conv2d(merged, channels * 2, 3, 2, 1), "leaky_relu", channels * 2, batch_norm, bn)
        layers += [nn.Flatten()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(channels * 2 * 7 * 7, 1)
        init_weights(self, init)

    def merge(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The concatenated 14 x 14 maps of the image's first conv and the label."""
        return torch.cat([self.image(x), self.label(one_hot(y, self.num_classes))], dim=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if y is None:
            raise ValueError("the cGAN discriminator needs class labels")
        features = self.body(self.merge(x, y))
        return {"adv": self.head(features).squeeze(1), "features": features}
