"""Conditional GAN (``model=cgan``): generator and discriminator both see the class label.

The loop passes labels to the nets in every variant; here they are real labels for real images and sampled
labels for fakes (``sample_labels``), and the nets are built with ``num_classes`` (models/cgan_config.py)."""

from gan_sweeps.models.adversarial import AdversarialModule


class ConditionalGAN(AdversarialModule):
    conditional = True
