"""Adversarial losses as pure functions of discriminator logits, selected by the ``loss`` config group.

Every loss implements ``d_loss(real_logits, fake_logits, real_target)`` and ``g_loss(fake_logits)``; a loss that
needs a regulariser (a gradient penalty) or a post-step hook (weight clipping) overrides ``penalty`` /
``after_d_step``. The adversarial base module calls only these, so losses are a config axis independent of nets."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GANLoss:
    """Base class; ``supports_label_smoothing`` is False where a smoothed real target has no meaning."""

    name = "base"
    supports_label_smoothing = True

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def penalty(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor | None:
        """Extra discriminator loss term (e.g. a gradient penalty); None when the loss has none."""
        return None

    def after_d_step(self, discriminator: nn.Module) -> None:
        """Hook run after every discriminator optimizer step (e.g. weight clipping)."""


class NonSaturating(GANLoss):
    """Goodfellow et al.'s BCE game; the generator maximises log D(G(z)) (labels flipped), on logits.

    d = BCE(D(x), 1 - s) + BCE(D(G(z)), 0) with one-sided smoothing s; g = BCE(D(G(z)), 1)."""

    name = "non_saturating"

    def d_loss(self, real_logits, fake_logits, real_target=1.0):
        real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))
        fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        return real + fake

    def g_loss(self, fake_logits):
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
