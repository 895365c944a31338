"""LightningModules, one per training procedure; ``conf/model/*.yaml`` picks one and its nets."""

from gan_sweeps.models.adversarial import AdversarialModule
from gan_sweeps.models.autoencoder import Autoencoder, DenoisingAutoencoder
from gan_sweeps.models.base import Diverged, GenerativeModule
from gan_sweeps.models.cgan import ConditionalGAN
from gan_sweeps.models.gan import GAN
from gan_sweeps.models.vae import VAE

__all__ = ["AdversarialModule", "Autoencoder", "ConditionalGAN", "DenoisingAutoencoder", "Diverged", "GAN",
           "GenerativeModule", "VAE"]
