"""Semi-supervised GAN (``model=ssgan``): Salimans et al. 2016, "Improved Techniques for Training GANs".

The discriminator has K = 10 class logits; D(x) = Z(x) / (Z(x) + 1) with Z = sum_k exp(l_k) is its real/fake
probability (losses_ssl.py). Per discriminator step (the k:1 loop of AdversarialModule, unchanged):

    loss_D = CE(labelled batch) + unsupervised_weight * (E_real[-log D(x)] + E_fake[-log(1 - D(G(z)))])

and the generator minimises feature matching on an intermediate discriminator layer (or, ``g_loss=
non_saturating``, -log D(G(z))). Labelled batches come from ``datamodule.labelled_images/labels`` (the class-balanced
subset ``data.labelled_per_class``); the real batches of the loop are the unlabelled rest of the training split.

``SemiSupervisedGAN`` holds what the Triplet GAN shares (labelled data, data-dependent init, generator objective);
``SSGAN`` adds the classification loss and ``classify`` (D's class logits), which the end-of-run evaluation scores
on the test split (``eval/ssl_acc``, evaluation/run.py)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gan_sweeps.data.subsets import LabelledBatches
from gan_sweeps.training.losses import GANLoss
from gan_sweeps.training.losses_ssl import (feature_matching_loss, non_saturating_g_loss, supervised_loss,
                                   unsupervised_d_loss)
from gan_sweeps.models.adversarial import AdversarialModule
from gan_sweeps.models.ssgan_config import FEATURE_MATCHING, G_LOSSES
from gan_sweeps.nets.ssgan import data_dependent_init

# model.feature_matching -> the discriminator output matched: its last hidden layer (Salimans et al.'s code) or its
# K/M-dim output (the Triplet GAN code: ``mom_gen = LL.get_output(layers[-1], gen_dat)``, layers[-1] the M-dim layer)
FEATURE_LAYERS = dict(zip(FEATURE_MATCHING, ("features", "logits")))


class SemiSupervisedGAN(AdversarialModule):
    """Base of the semi-supervised variants. ``loss`` (the project's GAN loss group) is not used: the unsupervised
    game is fixed by the K-output discriminator (their configs do not read ``loss`` or ``regularizer``:
    ``models/ssgan_config.py``)."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: Any = None, *,
                 g_loss: str = "feature_matching", feature_matching: str = "hidden", unsupervised_weight: float = 0.5,
                 labelled_batch_size: int = 100, data_init: bool = True, data_init_size: int = 500,
                 **adversarial: Any):
        super().__init__(generator, discriminator, GANLoss(), **adversarial)  # no-op loss hooks (no clipping)
        if g_loss not in G_LOSSES:
            raise ValueError(f"unknown model.g_loss {g_loss!r}; choose one of {list(G_LOSSES)}")
        if self.label_smoothing:
            raise ValueError("label_smoothing is not defined for the K-class semi-supervised discriminator")
        if feature_matching not in FEATURE_LAYERS:
            raise ValueError(f"unknown model.feature_matching {feature_matching!r}; "
                             f"choose one of {list(FEATURE_LAYERS)}")
        self.g_loss_name = g_loss
        self.feature_key = FEATURE_LAYERS[feature_matching]
        self.unsupervised_weight = unsupervised_weight
        self.labelled_batch_size = labelled_batch_size
        self.data_init, self.data_init_size = data_init, data_init_size
        self.labelled_images: torch.Tensor | None = None
        self.labelled_labels: torch.Tensor | None = None
        self.labelled: LabelledBatches | None = None
        self.initialised = False  # data-dependent init done (or weights restored from a checkpoint)

    # ---- data --------------------------------------------------------------------------------------------------
    def attach_labelled(self, images: torch.Tensor, labels: torch.Tensor, seed: int = 0) -> None:
        """The labelled set the D steps draw from (the datamodule's at fit start; tests may call it directly)."""
        self.labelled_images, self.labelled_labels = images, labels
        self.labelled = LabelledBatches(images, labels, self.labelled_batch_size, seed=seed)

    def on_fit_start(self) -> None:
        dm = self.trainer.datamodule
        if getattr(dm, "labelled_images", None) is None:
            raise ValueError(f"{type(self).__name__} needs a datamodule with labelled_images/labelled_labels "
                             "(gan_sweeps.data.ImageDataModule)")
        seed = int(torch.randint(2**31 - 1, (1,)))  # drawn from the run's seeded global RNG: reproducible
        self.attach_labelled(dm.labelled_images, dm.labelled_labels, seed=seed)
        if self.data_init and not self.initialised:
            gen = torch.Generator().manual_seed(seed)
            pool = dm.train_images
            idx = torch.randperm(len(pool), generator=gen)[: self.data_init_size].to(pool.device)
            self.initialise_from_data(pool[idx])

    @torch.no_grad()
    def initialise_from_data(self, real: torch.Tensor) -> None:
        """Salimans & Kingma's data-dependent init of the weight-normalised layers of G and D (one batch)."""
        z = self.draw_z(len(real)).to(real.device)
        data_dependent_init(self.generator, z, None)
        data_dependent_init(self.discriminator, real, None)
        self.initialised = True

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        self.initialised = True  # never re-initialise restored weights

    def d_logits(self, images: torch.Tensor) -> torch.Tensor:
        """The discriminator's K outputs for a batch (no noise in eval mode)."""
        return self.discriminator(images.to(self.device), None)["logits"]

    # ---- objectives ----------------------------------------------------------------------------------------------
    def g_objective(self, fake: torch.Tensor, fake_labels, real: torch.Tensor, real_labels) -> torch.Tensor:
        fake_out = self.discriminate(fake, None)
        if self.g_loss_name == "non_saturating":
            return non_saturating_g_loss(fake_out["logits"])
        with torch.no_grad():  # the real statistics are a target: no graph through D for them
            real_features = self.discriminate(real, None)[self.feature_key]
        return feature_matching_loss(fake_out[self.feature_key], real_features)

    def unsupervised_terms(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        unsup = unsupervised_d_loss(real_logits, fake_logits)
        return {"unsup": unsup,
                "d_real": torch.sigmoid(torch.logsumexp(real_logits.detach(), 1)).mean(),
                "d_fake": torch.sigmoid(torch.logsumexp(fake_logits.detach(), 1)).mean()}

    def discriminate_many(self, *batches: torch.Tensor) -> list[torch.Tensor]:
        """Logits of several batches through one discriminator pass (the nets have no batch statistics)."""
        logits = self.discriminate(torch.cat(batches), None)["logits"]
        return list(logits.split([len(b) for b in batches]))


class SSGAN(SemiSupervisedGAN):
    """K-class discriminator, supervised cross-entropy + unsupervised GAN loss; test accuracy as its metric."""

    def d_objective(self, real, fake, real_labels, fake_labels) -> dict[str, torch.Tensor]:
        x_lab, y_lab = self.labelled.next()
        real_logits, fake_logits, lab_logits = self.discriminate_many(real, fake, x_lab)
        terms = self.unsupervised_terms(real_logits, fake_logits)
        sup = supervised_loss(lab_logits, y_lab)
        terms.update(loss=sup + self.unsupervised_weight * terms["unsup"], sup=sup,
                     train_acc=(lab_logits.detach().argmax(1) == y_lab).float().mean())
        return terms

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits (N, K) of the discriminator's classifier."""
        return self.d_logits(images)
