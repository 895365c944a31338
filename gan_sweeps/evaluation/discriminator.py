"""A discriminator as a real/fake classifier: the one definition of "D's accuracy", shared by the end-of-run
evaluation (``eval/d_fake_acc``, ``eval/d_real_acc``) and the cross-discriminator study (seed 001, Table 3).

D calls an image *real* when its output ``adv`` is above its loss's decision threshold
(``GANLoss.decision_threshold``: 0 for a logit, i.e. D(x) > 1/2 for the BCE losses and the semi-supervised
D(x) = Z/(Z+1); the midpoint of LSGAN's targets; 0 for hinge). Wasserstein critics have no such threshold (their
scores move freely by a constant), so they are refused.

- accuracy on generated images = the share of them D calls fake (seed 001's Table 3: ~50 % is the equilibrium,
  100 % means the generator fools it never);
- accuracy on real images = the share of them D calls real.

Images go in as [0, 1] tensors and are mapped to the discriminator's own pixel range, so a discriminator can judge
a generator trained with another ``data.normalize``; a conditional discriminator gets the labels the generator was
given (or the real images' labels)."""

from __future__ import annotations

from typing import Any

import torch

from gan_sweeps.data import from_unit_range
from gan_sweeps.evaluation.passes import eval_mode, model_device


class NotAJudge(ValueError):
    """The model has no discriminator, or its discriminator has no real/fake decision."""


class RealFakeJudge:
    """Wraps a model that can ``discriminate(x, labels)``; counts its real/fake calls batch by batch."""

    def __init__(self, model: Any):
        if not callable(getattr(model, "discriminate", None)):
            raise NotAJudge("has no discriminator")
        loss = getattr(model, "loss", None)
        threshold = getattr(loss, "decision_threshold", None)
        if threshold is None:
            raise NotAJudge(f"its discriminator (loss={getattr(loss, 'name', '?')}) is a critic without a real/fake "
                            "decision")
        self.model, self.threshold = model, float(threshold)
        self.conditional = bool(getattr(model, "conditional", False))
        self.normalize = model.normalize
        self.device = model_device(model)
        self.called_fake = 0  # counters of the generated images seen through ``consume``
        self.seen = 0

    @torch.no_grad()
    def calls_real(self, images01: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Bool (N,): D's verdict on [0, 1] images (eval mode, restored after)."""
        if self.conditional and labels is None:
            raise NotAJudge("its discriminator is conditional and the images have no labels")
        x = from_unit_range(images01.to(self.device), self.normalize)
        y = labels.to(self.device) if (labels is not None and self.conditional) else None
        with eval_mode(self.model):
            return self.model.discriminate(x, y)["adv"].float() > self.threshold

    def consume(self, images01: torch.Tensor, labels: torch.Tensor | None) -> None:
        """A ``sample_pass`` consumer: count generated images called fake."""
        self.called_fake += int((~self.calls_real(images01, labels)).sum())
        self.seen += len(images01)

    @property
    def fake_accuracy(self) -> float:
        """Share of the consumed generated images called fake."""
        return self.called_fake / self.seen if self.seen else float("nan")

    @torch.no_grad()
    def real_accuracy(self, images01: torch.Tensor, labels: torch.Tensor | None, batch_size: int = 1000) -> float:
        """Share of real [0, 1] images called real."""
        called = sum(int(self.calls_real(images01[i:i + batch_size],
                                         None if labels is None else labels[i:i + batch_size]).sum())
                     for i in range(0, len(images01), batch_size))
        return called / len(images01)
