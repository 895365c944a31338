"""LightningModules, one per training procedure; each ``*_config.py`` beside them registers the ``model=``
options that build one (with its nets). Names are imported on first use (``gan_sweeps.lazy``)."""

from gan_sweeps.lazy import lazy_exports

_EXPORTS = {
    "AdversarialModule": "adversarial", "Autoencoder": "autoencoder", "DenoisingAutoencoder": "autoencoder",
    "Diverged": "base", "GenerativeModule": "base", "ConditionalGAN": "cgan", "GAN": "gan", "VAE": "vae",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
