"""Plain ``nn.Module`` builders, instantiated from the model configs and testable without Lightning.

Discriminators return a dict: ``adv`` (one logit per image) and ``features`` (penultimate activations), so that
losses and feature matching never depend on the architecture. Names are imported on first use
(``gan_sweeps.lazy``), so the ``*_config.py`` schemas beside the nets import without torch."""

from gan_sweeps.lazy import lazy_exports

_EXPORTS = {
    "CGANDiscriminator": "cgan", "CGANGenerator": "cgan",
    "ConvDiscriminator": "conv", "ConvGenerator": "conv", "MLPDiscriminator": "mlp", "MLPGenerator": "mlp",
    "Decoder": "vae", "Encoder": "vae",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
