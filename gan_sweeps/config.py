"""Validation of the composed config, run before any data loads, each problem reported in one line.

Hydra already rejects unknown groups (``model=foo`` lists the choices); this catches out-of-range values."""

from __future__ import annotations

import math
from typing import Any, Callable

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig
from torch.nn.modules.batchnorm import _BatchNorm

from gan_sweeps.callbacks.health import DIAGNOSES
from gan_sweeps.data.transforms import NORMALIZATIONS


class ConfigError(ValueError):
    """A config value is out of range; the message is one line naming the key, the value and the rule."""


_MISSING = object()


def _lookup(cfg: DictConfig, key: str) -> Any:
    """The value at a dotted key, or _MISSING where the key is absent (e.g. optim.beta1 under SGD)."""
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, (DictConfig, dict)) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# key -> (predicate, rule text). Keys absent from the config (e.g. optim.beta1 with SGD) are skipped.
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "k": (lambda v: _is_int(v) and v >= 1, "an integer >= 1 (discriminator steps per generator step)"),
    "g_steps": (lambda v: _is_int(v) and v >= 1, "an integer >= 1 (generator steps per iteration)"),
    "batch_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "label_smoothing": (lambda v: _is_number(v) and 0 <= v < 0.5, "in [0, 0.5) (one-sided: real target 1 -> 1-s)"),
    "instance_noise": (lambda v: _is_number(v) and v >= 0, "a standard deviation >= 0"),
    "optim.lr": (lambda v: _is_number(v) and v > 0, "a learning rate > 0"),
    "optim.g_lr": (lambda v: v is None or (_is_number(v) and v > 0), "null or a learning rate > 0"),
    "optim.d_lr": (lambda v: v is None or (_is_number(v) and v > 0), "null or a learning rate > 0"),
    "optim.beta1": (lambda v: _is_number(v) and 0 <= v < 1, "in [0, 1)"),
    "optim.beta2": (lambda v: _is_number(v) and 0 <= v < 1, "in [0, 1)"),
    "optim.momentum": (lambda v: _is_number(v) and 0 <= v < 1, "in [0, 1)"),
    "data.normalize": (lambda v: v in NORMALIZATIONS, f"one of {sorted(NORMALIZATIONS)}"),
    "data.train_size": (lambda v: v is None or (_is_int(v) and v >= 1), "null (all) or an integer >= 1"),
    "trainer.max_epochs": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "data.labelled_per_class": (lambda v: v is None or (_is_int(v) and v >= 1),
                                "null (every image labelled) or an integer >= 1 (labelled images per class)"),
    "model.embedding_dim": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "model.pretrain_epochs": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "model.triplets_per_epoch": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "eval.num_samples": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "model.latent_dim": (lambda v: _is_int(v) and v >= 1, "an integer >= 1 (latent code size)"),
    "model.noise_std": (lambda v: _is_number(v) and v >= 0, "a standard deviation >= 0 (denoising AE input noise)"),
    "model.arch": (lambda v: v in ("mlp", "conv"), "one of ['conv', 'mlp'] (autoencoder nets)"),
    "health.patience": (lambda v: _is_int(v) and v >= 1, "an integer >= 1 (epochs)"),
    "health.stop_on": (lambda v: all(d in DIAGNOSES for d in v), f"a list drawn from {list(DIAGNOSES)}"),
}


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError on the first out-of-range value."""
    for key, (ok, rule) in RULES.items():
        value = _lookup(cfg, key)
        if value is not _MISSING and not ok(value):
            raise ConfigError(f"{key}={value!r} is invalid: must be {rule}")
    if cfg.get("loss") is not None:
        _validate_loss(cfg)


def _validate_loss(cfg: DictConfig) -> None:
    """Loss x rest-of-config combinations that cannot work (each loss declares its needs as class attributes)."""
    loss = _build(cfg.loss, "loss")
    module = _lookup(cfg, "model.module._target_")
    if module is not _MISSING and not getattr(get_class(module), "uses_loss_group", True):
        if loss.name != "non_saturating":
            raise ConfigError(f"loss={loss.name} cannot be used with model={cfg.model.get('name')}: its "
                              "discriminator's K-class objective is its own loss (keep the default loss)")
        return
    if cfg.get("label_smoothing", 0) and not loss.supports_label_smoothing:
        raise ConfigError(f"label_smoothing={cfg.label_smoothing} cannot be used with loss={loss.name}: "
                          "one-sided smoothing has no meaning for an unbounded critic")
    critic = _lookup(cfg, "model.discriminator")
    if loss.needs_per_sample_critic and isinstance(critic, DictConfig) and "_target_" in critic:
        net = _build(critic, f"loss={loss.name} with model.discriminator={critic._target_}")
        if any(isinstance(m, _BatchNorm) for m in net.modules()):
            raise ConfigError(f"loss={loss.name} cannot be used with a BatchNorm critic ({critic._target_}): its "
                              "gradient penalty is per sample; set model.discriminator.batch_norm=false")


def _build(node: DictConfig, what: str) -> Any:
    """instantiate(node), its failure (a bad loss.clip, a net without a switch the loss sets) as one line."""
    try:
        return instantiate(node)
    except Exception as exc:  # noqa: BLE001 - reported as the ConfigError's one line
        cause = exc.__cause__ or exc
        raise ConfigError(f"{what}: {type(cause).__name__}: {str(cause).splitlines()[0]}") from None
