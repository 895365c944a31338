"""The sweeper's config schema, registered in Hydra's ConfigStore.

- ``hydra/sweeper=optuna``: :class:`OptunaSweeperConf`: every key of the official hydra-optuna-sweeper
  (``sampler``, ``direction``, ``storage``, ``study_name``, ``n_trials``, ``n_jobs``, ``max_failure_rate``,
  ``params``, ``custom_search_space``) plus ours (``pruner``, workers' liveness, repeats);
- ``hydra/sweeper/sampler=tpe|random|grid|cmaes|nsgaii|gp|qmc`` (the official plugin's set, with its keys;
  ``motpe`` says it was removed from Optuna): which Optuna sampler;
- ``hydra/sweeper/pruner=median|none|successive_halving|hyperband|threshold``: which Optuna pruner.

Sampler and pruner nodes are ``_target_`` nodes for :func:`hydra.utils.instantiate`; a key left ``null`` takes
Optuna's own default, and any Optuna sampler or pruner can be named with ``hydra.sweeper.sampler._target_=...``
plus its keyword arguments.

No ``from __future__ import annotations`` here: Hydra's plugin scan executes this module without registering it
in ``sys.modules``, where string annotations break ``dataclasses``; OmegaConf needs the real types anyway."""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from hydra_plugins.gan_sweeps_grid.hooks import HOOKS_DEFAULT

PROVIDER = "gan_sweeps_optuna"


# ---- samplers (the official plugin's configs and keys; null = Optuna's default) ----------------------------------
@dataclass
class SamplerConf:
    """An Optuna sampler; ``seed`` makes the sequence of sampled trials reproducible."""

    _target_: str = MISSING
    seed: Optional[int] = None


@dataclass
class TPESamplerConf(SamplerConf):
    _target_: str = "optuna.samplers.TPESampler"
    consider_prior: Optional[bool] = None
    prior_weight: Optional[float] = None
    consider_magic_clip: Optional[bool] = None
    consider_endpoints: Optional[bool] = None
    n_startup_trials: int = 10  # random trials before the model takes over
    n_ei_candidates: int = 24
    multivariate: Optional[bool] = None
    group: Optional[bool] = None
    warn_independent_sampling: Optional[bool] = None
    constant_liar: bool = True  # running trials (other workers, the same batch) count as pending: they avoid them


@dataclass
class RandomSamplerConf(SamplerConf):
    _target_: str = "optuna.samplers.RandomSampler"


@dataclass
class GridSamplerConf(SamplerConf):
    """Every combination of the (discrete) search space once; ``n_trials`` is capped at the grid's size. The grid
    is built from the search space: ``interval(...)`` dimensions are refused."""

    _target_: str = "optuna.samplers.GridSampler"


@dataclass
class CmaEsSamplerConf(SamplerConf):
    """CMA-ES (the ``cmaes`` package, a gan-sweeps dependency)."""

    _target_: str = "optuna.samplers.CmaEsSampler"
    x0: Optional[Dict[str, Any]] = None
    sigma0: Optional[float] = None
    n_startup_trials: Optional[int] = None
    independent_sampler: Optional[Any] = None
    warn_independent_sampling: Optional[bool] = None
    consider_pruned_trials: Optional[bool] = None
    restart_strategy: Optional[str] = None
    popsize: Optional[int] = None
    inc_popsize: Optional[int] = None
    use_separable_cma: Optional[bool] = None
    with_margin: Optional[bool] = None
    lr_adapt: Optional[bool] = None
    source_trials: Optional[Any] = None


@dataclass
class NSGAIISamplerConf(SamplerConf):
    """The multi-objective genetic algorithm (``direction: [minimize, maximize]``)."""

    _target_: str = "optuna.samplers.NSGAIISampler"
    population_size: int = 50
    mutation_prob: Optional[float] = None
    crossover_prob: float = 0.9
    swapping_prob: float = 0.5
    constraints_func: Optional[Any] = None


@dataclass
class GPSamplerConf(SamplerConf):
    _target_: str = "optuna.samplers.GPSampler"
    independent_sampler: Optional[Any] = None
    n_startup_trials: int = 10
    deterministic_objective: bool = False
    constraints_func: Optional[Any] = None
    warn_independent_sampling: Optional[bool] = None


@dataclass
class QMCSamplerConf(SamplerConf):
    _target_: str = "optuna.samplers.QMCSampler"
    qmc_type: str = "sobol"
    scramble: bool = False
    independent_sampler: Optional[Any] = None
    warn_asynchronous_seeding: Optional[bool] = None
    warn_independent_sampling: Optional[bool] = None


@dataclass
class MOTPESamplerConf(SamplerConf):
    """Optuna 4 removed MOTPESampler (the TPE sampler handles several objectives): choosing it is refused."""

    _target_: str = "hydra_plugins.gan_sweeps_optuna.config.motpe_removed"


def motpe_removed(**_: Any) -> Any:
    raise ValueError("hydra/sweeper/sampler=motpe: Optuna 4 removed the MOTPE sampler; use hydra/sweeper/sampler=tpe "
                     "(it handles several objectives)")


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
    """``hydra/sweeper=optuna``: an Optuna study over the sweep overrides, stored so that it can be resumed and
    shared by any number of worker processes (the same command run again, on this machine or others).

    - ``direction``: ``minimize``/``maximize``, or a list of them for a multi-objective study (the task returns
      one value per objective; ``optimization_results.yaml`` holds the Pareto front as ``solutions``).
    - ``n_trials``: the study's size, shared by every worker: together they finish exactly this many trials.
      A re-run of the same command runs only the trials still missing.
    - ``n_jobs``: a batch size within one worker: that many trials are asked, launched together through
      ``hydra/launcher`` (e.g. joblib) and waited for. Workers never wait for each other.
    - ``storage``: null or ``sqlite`` = ``sqlite:///<sweep dir>/optuna.db`` (one machine); ``journal`` =
      ``<sweep dir>/optuna.journal`` (Optuna's journal file: many processes, a shared file system);
      ``journal:PATH``; or any SQLAlchemy URL (``postgresql://user@host/db``: many machines). Keep passwords out
      of the command: ``PGPASSWORD``, ``~/.pgpass``, or ``storage: ${oc.env:OPTUNA_STORAGE}``; a password that
      is given anyway is masked wherever the URL is recorded.
    - ``study_name``: null = a readable slug of the command's fixed overrides plus a hash of them, the search space
      and the direction (the same command always names the same study).
    - ``max_failure_rate``: the study stops (and the command fails) once more than ``max_failure_rate *
      n_trials`` trials have failed (crashed, invalid config, failed run, a value float() refuses); 0 = at the
      first failure (the official plugin's default), 1 = never.
    - ``params``: the search space in Hydra's sweep syntax (``interval(1e-5, 1e-2)``, ``tag(log, interval(...))``,
      ``int(interval(1, 8))``, ``choice(1, 5)``, ``range(1, 4)``, ``a,b,c``); sweep overrides on the command line
      (``k=1,2``) are dimensions too and take precedence over ``params`` for the same key.
    - ``custom_search_space``: a dotted path to ``fn(cfg, trial)`` that suggests further parameters (after
      ``params`` and the command line), e.g. bounds that depend on another parameter.
    - ``repeats`` / ``repeat_key``: run each trial ``repeats`` times with ``<repeat_key>=0..repeats-1`` (e.g.
      ``seed``) and tell the mean; the values, mean, std and n are kept in the trial's user attribute
      ``repeats``; trial N's runs are in folders ``N/0``, ``N/1``, ...
    - ``heartbeat_interval`` / ``grace_period``: seconds between a worker's liveness records, and how long
      another worker waits without seeing one before it gives that worker's running trials up and retries them.
    - ``app_hooks``: the app's hooks (a dotted path to a module, class or object; an app's option ``default`` of
      ``hydra/sweeper/app_hooks`` sets it): a pre-flight check of each trial's config, the status a run recorded
      in its folder (see ``hydra_plugins.gan_sweeps_grid.hooks``).
    """

    defaults: List[Any] = field(default_factory=lambda: ["_self_", {"sampler": "tpe"}, {"pruner": "median"},
                                                         HOOKS_DEFAULT])
    _target_: str = "hydra_plugins.gan_sweeps_optuna.optuna_sweeper.OptunaSweeper"
    _recursive_: bool = False  # sampler/pruner arrive as configs: the grid needs the search space, jobs the pruner
    direction: Any = "minimize"
    n_trials: int = 20
    n_jobs: int = 1
    storage: Optional[str] = None
    study_name: Optional[str] = None
    max_failure_rate: float = 0.0
    sampler: Any = MISSING
    pruner: Any = MISSING
    params: Dict[str, str] = field(default_factory=dict)  # {} (not None), so that overrides can add keys
    custom_search_space: Optional[str] = None
    repeats: int = 1
    repeat_key: Optional[str] = None
    heartbeat_interval: float = 10.0
    grace_period: float = 60.0
    app_hooks: Optional[str] = None


_STORE = ConfigStore.instance()
_STORE.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider=PROVIDER)
for _name, _node in {"tpe": TPESamplerConf, "random": RandomSamplerConf, "grid": GridSamplerConf,
                     "cmaes": CmaEsSamplerConf, "nsgaii": NSGAIISamplerConf, "gp": GPSamplerConf,
                     "qmc": QMCSamplerConf, "motpe": MOTPESamplerConf}.items():
    _STORE.store(group="hydra/sweeper/sampler", name=_name, node=_node, provider=PROVIDER)
for _name, _node in {"none": NopPrunerConf, "median": MedianPrunerConf,
                     "successive_halving": SuccessiveHalvingPrunerConf, "hyperband": HyperbandPrunerConf,
                     "threshold": ThresholdPrunerConf}.items():
    _STORE.store(group="hydra/sweeper/pruner", name=_name, node=_node, provider=PROVIDER)
