"""What a run tells W&B besides its config, so the W&B UI can rebuild the report's tables.

- ``group``: the sweep folder's last two names, ``<date>_<time>`` (``optuna_<study>``), for every job of a sweep
  and for its report run (``logger.wandb.group``, when set, wins).
- ``job_type``: ``study`` for a trial of an Optuna study, ``train`` for any other training run; ``eval`` is the
  value for evaluation-only jobs (``logger.wandb.job_type``, when a config sets it, always wins); ``report`` for the
  one run a sweep logs at its end with the report's tables and figures (gan_sweeps/report/dashboard.py).
- ``sweep`` config columns: ``sweep.swept`` (the keys the sweep varies, from its ``multirun.yaml``),
  ``sweep.setting`` (this job's values of those keys without the repeat keys, e.g. ``k=1 optim.beta1=0.5``) and
  ``sweep.repeat`` (its repeat values, e.g. ``seed=0``). Grouping the runs table by ``sweep.setting`` averages the
  seeds of each setting, as the report's settings table does; every config key (``optim.beta1``) is a column too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from gan_sweeps.sweep.keys import DEFAULT_REPEAT_KEYS, parse_override, planned_sweep_keys

JOB_TYPES = ("train", "eval", "study")
REPORT_JOB_TYPE = "report"


def folder_group(folder: str | Path) -> str:
    """The W&B group of the runs of one sweep (or single run) folder: its last two names (``<date>_<time>``)."""
    return "_".join(Path(folder).parts[-2:])


def _hydra() -> Any | None:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _multirun(hc: Any | None) -> bool:
    """Whether ``hc`` (HydraConfig, or a job's saved ``.hydra/hydra.yaml``, where the mode is text) is a sweep's."""
    return hc is not None and str(hc.get("mode", "")).rsplit(".", 1)[-1] == "MULTIRUN"


def job_type(cfg: DictConfig, hc: Any | None = None) -> str:
    """``logger.wandb.job_type`` when set, else ``study`` in a job of the Optuna sweeper, else ``train``."""
    chosen = (cfg.get("logger") or {}).get("wandb", {}).get("job_type")
    if chosen:
        return str(chosen)
    hc = hc if hc is not None else _hydra()
    if _multirun(hc) and "optuna" in str(hc.sweeper.get("_target_", "")).lower():
        return "study"
    return "train"


def sweep_columns(hc: Any | None = None) -> dict[str, Any]:
    """``{"sweep": {"dir", "swept", "setting", "repeat"}}`` for a job of a multirun; {} for a single run."""
    hc = hc if hc is not None else _hydra()
    if not _multirun(hc):
        return {}
    swept = planned_sweep_keys(Path(hc.sweep.dir)) or []
    values = dict(pair for pair in (parse_override(o) for o in hc.overrides.task) if pair)
    own = [key for key in swept if key in values]
    setting = " ".join(f"{key}={values[key]}" for key in own if key not in DEFAULT_REPEAT_KEYS)
    repeat = " ".join(f"{key}={values[key]}" for key in own if key in DEFAULT_REPEAT_KEYS)
    return {"sweep": {"dir": str(hc.sweep.dir), "swept": swept, "setting": setting or "(all runs)",
                      "repeat": repeat}}
