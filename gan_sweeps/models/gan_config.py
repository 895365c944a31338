"""``model=dcgan`` (seed 001's conv nets) and ``model=mlp_gan`` (seed 003's MLPs): the GAN module as it is."""

from dataclasses import dataclass

from omegaconf import II

from gan_sweeps.config.schema import const, knob, nested, register
from gan_sweeps.models.adversarial_config import AdversarialModuleConfig, GANModelConfig
from gan_sweeps.nets.nets_config import (DEPTHS, INIT_SCHEMES, ConvDiscriminatorConfig, ConvGeneratorConfig,
                                         MLPDiscriminatorConfig, MLPGeneratorConfig)

_INIT = dict(choices=INIT_SCHEMES, help="weight init of G and D")
_DROPOUT = dict(ge=0, lt=1, help="dropout in D (seed 002's study)")


@dataclass
class DCGANConfig(GANModelConfig):
    name: str = const("dcgan")
    depth: str = knob("shallow", choices=DEPTHS, help="deep: one more stride-1 conv in G and D (seed 001)")
    dropout: float = knob(0.0, **_DROPOUT)
    init: str = knob("xavier_uniform", **_INIT)
    module: AdversarialModuleConfig = nested(AdversarialModuleConfig, _target_="gan_sweeps.models.GAN")
    generator: ConvGeneratorConfig = nested(ConvGeneratorConfig, latent_dim=II("model.latent_dim"),
                                            depth=II("model.depth"), init=II("model.init"))
    discriminator: ConvDiscriminatorConfig = nested(ConvDiscriminatorConfig, depth=II("model.depth"),
                                                    dropout=II("model.dropout"), init=II("model.init"))


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
