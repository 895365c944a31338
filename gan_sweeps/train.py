"""One run: validate, build from config, fit, evaluate, and leave the run folder complete.

``run(cfg)`` is the Hydra task function body. It never raises for a bad run: a NaN loss, a bad value or a crash
is recorded in ``metrics.json`` (status ``diverged`` / ``failed``) so the sibling jobs of a sweep go on; it returns
the objective as a plain float (NaN when the run did not complete), which is what sweepers expect."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from gan_sweeps.atomic import atomic_write_text
from gan_sweeps.callbacks.checkpoint_io import AtomicCheckpointIO
from gan_sweeps.callbacks.evaluation import PeriodicEvaluation, PhaseSwitchEvaluation, scalar_metrics
from gan_sweeps.callbacks.progress import LossBar, Progress
from gan_sweeps.callbacks.pruning import OptunaPruning
from gan_sweeps.callbacks.health import RunHealth
from gan_sweeps.callbacks.samples import SampleGrid
from gan_sweeps.callbacks.throughput import Throughput
from gan_sweeps.config import ConfigError, validate
from gan_sweeps.data import DatasetNotFoundError, ImageDataModule
from gan_sweeps.launch import (Terminated, job_devices, job_threads, raise_on_sigterm, restore_sigterm,
                               runs_in_command_process, shares_terminal)
from gan_sweeps.models import Diverged, GenerativeModule
from gan_sweeps.plan import arch_key
from gan_sweeps.run_record import RunRecord, is_primary_process, run_dir_of
from gan_sweeps.timings import PhaseTimer, job_ended, jobs_before
from gan_sweeps.tracking import folder_group, job_type, sweep_columns

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "last.ckpt"


# ---- building ----------------------------------------------------------------------------------------------------
def build_datamodule(cfg: DictConfig) -> ImageDataModule:
    d = cfg.data
    return ImageDataModule(name=d.name, root=d.root, batch_size=cfg.batch_size, train_size=d.train_size,
                           normalize=d.normalize, download=d.download, seed=cfg.seed, num_classes=d.num_classes,
                           labelled_per_class=d.get("labelled_per_class"), labelled_seed=d.get("labelled_seed"))


def build_model(cfg: DictConfig) -> GenerativeModule:
    """``model.module`` names the LightningModule; every other ``_target_`` node of ``model`` is one of its nets."""
    nets = {key: node for key, node in cfg.model.items()
            if key != "module" and isinstance(node, DictConfig) and "_target_" in node}
    return instantiate(cfg.model.module, **nets, optim=OmegaConf.to_container(cfg.optim, resolve=True),
                       latent_dim=cfg.model.latent_dim, normalize=cfg.data.normalize,
                       num_classes=cfg.data.num_classes, grad_clip=cfg.grad_clip, _convert_="object")


def _interactive() -> bool:
    return sys.stdout.isatty() and not os.environ.get("CI")


def _in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


class _SweepConsole(logging.Filter):
    """On a sweep's terminal only gan-sweeps' and Hydra's lines (job started / ended) and warnings pass; the
    libraries' info lines (Lightning's devices and model summary) go to the run folder's log only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith(("gan_sweeps", "hydra"))


def _hydra_info() -> dict[str, Any]:
    if not HydraConfig.initialized():
        return {"overrides": [], "group": None, "name": None}
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    base = Path(hc.sweep.dir if multirun else hc.runtime.output_dir)
    return {"overrides": list(hc.overrides.task), "group": folder_group(base),
            "name": (f"{hc.job.num}:" if multirun else "") + (hc.job.override_dirname or "defaults")}


def build_loggers(cfg: DictConfig, run_dir: Path, info: dict[str, Any]) -> list:
    loggers: list = []
    if cfg.logger.get("csv", True):
        loggers.append(pl.loggers.CSVLogger(save_dir=str(run_dir), name="csv", version=""))
    wb = cfg.logger.get("wandb")
    if wb is not None and wb.get("enabled", False):
        tags = [t[:64] for t in list(wb.get("tags") or []) + info["overrides"]]
        loggers.append(pl.loggers.WandbLogger(
            save_dir=str(run_dir), project=wb.project, entity=wb.get("entity"), mode=wb.mode,
            group=wb.get("group") or info["group"], name=info["name"], tags=tags, job_type=job_type(cfg),
            settings=_wandb_settings(),
            config=OmegaConf.to_container(cfg, resolve=True) | sweep_columns()))
        # Lightning passes anonymous=None, which W&B >= 0.2x warns about on the terminal at every job's start
        loggers[-1]._wandb_init.pop("anonymous", None)
    return loggers


def _wandb_settings() -> Any:
    """W&B writes nothing to the terminal (its per-run summary block was ~35 lines a job, and a warning per job):
    its output is in the run folder's ``wandb/*/logs``; the job's one end line says the status and objective."""
    import wandb

    return wandb.Settings(silent=True, show_warnings=False)


def build_trainer(cfg: DictConfig, run_dir: Path, callbacks: list, loggers: list) -> pl.Trainer:
    # a sweep's terminal gets one line per job: no progress bars (parallel jobs' bars would interleave anyway;
    # `python -m gan_sweeps.status --watch` shows a sweep's progress); the model summary goes to the job's log
    interactive = _interactive() and not shares_terminal() and not _in_sweep()
    if interactive:
        callbacks = callbacks + [LossBar()]
    elif _in_sweep():  # the logged summary (Lightning's default, rich, prints to stdout past the logging filter)
        callbacks = callbacks + [pl.callbacks.ModelSummary()]
    # last.ckpt at every epoch's end (what resume=true continues from). Not save_last with save_top_k=0: since
    # Lightning 2.6 that writes last.ckpt only when a top-k checkpoint was saved, i.e. once, when training ends.
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=str(run_dir / "checkpoints"), filename=CHECKPOINT_NAME[:-5],
                                              save_top_k=1, every_n_epochs=1, enable_version_counter=False)
    trainer_kwargs = OmegaConf.to_container(cfg.trainer, resolve=True)
    trainer_kwargs["devices"] = job_devices(cfg)  # one GPU per job when parallel jobs share several GPUs
    return pl.Trainer(**trainer_kwargs, callbacks=callbacks + [checkpoint], plugins=[AtomicCheckpointIO()],
                      logger=loggers or False, enable_progress_bar=interactive,
                      enable_model_summary=interactive or _in_sweep(),
                      num_sanity_val_steps=0, limit_val_batches=0, default_root_dir=str(run_dir))


def _quiet_libraries() -> None:
    if _in_sweep():  # libraries' info lines into the job's log file (Hydra's job logging), not the terminal
        for name in ("pytorch_lightning", "lightning.fabric"):
            logging.getLogger(name).setLevel(logging.INFO)
        for handler in logging.getLogger().handlers:
            if not isinstance(handler, logging.FileHandler) and not any(
                    isinstance(f, _SweepConsole) for f in handler.filters):
                handler.addFilter(_SweepConsole())
    elif not _interactive():
        logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
        logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
    for pattern in (".*smaller than the logging interval.*", ".*does not have many workers.*",
                    ".*`training_step` returned `None`.*", ".*is an invalid version and will not be supported.*",
                    ".*LeafSpec.*is deprecated.*",
                    ".*The `srun` command is available on your system but is not used.*"):  # Slurm installed
        warnings.filterwarnings("ignore", message=pattern)


# ---- the task ----------------------------------------------------------------------------------------------------
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


def run(cfg: DictConfig) -> float:
    run_dir = run_dir_of(cfg)
    primary = is_primary_process()
    record = RunRecord(run_dir, read_only=not primary)
    previous = record.read()
    if cfg.get("resume") and previous.get("status") == "completed":
        log.info("resume: %s already completed, skipping", run_dir)
        return objective_of(cfg, previous)
    info = _hydra_info()
    metrics: dict[str, Any] = {"status": "running", "model": cfg.model.get("name"), "dataset": cfg.data.get("name"),
                               "overrides": info["overrides"], "error": None, "batch_size": cfg.batch_size,
                               "k": cfg.get("k"), "g_steps": cfg.get("g_steps"), "arch": arch_key(cfg),
                               "job_in_process": jobs_before()}
    record.write(metrics)
    timer = PhaseTimer()  # from the job's start (gan_sweeps.__main__.task): its imports count
    trainer = model = throughput = health = None
    previous_sigterm = raise_on_sigterm()  # scancel: recorded as failed, and the job still returns (launch.py)
    terminated = False
    try:
        validate(cfg)
        _quiet_libraries()
        threads = job_threads(cfg)
        if threads:
            torch.set_num_threads(threads)
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        datamodule = build_datamodule(cfg)
        datamodule.prepare_data()  # a missing dataset fails here, before W&B or the nets start
        model = build_model(cfg)
        if cfg.get("channels_last"):
            model = model.to(memory_format=torch.channels_last)
        throughput = Throughput()
        health = RunHealth(**OmegaConf.to_container(cfg.health, resolve=True), run_dir=run_dir)
        callbacks = [throughput, Progress(run_dir, throughput), SampleGrid(run_dir, epochs=cfg.get("sample_epochs")),
                     health]
        if cfg.eval.get("enabled") and getattr(model, "phase_switch_epoch", None) is not None:
            callbacks.append(PhaseSwitchEvaluation(run_dir, batch_size=cfg.eval.batch_size))
        if cfg.eval.get("enabled") and cfg.eval.get("every_n_epochs", 0) > 0:
            def periodic(module: GenerativeModule) -> dict[str, Any]:
                results = _evaluate(cfg, module, datamodule, run_dir)
                health.act(health.check_evaluation(results, module.current_epoch + 1), module.trainer)
                return results

            callbacks.append(PeriodicEvaluation(periodic, cfg.eval.every_n_epochs))
            pruning = OptunaPruning.from_config(cfg, callbacks[-1])  # only in a job of hydra/sweeper=optuna
            if pruning is not None:
                callbacks.append(pruning)  # after PeriodicEvaluation: reads its result
        loggers = build_loggers(cfg, run_dir, info)
        trainer = build_trainer(cfg, run_dir, callbacks, loggers)
        timer.lap("setup")
        _start_wandb(loggers)
        timer.lap("wandb")
        ckpt = run_dir / "checkpoints" / CHECKPOINT_NAME
        resume_from = str(ckpt) if cfg.get("resume") and ckpt.is_file() else None
        if resume_from:
            log.info("resume: continuing %s from %s", run_dir, ckpt)
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume_from)
        timer.lap("fit")
        if trainer.interrupted:
            raise KeyboardInterrupt
        evaluation = _evaluate(cfg, model, datamodule, run_dir) if primary else {}
        timer.lap("eval")
        if "eval/fid" in evaluation:  # the real data's own scores beside the run's: the report's reference row
            _save_reference(cfg, run_dir, model.device)
        timer.lap("reference")
        health.check_evaluation(evaluation, trainer.current_epoch)
        metrics.update(evaluation)
        _log_final(trainer, evaluation)
        metrics["status"] = "completed"
    except Diverged as exc:
        metrics.update(status="diverged", error=str(exc))
        if health is not None:
            health.flag("diverged", trainer.current_epoch + 1 if trainer is not None else None, str(exc))
        log.warning("run diverged: %s", exc)
    except (ConfigError, DatasetNotFoundError) as exc:
        metrics.update(status="failed", error=str(exc))
        log.error("%s", exc)
    except (KeyboardInterrupt, SystemExit):
        metrics.update(status="interrupted", error="interrupted")
        raise
    except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
        if type(exc).__name__ == "TrialPruned":
            metrics.update(status="pruned", error=str(exc) or "pruned by the Optuna pruner")
        else:
            cause = _root_cause(exc)  # e.g. a SIGTERM that arrived while Hydra instantiated a net
            terminated = isinstance(cause, Terminated)
            metrics.update(status="failed", error=f"{type(cause).__name__}: {cause}")
            (run_dir / "error.log").write_text(traceback.format_exc())
            log.error("run failed: %s: %s (traceback in %s)", type(exc).__name__, exc, run_dir / "error.log")
    finally:
        restore_sigterm(previous_sigterm)
        metrics.update(_training_summary(model, trainer, throughput))
        metrics["wall_time_s"] = round(timer.elapsed(), 3)
        if health is not None:
            metrics.update(health.summary())
        if metrics["status"] not in ("completed", "diverged"):  # failed/pruned/interrupted: no diagnosis to give
            metrics["health"] = metrics["status"]
        timer.lap("teardown")
        record.write(metrics)  # the status is on disk before W&B closes (which may hang on a network)
        timer.lap("teardown")
        try:
            _finish_wandb(metrics)
        except Exception as exc:  # noqa: BLE001 - never lose the run over its W&B copy
            log.warning("could not close the W&B run: %s", exc)
        timer.lap("wandb")
        metrics["wall_time_s"] = round(timer.elapsed(), 3)  # from the job's start; ``startup`` came before
        metrics["timings"] = timer.summary(sum(throughput.epoch_seconds) if throughput is not None else 0.0)
        record.write(metrics)
        job_ended()
        log_job_end(metrics, cfg)
    if terminated and runs_in_command_process():
        raise SystemExit(128 + signal.SIGTERM)  # the signal was for the command: no further job of the sweep starts
    return objective_of(cfg, metrics)


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


def _evaluate(cfg: DictConfig, model: GenerativeModule, datamodule: ImageDataModule, run_dir: Path) -> dict[str, Any]:
    if not cfg.eval.get("enabled", False):
        return {}
    from gan_sweeps.evaluation.run import evaluate_run

    return evaluate_run(model, datamodule, run_dir, num_samples=cfg.eval.num_samples,
                        cache_dir=os.path.expanduser(cfg.eval.cache_dir), batch_size=cfg.eval.batch_size,
                        sample_metrics=cfg.eval.get("sample_metrics", True))


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
        logger.log_metrics(scalars, step=trainer.fit_loop.epoch_loop._batches_that_stepped)
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
    job = HydraConfig.get().job.num if _in_sweep() else None
    health = metrics.get("health")
    log.info("%s%s%s%s in %.1f s%s", f"#{job} " if job is not None else "", metrics["status"],
             f" ({health})" if health not in (None, "ok", metrics["status"]) else "",
             (": " + " ".join(shown)) if shown else "", metrics.get("wall_time_s") or 0.0,
             f": {metrics['error']}" if metrics.get("error") and metrics["status"] != "completed" else "")


def _finish_wandb(metrics: dict[str, Any]) -> None:
    """Put the final numbers in the W&B summary and close the run, so the next job of a sweep starts its own."""
    if "wandb" not in sys.modules:
        return
    import wandb

    if wandb.run is not None:
        wandb.run.summary.update({k: v for k, v in metrics.items()
                                  if isinstance(v, (int, float, str, bool)) and not (isinstance(v, float)
                                                                                    and math.isnan(v))})
        wandb.finish(exit_code=0 if metrics["status"] == "completed" else 1)
