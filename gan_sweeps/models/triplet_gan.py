"""Triplet GAN (``model=triplet_gan``): Zieba & Wang 2017, "Training Triplet Networks with GAN".

The discriminator's last layer is an M-dimensional embedding (``model.embedding_dim``) that is both the K = M
"logits" of the Improved-GAN unsupervised objective and the triplet network's output. One run has two phases:

1. pre-training, epochs 1 .. ``pretrain_epochs``: loss_D = unsupervised_weight * unsupervised GAN loss;
2. triplet training, the remaining epochs: loss_D = triplet loss + unsupervised_weight * unsupervised loss, on
   ``triplets_per_epoch`` random triplets from the labelled subset per epoch (ceil(triplets / batches) per D step).

The generator is trained by feature matching throughout. The model exposes ``embed`` (the M-dimensional outputs)
and its ``phase_switch_epoch``; at the phase switch (end of the last pre-training epoch, a callback) and at every
evaluation the test split is embedded and scored against the training split (9-NN accuracy and retrieval mAP,
evaluation/retrieval.py); the phase-switch numbers, kept in ``pretrain_metrics`` (and in checkpoints), are
reported as ``eval/pretrain/*``."""

from __future__ import annotations

import math
from typing import Any

import torch

from gan_sweeps.data.subsets import TripletSampler, to_device
from gan_sweeps.training.losses_ssl import triplet_loss
from gan_sweeps.models.ssgan import SemiSupervisedGAN


class TripletGAN(SemiSupervisedGAN):
    def __init__(self, *args: Any, pretrain_epochs: int = 50, triplets_per_epoch: int = 60000, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if pretrain_epochs < 0 or triplets_per_epoch < 1:
            raise ValueError("model.pretrain_epochs must be >= 0 and model.triplets_per_epoch >= 1")
        self.pretrain_epochs = pretrain_epochs
        self.triplets_per_epoch = triplets_per_epoch
        self.triplets: TripletSampler | None = None
        self.pretrain_metrics: dict[str, float] = {}  # eval/pretrain/*, set by the phase-switch evaluation
        self.ended_in_pretraining = False  # the run stopped before triplet training began

    # ---- phases --------------------------------------------------------------------------------------------------
    @property
    def phase(self) -> str:
        return "pretrain" if self.current_epoch < self.pretrain_epochs else "triplet"

    @property
    def phase_switch_epoch(self) -> int:
        """The 1-based epoch after which triplet training starts."""
        return self.pretrain_epochs

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The M-dimensional embedding of a batch (the discriminator's last layer, no noise in eval mode)."""
        return self.d_logits(images)

    def attach_labelled(self, images, labels, seed: int = 0) -> None:
        super().attach_labelled(images, labels, seed)
        self.triplets = TripletSampler(labels, seed=seed + 1)

    def triplets_per_step(self) -> int:
        batches = getattr(self.trainer, "num_training_batches", None) if self._trainer is not None else None
        batches = batches if isinstance(batches, int) and batches > 0 else 1
        return math.ceil(self.triplets_per_epoch / batches)

    def d_objective(self, real, fake, real_labels, fake_labels) -> dict[str, torch.Tensor]:
        if self.phase == "pretrain":
            real_logits, fake_logits = self.discriminate_many(real, fake)
            terms = self.unsupervised_terms(real_logits, fake_logits)
            terms["loss"] = self.unsupervised_weight * terms["unsup"]
            return terms
        a, p, n = (to_device(i, self.labelled_images.device) for i in self.triplets.sample(self.triplets_per_step()))
        x = self.labelled_images
        real_logits, fake_logits, ea, ep, en = self.discriminate_many(real, fake, x[a], x[p], x[n])
        terms = self.unsupervised_terms(real_logits, fake_logits)
        trip = triplet_loss(ea, ep, en)
        terms.update(loss=trip + self.unsupervised_weight * terms["unsup"], triplet=trip)
        return terms

    def on_train_end(self) -> None:
        self.ended_in_pretraining = self.current_epoch <= self.pretrain_epochs and not self.pretrain_metrics

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["gan_sweeps_pretrain_metrics"] = dict(self.pretrain_metrics)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        self.pretrain_metrics = dict(checkpoint.get("gan_sweeps_pretrain_metrics", {}))
