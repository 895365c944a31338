"""The adversarial training loop, written once.

Each training batch gives one discriminator step on a fresh real batch; after every ``k`` discriminator steps the
generator takes ``g_steps`` steps. So with k=2 the discriminator's optimizer steps exactly twice per generator step,
and an epoch is one pass over the data whatever k is. The fakes of the last D step are reused (not regenerated) for
the first G step. The ``loss`` and the ``regularizer`` (its penalty joins D's loss, its hook runs after each D step)
come from their config groups. Run-level knobs of the loop: ``update_order`` (``g_first``: G's steps come before
D's step in the batch where G takes its turn, on the same fakes; seed 003), ``d_step`` (``separate``: D takes one
optimizer step on the real batch, then one on the fake batch, as Keras loops do; seed 001: two ``d`` steps per
batch), ``latent_dist`` (G's noise, models/base.py). Variants override hooks only: ``decode`` / ``discriminate``
(conditioning), ``d_objective`` / ``g_objective`` (extra loss terms)."""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from gan_sweeps.training.losses import GANLoss
from gan_sweeps.models.base import GenerativeModule
from gan_sweeps.training.regularizers import Regularizer
from gan_sweeps.run.train_config import D_BN_IN_G_STEP, D_STEPS, UPDATE_ORDERS



class AdversarialModule(GenerativeModule):
    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: GANLoss,
                 regularizer: Regularizer | None = None, *, k: int = 1, g_steps: int = 1,
                 label_smoothing: float = 0.0, instance_noise: float = 0.0, update_order: str = "d_first",
                 d_step: str = "joint", d_bn_in_g_step: str = "batch", **base: Any):
        super().__init__(**base)
        for name, value, choices in (("update_order", update_order, UPDATE_ORDERS), ("d_step", d_step, D_STEPS),
                                     ("d_bn_in_g_step", d_bn_in_g_step, D_BN_IN_G_STEP)):
            if value not in choices:
                raise ValueError(f"unknown {name} {value!r}; choose one of {list(choices)}")
        self.update_order, self.d_step, self.d_bn_in_g_step = update_order, d_step, d_bn_in_g_step
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

    def d_side_objective(self, images: torch.Tensor, labels, real: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """``d_step=separate``: D's loss term on one batch (real or fake) and its detached outputs."""
        adv = self.discriminate(images, labels)["adv"]
        loss = self.loss.d_loss_real(adv, 1.0 - self.label_smoothing) if real else self.loss.d_loss_fake(adv)
        return loss, adv.detach()

    # ---- the loop --------------------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        real, real_labels = batch
        d_opt, g_opt = self.optimizers()
        n = real.shape[0]
        g_turn = self.d_steps_since_g + 1 == self.k
        fake_labels = self.sample_labels(n)
        with torch.set_grad_enabled(g_turn):  # keep the graph only if a G step reuses these fakes
            fake = self.decode(self.draw_z(n), fake_labels)
        logged: dict[str, torch.Tensor] = {}
        if g_turn and self.update_order == "g_first":
            self.generator_steps(g_opt, fake, fake_labels, real, real_labels, logged)
        self.discriminator_step(d_opt, real, fake.detach(), real_labels, fake_labels, logged)
        self.d_steps_since_g += 1
        if g_turn:
            self.d_steps_since_g = 0
            if self.update_order == "d_first":
                self.generator_steps(g_opt, fake, fake_labels, real, real_labels, logged)
        self.record(logged)

    def discriminator_step(self, d_opt, real, fake, real_labels, fake_labels, logged: dict) -> None:
        """One D step on real + fake (``d_step=joint``), or one on the real batch then one on the fake batch."""
        if self.d_step == "joint":
            def d_loss() -> torch.Tensor:
                terms = self.d_objective(real, fake, real_labels, fake_labels)
                logged.update({k: v.detach() for k, v in terms.items() if k != "loss"})
                return terms["loss"]

            logged["d_loss"] = self.optimize(d_opt, "d", d_loss)
            self.regularizer.after_d_step(self.discriminator)
            return
        outputs: list[torch.Tensor] = []

        def side_loss(images, labels, is_real) -> torch.Tensor:
            loss, adv = self.d_side_objective(images, labels, is_real)
            outputs.append(adv)
            return loss

        logged["d_loss"] = torch.zeros(())
        for images, labels, is_real in ((real, real_labels, True), (fake, fake_labels, False)):
            logged["d_loss"] = logged["d_loss"] + self.optimize(d_opt, "d", partial(side_loss, images, labels, is_real))
            self.regularizer.after_d_step(self.discriminator)
        with torch.no_grad():
            logged.update(self.loss.stats(*outputs))

    def generator_steps(self, g_opt, fake, fake_labels, real, real_labels, logged: dict) -> None:
        """``g_steps`` G steps; the first reuses the fakes the D step sees, the others draw new ones. With
        ``d_bn_in_g_step=running`` D's BatchNorm layers use their running statistics meanwhile (and do not update
        them), as a Keras discriminator frozen with ``trainable=False`` inside the combined model does."""
        frozen = [m for m in self.discriminator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
                  and m.training] if self.d_bn_in_g_step == "running" else []
        for m in frozen:
            m.eval()
        try:
            self._generator_steps(g_opt, fake, fake_labels, real, real_labels, logged)
        finally:
            for m in frozen:
                m.train()

    def _generator_steps(self, g_opt, fake, fake_labels, real, real_labels, logged: dict) -> None:
        for i in range(self.g_steps):
            if i > 0:
                fake_labels = self.sample_labels(len(fake))
                fake = self.decode(self.draw_z(len(fake)), fake_labels)
            objective = partial(self.g_objective, fake, fake_labels, real, real_labels)
            logged["g_loss"] = self.optimize(g_opt, "g", objective)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["gan_sweeps_d_steps_since_g"] = self.d_steps_since_g

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        self.d_steps_since_g = checkpoint.get("gan_sweeps_d_steps_since_g", 0)
