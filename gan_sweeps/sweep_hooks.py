"""gan-sweeps' hooks for its sweepers (``hydra.sweeper.app_hooks: gan_sweeps.sweep_hooks``, registered by
``sweep_hooks_config.py`` for whichever sweeper runs; the protocol: ``hydra_plugins/gan_sweeps_grid/hooks.py``):

- ``preflight``: every job's config is checked (``gan_sweeps.config``, no torch) before the first one starts;
- ``explain_error``: a job's composition error as gan-sweeps' one line naming the key;
- ``plan``: the sweep's plan (``gan_sweeps.sweep.plan``), printed by ``hydra.sweeper.plan=true``, else written as
  ``plan.json`` in the sweep's folder;
- ``run_status``: the ``status`` a run wrote in its ``metrics.json`` (a pruned or failed run tells its Optuna
  trial so)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from gan_sweeps.config.errors import one_line as explain_error
from gan_sweeps.config.checks import preflight
from gan_sweeps.run.run_record import RunRecord

__all__ = ["explain_error", "plan", "preflight", "run_status"]


def plan(configs: list, overrides: list, hydra_config: DictConfig, sweep_dir: str | None) -> str:
    """The plan's text; with ``sweep_dir`` (a sweep that runs) it is also written there as plan.json, from
    earlier runs only (no probe)."""
    from gan_sweeps.sweep.plan import format_plan, make_plan, write_plan

    made = make_plan(configs, overrides, hydra_config, allow_probe=sweep_dir is None)
    if sweep_dir is not None:
        write_plan(sweep_dir, made)
    return format_plan(made) + ("\nnothing was run (hydra.sweeper.plan=true)" if sweep_dir is None else "")


def run_status(run_dir: Path) -> str | None:
    status = RunRecord(run_dir).read().get("status")
    return str(status) if status else None
