"""``model=cgan``: seed 001's conditional nets (nets/cgan.py): noise and label merged at 14 x 14 in G, image and label
merged at 14 x 14 in D; ``model.depth=deep`` is the seed's deep cGAN (one more conv after the merge)."""

from dataclasses import dataclass
from typing import Optional

from omegaconf import II

from gan_sweeps.config.schema import const, knob, nested, register
from gan_sweeps.models.adversarial_config import AdversarialModuleConfig
from gan_sweeps.models.gan_config import BN, DCGANConfig
from gan_sweeps.nets.nets_config import CGANDiscriminatorConfig, CGANGeneratorConfig

# Scores of the evaluator on labelled samples (seed 001, Table 1) and per class (evaluation/diversity.py).
CONDITIONAL_METRICS = ("eval/cond_acc", "eval/conf_correct", "eval/conf_incorrect", "eval/intra_fid",
                       "eval/intra_precision", "eval/intra_recall", "eval/intra_coverage", "eval/intra_spread")


@dataclass
class CGANConfig(DCGANConfig):
    metrics = DCGANConfig.metrics + CONDITIONAL_METRICS

    name: str = const("cgan")
    label_channels: Optional[int] = knob(
        None, ge=1, help="channels of the label's 14x14 map in G and D (null: as many as the branch it is merged "
                         "with, 128 in G and 64 in D: seed 001 l.95/97)")
    module: AdversarialModuleConfig = nested(AdversarialModuleConfig, _target_="gan_sweeps.models.ConditionalGAN")
    generator: CGANGeneratorConfig = nested(CGANGeneratorConfig, latent_dim=II("model.latent_dim"),
                                            depth=II("model.depth"), init=II("model.init"),
                                            num_classes=II("data.num_classes"),
                                            label_channels=II("model.label_channels"), **BN)
    discriminator: CGANDiscriminatorConfig = nested(CGANDiscriminatorConfig, depth=II("model.depth"),
                                                    dropout=II("model.dropout"), init=II("model.init"),
                                                    num_classes=II("data.num_classes"),
                                                    label_channels=II("model.label_channels"), **BN)


register("model", "cgan", CGANConfig)
