"""What one job of a sweep may use, read from the Hydra launcher that started it.

- CPU threads: jobs that run side by side (``hydra/launcher=joblib``, ``submitit_local``) split the cores instead
  of each starting PyTorch's default of one thread per core, which oversubscribes the CPU (2 jobs x 2 threads on 2
  cores run slower than 2 x 1). An explicit top-level ``threads=N`` always wins.
- GPUs: with several GPUs visible and jobs running side by side, job ``n`` trains on GPU ``n % count``, so a
  4-GPU box runs 4 jobs on 4 distinct devices (Lightning would put every job on GPU 0, hydra#2757). A run that asks
  for more than one device itself (``trainer.devices=2``: data-parallel training of one run) is left as it is.
  A Slurm job (``submitit_slurm``) gets its own allocation, so it counts as running alone.
"""

from __future__ import annotations

import os
from typing import Any

from omegaconf import DictConfig

PARALLEL_LAUNCHERS = {"joblib": "n_jobs", "submitit_local": "array_parallelism"}


def _hydra() -> Any | None:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def launcher_name(hc: Any | None = None) -> str:
    """``basic``, ``joblib``, ``submitit_local``, ``submitit_slurm``, ... (from the launcher's ``_target_``)."""
    hc = hc if hc is not None else _hydra()
    target = str(hc.launcher.get("_target_", "")) if hc is not None else ""
    if "joblib" in target:
        return "joblib"
    if "submitit" in target:
        return "submitit_slurm" if "Slurm" in target else "submitit_local"
    return "basic"


def parallel_jobs(hc: Any | None = None) -> int:
    """How many jobs of this sweep may run at the same time on this machine (1 for the basic launcher)."""
    hc = hc if hc is not None else _hydra()
    key = PARALLEL_LAUNCHERS.get(launcher_name(hc))
    if key is None:
        return 1
    value = int(hc.launcher.get(key) or 1)
    cores = os.cpu_count() or 1
    return cores if value < 0 else max(1, value)  # joblib: -1 = one job per core


def shares_terminal(hc: Any | None = None) -> bool:
    """Whether this job runs beside other jobs of its sweep that write to the same terminal (joblib,
    submitit_local): then no job may draw a progress bar, or the bars would interleave."""
    return parallel_jobs(hc) > 1


def job_threads(cfg: DictConfig) -> int | None:
    """Intra-op threads for this job: ``cfg.threads`` if set, else cores / parallel jobs; None: leave the default."""
    if cfg.get("threads"):
        return int(cfg.threads)
    jobs = parallel_jobs()
    if jobs <= 1:
        return None
    return max(1, (os.cpu_count() or 1) // min(jobs, os.cpu_count() or 1))


def job_devices(cfg: DictConfig, gpu_count: int | None = None, hc: Any | None = None) -> Any:
    """``trainer.devices`` for this job: a one-GPU job of a parallel sweep gets ``[job_num % gpu_count]``."""
    devices = cfg.trainer.get("devices", 1)
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    hc = hc if hc is not None else _hydra()
    if gpu_count is None:
        import torch

        gpu_count = torch.cuda.device_count()
    if (hc is None or gpu_count < 2 or accelerator not in ("auto", "gpu", "cuda") or devices not in (1, "1")
            or parallel_jobs(hc) <= 1):
        return devices
    return [int(hc.job.num) % gpu_count]
