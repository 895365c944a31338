"""``loss=``: the adversarial loss alone (``gan_sweeps/training/losses.py``). Regularisers are the independent
``regularizer=`` axis (``regularizers_config.py``); the paper recipes ``loss=wgan`` and ``loss=wgan_gp``
(``gan_sweeps/conf/loss/``) pick a loss here, a regulariser, and the paper's k, optimiser and critic.

``supports_label_smoothing`` is False for unbounded critics: ``label_smoothing`` > 0 with them is refused."""

from dataclasses import dataclass
from typing import ClassVar

from omegaconf import MISSING

from gan_sweeps.config.schema import knob, register


@dataclass
class LossConfig:
    name: ClassVar[str] = ""
    supports_label_smoothing: ClassVar[bool] = True

    _target_: str = MISSING


@dataclass
class NonSaturatingConfig(LossConfig):
    name = "non_saturating"
    _target_: str = "gan_sweeps.training.losses.NonSaturating"


@dataclass
class MinimaxConfig(LossConfig):
    name = "minimax"
    _target_: str = "gan_sweeps.training.losses.Minimax"


@dataclass
class LeastSquaresConfig(LossConfig):
    name = "lsgan"
    _target_: str = "gan_sweeps.training.losses.LeastSquares"
    a: float = knob(0.0, help="fake target")
    b: float = knob(1.0, help="real target (one-sided smoothing s moves it to a + (b - a)(1 - s))")
    c: float = knob(1.0, help="the generator's target for its fakes")


@dataclass
class HingeConfig(LossConfig):
    name = "hinge"
    supports_label_smoothing = False
    _target_: str = "gan_sweeps.training.losses.Hinge"


@dataclass
class WassersteinConfig(LossConfig):
    name = "wasserstein"
    supports_label_smoothing = False
    _target_: str = "gan_sweeps.training.losses.Wasserstein"


for _config in (NonSaturatingConfig, MinimaxConfig, LeastSquaresConfig, HingeConfig, WassersteinConfig):
    register("loss", _config.name, _config)
