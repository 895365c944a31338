"""Small building blocks shared by every net builder."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


def mlp(sizes: Sequence[int], act: str, *, batch_norm: bool = False, dropout: float = 0.0,
        out_act: str = "identity", norm_first_layer: bool = True, norm_before_act: bool = False) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]``; hidden layers get act (+ BatchNorm, + Dropout). BatchNorm
    comes after the activation unless ``norm_before_act``; ``norm_first_layer=False`` leaves the first hidden layer
    without it (seed 003's generator)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            norm = [nn.BatchNorm1d(n_out)] if batch_norm and (i > 0 or norm_first_layer) else []
            layers += norm + [activation(act)] if norm_before_act else [activation(act)] + norm
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    layers.append(activation(out_act))
    return nn.Sequential(*layers)


# BatchNorm's (eps, momentum) in PyTorch's convention (momentum: the weight of the new batch in the running stats).
# PyTorch's defaults, and Keras' (epsilon=1e-3, momentum=0.99 in Keras' convention), which seed 001's nets used.
BN_TORCH = (1e-5, 0.1)
BN_KERAS = (1e-3, 0.01)


def conv_block(layer: nn.Module, act: str, channels: int, batch_norm: bool,
               bn: tuple[float, float] = BN_TORCH) -> list[nn.Module]:
    """``layer`` -> activation -> BatchNorm2d over ``channels`` (seed 001 l.43: "After each activation layer,
    batch normalisation is introduced"); ``bn``: its (eps, momentum)."""
    return [layer, activation(act)] + ([nn.BatchNorm2d(channels, eps=bn[0], momentum=bn[1])] if batch_norm else [])


def init_weights(module: nn.Module, scheme: str = "xavier_uniform") -> nn.Module:
    """Initialise conv/linear weights in place (biases to zero); ``default`` keeps PyTorch's init."""
    if scheme == "default":
        return module
    inits = {"xavier_uniform": nn.init.xavier_uniform_, "xavier_normal": nn.init.xavier_normal_,
             "normal_002": lambda w: nn.init.normal_(w, 0.0, 0.02)}
    if scheme not in inits:
        raise ValueError(f"unknown init {scheme!r}; choose one of {sorted(inits) + ['default']}")
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            inits[scheme](m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class Reshape(nn.Module):
    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], *self.shape)


def one_hot(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    return nn.functional.one_hot(y, num_classes).float()
