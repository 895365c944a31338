"""The autoencoder family (seed 004): ``model=ae`` and ``model=dae`` here, ``model=vae`` in ``vae_config.py``.
One optimiser trains encoder and decoder: the family reads none of the GAN loop's knobs."""

from dataclasses import dataclass

from omegaconf import II

from gan_sweeps.config.schema import const, knob, nested, register
from gan_sweeps.models.base_config import ModelConfig
from gan_sweeps.nets.nets_config import ARCHS, DecoderConfig, EncoderConfig

RECONSTRUCTION_METRICS = ("eval/recon_bce", "eval/recon_mse")


@dataclass
class AutoencoderModuleConfig:
    _target_: str = "gan_sweeps.models.Autoencoder"


@dataclass
class DenoisingModuleConfig:
    _target_: str = "gan_sweeps.models.DenoisingAutoencoder"
    noise_std: float = II("model.noise_std")


@dataclass
class AutoencoderModelConfig(ModelConfig):
    family = "autoencoder"
    reads = frozenset()
    metrics = RECONSTRUCTION_METRICS + ("train/ae_loss", "train/recon")

    latent_dim: int = knob(20, ge=1, help="size of the code (2 gives seed 004's latent scatter)")
    arch: str = knob("mlp", choices=ARCHS, help="mlp: 784-512-256-code and back; conv: two 4x4 stride-2 convs")
    channels: int = knob(32, ge=1, help="conv arch: width of the first conv")
    encoder: EncoderConfig = nested(EncoderConfig, latent_dim=II("model.latent_dim"), arch=II("model.arch"),
                                    channels=II("model.channels"), variational=False)
    decoder: DecoderConfig = nested(DecoderConfig, latent_dim=II("model.latent_dim"), arch=II("model.arch"),
                                    channels=II("model.channels"))


@dataclass
class AutoencoderConfig(AutoencoderModelConfig):
    name: str = const("ae")
    module: AutoencoderModuleConfig = nested(AutoencoderModuleConfig)


@dataclass
class DenoisingAutoencoderConfig(AutoencoderModelConfig):
    name: str = const("dae")
    noise_std: float = knob(0.1, ge=0, help="std of N(0, s) added to the [0, 1] input while training")
    module: DenoisingModuleConfig = nested(DenoisingModuleConfig)


register("model", "ae", AutoencoderConfig)
register("model", "dae", DenoisingAutoencoderConfig)
