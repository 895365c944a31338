"""``regularizer=``: what keeps the discriminator in check besides its loss (``gan_sweeps/training/regularizers.py``),
an axis independent of ``loss=``: ``loss=hinge regularizer=gradient_penalty`` and ``loss=non_saturating
regularizer=gradient_penalty`` (Kurach et al. 2019) need no new class.

``per_sample`` is True for penalties computed per sample: the critic must not use BatchNorm, so
``model.discriminator.batch_norm=true`` with them is refused. ``pairs_real_and_fake`` is True for penalties on
real and fake images together: ``d_step=separate`` (one D step per batch kind) is refused with them."""

from dataclasses import dataclass
from typing import ClassVar

from omegaconf import MISSING

from gan_sweeps.config.schema import knob, register


@dataclass
class RegularizerConfig:
    name: ClassVar[str] = ""
    per_sample: ClassVar[bool] = False
    pairs_real_and_fake: ClassVar[bool] = False

    _target_: str = MISSING


@dataclass
class NoRegularizerConfig(RegularizerConfig):
    name = "none"
    _target_: str = "gan_sweeps.training.regularizers.Regularizer"


@dataclass
class GradientPenaltyConfig(RegularizerConfig):
    name = "gradient_penalty"
    per_sample = True
    pairs_real_and_fake = True  # x_hat interpolates a real and a fake image
    _target_: str = "gan_sweeps.training.regularizers.GradientPenalty"
    weight: float = knob(10.0, ge=0, help="lambda of lambda * (||grad D(x_hat)|| - 1)^2 (Gulrajani et al.: 10)")


@dataclass
class WeightClipConfig(RegularizerConfig):
    name = "weight_clip"
    _target_: str = "gan_sweeps.training.regularizers.WeightClip"
    clip: float = knob(0.01, gt=0, help="every D parameter clipped to [-clip, clip] after each D step")


for _config in (NoRegularizerConfig, GradientPenaltyConfig, WeightClipConfig):
    register("regularizer", _config.name, _config)
