"""Running models over data for evaluation: eval mode (restored after), batching, and the one seeded pass over a
generator's samples that every sample metric (end-of-run evaluation and studies alike) reads.

The sample pass is what makes numbers comparable across commands: the same model, ``num_samples``, ``batch_size``
and ``seed`` give the same images (noise and, for conditional models, labels cycling 0..C-1), whoever consumes them.
Consumers must not draw random numbers (they run inside the seeded block).

On a CPU the pass takes its fast path (``precision="auto"``): the generator's conv weights in channels-last layout
and, on CPUs with bf16 units (gan_sweeps/precision.py), bf16 autocast in chunks of 1,000 images. Seed 001's cGAN
generator drew 10,000 samples 2.5x faster that way here (README, Benchmarks); ``precision="32"`` is the plain fp32
path, which tests/test_evaluation.py checks it against (FID within its seed-to-seed noise). Not inference mode: the
studies train classifiers on generated images, which inference tensors cannot be."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Protocol, Sequence

import torch

from gan_sweeps.data import to_unit_range
from gan_sweeps.precision import generation_autocast

GENERATE_CHUNK = 256  # images per fp32 generator call: a 1,000-image call of the cGAN's G ran ~30 % slower per image
# on CPU (its 28x28x32 activations outgrow the caches; benchmarks/bench_overhead.py)
BF16_CHUNK = 1000  # in bf16 the activations are half the size: 1,000-image calls were the fastest (bench_precision.py)
SampleConsumer = Callable[[torch.Tensor, "torch.Tensor | None"], None]  # ([0, 1] images, intended labels or None)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run a block under ``torch.manual_seed(seed)`` and restore the global RNG state afterwards."""
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class Sampler(Protocol):
    """What a sample pass needs from a model: ``generate`` in its pixel range, and whether it takes labels."""

    conditional: bool
    num_classes: int
    training: bool

    def generate(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor: ...

    def train(self, mode: bool = True) -> Any: ...


@contextlib.contextmanager
def eval_mode(*modules: Any) -> Iterator[None]:
    """Put modules in eval mode for a block and give each back the mode it had."""
    modes = [m.training for m in modules]
    try:
        for m in modules:
            m.train(False)
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


@torch.no_grad()
def map_batches(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int = 1000
                ) -> torch.Tensor:
    """``fn`` applied to ``images`` in batches, concatenated."""
    return torch.cat([fn(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def balanced_labels(start: int, n: int, num_classes: int, device: torch.device | str) -> torch.Tensor:
    """Labels start, start+1, ... modulo C: a run of batches cycles 0..C-1, so classes stay balanced."""
    return torch.arange(start, start + n, device=device) % num_classes


def model_device(model: Any, default: torch.device | str = "cpu") -> torch.device:
    """Where a module's parameters (else buffers) live (LightningModules say it themselves)."""
    if isinstance(getattr(model, "device", None), torch.device):
        return model.device
    for tensors in ("parameters", "buffers"):
        method = getattr(model, tensors, None)
        first = next(iter(method()), None) if callable(method) else None
        if first is not None:
            return first.device
    return torch.device(default)


def _chunks(labels: torch.Tensor | None, n: int, device: torch.device, size: int) -> list[torch.Tensor]:
    """The batch's labels (or placeholders of the right length) in pieces of ``size``."""
    labels = labels if labels is not None else torch.empty(n, device=device)
    return list(labels.split(size))


@contextlib.contextmanager
def channels_last(model: Any) -> Iterator[None]:
    """A module's 4-D weights in channels-last layout for a block (oneDNN's fast layout on CPUs), then back; a
    module already in that layout (``channels_last=true`` training) or without conv weights is left as it is."""
    params = [p for p in (model.parameters() if callable(getattr(model, "parameters", None)) else []) if p.dim() == 4]
    if not params or params[0].is_contiguous(memory_format=torch.channels_last):
        yield
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        model.to(memory_format=torch.contiguous_format)


@torch.no_grad()
def sample_pass(model: Sampler, consumers: Sequence[SampleConsumer], *, normalize: str, num_samples: int,
                batch_size: int = 1000, seed: int = 0, precision: str = "auto") -> None:
    """Generate ``num_samples`` images in batches (eval mode, no grad, under ``seed``; the model's mode and the
    global RNG are restored) and hand every batch, as [0, 1] fp32 images with its intended labels (None for
    unconditional models), to each consumer in turn. Images are never all kept in memory. ``precision``: ``auto``
    (the fast path on CPUs, module docstring), ``32`` (plain fp32) or ``bf16`` (bf16 autocast on any CPU)."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    device = model_device(model)
    chunk = BF16_CHUNK if isinstance(generation_autocast(device, precision), torch.autocast) else GENERATE_CHUNK
    layout = channels_last(model) if device.type == "cpu" and precision != "32" else contextlib.nullcontext()
    with eval_mode(model), seeded(seed, device), layout:
        for start in range(0, num_samples, batch_size):
            n = min(batch_size, num_samples - start)
            y = balanced_labels(start, n, model.num_classes, device) if model.conditional else None
            with generation_autocast(device, precision):  # the generator only: consumers score in fp32
                x = torch.cat([model.generate(len(part), part if y is not None else None)
                               for part in _chunks(y, n, device, chunk)])
            x01 = to_unit_range(x.float(), normalize)
            for consume in consumers:
                consume(x01, y)
