"""Where a job's wall time goes: ``metrics.json``'s ``timings`` (seconds per phase), read by the report, the plan's
estimates (``gan_sweeps.sweep.plan``) and ``benchmarks/bench_overhead.py``.

Phases, in order (they add up to the job's wall time, ``startup`` included):

- ``startup``: before the job began: for the first job of a process from the process start (Python, Hydra,
  composing and checking the sweep's configs), for later jobs of the same process (the basic launcher runs a grid
  in one process) from the end of the previous job (Hydra composing the next one);
- ``setup``: the job's pre-flight and provenance record, importing torch/Lightning (first job of a process),
  validating, data, nets, loggers, trainer;
- ``wandb``: starting the W&B run and closing it (its summary and files);
- ``train``: the training epochs (``epoch_seconds`` summed); ``fit_other``: the rest of ``trainer.fit`` (Lightning's
  set-up and tear-down, sample grids, checkpoints);
- ``eval``: the end-of-run evaluation (sample generation, evaluator, metrics, figures); ``reference``: the real
  data's scores (cached after the first run on a machine);
- ``teardown``: writing the run record and what is left.

This module imports nothing heavy."""

from __future__ import annotations

import os
import time

_last_job_end: float | None = None  # time.time() at the end of this process's previous job
_job_start: float | None = None
_jobs_done = 0  # jobs this process finished before the current one


def process_start() -> float:
    """Unix time this process started (Linux: /proc; elsewhere: when this module was first imported)."""
    try:
        ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in open("/proc/stat") if line.startswith("btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return _IMPORTED


_IMPORTED = time.time()


def job_started() -> None:
    """Called first thing in a job (``gan_sweeps.__main__.task``)."""
    global _job_start
    _job_start = time.time()


def startup_seconds() -> float | None:
    """Seconds from the process start (first job) or the previous job's end to :func:`job_started`."""
    if _job_start is None:
        return None
    return max(0.0, _job_start - (_last_job_end if _last_job_end is not None else process_start()))


class PhaseTimer:
    """``lap(name)`` adds the seconds since the previous lap to ``name``; ``summary`` gives the rounded dict."""

    def __init__(self) -> None:
        """Starts at :func:`job_started` when it was called (the job's imports count as ``setup``), else now."""
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter() - (time.time() - _job_start if _job_start is not None else 0.0)
        self.started = self._last

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now

    def summary(self, train_seconds: float) -> dict[str, float]:
        """The phases with ``fit`` split into ``train`` (epoch time) and ``fit_other``, plus ``startup``."""
        out = {"startup": startup_seconds(), **self.seconds}
        if "fit" in out:
            fit = out.pop("fit")
            out["train"] = min(train_seconds, fit)
            out["fit_other"] = fit - out["train"]
        return {k: round(v, 3) for k, v in out.items() if v is not None}


def jobs_before() -> int:
    """How many jobs this process ran before this one (0: this job paid the imports)."""
    return _jobs_done


def job_ended() -> None:
    global _last_job_end, _jobs_done
    _last_job_end = time.time()
    _jobs_done += 1
