"""The sweeper's config schema, registered in Hydra's ConfigStore.

- ``hydra/sweeper=optuna``: :class:`OptunaSweeperConf` (keys of the official hydra-optuna-sweeper where they fit);
- ``hydra/sweeper/sampler=tpe|random|grid|cmaes``: which Optuna sampler, each with a ``seed``;
- ``hydra/sweeper/pruner=median|none|successive_halving|hyperband|threshold``: which Optuna pruner.

Sampler and pruner nodes are ``_target_`` nodes for :func:`hydra.utils.instantiate`; any Optuna sampler or pruner
can be named with ``hydra.sweeper.sampler._target_=...`` plus its keyword arguments.

No ``from __future__ import annotations`` here: Hydra's plugin scan executes this module without registering it
in ``sys.modules``, where string annotations break ``dataclasses``; OmegaConf needs the real types anyway."""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

PROVIDER = "gan_sweeps_optuna"


# ---- samplers ----------------------------------------------------------------------------------------------------
@dataclass
class SamplerConf:
    """An Optuna sampler; ``seed`` makes the sequence of sampled trials reproducible."""

    _target_: str = MISSING
    seed: Optional[int] = None


@dataclass
class TPESamplerConf(SamplerConf):
    _target_: str = "optuna.samplers.TPESampler"
    n_startup_trials: int = 10  # random trials before the model takes over
    multivariate: Optional[bool] = None  # None: Optuna's default
    constant_liar: bool = True  # trials of one batch (n_jobs > 1) avoid each other while they run


@dataclass
class RandomSamplerConf(SamplerConf):
    _target_: str = "optuna.samplers.RandomSampler"


@dataclass
class GridSamplerConf(SamplerConf):
    """Every combination of the (discrete) search space once; the sweep stops early when the grid is exhausted.
    The grid is built from ``params``: ``interval(...)`` dimensions are refused."""

    _target_: str = "optuna.samplers.GridSampler"


@dataclass
class CmaEsSamplerConf(SamplerConf):
    """CMA-ES (the ``cmaes`` package, a gan-sweeps dependency)."""

    _target_: str = "optuna.samplers.CmaEsSampler"
    n_startup_trials: int = 1
    sigma0: Optional[float] = None


# ---- pruners -----------------------------------------------------------------------------------------------------
@dataclass
class NopPrunerConf:
    """Never prunes (intermediate values are still reported, e.g. for optuna-dashboard)."""

    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class MedianPrunerConf:
    """Prunes a trial whose value is worse than the median of earlier trials at the same epoch."""

    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 5  # finished trials needed before anything is pruned
    n_warmup_steps: int = 0  # epochs reported before a trial may be pruned
    interval_steps: int = 1


@dataclass
class SuccessiveHalvingPrunerConf:
    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = "auto"
    reduction_factor: int = 4
    min_early_stopping_rate: int = 0


@dataclass
class HyperbandPrunerConf:
    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: int = 1
    max_resource: Any = "auto"
    reduction_factor: int = 3


@dataclass
class ThresholdPrunerConf:
    """Prunes a trial whose reported value leaves [lower, upper] (e.g. an exploding FID)."""

    _target_: str = "optuna.pruners.ThresholdPruner"
    lower: Optional[float] = None
    upper: Optional[float] = None
    n_warmup_steps: int = 0


# ---- the sweeper -------------------------------------------------------------------------------------------------
@dataclass
class OptunaSweeperConf:
    """``hydra/sweeper=optuna``: an Optuna study over the sweep overrides, stored so that it can be resumed.

    - ``direction``: ``minimize`` or ``maximize`` the task's return value (the run's ``objective=`` metric).
    - ``n_trials``: the study's size. A re-run of the same command runs only the trials still missing.
    - ``n_jobs``: a batch size: that many trials are asked, launched together through ``hydra/launcher`` (e.g.
      joblib) and waited for, before the next batch is asked.
    - ``storage``: an Optuna storage URL; null = ``sqlite:///<sweep dir>/optuna.db``.
    - ``study_name``: null = a readable slug of the command's fixed overrides plus a hash of them, the search space
      and the direction (the same command always names the same study).
    - ``params``: the search space in Hydra's sweep syntax (``interval(1e-5, 1e-2)``, ``tag(log, interval(...))``,
      ``int(interval(1, 8))``, ``choice(1, 5)``, ``range(1, 4)``, ``a,b,c``); sweep overrides on the command line
      (``k=1,2``) are dimensions too and take precedence over ``params`` for the same key.
    """

    defaults: List[Any] = field(default_factory=lambda: ["_self_", {"sampler": "tpe"}, {"pruner": "median"}])
    _target_: str = "hydra_plugins.gan_sweeps_optuna.optuna_sweeper.OptunaSweeper"
    _recursive_: bool = False  # sampler/pruner arrive as configs: the grid needs the search space, jobs the pruner
    direction: str = "minimize"
    n_trials: int = 20
    n_jobs: int = 1
    storage: Optional[str] = None
    study_name: Optional[str] = None
    sampler: Any = MISSING
    pruner: Any = MISSING
    params: Dict[str, str] = field(default_factory=dict)  # {} (not None), so that overrides can add keys


_STORE = ConfigStore.instance()
_STORE.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider=PROVIDER)
for _name, _node in {"tpe": TPESamplerConf, "random": RandomSamplerConf, "grid": GridSamplerConf,
                     "cmaes": CmaEsSamplerConf}.items():
    _STORE.store(group="hydra/sweeper/sampler", name=_name, node=_node, provider=PROVIDER)
for _name, _node in {"none": NopPrunerConf, "median": MedianPrunerConf,
                     "successive_halving": SuccessiveHalvingPrunerConf, "hyperband": HyperbandPrunerConf,
                     "threshold": ThresholdPrunerConf}.items():
    _STORE.store(group="hydra/sweeper/pruner", name=_name, node=_node, provider=PROVIDER)
