"""``model=dcgan`` (seed 001's conv nets) and ``model=mlp_gan`` (seed 003's MLPs): the GAN module as it is."""

from dataclasses import dataclass

from omegaconf import II

from gan_sweeps.config.schema import const, knob, nested, register
from gan_sweeps.models.adversarial_config import AdversarialModuleConfig, GANModelConfig
from gan_sweeps.nets.nets_config import (DEPTHS, INIT_SCHEMES, ConvDiscriminatorConfig, ConvGeneratorConfig,
                                         MLPDiscriminatorConfig, MLPGeneratorConfig)

_INIT = dict(choices=INIT_SCHEMES, help="weight init of G and D")
_DROPOUT = dict(ge=0, lt=1, help="dropout in D (seed 002's study)")
# The BatchNorm layers of G and D: PyTorch's (eps, momentum) by default; Keras' (1e-3, 0.01 in PyTorch's convention)
# in seed 001's presets, whose nets were Keras models (l.28).
BN = dict(bn_eps=II("model.bn_eps"), bn_momentum=II("model.bn_momentum"))


@dataclass
class DCGANConfig(GANModelConfig):
    name: str = const("dcgan")
    depth: str = knob("shallow", choices=DEPTHS, help="deep: one more stride-1 conv in G and D (seed 001)")
    dropout: float = knob(0.0, **_DROPOUT)
    init: str = knob("xavier_uniform", **_INIT)
    bn_eps: float = knob(1e-5, gt=0, help="BatchNorm's eps in G and D (Keras: 1e-3)")
    bn_momentum: float = knob(0.1, gt=0, le=1,
                              help="BatchNorm's momentum in G and D, PyTorch's convention (Keras' 0.99: 0.01)")
    module: AdversarialModuleConfig = nested(AdversarialModuleConfig, _target_="gan_sweeps.models.GAN")
    generator: ConvGeneratorConfig = nested(ConvGeneratorConfig, latent_dim=II("model.latent_dim"),
                                            depth=II("model.depth"), init=II("model.init"), **BN)
    discriminator: ConvDiscriminatorConfig = nested(ConvDiscriminatorConfig, depth=II("model.depth"),
                                                    dropout=II("model.dropout"), init=II("model.init"), **BN)


@dataclass
class MLPGANConfig(GANModelConfig):
    name: str = const("mlp_gan")
    dropout: float = knob(0.0, **_DROPOUT)
    init: str = knob("xavier_uniform", **_INIT)
    module: AdversarialModuleConfig = nested(AdversarialModuleConfig, _target_="gan_sweeps.models.GAN")
    generator: MLPGeneratorConfig = nested(MLPGeneratorConfig, latent_dim=II("model.latent_dim"),
                                           init=II("model.init"))
    discriminator: MLPDiscriminatorConfig = nested(MLPDiscriminatorConfig, dropout=II("model.dropout"),
                                                   init=II("model.init"))


register("model", "dcgan", DCGANConfig)
register("model", "mlp_gan", MLPGANConfig)
