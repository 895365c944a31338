"""Adversarial losses as pure functions of discriminator logits, selected by the ``loss`` config group
(``losses_config.py``).

Every loss implements ``d_loss(real_logits, fake_logits, real_target)`` and ``g_loss(fake_logits)``, and ``stats``
names the numbers worth a training curve. The adversarial base module calls only these, so losses are a config
axis independent of nets; what else keeps D in check (a gradient penalty, weight clipping) is the independent
``regularizer`` axis (``regularizers.py``).

    loss            discriminator / critic minimises                 generator minimises
    non_saturating  BCE(D(x), 1-s) + BCE(D(G(z)), 0)                 BCE(D(G(z)), 1) = -log D(G(z))
    minimax         same                                             -BCE(D(G(z)), 0) = log(1 - D(G(z)))
    lsgan           1/2 (D(x) - b')^2 + 1/2 (D(G(z)) - a)^2          1/2 (D(G(z)) - c)^2
    hinge           relu(1 - D(x)) + relu(1 + D(G(z)))               -D(G(z))
    wasserstein     D(G(z)) - D(x)                                   -D(G(z))

(every term a batch mean; s is one-sided label smoothing, b' = a + (b - a)(1 - s)). The recipes ``loss=wgan``
(wasserstein + weight clipping) and ``loss=wgan_gp`` (wasserstein + gradient penalty) live in
``gan_sweeps/conf/loss/``."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class GANLoss:
    """Base class. ``d_loss_bounded`` is False where D's loss has no floor (Wasserstein critics), so "D loss near
    0" does not mean that D separates real from fake perfectly (the run-health check for a collapsing D relies on
    it). Which losses accept label smoothing is declared with their configs (``losses_config.py``).
    ``decision_threshold``: D calls an image real when its output is above it (None: a critic without a real/fake
    decision); evaluation/discriminator.py reads it for D's accuracy."""

    d_loss_bounded = True
    decision_threshold: float | None = 0.0  # a logit: D(x) = sigmoid(logit) > 1/2

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
        """D's loss: a term on the real batch plus a term on the fake batch (``d_step=separate`` steps on each)."""
        return self.d_loss_real(real_logits, real_target) + self.d_loss_fake(fake_logits)

    def d_loss_real(self, real_logits: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
        raise NotImplementedError

    def d_loss_fake(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def stats(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """Numbers the training loop logs per D step (``train/<name>``), from detached logits; only those that
        mean something for this loss (a probability only where D is a classifier)."""
        return {}


# ---- D as a classifier: binary cross-entropy on logits ----------------------------------------------------------
class _BCELoss(GANLoss):
    """D(x) = sigmoid(logit) is a probability: D's loss is BCE with real target 1 - s, fake target 0."""

    def d_loss_real(self, real_logits, real_target=1.0):
        return F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))

    def d_loss_fake(self, fake_logits):
        return F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))

    def stats(self, real_logits, fake_logits):
        return {"d_real": torch.sigmoid(real_logits).mean(), "d_fake": torch.sigmoid(fake_logits).mean()}


class NonSaturating(_BCELoss):
    """Goodfellow et al.'s BCE game; the generator maximises log D(G(z)) (labels flipped), on logits.

    d = BCE(D(x), 1 - s) + BCE(D(G(z)), 0) with one-sided smoothing s; g = BCE(D(G(z)), 1)."""


    def g_loss(self, fake_logits):
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


class Minimax(_BCELoss):
    """The original (saturating) minimax game: the generator minimises log(1 - D(G(z))) = -BCE(D(G(z)), 0),
    i.e. -softplus(logit), finite for every logit (no log of a sigmoid that rounds to 1)."""


    def g_loss(self, fake_logits):
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


# ---- D as a regressor of targets -----------------------------------------------------------------------------------
def _score_means(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean raw discriminator outputs, for losses whose outputs are scores rather than probabilities."""
    return {"d_real_score": real_logits.mean(), "d_fake_score": fake_logits.mean()}


class LeastSquares(GANLoss):
    """LSGAN (Mao et al. 2017): D regresses fakes to ``a`` and reals to ``b``; G pushes fakes to ``c``.

    One-sided smoothing s moves the real target towards the fake one: b' = a + (b - a)(1 - s) (= 1 - s for 0/1)."""


    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0):
        self.a, self.b, self.c = float(a), float(b), float(c)

    @property
    def decision_threshold(self) -> float:
        """The midpoint of the fake and real targets."""
        return (self.a + self.b) / 2

    @staticmethod
    def _half_mse(logits: torch.Tensor, target: float) -> torch.Tensor:
        return 0.5 * F.mse_loss(logits, torch.full_like(logits, target))

    def d_loss_real(self, real_logits, real_target=1.0):
        return self._half_mse(real_logits, self.a + (self.b - self.a) * real_target)

    def d_loss_fake(self, fake_logits):
        return self._half_mse(fake_logits, self.a)

    def g_loss(self, fake_logits):
        return self._half_mse(fake_logits, self.c)

    def stats(self, real_logits, fake_logits):
        return _score_means(real_logits, fake_logits)


# ---- D as an unbounded critic ------------------------------------------------------------------------------------
class _CriticLoss(GANLoss):
    """Losses whose D is an unbounded critic: the generator raises the critic's score of its fakes (a smoothed
    real target has no meaning for them)."""

    def g_loss(self, fake_logits):
        return -fake_logits.mean()


class Hinge(_CriticLoss):
    """Hinge loss (Lim & Ye 2017; SN-GAN, BigGAN): d = relu(1 - D(x)) + relu(1 + D(G(z))), g = -D(G(z))."""


    def d_loss_real(self, real_logits, real_target=1.0):
        return F.relu(1.0 - real_logits).mean()

    def d_loss_fake(self, fake_logits):
        return F.relu(1.0 + fake_logits).mean()

    def stats(self, real_logits, fake_logits):
        return _score_means(real_logits, fake_logits)


class Wasserstein(_CriticLoss):
    """The Wasserstein game: the critic maximises the gap E[D(x)] - E[D(G(z))], which estimates the Wasserstein-1
    distance (up to the critic's Lipschitz constant) once the critic is kept Lipschitz: by the ``regularizer``
    (``weight_clip``: WGAN, ``gradient_penalty``: WGAN-GP)."""

    d_loss_bounded = False
    decision_threshold = None  # a score defined up to a constant

    @staticmethod
    def critic_gap(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return real_logits.mean() - fake_logits.mean()

    def d_loss_real(self, real_logits, real_target=1.0):
        return -real_logits.mean()

    def d_loss_fake(self, fake_logits):
        return fake_logits.mean()

    def stats(self, real_logits, fake_logits):
        return {"critic_gap": self.critic_gap(real_logits, fake_logits)}
