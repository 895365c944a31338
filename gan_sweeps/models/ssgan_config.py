"""``model=ssgan`` (Salimans et al. 2016; seed 000): the semi-supervised family. Its discriminator's K-class
objective is its own loss, so it reads neither ``loss`` nor ``regularizer`` nor ``label_smoothing``; it reads the
labelled subset (``data.labelled_per_class``, ``data.labelled_seed``) that the other families never use."""

from dataclasses import dataclass

from omegaconf import II

from gan_sweeps.config.schema import const, knob, nested, register
from gan_sweeps.models.adversarial_config import LOOP_KNOBS
from gan_sweeps.models.base_config import SAMPLE_METRICS, ModelConfig
from gan_sweeps.nets.nets_config import SSLDiscriminatorConfig, SSLGeneratorConfig

G_LOSSES = ("feature_matching", "non_saturating")  # models/ssgan.py
FEATURE_MATCHING = ("hidden", "output")  # models/ssgan.py: the D output G matches


@dataclass
class SSGANModuleConfig:
    _target_: str = "gan_sweeps.models.ssgan.SSGAN"
    k: int = II("k")
    g_steps: int = II("g_steps")
    instance_noise: float = II("instance_noise")
    latent_dist: str = II("latent_dist")
    update_order: str = II("update_order")
    g_loss: str = II("model.g_loss")
    feature_matching: str = II("model.feature_matching")
    unsupervised_weight: float = II("model.unsupervised_weight")
    labelled_batch_size: int = II("batch_size")
    data_init: bool = II("model.data_init")


@dataclass
class SemiSupervisedModelConfig(ModelConfig):
    family = "semi-supervised GAN"
    reads = LOOP_KNOBS | {"data.labelled_per_class", "data.labelled_seed"}
    metrics = SAMPLE_METRICS + ("train/d_loss", "train/g_loss")

    g_loss: str = knob("feature_matching", choices=G_LOSSES,
                       help="G's loss: feature matching (model.feature_matching), or -log D(G(z))")
    feature_matching: str = knob("hidden", choices=FEATURE_MATCHING,
                                 help="the D layer whose batch means G matches: its last hidden layer (Salimans et "
                                      "al.) or its K/M-dim output (the Triplet GAN code; seed 000)")
    weight_norm: bool = knob(True, help="weight-normalised layers in G and D")
    input_noise: float = knob(0.3, ge=0, help="std of the noise on D's input (training only)")
    hidden_noise: float = knob(0.5, ge=0, help="std of the noise after each hidden layer of D")
    data_init: bool = knob(True, help="data-dependent init of the weight-normalised layers on 500 images")
    unsupervised_weight: float = knob(0.5, ge=0, help="loss_D = supervised + w * unsupervised")
    generator: SSLGeneratorConfig = nested(SSLGeneratorConfig, latent_dim=II("model.latent_dim"),
                                           weight_norm=II("model.weight_norm"), normalize=II("data.normalize"))


@dataclass
class SSGANConfig(SemiSupervisedModelConfig):
    metrics = SemiSupervisedModelConfig.metrics + ("eval/ssl_acc", "eval/ssl_errors")

    name: str = const("ssgan")
    module: SSGANModuleConfig = nested(SSGANModuleConfig)
    discriminator: SSLDiscriminatorConfig = nested(SSLDiscriminatorConfig, out_dim=II("data.num_classes"),
                                                   input_noise=II("model.input_noise"),
                                                   hidden_noise=II("model.hidden_noise"),
                                                   weight_norm=II("model.weight_norm"))


register("model", "ssgan", SSGANConfig)
