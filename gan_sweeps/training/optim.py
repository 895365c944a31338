"""Optimizers from the ``optim`` config group (``optim_config.py``), with optional per-role learning rates (seed 004:
G/D rates)."""

from __future__ import annotations

from typing import Any, Mapping

import torch

ROLES = ("d", "g", "vae")


def role_lr(cfg: Mapping[str, Any], role: str) -> float:
    """``optim.g_lr`` / ``optim.d_lr`` override ``optim.lr`` for that network when set."""
    specific = cfg.get(f"{role}_lr")
    return float(specific if specific is not None else cfg["lr"])


def build_optimizer(params, cfg: Mapping[str, Any], role: str) -> torch.optim.Optimizer:
    name = cfg["name"]
    lr = role_lr(cfg, role)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(float(cfg["beta1"]), float(cfg["beta2"])),
                                weight_decay=float(cfg.get("weight_decay", 0.0)))
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=float(cfg.get("momentum", 0.0)),
                               weight_decay=float(cfg.get("weight_decay", 0.0)))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=float(cfg.get("alpha", 0.99)),
                                   weight_decay=float(cfg.get("weight_decay", 0.0)))
    raise ValueError(f"unknown optim.name {name!r}; choose adam, sgd or rmsprop")
