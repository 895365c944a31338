"""Typed configs of the nets (``model.generator``, ``model.discriminator``, ``model.encoder``, ``model.decoder``).

Each dataclass mirrors its net's constructor: ``_target_`` names the class, the fields are its arguments, and
their defaults are written here only (the constructors take them keyword-only, without defaults; an argument no
config passes, such as a generator's ``out_act``, keeps its constructor default). The model configs fill most of
them with interpolations of model-level knobs (``model.depth``, ``model.dropout``, ...), which is where users set
them; ``model.discriminator.batch_norm`` is set directly (the WGAN-GP recipe turns it off)."""

from dataclasses import dataclass
from typing import List, Optional

from gan_sweeps.config.schema import knob
from gan_sweeps.data.datasets import NORMALIZATIONS

INIT_SCHEMES = ("xavier_uniform", "xavier_normal", "normal_002", "default")  # nets/blocks.py init_weights
DEPTHS = ("shallow", "deep")  # nets/conv.py, nets/cgan.py: deep adds one stride-1 conv to G and D
ARCHS = ("mlp", "conv")  # nets/vae.py: the autoencoder family's trunks

_SIZES = dict(ge=1, help="hidden layer widths")
_BN_EPS = dict(gt=0, help="BatchNorm's eps (PyTorch 1e-5; Keras 1e-3)")
_BN_MOMENTUM = dict(gt=0, le=1, help="BatchNorm's running-stats momentum, PyTorch's convention (Keras' 0.99: 0.01)")


@dataclass
class ConvGeneratorConfig:
    _target_: str = "gan_sweeps.nets.ConvGenerator"
    latent_dim: int = knob(100, ge=1)
    depth: str = knob("shallow", choices=DEPTHS)
    channels: int = knob(128, ge=4, help="width of the first conv block (halved twice)")
    batch_norm: bool = knob(True, help="BatchNorm after the activations")
    bn_eps: float = knob(1e-5, **_BN_EPS)
    bn_momentum: float = knob(0.1, **_BN_MOMENTUM)
    init: str = knob("xavier_uniform", choices=INIT_SCHEMES)


@dataclass
class ConvDiscriminatorConfig:
    _target_: str = "gan_sweeps.nets.ConvDiscriminator"
    depth: str = knob("shallow", choices=DEPTHS)
    channels: int = knob(32, ge=1, help="width of the first conv block (doubled twice)")
    batch_norm: bool = knob(True, help="BatchNorm after the activations (none with a per-sample penalty)")
    bn_eps: float = knob(1e-5, **_BN_EPS)
    bn_momentum: float = knob(0.1, **_BN_MOMENTUM)
    dropout: float = knob(0.0, ge=0, lt=1)
    init: str = knob("xavier_uniform", choices=INIT_SCHEMES)


@dataclass
class CGANGeneratorConfig:
    """nets/cgan.py: noise and label projected to 14x14 maps, merged, one transposed conv to 28x28 (seed 001)."""

    _target_: str = "gan_sweeps.nets.CGANGenerator"
    latent_dim: int = knob(100, ge=1)
    num_classes: int = knob(10, ge=2, help="size of the one-hot label")
    depth: str = knob("shallow", choices=DEPTHS)
    channels: int = knob(128, ge=2, help="channels of the noise's 14x14 map (halved by the transposed conv)")
    label_channels: Optional[int] = knob(None, ge=1, help="channels of the label's 14x14 map (null: channels)")
    batch_norm: bool = knob(True, help="BatchNorm after the activations")
    bn_eps: float = knob(1e-5, **_BN_EPS)
    bn_momentum: float = knob(0.1, **_BN_MOMENTUM)
    init: str = knob("xavier_uniform", choices=INIT_SCHEMES)


@dataclass
class CGANDiscriminatorConfig:
    """nets/cgan.py: image conv s2 to 14x14, label map merged there, one conv s2 to 7x7, dense (seed 001)."""

    _target_: str = "gan_sweeps.nets.CGANDiscriminator"
    num_classes: int = knob(10, ge=2, help="size of the one-hot label")
    depth: str = knob("shallow", choices=DEPTHS)
    channels: int = knob(64, ge=1, help="filters of the first conv (doubled by the conv after the merge)")
    label_channels: Optional[int] = knob(None, ge=1, help="channels of the label's 14x14 map (null: channels)")
    batch_norm: bool = knob(True, help="BatchNorm after the activations (none with a per-sample penalty)")
    bn_eps: float = knob(1e-5, **_BN_EPS)
    bn_momentum: float = knob(0.1, **_BN_MOMENTUM)
    dropout: float = knob(0.0, ge=0, lt=1)
    init: str = knob("xavier_uniform", choices=INIT_SCHEMES)


@dataclass
class MLPGeneratorConfig:
    _target_: str = "gan_sweeps.nets.MLPGenerator"
    latent_dim: int = knob(100, ge=1)
    hidden: List[int] = knob(factory=lambda: [128, 256, 512], **_SIZES)
    batch_norm: bool = knob(True, help="BatchNorm in the hidden layers")
    norm_first_layer: bool = knob(True, help="BatchNorm on the first hidden layer too (seed 003: false)")
    norm_before_act: bool = knob(False, help="BatchNorm before the activation, not after (seed 003: true)")
    init: str = knob("xavier_uniform", choices=INIT_SCHEMES)


@dataclass
class MLPDiscriminatorConfig:
    _target_: str = "gan_sweeps.nets.MLPDiscriminator"
    hidden: List[int] = knob(factory=lambda: [512, 256, 128], **_SIZES)
    dropout: float = knob(0.0, ge=0, lt=1)
    batch_norm: bool = knob(False, help="BatchNorm after the hidden activations (seed 003's D has none)")
    init: str = knob("xavier_uniform", choices=INIT_SCHEMES)


@dataclass
class EncoderConfig:
    _target_: str = "gan_sweeps.nets.Encoder"
    latent_dim: int = knob(20, ge=1)
    arch: str = knob("mlp", choices=ARCHS)
    hidden: List[int] = knob(factory=lambda: [512, 256], **_SIZES)
    channels: int = knob(32, ge=1, help="conv arch: width of the first conv")
    variational: bool = knob(False, help="(mu, logvar) head: set by the VAE")


@dataclass
class DecoderConfig:
    _target_: str = "gan_sweeps.nets.Decoder"
    latent_dim: int = knob(20, ge=1)
    arch: str = knob("mlp", choices=ARCHS)
    hidden: List[int] = knob(factory=lambda: [256, 512], **_SIZES)
    channels: int = knob(32, ge=1, help="conv arch: width of the last transposed conv")


@dataclass
class SSLGeneratorConfig:
    _target_: str = "gan_sweeps.nets.ssgan.SSLGenerator"
    latent_dim: int = knob(100, ge=1)
    hidden: List[int] = knob(factory=lambda: [500, 500], **_SIZES)
    weight_norm: bool = True
    normalize: str = knob("tanh", choices=tuple(NORMALIZATIONS), help="output range: data.normalize")


@dataclass
class SSLDiscriminatorConfig:
    _target_: str = "gan_sweeps.nets.ssgan.SSLDiscriminator"
    out_dim: int = knob(10, ge=1, help="K class logits (the Triplet GAN: the embedding size M)")
    hidden: List[int] = knob(factory=lambda: [1000, 500, 250, 250, 250], **_SIZES)
    input_noise: float = knob(0.3, ge=0, help="std of the noise on D's input (training only)")
    hidden_noise: float = knob(0.5, ge=0, help="std of the noise after each hidden layer")
    weight_norm: bool = True
    train_hidden_scale: bool = knob(False, help="weight norm: hidden layers also learn their scale g")
