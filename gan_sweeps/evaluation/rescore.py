"""Re-scoring a finished run with the current metrics: ``python -m gan_sweeps.evaluation --run RUN_DIR``.

The run's model is rebuilt by its own config and filled from ``checkpoints/last.ckpt`` (``studies.runs.StudyRun``:
weights-only loading), evaluated as the end of a run evaluates it (``run.evaluate_run``, same seed, the run's
``eval.num_samples`` unless given), and its ``metrics.json`` gets the new ``eval/*`` values (other keys stay), a new
health verdict and ``rescored`` (when, how many samples, seconds, and the new evaluation's own verdict and reason);
``reference.json`` (the real data's scores) is rewritten too. Health: a loss rule's diagnosis that held when
training ended stands when it is worse; the evaluation's diagnoses (``mode_collapse``, ``low_diversity``: held up
to the final evaluation) are replaced by the new evaluation's verdict; ``health_recovered`` is kept."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from gan_sweeps.callbacks.health import RunHealth, recovered_text
from gan_sweeps.callbacks.health_config import SEVERITY
from gan_sweeps.run.run_record import RunRecord
from gan_sweeps.studies.runs import StudyError, StudyRun, finished, generator

EVALUATION_DIAGNOSES = ("mode_collapse", "low_diversity")  # what RunHealth.check_evaluation decides


def rescore(run_dir: str | os.PathLike, num_samples: int | None = None, cache_dir: str | None = None,
            device: str = "cpu") -> dict[str, Any]:
    """Evaluate the run in ``run_dir`` again and update its ``metrics.json``; returns the updated record.
    Raises ``StudyError`` (one line) for a folder that holds no completed generative run with a checkpoint."""
    from gan_sweeps.evaluation.run import evaluate_run
    from gan_sweeps.run.train import _save_reference, build_datamodule

    path = Path(run_dir)
    if not (path / ".hydra" / "config.yaml").is_file():
        raise StudyError(f"{path} is not a run folder (no .hydra/config.yaml)")
    record = RunRecord(path)
    run = StudyRun(path=path, name=path.name, label=path.name, metrics=record.read(), device=device)
    reason = finished(run) or generator(run)
    if reason:
        raise StudyError(f"cannot re-score {path}: {reason}")
    cfg = run.cfg
    if cache_dir is not None:
        OmegaConf.update(cfg, "eval.cache_dir", cache_dir)
    samples = int(num_samples or run.setting("eval.num_samples"))
    if samples < 2:
        raise StudyError(f"--num-samples must be at least 2, got {samples}")
    datamodule = build_datamodule(cfg)
    datamodule.setup()
    start = time.perf_counter()
    evaluation = evaluate_run(run.model, datamodule, path, num_samples=samples,
                              cache_dir=os.path.expanduser(str(run.setting("eval.cache_dir"))),
                              batch_size=int(run.setting("eval.batch_size", 1000)))
    if "eval/fid" in evaluation:
        _save_reference(cfg, path, run.model.device)
    seconds = time.perf_counter() - start
    metrics = record.read()
    metrics.update(evaluation)
    metrics.update(_health(metrics, evaluation, path))
    fresh = RunHealth(run_dir=path)
    fresh.check_evaluation(evaluation, metrics.get("epochs_done"))
    metrics["rescored"] = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "num_samples": samples,
                           "seconds": round(seconds, 1), "health": fresh.health, "health_reason": fresh.reason}
    record.write(metrics)
    return metrics


def _health(metrics: dict[str, Any], evaluation: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The health keys after the new evaluation (module docstring: what stands, what is replaced)."""
    health = RunHealth(run_dir=run_dir)
    health.recovered = list(metrics.get("health_recovered") or [])
    old = metrics.get("health")
    if old in SEVERITY[1:] and old not in EVALUATION_DIAGNOSES:  # training's own: it held when training ended
        health.flag(old, metrics.get("health_epoch"), metrics.get("health_reason") or "",
                    metrics.get("health_figure"))
    health.check_evaluation(evaluation, metrics.get("epochs_done"))
    summary = health.summary()
    summary.pop("stopped_early")  # training's fact, not the evaluation's
    return summary


def scores_text(metrics: dict[str, Any]) -> str:
    """The scalar ``eval/*`` scores, one per line, then the health verdict."""
    lines = [f"{key} = {value:.6g}" for key, value in sorted(metrics.items())
             if key.startswith("eval/") and isinstance(value, (int, float)) and not isinstance(value, bool)]
    lines.append(f"health = {metrics.get('health')}" + (f": {metrics['health_reason']}" if metrics.get(
        "health_reason") else "") + (f" (figure: {metrics['health_figure']})" if metrics.get("health_figure") else ""))
    if metrics.get("health_recovered"):
        lines.append(f"health, earlier: {recovered_text(metrics['health_recovered'])}")
    fresh = metrics.get("rescored") or {}
    if fresh.get("health") not in (None, metrics.get("health")):
        lines.append(f"this evaluation alone: {fresh['health']}"
                     + (f": {fresh['health_reason']}" if fresh.get("health_reason") else ""))
    return "\n".join(lines)
