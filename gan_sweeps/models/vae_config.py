"""``model=vae`` (seeds 003/004): the autoencoder family's sampler, loss = BCE + beta * KL."""

from dataclasses import dataclass

from omegaconf import II

from gan_sweeps.config.schema import const, knob, nested, register
from gan_sweeps.models.autoencoder_config import RECONSTRUCTION_METRICS, AutoencoderModelConfig
from gan_sweeps.models.base_config import SAMPLE_METRICS
from gan_sweeps.nets.nets_config import EncoderConfig


@dataclass
class VAEModuleConfig:
    _target_: str = "gan_sweeps.models.VAE"
    beta: float = II("model.beta")


@dataclass
class VAEConfig(AutoencoderModelConfig):
    metrics = (RECONSTRUCTION_METRICS + ("eval/kl", "eval/elbo") + SAMPLE_METRICS
               + ("train/vae_loss", "train/recon", "train/kl"))

    name: str = const("vae")
    beta: float = knob(1.0, ge=0, help="weight of the KL term (1: the ELBO)")
    module: VAEModuleConfig = nested(VAEModuleConfig)
    encoder: EncoderConfig = nested(EncoderConfig, latent_dim=II("model.latent_dim"), arch=II("model.arch"),
                                    channels=II("model.channels"), variational=True)


register("model", "vae", VAEConfig)
