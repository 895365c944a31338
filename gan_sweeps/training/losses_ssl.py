"""Semi-supervised GAN losses as pure functions (Salimans et al. 2016; Zieba & Wang 2017).

The discriminator has K outputs ``l`` (class logits, or an embedding used as logits). With Z(x) = sum_k exp(l_k(x))
its real/fake probability is D(x) = Z / (Z + 1) = sigmoid(lse), lse = logsumexp_k l_k. So, stably, with
softplus(a) = log(1 + e^a):

    -log D(x)       = -log sigmoid(lse)     = softplus(-lse) = softplus(lse) - lse      (real images)
    -log(1 - D(x))  = -log sigmoid(-lse)    = softplus(lse)                             (generated images)

``adv_logit(l)`` (nets/ssgan.py, where the discriminator defines it) is that lse: the one real/fake logit of every
other discriminator in the project."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_sweeps.nets.ssgan import adv_logit


def unsupervised_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """E_real[-log D(x)] + E_fake[-log(1 - D(G(z)))] with D = Z/(Z+1), from K-output logits.

    Salimans et al.'s released code weights this sum by 0.5 (our ``unsupervised_weight``)."""
    lse_real, lse_fake = adv_logit(real_logits), adv_logit(fake_logits)
    return (F.softplus(lse_real) - lse_real).mean() + F.softplus(lse_fake).mean()


def supervised_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the K real classes (the "fake" class K+1 has its logit fixed at 0, so it drops out)."""
    return F.cross_entropy(logits, labels)


def feature_matching_loss(fake_features: torch.Tensor, real_features: torch.Tensor) -> torch.Tensor:
    """mean_j (E[f_j(G(z))] - E[f_j(x)])^2: squared distance of the batch means of an intermediate D layer."""
    return (fake_features.flatten(1).mean(0) - real_features.flatten(1).mean(0)).pow(2).mean()


def non_saturating_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(G(z)) = softplus(-lse), from K-output logits."""
    return F.softplus(-adv_logit(fake_logits)).mean()


def euclidean(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Row-wise Euclidean distance; ``eps`` under the root keeps the gradient finite when a == b."""
    return ((a - b).pow(2).sum(1) + eps).sqrt()


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """-log(e^{-d+} / (e^{-d+} + e^{-d-})) = softplus(d+ - d-), averaged over triplets (Zieba & Wang, eq. 1)."""
    return F.softplus(euclidean(anchor, positive) - euclidean(anchor, negative)).mean()
