"""Unconditional GAN (``model=dcgan``, ``model=mlp_gan``): the adversarial base as it is; nets come from config."""

from gan_sweeps.models.adversarial import AdversarialModule


class GAN(AdversarialModule):
    """Nothing to add: DCGAN and MLP GAN differ only in their nets (models/gan_config.py)."""
