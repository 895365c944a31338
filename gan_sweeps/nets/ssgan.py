"""Salimans et al. (2016) MNIST nets for the semi-supervised GAN and the Triplet GAN (Zieba & Wang 2017).

Discriminator: 784 -[noise 0.3]- 1000 - 500 - 250 - 250 - 250 - K, ReLU, Gaussian noise (std 0.5) after every
hidden layer, weight-normalised linear layers. K = 10 class logits (``model=ssgan``) or an M-dimensional embedding
(``model=triplet_gan``). It returns ``logits`` (the K outputs), ``adv`` = logsumexp(logits) (the real/fake logit,
D(x) = sigmoid(adv) = Z/(Z+1)) and ``features`` = the last hidden layer after its ReLU, before its noise (the layer
the released code matches the generator's statistics on).

Generator: z(100) - 500 - 500 - 784, linear + BatchNorm + softplus in the hidden layers, a weight-normalised output
layer with sigmoid ([0, 1] data, ``data.normalize=none``) or tanh ([-1, 1], ``tanh``; [-0.5, 0.5] is sigmoid - 0.5).

Noise is active in training mode only, so ``.eval()`` gives the deterministic net used for test metrics. Every
stabiliser is a constructor switch (``input_noise``/``hidden_noise`` = 0 turn noise off, ``weight_norm``)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from gan_sweeps.nets.mlp import IMAGE_SHAPE, IMAGE_SIZE


def adv_logit(logits: torch.Tensor) -> torch.Tensor:
    """The real/fake logit log Z(x) = logsumexp_k l_k of K-output logits (N, K) -> (N,): D(x) = Z / (Z + 1) =
    sigmoid(log Z), the discriminator's real/fake probability (Salimans et al. 2016)."""
    return torch.logsumexp(logits, dim=1)


class GaussianNoise(nn.Module):
    """Adds N(0, std^2) noise in training mode; identity in eval mode or with std 0."""

    def __init__(self, std: float):
        super().__init__()
        self.std = float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.std > 0:
            return x + self.std * torch.randn_like(x)
        return x

    def extra_repr(self) -> str:
        return f"std={self.std}"


def linear(n_in: int, n_out: int, weight_norm: bool, bias: bool = True, init_std: float = 0.05) -> nn.Linear:
    """A linear layer with N(0, init_std^2) weights, zero bias, optionally weight-normalised (w = g v / ||v||)."""
    layer = nn.Linear(n_in, n_out, bias=bias)
    nn.init.normal_(layer.weight, 0.0, init_std)
    if bias:
        nn.init.zeros_(layer.bias)
    return _weight_norm(layer) if weight_norm else layer


@torch.no_grad()
def data_dependent_init(net: nn.Module, *inputs, eps: float = 1e-6) -> int:
    """Salimans & Kingma's initialisation of weight-normalised layers from one batch.

    Layer by layer (in forward order) it sets g and b so that the layer's pre-activations on ``inputs`` have zero
    mean and unit variance per unit, and passes the normalised values on, so deeper layers see initialised inputs.
    Returns the number of layers initialised (0 when the net has no weight-normalised linear layer)."""
    layers = [m for m in net.modules() if isinstance(m, nn.Linear) and parametrize.is_parametrized(m, "weight")]
    for m in layers:
        m.parametrizations.weight.original0.fill_(1.0)  # w = v / ||v||
        if m.bias is not None:
            m.bias.zero_()

    def hook(module, args, out):
        mean, std = out.mean(0), out.std(0) + eps
        module.parametrizations.weight.original0.copy_((1.0 / std).view(-1, 1))
        if module.bias is not None:
            module.bias.copy_(-mean / std)
        return (out - mean) / std

    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        net(*inputs)
    finally:
        for h in handles:
            h.remove()
    return len(layers)


class SSLDiscriminator(nn.Module):
    def __init__(self, *, out_dim: int, hidden: Sequence[int], input_noise: float, hidden_noise: float,
                 weight_norm: bool, train_hidden_scale: bool):
        super().__init__()
        self.out_dim = out_dim
        self.input_noise = GaussianNoise(input_noise)
        sizes = [IMAGE_SIZE, *hidden]
        self.hidden = nn.ModuleList(linear(a, b, weight_norm) for a, b in zip(sizes[:-1], sizes[1:]))
        self.noise = nn.ModuleList(GaussianNoise(hidden_noise) for _ in hidden)
        self.head = linear(sizes[-1], out_dim, weight_norm)
        if weight_norm and not train_hidden_scale:
            # as in the released MNIST code: hidden layers keep the scale g of their data-dependent init; only
            # the directions v (and biases) learn, so D cannot win by inflating its weights
            for layer in self.hidden:
                layer.parametrizations.weight.original0.requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        h = self.input_noise(x.flatten(1))
        features = h
        for layer, noise in zip(self.hidden, self.noise):
            features = torch.relu(layer(h))
            h = noise(features)
        logits = self.head(h)
        return {"adv": adv_logit(logits), "logits": logits, "features": features}


class SSLGenerator(nn.Module):
    OUTPUTS = ("tanh", "half", "none")

    def __init__(self, *, latent_dim: int, hidden: Sequence[int], weight_norm: bool, normalize: str,
                 batch_norm: bool = True):
        super().__init__()
        if normalize not in self.OUTPUTS:
            raise ValueError(f"unknown data.normalize {normalize!r}; choose one of {list(self.OUTPUTS)}")
        self.latent_dim, self.normalize = latent_dim, normalize
        layers: list[nn.Module] = []
        sizes = [latent_dim, *hidden]
        for a, b in zip(sizes[:-1], sizes[1:]):
            # batch norm replaces the layer's scale (as in the paper); without it the layer is weight-normalised
            layers.append(linear(a, b, weight_norm and not batch_norm, bias=not batch_norm))
            if batch_norm:
                bn = nn.BatchNorm1d(b)
                bn.weight.requires_grad_(False)  # a shift but no scale (the paper's batch_norm(g=None))
                layers.append(bn)
            layers.append(nn.Softplus())
        layers.append(linear(sizes[-1], IMAGE_SIZE, weight_norm))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        a = self.net(z)
        if self.normalize == "tanh":
            x = torch.tanh(a)
        elif self.normalize == "none":
            x = torch.sigmoid(a)
        else:
            x = torch.sigmoid(a) - 0.5
        return x.view(-1, *IMAGE_SHAPE)
