"""Gives gan-sweeps' sweeper hooks (``gan_sweeps/sweep_hooks.py``) to whichever of its sweepers runs (grid or
optuna): the option ``default`` of the group ``hydra/sweeper/app_hooks``, which both sweepers' configs load when
an app registers it (Hydra's own sweepers never look at it)."""

from hydra.core.config_store import ConfigStore

ConfigStore.instance().store(group="hydra/sweeper/app_hooks", name="default",
                             node={"app_hooks": "gan_sweeps.sweep_hooks"}, provider="gan_sweeps")
