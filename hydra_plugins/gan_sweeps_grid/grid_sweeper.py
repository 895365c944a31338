"""``hydra/sweeper=grid``: Hydra's basic sweeper (the cartesian product of the sweep overrides and
``hydra.sweeper.params``, in batches of ``max_batch_size``) with a pre-flight over the whole grid.

Before any job is launched, every job's config is composed (``config_loader.load_sweep_config``) and handed to
the app's ``preflight`` hook (``hydra.sweeper.app_hooks``, see ``hooks``; without one, composing is the check). If
any job fails, nothing starts: the error lists each bad job in one line (job number, overrides, reason: the
``explain_error`` hook for a composition error) and the command exits non-zero.

``hydra.sweeper.plan=true`` prints the app's ``plan`` hook of every job's composed config and runs nothing (an app
without one is told so). A sweep that runs calls it too, with its sweep folder, so the app can leave its plan there
(gan-sweeps: ``plan.json``).

``hydra.sweeper.repeats=auto`` races the grid's settings over seeds instead (``race.py``: ``hydra.sweeper.race.*``,
``hydra.sweeper.direction``)."""


import logging
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import CompactHydraException
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from .hooks import HOOKS_DEFAULT, check_job, load_app_hooks, one_line
from .race import RaceConfig

log = logging.getLogger(__name__)


@dataclass
class GridSweeperConf(BasicSweeperConf):
    defaults: List[Any] = field(default_factory=lambda: ["_self_", HOOKS_DEFAULT])
    _target_: str = "hydra_plugins.gan_sweeps_grid.grid_sweeper.GridSweeper"
    # print the app's plan of the jobs (its ``plan`` hook), run nothing
    plan: bool = False
    # the app's hooks (pre-flight, plan, ...): a dotted path to a module, class or object (see hooks.py)
    app_hooks: Optional[str] = None
    # auto: race the settings over seeds (race.py); null: the grid as given
    repeats: Optional[str] = None
    direction: Optional[str] = None  # minimize | maximize: the task's return value (a race needs it)
    race: RaceConfig = field(default_factory=RaceConfig)


ConfigStore.instance().store(group="hydra/sweeper", name="grid", node=GridSweeperConf, provider="gan_sweeps")


class PreflightRefused(CompactHydraException):
    """Some jobs of the grid are invalid; the message is a header line and one line per bad job (``lines``)."""

    def __init__(self, total: int, lines: List[str]) -> None:
        self.lines = lines
        super().__init__(f"{len(lines)} of {total} jobs are invalid; nothing was started:\n" + "\n".join(lines))


def grid_jobs(overrides: Sequence[str], config_loader: Any = None) -> List[List[str]]:
    """Every job's overrides, in launch order (job n is ``hydra.job.num`` n), for the params and arguments of a
    sweep (as the basic sweeper expands them: the cartesian product of its sweep overrides)."""
    parsed = OverridesParser.create(config_loader=config_loader).parse_overrides(list(overrides))
    return [list(job) for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


class GridSweeper(BasicSweeper):
    def __init__(self, max_batch_size: Optional[int], params: Optional[dict] = None, plan: bool = False,
                 app_hooks: Optional[str] = None, repeats: Optional[str] = None, direction: Optional[str] = None,
                 race: Any = None) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.plan_only = plan
        self.app_hooks = app_hooks
        self.hooks = load_app_hooks(None)
        self.repeats, self.direction, self.race = repeats, direction, race or RaceConfig()

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.hooks = load_app_hooks(self.app_hooks)

    def _compose(self, arguments: List[str]) -> tuple[int, list[str], list[tuple[list[str], DictConfig]]]:
        """(number of jobs, one line per invalid job, (overrides, config) of every valid job)."""
        jobs = grid_jobs(self._parse_config() + list(arguments), self.hydra_context.config_loader)
        lines, composed = [], []
        for num, overrides in enumerate(jobs):
            cfg, problem = check_job(self.hooks, self.hydra_context.config_loader, self.config, overrides)
            if problem is None:
                composed.append((overrides, cfg))
            else:
                lines.append(f"  job {num} ({' '.join(overrides)}): {problem}")
        return len(jobs), lines, composed

    def sweep(self, arguments: List[str]) -> Any:
        if self.repeats is not None:  # a race (race.py): rounds of seeds until the best setting is separated
            from .race import race_sweep

            return race_sweep(self, arguments)
        total, lines, composed = self._compose(arguments)
        if lines:
            raise PreflightRefused(total, lines)
        log.info("pre-flight: all %d jobs are valid", total)
        configs, overrides = [c for _, c in composed], [o for o, _ in composed]
        if self.plan_only:
            text = self.hooks.plan(configs, overrides, self.config.hydra, None)
            if text is None:
                raise CompactHydraException("hydra.sweeper.plan=true: this app has no plan hook "
                                            "(hydra.sweeper.app_hooks)")
            print(text)
            return []
        try:  # the plan of a sweep that runs: e.g. a file in its folder
            self.hooks.plan(configs, overrides, self.config.hydra, self.config.hydra.sweep.dir)
        except Exception as exc:  # noqa: BLE001 - an estimate never stops a sweep
            log.warning("no plan: %s", one_line(exc))
        return super().sweep(arguments)

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        pass  # the pre-flight composed every job already
