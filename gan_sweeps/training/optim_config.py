"""``optim=``: the optimiser of every network (``gan_sweeps/training/optim.py``). ``optim.g_lr`` / ``optim.d_lr`` set a
network's own learning rate (seed 004); only the GAN families have a G and a D, so they are model knobs."""

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from gan_sweeps.config.schema import const, knob, register

_ROLE_LR = dict(gt=0, model_knob=True)


@dataclass
class OptimConfig:
    name: str = MISSING
    lr: float = knob(MISSING, gt=0, help="learning rate of every network")
    g_lr: Optional[float] = knob(None, help="generator learning rate (null: lr)", **_ROLE_LR)
    d_lr: Optional[float] = knob(None, help="discriminator learning rate (null: lr)", **_ROLE_LR)
    weight_decay: float = knob(0.0, ge=0, help="L2 weight decay")


@dataclass
class AdamConfig(OptimConfig):
    name: str = const("adam")
    lr: float = knob(2.0e-4, gt=0, help="learning rate of every network")
    beta1: float = knob(0.5, ge=0, lt=1, help="first-moment decay")
    beta2: float = knob(0.999, ge=0, lt=1, help="second-moment decay")


@dataclass
class SGDConfig(OptimConfig):
    name: str = const("sgd")
    lr: float = knob(1.0e-4, gt=0, help="learning rate of every network")
    momentum: float = knob(0.0, ge=0, lt=1)


@dataclass
class RMSpropConfig(OptimConfig):
    name: str = const("rmsprop")
    lr: float = knob(5.0e-5, gt=0, help="learning rate of every network")
    alpha: float = knob(0.99, ge=0, lt=1, help="smoothing constant of the squared-gradient average")


register("optim", "adam", AdamConfig)
register("optim", "sgd", SGDConfig)
register("optim", "rmsprop", RMSpropConfig)
