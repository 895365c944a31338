"""Hydra callbacks of the app (``hydra.callbacks`` in conf/config.yaml), run in the process that started the
command, whichever launcher ran the jobs (in-process, joblib workers, submitit, Slurm).

``FailedRuns`` collects the run folders whose ``metrics.json`` says ``failed`` and that this command wrote, so
the command exits non-zero after every job ran (a failed job never stops its siblings; a diverged or pruned run
is a result, not a failure)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

FAILED: list[str] = []  # run folders of this command that failed (read by gan_sweeps.__main__.cli)


def failed_runs(root: Path, since: float = 0.0) -> list[str]:
    """Run folders at or below ``root`` (two levels deep) whose metrics.json, written after ``since``, says failed."""
    found = []
    for record in sorted([root / "metrics.json", *root.glob("*/metrics.json"), *root.glob("*/*/metrics.json")]):
        try:
            if record.stat().st_mtime >= since and json.loads(record.read_text()).get("status") == "failed":
                found.append(str(record.parent))
        except (OSError, ValueError):
            continue
    return found


class FailedRuns(Callback):
    def __init__(self) -> None:
        self.started = time.time()

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        FAILED.extend(failed_runs(Path(config.hydra.runtime.output_dir), self.started - 1))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        FAILED.extend(failed_runs(Path(config.hydra.sweep.dir), self.started - 1))
