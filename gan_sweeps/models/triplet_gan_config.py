"""``model=triplet_gan`` (Zieba & Wang 2017; seed 000): the semi-supervised nets with an M-dim embedding head,
pre-trained without labels, then trained on triplets from the labelled subset."""

from dataclasses import dataclass

from omegaconf import II

from gan_sweeps.config.schema import const, knob, nested, register
from gan_sweeps.models.ssgan_config import SemiSupervisedModelConfig, SSGANModuleConfig
from gan_sweeps.nets.nets_config import SSLDiscriminatorConfig

RETRIEVAL_METRICS = ("eval/knn_acc", "eval/map", "eval/pretrain/knn_acc", "eval/pretrain/map")


@dataclass
class TripletModuleConfig(SSGANModuleConfig):
    _target_: str = "gan_sweeps.models.triplet_gan.TripletGAN"
    pretrain_epochs: int = II("model.pretrain_epochs")
    triplets_per_epoch: int = II("model.triplets_per_epoch")


@dataclass
class TripletGANConfig(SemiSupervisedModelConfig):
    metrics = SemiSupervisedModelConfig.metrics + RETRIEVAL_METRICS

    name: str = const("triplet_gan")
    embedding_dim: int = knob(16, ge=1, help="M, the embedding size (seed 000: 16 or 32)")
    pretrain_epochs: int = knob(50, ge=0, help="epochs of unsupervised pre-training before the triplet phase")
    triplets_per_epoch: int = knob(60000, ge=1, help="random triplets per epoch, spread over its D steps")
    module: TripletModuleConfig = nested(TripletModuleConfig)
    discriminator: SSLDiscriminatorConfig = nested(SSLDiscriminatorConfig, out_dim=II("model.embedding_dim"),
                                                   input_noise=II("model.input_noise"),
                                                   hidden_noise=II("model.hidden_noise"),
                                                   weight_norm=II("model.weight_norm"))


register("model", "triplet_gan", TripletGANConfig)
