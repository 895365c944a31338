"""Variational autoencoder (``model=vae``, seeds 003/004): Bernoulli decoder on [0, 1] pixels, Gaussian latent."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan_sweeps.data import from_unit_range, to_unit_range
from gan_sweeps.models.base import GenerativeModule


class VAE(GenerativeModule):
    """loss = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I)), summed over pixels, averaged over the batch."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, *, beta: float = 1.0, **base: Any):
        super().__init__(**base)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = beta

    def configure_optimizers(self):
        return self.build_optimizer(self.parameters(), "vae")

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return from_unit_range(torch.sigmoid(self.decoder(z)), self.normalize)

    def terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-batch means of the reconstruction error (BCE, nats/image), KL and negative ELBO."""
        target = to_unit_range(x, self.normalize)
        mu, logvar = self.encoder(target)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        logits = self.decoder(z)
        recon = F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / x.shape[0]
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl}

    def training_step(self, batch, batch_idx):
        x, _ = batch
        logged: dict[str, torch.Tensor] = {}

        def loss() -> torch.Tensor:
            t = self.terms(x)
            logged.update(recon=t["recon"].detach(), kl=t["kl"].detach())
            return t["loss"]

        logged["vae_loss"] = self.optimize(self.optimizers(), "vae", loss)
        self.record(logged)

    @torch.no_grad()
    def reconstruction_metrics(self, x: torch.Tensor) -> dict[str, float]:
        """Test-time metrics on a batch in model range: BCE reconstruction error, pixel MSE, ELBO (nats)."""
        t = self.terms(x)
        target = to_unit_range(x, self.normalize)
        mu, _ = self.encoder(target)
        mse = F.mse_loss(torch.sigmoid(self.decoder(mu)), target, reduction="sum") / x.shape[0]
        return {"recon_bce": float(t["recon"]), "recon_mse": float(mse), "kl": float(t["kl"]),
                "elbo": float(-(t["recon"] + t["kl"]))}
