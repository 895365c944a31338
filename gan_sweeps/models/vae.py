"""Variational autoencoder (``model=vae``, seeds 003/004): Bernoulli decoder on [0, 1] pixels, Gaussian latent.

The autoencoder base (``models/autoencoder.py``) does the training step; the VAE overrides
its latent hooks only: the encoder returns ``(mu, logvar)``, training decodes the reparameterised sample
``mu + sigma * eps`` (eval mode decodes ``mu``), and the KL term joins the loss."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gan_sweeps.models.autoencoder import Autoencoder


class VAE(Autoencoder):
    """loss = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I)), summed over pixels, averaged over the batch."""

    is_generative = True  # decodes N(0, I) noise: sample grids from fixed noise, FID/IS at the end
    role = "vae"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, *, beta: float = 1.0, **base: Any):
        super().__init__(encoder, decoder, **base)
        self.beta = beta

    def latent(self, code: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return code[0]

    def sample_latent(self, code: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        mu, logvar = code
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu

    def latent_terms(self, code: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        mu, logvar = code
        return {"kl": -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(mu)}

    def total_loss(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        return terms["recon"] + self.beta * terms["kl"]
