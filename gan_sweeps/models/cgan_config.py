"""``model=cgan``: the DCGAN with a one-hot label projected into G's and D's inputs (seed 001)."""

from dataclasses import dataclass

from omegaconf import II

from gan_sweeps.config.schema import const, nested, register
from gan_sweeps.models.adversarial_config import AdversarialModuleConfig
from gan_sweeps.models.gan_config import DCGANConfig
from gan_sweeps.nets.nets_config import ConvDiscriminatorConfig, ConvGeneratorConfig

# Scores of the evaluator on labelled samples (seed 001, Table 1).
CONDITIONAL_METRICS = ("eval/cond_acc", "eval/conf_correct", "eval/conf_incorrect")


@dataclass
class CGANConfig(DCGANConfig):
    metrics = DCGANConfig.metrics + CONDITIONAL_METRICS

    name: str = const("cgan")
    module: AdversarialModuleConfig = nested(AdversarialModuleConfig, _target_="gan_sweeps.models.ConditionalGAN")
    generator: ConvGeneratorConfig = nested(ConvGeneratorConfig, latent_dim=II("model.latent_dim"),
                                            depth=II("model.depth"), init=II("model.init"),
                                            num_classes=II("data.num_classes"))
    discriminator: ConvDiscriminatorConfig = nested(ConvDiscriminatorConfig, depth=II("model.depth"),
                                                    dropout=II("model.dropout"), init=II("model.init"),
                                                    num_classes=II("data.num_classes"))


register("model", "cgan", CGANConfig)
