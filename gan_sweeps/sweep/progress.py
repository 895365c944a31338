"""``progress.json``: how far a run is while it trains, written by the run and read by ``python -m
gan_sweeps.sweep.status``.

A run folder's ``metrics.json`` says ``running`` from the first second to the last; ``progress.json`` adds where the
run is, so a status command can show a sweep's progress and an ETA from the run folders alone, whichever launcher
started the jobs (in-process, joblib, submitit, Slurm) and without parsing logs. It is small (well under 1 kB),
replaced atomically (``gan_sweeps.atomic``) and written by the training process (rank 0) only:

- when training starts, after every epoch, and within an epoch at most every ``PROGRESS_INTERVAL_S`` seconds;
- with ``stage: finishing`` when training ends (evaluation and the final record follow).

Fields: ``pid``, ``host``, ``started`` (Unix time the run started training), ``epoch_started``, ``updated``,
``train_ended`` (null while training), ``stage`` (``training`` / ``finishing``), ``epoch`` (epochs completed),
``max_epochs``, ``batch`` (batches done in the current epoch), ``batches_per_epoch``, ``epoch_seconds`` (of this
process's epochs) and ``losses`` (means of the current epoch so far: ``d_loss``, ``g_loss``, ...).

This module imports nothing heavy: the status command reads it in a fraction of a second."""

from __future__ import annotations

import json
import math
import os
import socket
from pathlib import Path
from typing import Any

from gan_sweeps.atomic import atomic_write_text

PROGRESS_FILE = "progress.json"
PROGRESS_INTERVAL_S = 2.0  # within an epoch, at most one write per this many seconds
STAGES = ("training", "finishing")


def progress_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / PROGRESS_FILE


def write_progress(run_dir: str | os.PathLike, data: dict[str, Any]) -> None:
    """Replace the run's progress.json (non-finite losses become null: JSON has no NaN)."""
    losses = {k: (v if isinstance(v, (int, float)) and math.isfinite(v) else None)
              for k, v in (data.get("losses") or {}).items()}
    atomic_write_text(progress_path(run_dir), json.dumps({**data, "losses": losses}, sort_keys=True))


def read_progress(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's progress record, or {} when it has none (not started training, or an older run)."""
    try:
        data = json.loads(progress_path(run_dir).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def this_host() -> str:
    return socket.gethostname()


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (signal 0 checks without touching it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or the check is not allowed): not provably gone
    return True
