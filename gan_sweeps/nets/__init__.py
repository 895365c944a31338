"""Plain ``nn.Module`` builders, instantiated from ``conf/model/*.yaml`` and testable without Lightning.

Discriminators return a dict: ``adv`` (one logit per image) and ``features`` (penultimate activations), so that
losses and feature matching never depend on the architecture."""

from gan_sweeps.nets.conv import ConvDiscriminator, ConvGenerator
from gan_sweeps.nets.mlp import MLPDiscriminator, MLPGenerator
from gan_sweeps.nets.vae import Decoder, Encoder, MLPDecoder, MLPEncoder

__all__ = ["ConvDiscriminator", "ConvGenerator", "Decoder", "Encoder", "MLPDiscriminator", "MLPGenerator", "MLPDecoder",
           "MLPEncoder"]
