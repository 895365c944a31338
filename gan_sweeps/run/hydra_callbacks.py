"""Hydra callbacks of the app (``hydra.callbacks`` in gan_sweeps/conf/config.yaml), run in the process that started the
command, whichever launcher ran the jobs (in-process, joblib workers, submitit, Slurm).

``Preflight`` checks a single run's config before Hydra makes its run folder (sweeps: the sweeper checks every
job, see hydra_plugins/gan_sweeps_grid); a refusal ends the command with one line naming the key.

``UniqueOutputDir`` gives every command its own time-stamped folder: two commands started in the same second
would share ``multirun/<date>/<time>`` (or ``outputs/<date>/<time>``), so the second one gets ``<time>_2``.

``FailedRuns`` collects the run folders whose ``metrics.json`` says ``failed`` and that this command wrote, so
the command exits non-zero after every job ran (a failed job never stops its siblings; a diverged or pruned run
is a result, not a failure).

``WandbReport`` logs a sweep's report as one W&B run at its end (gan_sweeps/report/dashboard.py)."""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

TIME_STAMP = "${now:"  # a folder whose configured path holds this is fresh for every command, so it is claimed

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
        from gan_sweeps.config.checks import ConfigError, preflight

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


def claim_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (parents too) and return it, or, when it exists already (another command claimed it), the
    first of ``<path>_2``, ``<path>_3``, ... that this call creates. ``os.mkdir`` is atomic, also between processes
    and machines sharing a file system, so no two callers get the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for number in itertools.count(1):
        candidate = path if number == 1 else path.with_name(f"{path.name}_{number}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def claim_output_dir(config: DictConfig, node: str) -> Path | None:
    """Claim the command's folder (``hydra.sweep.dir`` for ``node="sweep"``, ``hydra.run.dir`` for ``"run"``) when
    it is time-stamped as configured (gan_sweeps/conf/config.yaml's default): a folder named on the command line or by a
    preset without ``${now:...}`` is the user's (resume, ``make run``) and is left alone, and so is a study's
    folder (a sweeper with a ``study_name``, e.g. Optuna, names it after the study), and so is a plan's
    (``hydra.sweeper.plan=true`` runs nothing: no folder is made). The claimed path is pinned as
    the value and as a ``hydra.<node>.dir`` override, so every job's config, composed again in any launcher
    process, resolves to the same folder. Returns the claimed folder, or None when nothing was claimed."""
    hydra_cfg = config.hydra
    configured = str(OmegaConf.to_container(hydra_cfg[node], resolve=False).get("dir"))
    sweeper = hydra_cfg.get("sweeper") or {}
    if TIME_STAMP not in configured or (node == "sweep" and ("study_name" in sweeper or sweeper.get("plan"))):
        return None
    claimed = claim_dir(str(hydra_cfg[node].dir))
    with read_write(hydra_cfg), open_dict(hydra_cfg):
        hydra_cfg[node].dir = str(claimed)
        hydra_cfg.overrides.hydra.append(f"hydra.{node}.dir={_quote(str(claimed))}")
    return claimed


def _quote(text: str) -> str:
    """A Hydra override value that stays one literal string whatever the path holds."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class UniqueOutputDir(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        claim_output_dir(config, "sweep")

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        claim_output_dir(config, "run")


class WandbReport(Callback):
    """At a sweep's end, its report as one W&B run (``job_type=report``, the jobs' group) when its jobs log to W&B
    (gan_sweeps/report/dashboard.py); a failure is one warning line, never the sweep's."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from gan_sweeps.report.dashboard import log_sweep_end

        log_sweep_end(config)
