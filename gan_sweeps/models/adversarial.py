"""The adversarial training loop, written once.

Each training batch gives one discriminator step on a fresh real batch; after every ``k`` discriminator steps the
generator takes ``g_steps`` steps. So with k=2 the discriminator's optimizer steps exactly twice per generator step,
and an epoch is one pass over the data whatever k is. The fakes of the last D step are reused (not regenerated) for
the first G step. The ``loss`` and the ``regularizer`` (its penalty joins D's loss, its hook runs after each D step)
come from their config groups. Variants override hooks only: ``decode`` / ``discriminate`` (conditioning),
``d_objective`` / ``g_objective`` (extra loss terms)."""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from gan_sweeps.losses import GANLoss
from gan_sweeps.models.base import GenerativeModule
from gan_sweeps.regularizers import Regularizer


class AdversarialModule(GenerativeModule):
    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: GANLoss,
                 regularizer: Regularizer | None = None, *, k: int = 1, g_steps: int = 1,
                 label_smoothing: float = 0.0, instance_noise: float = 0.0, **base: Any):
        super().__init__(**base)
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        self.regularizer = regularizer if regularizer is not None else Regularizer()
        self.k = k
        self.g_steps = g_steps
        self.label_smoothing = label_smoothing
        self.instance_noise = instance_noise
        self.d_steps_since_g = 0

    def configure_optimizers(self):
        return [self.build_optimizer(self.discriminator.parameters(), "d"),
                self.build_optimizer(self.generator.parameters(), "g")]

    # ---- hooks -----------------------------------------------------------------------------------------------
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Nets take ``(input, labels)``; unconditional nets ignore labels (always None for them)."""
        return self.generator(z, labels)

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Discriminator outputs; instance noise (std ``instance_noise``) is added to its inputs in training."""
        if self.instance_noise > 0 and self.training:
            x = x + self.instance_noise * torch.randn_like(x)
        return self.discriminator(x, labels)

    def d_objective(self, real: torch.Tensor, fake: torch.Tensor, real_labels, fake_labels) -> dict[str, torch.Tensor]:
        """Discriminator loss terms; ``loss`` is what is minimised (the loss plus the regulariser's penalty), the
        rest (the loss's ``stats``, the penalty) is logged."""
        real_out = self.discriminate(real, real_labels)
        fake_out = self.discriminate(fake, fake_labels)
        loss = self.loss.d_loss(real_out["adv"], fake_out["adv"], 1.0 - self.label_smoothing)
        with torch.no_grad():  # what the loss says is worth a curve (d_real/d_fake, critic_gap, ...)
            terms = {"loss": loss, **self.loss.stats(real_out["adv"].detach(), fake_out["adv"].detach())}
        penalty = self.regularizer.penalty(self.discriminator, real, fake, real_labels)
        if penalty is not None:
            terms["loss"] = loss + penalty
            terms["d_penalty"] = penalty.detach()
        return terms

    def g_objective(self, fake: torch.Tensor, fake_labels, real: torch.Tensor, real_labels) -> torch.Tensor:
        return self.loss.g_loss(self.discriminate(fake, fake_labels)["adv"])

    # ---- the loop --------------------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        real, real_labels = batch
        d_opt, g_opt = self.optimizers()
        n = real.shape[0]
        g_turn = self.d_steps_since_g + 1 == self.k
        z = torch.randn(n, self.latent_dim, device=self.device)
        fake_labels = self.sample_labels(n)
        with torch.set_grad_enabled(g_turn):  # keep the graph only if a G step reuses these fakes
            fake = self.decode(z, fake_labels)

        logged: dict[str, torch.Tensor] = {}

        def d_loss() -> torch.Tensor:
            terms = self.d_objective(real, fake.detach(), real_labels, fake_labels)
            logged.update({k: v.detach() for k, v in terms.items() if k != "loss"})
            return terms["loss"]

        logged["d_loss"] = self.optimize(d_opt, "d", d_loss)
        self.regularizer.after_d_step(self.discriminator)
        self.d_steps_since_g += 1
        if g_turn:
            self.d_steps_since_g = 0
            for i in range(self.g_steps):
                if i > 0:
                    fake_labels = self.sample_labels(n)
                    fake = self.decode(torch.randn(n, self.latent_dim, device=self.device), fake_labels)
                logged["g_loss"] = self.optimize(
                    g_opt, "g", partial(self.g_objective, fake, fake_labels, real, real_labels))
        self.record(logged)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["gan_sweeps_d_steps_since_g"] = self.d_steps_since_g

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        self.d_steps_since_g = checkpoint.get("gan_sweeps_d_steps_since_g", 0)
