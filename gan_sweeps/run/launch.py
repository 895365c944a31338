"""What one job of a sweep may use, read from the Hydra launcher that started it and the allocation it runs in.

- CPU threads: jobs that run side by side (``hydra/launcher=joblib``, ``submitit_local``) split the cores instead
  of each starting PyTorch's default of one thread per core, which oversubscribes the CPU (2 jobs x 2 threads on 2
  cores run slower than 2 x 1). The cores are those the job may use: inside a Slurm job its allocation
  (``SLURM_CPUS_PER_TASK``, else ``SLURM_CPUS_ON_NODE`` over the tasks on the node), else the CPU affinity mask
  (cgroups, taskset), so a 1-CPU Slurm job trains with 1 thread on a 64-core node. ``threads=N`` always wins.
- GPUs: with several GPUs visible and jobs running side by side, job ``n`` trains on GPU ``n % count``, so a
  4-GPU box runs 4 jobs on 4 distinct devices (Lightning would put every job on GPU 0, hydra#2757). A run that asks
  for more than one device itself (``trainer.devices=2``: data-parallel training of one run) is left as it is.
  A Slurm job (``submitit_slurm``) gets its own allocation: Slurm sets ``CUDA_VISIBLE_DEVICES`` to its GPUs, so it
  counts as running alone.
- SIGTERM (``scancel``, a time limit, a shutdown): :func:`raise_on_sigterm` turns it into :class:`Terminated`, so
  the run records itself as failed. A job in a process of its own (submitit, joblib) then still returns: submitit
  has a result to collect and the sweep goes on instead of losing the job. A job in the process the user started
  (a single run, or Hydra's basic launcher: :func:`runs_in_command_process`) ends the command with status 143:
  the signal was meant for the whole sweep, whose finished runs stay as they are.
"""

from __future__ import annotations

import os
import signal
import threading
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


def runs_in_command_process(hc: Any | None = None) -> bool:
    """Whether this job runs in the process of the command itself (a single run, or a sweep's basic launcher)."""
    from hydra.types import RunMode

    hc = hc if hc is not None else _hydra()
    return hc is None or hc.mode == RunMode.RUN or launcher_name(hc) == "basic"


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


def allocated_cores(environ: Any = None) -> int:
    """CPU cores this process may use (see the module docstring)."""
    env = os.environ if environ is None else environ
    if env.get("SLURM_JOB_ID"):
        if env.get("SLURM_CPUS_PER_TASK"):
            return max(1, int(env["SLURM_CPUS_PER_TASK"]))
        if env.get("SLURM_CPUS_ON_NODE"):
            return max(1, int(env["SLURM_CPUS_ON_NODE"]) // max(1, int(env.get("SLURM_NTASKS_PER_NODE") or 1)))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def job_threads(cfg: DictConfig, hc: Any | None = None) -> int | None:
    """Intra-op threads for this job: ``cfg.threads`` if set, else its cores / parallel jobs; None: leave PyTorch's
    default (one thread per core of the machine) when the job may use every core alone."""
    if cfg.get("threads"):
        return int(cfg.threads)
    cores, jobs = allocated_cores(), parallel_jobs(hc)
    if jobs <= 1 and cores >= (os.cpu_count() or 1):
        return None
    return max(1, cores // min(jobs, cores))


class Terminated(Exception):
    """The job received SIGTERM (``scancel``, a time limit, a shutdown): its run is recorded as failed."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(f"received {signal.Signals(signum).name} (scancel, a time limit or a shutdown)")


def raise_on_sigterm() -> Any:
    """Make SIGTERM raise :class:`Terminated` in this (main) thread; returns the previous handler for
    :func:`restore_sigterm`, or None where signals cannot be handled (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def restore_sigterm(previous: Any) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


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
