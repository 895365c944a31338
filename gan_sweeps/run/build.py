"""Building one job's parts from its checked config: the data, the model, the callbacks, the loggers and the trainer,
and the end-of-run evaluation (``train.run`` puts them together; the plan's probe reuses the data, model and
evaluation). Nothing here starts training."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gan_sweeps.callbacks.checkpoint_io import AtomicCheckpointIO
from gan_sweeps.callbacks.evaluation import PeriodicEvaluation, PhaseSwitchEvaluation
from gan_sweeps.callbacks.health import RunHealth
from gan_sweeps.callbacks.progress import LossBar, Progress
from gan_sweeps.callbacks.pruning import OptunaPruning
from gan_sweeps.callbacks.samples import SampleGrid
from gan_sweeps.callbacks.throughput import Throughput
from gan_sweeps.data import ImageDataModule
from gan_sweeps.run.launch import job_devices, shares_terminal
from gan_sweeps.models import GenerativeModule
from gan_sweeps.run.tracking import folder_group, job_type, sweep_columns

CHECKPOINT_NAME = "last.ckpt"  # in the run folder's checkpoints/: what resume=true continues from


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


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


class _SweepConsole(logging.Filter):
    """On a sweep's terminal only gan-sweeps' and Hydra's lines (job started / ended) and warnings pass; the
    libraries' info lines (Lightning's devices and model summary) go to the run folder's log only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith(("gan_sweeps", "hydra"))


def hydra_info() -> dict[str, Any]:
    if not HydraConfig.initialized():
        return {"overrides": [], "group": None, "name": None}
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    base = Path(hc.sweep.dir if multirun else hc.runtime.output_dir)
    return {"overrides": list(hc.overrides.task), "group": folder_group(base),
            "name": (f"{hc.job.num}:" if multirun else "") + (hc.job.override_dirname or "defaults")}


def build_callbacks(cfg: DictConfig, run_dir: Path, datamodule: ImageDataModule, model: GenerativeModule
                    ) -> tuple[list[pl.Callback], Throughput, RunHealth]:
    """The job's callbacks (throughput, progress, sample grids, health; the phase-switch and periodic evaluations and
    Optuna's pruning where configured), and the throughput and health ones, which the run record reads."""
    throughput = Throughput()
    health = RunHealth(**OmegaConf.to_container(cfg.health, resolve=True), run_dir=run_dir)
    callbacks = [throughput, Progress(run_dir, throughput), SampleGrid(run_dir, epochs=cfg.get("sample_epochs")),
                 health]
    if cfg.eval.get("enabled") and getattr(model, "phase_switch_epoch", None) is not None:
        callbacks.append(PhaseSwitchEvaluation(run_dir, batch_size=cfg.eval.batch_size))
    if cfg.eval.get("enabled") and cfg.eval.get("every_n_epochs", 0) > 0:
        def periodic(module: GenerativeModule) -> dict[str, Any]:
            results = evaluate(cfg, module, datamodule, run_dir)
            health.act(health.check_evaluation(results, module.current_epoch + 1), module.trainer)
            return results

        callbacks.append(PeriodicEvaluation(periodic, cfg.eval.every_n_epochs))
        pruning = OptunaPruning.from_config(cfg, callbacks[-1])  # only in a job of hydra/sweeper=optuna
        if pruning is not None:
            callbacks.append(pruning)  # after PeriodicEvaluation: reads its result
    return callbacks, throughput, health


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
    # `python -m gan_sweeps.sweep.status --watch` shows a sweep's progress); the model summary goes to the job's log
    interactive = _interactive() and not shares_terminal() and not in_sweep()
    if interactive:
        callbacks = callbacks + [LossBar()]
    elif in_sweep():  # the logged summary (Lightning's default, rich, prints to stdout past the logging filter)
        callbacks = callbacks + [pl.callbacks.ModelSummary()]
    # last.ckpt at every epoch's end (what resume=true continues from). Not save_last with save_top_k=0: since
    # Lightning 2.6 that writes last.ckpt only when a top-k checkpoint was saved, i.e. once, when training ends.
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=str(run_dir / "checkpoints"), filename=CHECKPOINT_NAME[:-5],
                                              save_top_k=1, every_n_epochs=1, enable_version_counter=False)
    trainer_kwargs = OmegaConf.to_container(cfg.trainer, resolve=True)
    trainer_kwargs["devices"] = job_devices(cfg)  # one GPU per job when parallel jobs share several GPUs
    return pl.Trainer(**trainer_kwargs, callbacks=callbacks + [checkpoint], plugins=[AtomicCheckpointIO()],
                      logger=loggers or False, enable_progress_bar=interactive,
                      enable_model_summary=interactive or in_sweep(),
                      num_sanity_val_steps=0, limit_val_batches=0, default_root_dir=str(run_dir))


def quiet_libraries() -> None:
    if in_sweep():  # libraries' info lines into the job's log file (Hydra's job logging), not the terminal
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


def evaluate(cfg: DictConfig, model: GenerativeModule, datamodule: ImageDataModule, run_dir: Path) -> dict[str, Any]:
    if not cfg.eval.get("enabled", False):
        return {}
    from gan_sweeps.evaluation.run import evaluate_run

    return evaluate_run(model, datamodule, run_dir, num_samples=cfg.eval.num_samples,
                        cache_dir=os.path.expanduser(cfg.eval.cache_dir), batch_size=cfg.eval.batch_size,
                        sample_metrics=cfg.eval.get("sample_metrics", True))
