"""What keeps the discriminator in check besides its loss, selected by the ``regularizer`` config group
(``regularizers_config.py``), independent of the ``loss`` group: any loss with any regulariser.

The adversarial loop adds ``penalty(...)`` to every discriminator loss (logged as ``train/d_penalty``) and calls
``after_d_step(...)`` after every discriminator optimizer step.

    regularizer       what it does
    none              nothing
    gradient_penalty  + weight * (||grad_x D(x_hat)|| - 1)^2 at random interpolates x_hat of real and fake images
                      (Gulrajani et al. 2017; with any loss, as Kurach et al. 2019 compare); per sample, so the
                      critic must not use BatchNorm
    weight_clip       every D parameter clipped to [-clip, clip] after each D step (Arjovsky et al. 2017)"""

from __future__ import annotations

import torch
from torch import nn


class Regularizer:
    """No regularisation (``regularizer=none``); the base of the others."""

    def penalty(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor | None:
        """Extra discriminator loss term; None when there is none."""
        return None

    def after_d_step(self, discriminator: nn.Module) -> None:
        """Run after every discriminator optimizer step."""


class GradientPenalty(Regularizer):
    """``weight * (||grad_x D(x_hat)|| - 1)^2`` at x_hat = e x + (1 - e) G(z), e ~ U(0, 1) per sample. Any image
    shape; conditional critics get the real images' labels."""

    def __init__(self, weight: float = 10.0):
        if not weight >= 0:
            raise ValueError(f"regularizer.weight={weight!r} is invalid: must be >= 0")
        self.weight = float(weight)

    def penalty(self, discriminator, real, fake, y=None):
        e = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        x_hat = (e * real.detach() + (1 - e) * fake.detach()).requires_grad_(True)
        scores = discriminator(x_hat, y)["adv"]
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)  # graph kept: penalty is trained
        norms = torch.linalg.vector_norm(grad.flatten(1), dim=1)
        return self.weight * ((norms - 1.0) ** 2).mean()


class WeightClip(Regularizer):
    """Lipschitz by clipping every discriminator parameter to [-clip, clip] after each of its steps."""

    def __init__(self, clip: float = 0.01):
        if not clip > 0:
            raise ValueError(f"regularizer.clip={clip!r} is invalid: must be > 0")
        self.clip = float(clip)

    @torch.no_grad()
    def after_d_step(self, discriminator):
        for p in discriminator.parameters():
            p.clamp_(-self.clip, self.clip)
