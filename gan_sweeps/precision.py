"""What the CPU computes fast: bf16 where it has native bf16 units (AVX-512 BF16 or AMX), read once from the CPU's
flags. Evaluation's sample generation uses it (evaluation/passes.py); training's precision stays the user's
``trainer.precision`` (benchmarks/bench_precision.py measures both)."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import ContextManager

import torch

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with bf16 arithmetic
GENERATION_PRECISIONS = ("auto", "32", "bf16")  # auto: bf16 on CPUs with native bf16, else fp32


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """True when this CPU has bf16 units (Linux: its /proc/cpuinfo flags); False where that cannot be read."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def generation_autocast(device: torch.device, precision: str = "auto") -> ContextManager:
    """The autocast of a generation pass: bf16 on a CPU when ``precision`` is ``bf16``, or ``auto`` and the CPU has
    native bf16; fp32 otherwise (accelerators generate in fp32: there generation is cheap)."""
    if precision not in GENERATION_PRECISIONS:
        raise ValueError(f"unknown generation precision {precision!r}; choose one of {list(GENERATION_PRECISIONS)}")
    use_bf16 = device.type == "cpu" and (precision == "bf16" or (precision == "auto" and cpu_has_native_bf16()))
    return torch.autocast("cpu", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()
