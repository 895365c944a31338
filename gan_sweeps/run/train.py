"""One run: build from its checked config, fit, evaluate, and leave the run folder complete.

``run(cfg)`` is the Hydra task function body (``gan_sweeps.__main__.task`` checks the config once, before the job
starts, and passes it on: nothing here checks it again). It never raises for a bad run: a NaN loss, a bad value or a
crash is recorded in ``metrics.json`` (status ``diverged`` / ``failed``) so the sibling jobs of a sweep go on; it
returns the objective as a plain float (NaN when the run did not complete), which is what sweepers expect.

The steps: ``_build`` (data, model, callbacks, loggers, trainer: ``gan_sweeps.run.build``), ``_fit`` (training, the
end-of-run evaluation and the real data's reference scores), and ``_record`` (the run record, W&B's summary, the
job's end line), with ``_record_failure`` for whatever stopped the run."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig

from gan_sweeps.atomic import atomic_write_text
from gan_sweeps.run.build import (CHECKPOINT_NAME, build_callbacks, build_datamodule, build_loggers, build_model,
                              build_trainer, evaluate, hydra_info, in_sweep, quiet_libraries)
from gan_sweeps.callbacks.evaluation import scalar_metrics
from gan_sweeps.callbacks.health import RunHealth, recovered_text
from gan_sweeps.callbacks.throughput import Throughput
from gan_sweeps.config.checks import ConfigError
from gan_sweeps.data import DatasetNotFoundError, ImageDataModule
from gan_sweeps.run.launch import Terminated, job_threads, raise_on_sigterm, restore_sigterm, runs_in_command_process
from gan_sweeps.models import Diverged, GenerativeModule
from gan_sweeps.models.base import log_step
from gan_sweeps.sweep.plan import arch_key
from gan_sweeps.run.run_record import RunRecord, is_primary_process, run_dir_of
from gan_sweeps.run.timings import PhaseTimer, job_ended, jobs_before

log = logging.getLogger(__name__)

__all__ = ["CHECKPOINT_NAME", "build_datamodule", "build_model", "log_job_end", "objective_names", "objective_of",
           "run"]


def objective_names(cfg: DictConfig) -> list[str]:
    """The metrics a run returns: ``objective=eval/fid``, or a list of them (a multi-objective study)."""
    return list(cfg.objective) if isinstance(cfg.objective, ListConfig) else [cfg.objective]


def objective_of(cfg: DictConfig, metrics: dict[str, Any]) -> float | tuple[float, ...]:
    """The ``objective`` metric as a float (NaN unless the run completed); a list of metrics (a multi-objective
    Optuna study: ``objective=[eval/fid,eval/is]``) gives a tuple, one float per metric."""
    names = objective_names(cfg)
    values = []
    for name in names:
        value = metrics.get(name) if metrics.get("status") == "completed" else None
        values.append(float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan"))
    return values[0] if isinstance(cfg.objective, str) else tuple(values)


@dataclass
class _Job:
    """One job's state across its steps: its record so far and what has been built (None until it is)."""

    cfg: DictConfig
    run_dir: Path
    record: RunRecord
    metrics: dict[str, Any]
    primary: bool
    timer: PhaseTimer = field(default_factory=PhaseTimer)  # from the job's start (__main__.task): imports count
    model: GenerativeModule | None = None
    trainer: pl.Trainer | None = None
    throughput: Throughput | None = None
    health: RunHealth | None = None
    terminated: bool = False  # a SIGTERM stopped it: the command ends after this job


def run(cfg: DictConfig) -> float:
    """Train, evaluate and record one job whose config was checked (``config.checks.preflight``)."""
    run_dir = run_dir_of(cfg)
    primary = is_primary_process()
    record = RunRecord(run_dir, read_only=not primary)
    previous = record.read()
    if cfg.get("resume") and previous.get("status") == "completed":
        log.info("resume: %s already completed, skipping", run_dir)
        return objective_of(cfg, previous)
    info = hydra_info()
    job = _Job(cfg, run_dir, record, _first_record(cfg, info), primary)
    record.write(job.metrics)
    previous_sigterm = raise_on_sigterm()  # scancel: recorded as failed, and the job still returns (launch.py)
    try:
        _fit(job, _build(job, info))
        job.metrics["status"] = "completed"
    except (KeyboardInterrupt, SystemExit):
        job.metrics.update(status="interrupted", error="interrupted")
        raise
    except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
        _record_failure(job, exc)
    finally:
        restore_sigterm(previous_sigterm)
        _record(job)
    if job.terminated and runs_in_command_process():
        raise SystemExit(128 + signal.SIGTERM)  # the signal was for the command: no further job of the sweep starts
    return objective_of(cfg, job.metrics)


def _first_record(cfg: DictConfig, info: dict[str, Any]) -> dict[str, Any]:
    """What ``metrics.json`` says while the job runs."""
    return {"status": "running", "model": cfg.model.get("name"), "dataset": cfg.data.get("name"),
            "overrides": info["overrides"], "error": None, "batch_size": cfg.batch_size, "k": cfg.get("k"),
            "g_steps": cfg.get("g_steps"), "arch": arch_key(cfg), "job_in_process": jobs_before()}


# ---- build -------------------------------------------------------------------------------------------------------
def _build(job: _Job, info: dict[str, Any]) -> ImageDataModule:
    """Threads, seed, data (a missing dataset fails here, before W&B or the nets start), model, callbacks, loggers
    and trainer, then the W&B run (timed on its own); returns the data module."""
    cfg = job.cfg
    quiet_libraries()
    threads = job_threads(cfg)
    if threads:
        torch.set_num_threads(threads)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    job.model = build_model(cfg)
    if cfg.get("channels_last"):
        job.model = job.model.to(memory_format=torch.channels_last)
    callbacks, job.throughput, job.health = build_callbacks(cfg, job.run_dir, datamodule, job.model)
    loggers = build_loggers(cfg, job.run_dir, info)
    job.trainer = build_trainer(cfg, job.run_dir, callbacks, loggers)
    job.timer.lap("setup")
    _start_wandb(loggers)
    job.timer.lap("wandb")
    return datamodule


# ---- fit ---------------------------------------------------------------------------------------------------------
def _fit(job: _Job, datamodule: ImageDataModule) -> None:
    """Train (from the last checkpoint with ``resume=true``), then evaluate and keep the scores in the record."""
    cfg, trainer, model, timer = job.cfg, job.trainer, job.model, job.timer
    ckpt = job.run_dir / "checkpoints" / CHECKPOINT_NAME
    resume_from = str(ckpt) if cfg.get("resume") and ckpt.is_file() else None
    if resume_from:
        log.info("resume: continuing %s from %s", job.run_dir, ckpt)
    trainer.fit(model, datamodule=datamodule, ckpt_path=resume_from)
    timer.lap("fit")
    if trainer.interrupted:
        raise KeyboardInterrupt
    evaluation = evaluate(cfg, model, datamodule, job.run_dir) if job.primary else {}
    timer.lap("eval")
    if "eval/fid" in evaluation:  # the real data's own scores beside the run's: the report's reference row
        _save_reference(cfg, job.run_dir, model.device)
    timer.lap("reference")
    job.health.check_evaluation(evaluation, trainer.current_epoch)
    job.metrics.update(evaluation)
    _log_final(trainer, evaluation)


# ---- record ------------------------------------------------------------------------------------------------------
def _record_failure(job: _Job, exc: Exception) -> None:
    """What stopped the run, in its record: diverged, a bad value or missing data (one line), pruned, or a crash
    (its traceback in ``error.log``)."""
    if isinstance(exc, Diverged):
        job.metrics.update(status="diverged", error=str(exc))
        if job.health is not None:
            job.health.flag("diverged", job.trainer.current_epoch + 1 if job.trainer is not None else None, str(exc))
        log.warning("run diverged: %s", exc)
    elif isinstance(exc, (ConfigError, DatasetNotFoundError)):
        job.metrics.update(status="failed", error=str(exc))
        log.error("%s", exc)
    elif type(exc).__name__ == "TrialPruned":
        job.metrics.update(status="pruned", error=str(exc) or "pruned by the Optuna pruner")
    else:
        cause = _root_cause(exc)  # e.g. a SIGTERM that arrived while Hydra instantiated a net
        job.terminated = isinstance(cause, Terminated)
        job.metrics.update(status="failed", error=f"{type(cause).__name__}: {cause}")
        (job.run_dir / "error.log").write_text(traceback.format_exc())
        log.error("run failed: %s: %s (traceback in %s)", type(exc).__name__, exc, job.run_dir / "error.log")


def _record(job: _Job) -> None:
    """The final record: written before W&B closes (which may hang on a network), then with the timings."""
    metrics, timer = job.metrics, job.timer
    metrics.update(_training_summary(job.model, job.trainer, job.throughput))
    metrics["wall_time_s"] = round(timer.elapsed(), 3)
    if job.health is not None:
        metrics.update(job.health.summary())
    if metrics["status"] not in ("completed", "diverged"):  # failed/pruned/interrupted: no diagnosis to give
        metrics["health"] = metrics["status"]
    timer.lap("teardown")
    job.record.write(metrics)
    timer.lap("teardown")
    try:
        _finish_wandb(metrics)
    except Exception as exc:  # noqa: BLE001 - never lose the run over its W&B copy
        log.warning("could not close the W&B run: %s", exc)
    timer.lap("wandb")
    metrics["wall_time_s"] = round(timer.elapsed(), 3)  # from the job's start; ``startup`` came before
    metrics["timings"] = timer.summary(sum(job.throughput.epoch_seconds) if job.throughput is not None else 0.0)
    job.record.write(metrics)
    job_ended()
    log_job_end(metrics, job.cfg)


def _root_cause(exc: BaseException) -> BaseException:
    """A ``Terminated`` (SIGTERM) wrapped by another exception (Hydra's InstantiationException when the signal came
    during an import), else ``exc`` itself: what the run record should name."""
    seen = exc
    while seen is not None:
        if isinstance(seen, Terminated):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def _training_summary(model, trainer, throughput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if throughput is not None:
        out.update(throughput.summary())
    if trainer is not None:
        out["epochs_done"] = trainer.fit_loop.epoch_progress.current.completed
        out["device"] = str(trainer.strategy.root_device)
    out.update(pid=os.getpid(), threads=torch.get_num_threads())  # which process and how many CPU threads ran it
    if model is not None:
        out.update({f"{role}_steps_done": n for role, n in model.steps_done.items()})
        out.update({f"train/{k}": v for k, v in model.epoch_losses.items()})
    return out


def _save_reference(cfg: DictConfig, run_dir: Path, device: torch.device) -> None:
    """``reference.json``: the dataset's real-data scores (evaluate.reference_scores, computed once per dataset
    and cached), so every run folder carries what its numbers should be compared with."""
    from gan_sweeps.evaluation import reference_scores

    scores = reference_scores(cfg.data.name, cfg.data.root, os.path.expanduser(cfg.eval.cache_dir), device=device)
    atomic_write_text(run_dir / "reference.json", json.dumps(scores, indent=2, sort_keys=True))


def _log_final(trainer: pl.Trainer, results: dict[str, Any]) -> None:
    """End-of-run evaluation into the CSV log and W&B history (one row at the last step)."""
    scalars = scalar_metrics(results)
    if not scalars:
        return
    for logger in trainer.loggers:
        logger.log_metrics(scalars, step=log_step(trainer))
        logger.save()


def _start_wandb(loggers: list) -> None:
    """Start the W&B run now (Lightning starts it lazily inside ``fit``), so its cost is timed on its own."""
    for logger in loggers:
        if isinstance(logger, pl.loggers.WandbLogger):
            logger.experiment  # noqa: B018 - the property starts the run


def log_job_end(metrics: dict[str, Any], cfg: DictConfig) -> None:
    """The job's one line at its end: status, health, the objective and the wall time (the terminal's record of
    a sweep: one line per job started, by the launcher, and this one per job ended)."""
    shown = [f"{name}={metrics[name]:.4g}" for name in objective_names(cfg)
             if isinstance(metrics.get(name), (int, float)) and not isinstance(metrics.get(name), bool)]
    job = HydraConfig.get().job.num if in_sweep() else None
    health = metrics.get("health")
    recovered = recovered_text(metrics.get("health_recovered"))
    log.info("%s%s%s%s in %.1f s%s", f"#{job} " if job is not None else "", metrics["status"],
             f" ({health})" if health not in (None, "ok", metrics["status"]) else "",
             (": " + " ".join(shown)) if shown else "", metrics.get("wall_time_s") or 0.0,
             f": {metrics['error']}" if metrics.get("error") and metrics["status"] != "completed" else "")
    if recovered:
        log.info("health: %s", recovered)


def _finish_wandb(metrics: dict[str, Any]) -> None:
    """Put the final numbers in the W&B summary and close the run, so the next job of a sweep starts its own."""
    if "wandb" not in sys.modules:
        return
    import wandb

    if wandb.run is not None:
        wandb.run.summary.update({k: v for k, v in metrics.items()
                                  if isinstance(v, (int, float, str, bool)) and not (isinstance(v, float)
                                                                                    and math.isnan(v))})
        if metrics.get("health_recovered"):
            wandb.run.summary["health_recovered"] = recovered_text(metrics["health_recovered"])
        wandb.finish(exit_code=0 if metrics["status"] == "completed" else 1)
