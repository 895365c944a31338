"""Hydra callbacks of the app (``hydra.callbacks`` in conf/config.yaml), run in the process that started the
command, whichever launcher ran the jobs (in-process, joblib workers, submitit, Slurm).

``Preflight`` checks a single run's config before Hydra makes its run folder (sweeps: the sweeper checks every
job, see hydra_plugins/gan_sweeps_grid); a refusal ends the command with one line naming the key.

``FailedRuns`` collects the run folders whose ``metrics.json`` says ``failed`` and that this command wrote, so
the command exits non-zero after every job ran (a failed job never stops its siblings; a diverged or pruned run
is a result, not a failure)."""

from __future__ import annotations

import json
import sys
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


class Preflight(Callback):
    """Refuses an invalid single run before its folder exists. Hydra turns an exception of a callback into a
    warning, so the refusal is a SystemExit(2) after the one-line message on stderr."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from gan_sweeps.config import ConfigError, preflight

        try:
            preflight(config)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None


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
