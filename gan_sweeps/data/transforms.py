"""Pixel normalisation schemes (seed 003 compares them) shared by data, models and evaluation."""

from __future__ import annotations

import torch

from gan_sweeps.data.datasets import NORMALIZATIONS


def _bounds(normalize: str) -> tuple[float, float]:
    try:
        return NORMALIZATIONS[normalize]
    except KeyError:
        raise ValueError(f"unknown data.normalize {normalize!r}; choose one of {sorted(NORMALIZATIONS)}") from None


def from_unit_range(x01: torch.Tensor, normalize: str) -> torch.Tensor:
    """[0, 1] float images -> the chosen model range."""
    low, high = _bounds(normalize)
    return x01 * (high - low) + low


def to_model_range(images_uint8: torch.Tensor, normalize: str) -> torch.Tensor:
    """uint8 images (N, H, W) -> float (N, 1, H, W) in the chosen range."""
    x = from_unit_range(images_uint8.float().div_(255.0), normalize)
    return x.unsqueeze(1) if x.dim() == 3 else x


def to_unit_range(x: torch.Tensor, normalize: str) -> torch.Tensor:
    """Model-range float images -> [0, 1] (what the evaluator and image grids take), clamped."""
    low, high = _bounds(normalize)
    return ((x - low) / (high - low)).clamp_(0.0, 1.0)
