"""The autoencoder family of seed 004: ``model=ae``, ``model=dae`` and (``models/vae.py``) ``model=vae``.

One base, :class:`Autoencoder`, holds everything the family shares: the training step (encode the possibly
corrupted input, decode, Bernoulli reconstruction loss against the clean image, plus the variant's latent terms)
and what the family can do: ``encode``, ``decode``, ``reconstruct`` and ``terms`` (the objective's terms of a
batch). Variants override hooks only:

- ``corrupt(x01)``: the encoder's input in training (denoising AE: ``x + N(0, noise_std)``, training mode only);
- ``latent(code)`` / ``sample_latent(code)``: the deterministic code, and the one decoded while training
  (VAE: ``mu``, and the reparameterised sample);
- ``latent_terms(code)`` / ``total_loss(terms)``: extra loss terms and how they add up (VAE: KL, recon + beta KL).

Pixels are compared in [0, 1] whatever ``data.normalize`` is: ``recon`` is the binary cross-entropy summed over the
784 pixels (nats per image); the corruption noise is added in [0, 1] units too. Plain autoencoders are not samplers
(``is_generative = False``: no FID/IS). Their test metrics (``eval/recon_*``) and figures (``latent.png``,
``interpolation.png``) come from ``evaluation/autoencoding.py``; the per-epoch reconstruction grids from
``callbacks/samples.py``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan_sweeps.data import from_unit_range, to_unit_range
from gan_sweeps.models.base import GenerativeModule

Code = Any  # what the encoder returns: a tensor (AE) or (mu, logvar) (VAE)


class Autoencoder(GenerativeModule):
    """Deterministic autoencoder: loss = BCE(decoder(encoder(corrupt(x))), x), summed over pixels, batch mean."""

    is_generative = False
    role = "ae"  # optimizer role: train/<role>_loss, <role>_steps_done, optim.<role>_lr

    def __init__(self, encoder: nn.Module, decoder: nn.Module, **base: Any):
        super().__init__(**base)
        self.encoder = encoder
        self.decoder = decoder

    def configure_optimizers(self):
        return self.build_optimizer(self.parameters(), self.role)

    # ---- hooks the variants override -------------------------------------------------------------------------
    def corrupt(self, x01: torch.Tensor) -> torch.Tensor:
        """The encoder's input for clean [0, 1] images (identity here)."""
        return x01

    def latent(self, code: Code) -> torch.Tensor:
        """The deterministic latent point of an encoder output."""
        return code

    def sample_latent(self, code: Code) -> torch.Tensor:
        """The latent decoded in the loss (training mode may add noise; eval mode is ``latent``)."""
        return self.latent(code)

    def latent_terms(self, code: Code) -> dict[str, torch.Tensor]:
        """Extra per-batch loss terms computed from the code (logged, and reported at test time)."""
        return {}

    def total_loss(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        return terms["recon"]

    # ---- the shared computation ------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Model-range images -> deterministic latent codes (n, latent_dim); no corruption."""
        return self.latent(self.encoder(to_unit_range(x, self.normalize)))

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return from_unit_range(torch.sigmoid(self.decoder(z)), self.normalize)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Model-range images -> their reconstructions through the deterministic code (no corruption)."""
        return self.decode(self.encode(x))

    def _pass(self, x: torch.Tensor) -> tuple[torch.Tensor, Code, torch.Tensor]:
        """(clean [0, 1] target, encoder output, decoder logits) for model-range images ``x``."""
        target = to_unit_range(x, self.normalize)
        code = self.encoder(self.corrupt(target))
        return target, code, self.decoder(self.sample_latent(code))

    def terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-batch means: ``recon`` (BCE, nats/image), the variant's latent terms, and the ``loss``."""
        target, code, logits = self._pass(x)
        out = {"recon": F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / len(x),
               **self.latent_terms(code)}
        out["loss"] = self.total_loss(out)
        return out

    def training_step(self, batch, batch_idx):
        x, _ = batch
        logged: dict[str, torch.Tensor] = {}

        def loss() -> torch.Tensor:
            t = self.terms(x)
            logged.update({k: v.detach() for k, v in t.items() if k != "loss"})
            return t["loss"]

        logged[f"{self.role}_loss"] = self.optimize(self.optimizers(), self.role, loss)
        self.record(logged)


class DenoisingAutoencoder(Autoencoder):
    """Autoencoder trained to undo ``x + N(0, noise_std)`` (seed 004: std 0.1); the target is the clean image."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, *, noise_std: float = 0.1, **base: Any):
        super().__init__(encoder, decoder, **base)
        if noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {noise_std}")
        self.noise_std = float(noise_std)

    def corrupt(self, x01: torch.Tensor) -> torch.Tensor:
        if not self.training or self.noise_std == 0:
            return x01
        return x01 + torch.randn_like(x01) * self.noise_std
