"""The GAN family: the k:1 loop of ``models/adversarial.py`` with a ``loss`` and a ``regularizer`` from their
groups; ``dcgan`` and ``mlp_gan`` (``gan_config.py``), ``cgan`` (``cgan_config.py``)."""

from dataclasses import dataclass
from typing import Any

from omegaconf import II, MISSING

from gan_sweeps.models.base_config import SAMPLE_METRICS, ModelConfig

# The run-level knobs the k:1 loop reads (AdversarialModule's arguments, the per-role learning rates).
LOOP_KNOBS = frozenset({"k", "g_steps", "instance_noise", "latent_dist", "update_order", "optim.g_lr", "optim.d_lr"})


@dataclass
class AdversarialModuleConfig:
    """``model.module``: the LightningModule and the run-level knobs it is built with."""

    _target_: str = MISSING
    loss: Any = II("loss")
    regularizer: Any = II("regularizer")
    k: int = II("k")
    g_steps: int = II("g_steps")
    label_smoothing: float = II("label_smoothing")
    instance_noise: float = II("instance_noise")
    latent_dist: str = II("latent_dist")
    update_order: str = II("update_order")
    d_step: str = II("d_step")
    d_bn_in_g_step: str = II("d_bn_in_g_step")


@dataclass
class GANModelConfig(ModelConfig):
    family = "GAN"
    reads = LOOP_KNOBS | {"loss", "regularizer", "label_smoothing", "d_step", "d_bn_in_g_step"}
    metrics = SAMPLE_METRICS + ("train/d_loss", "train/g_loss")
