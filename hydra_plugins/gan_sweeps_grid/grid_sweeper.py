"""``hydra/sweeper=grid``: Hydra's basic sweeper (the cartesian product of the sweep overrides and
``hydra.sweeper.params``, in batches of ``max_batch_size``) with a pre-flight over the whole grid.

Before any job is launched, every job's config is composed (``config_loader.load_sweep_config``) and handed to
the task function's ``preflight`` attribute, a callable ``preflight(cfg)`` that raises with a one-line message
when the job is invalid (gan-sweeps' task function carries one; an app without it gets Hydra's own composition
check only). If any job fails, nothing starts: the error lists each bad job in one line (job number, overrides,
reason) and the command exits non-zero. An optional ``explain_error(exc, overrides) -> str`` attribute of the
task function turns a composition error (a bad type, an unknown key) into that one line.

``hydra.sweeper.plan=true`` prints the sweep's plan and runs nothing: the task function's ``plan`` attribute, a
callable ``plan(configs, overrides, hydra_config, sweep_dir) -> str`` given every job's composed config (gan-sweeps:
``gan_sweeps.plan``, job count, override lines, device, parallelism and estimated wall times). A sweep that runs
calls it too, with its sweep folder, so it can leave its plan there (``plan.json``).

``hydra.sweeper.repeats=auto`` races the grid's settings over seeds instead (``race.py``: ``hydra.sweeper.race.*``,
``hydra.sweeper.direction``)."""


import logging
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import CompactHydraException
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hydra_plugins.gan_sweeps_grid.race import RaceConfig

log = logging.getLogger(__name__)


@dataclass
class GridSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.gan_sweeps_grid.grid_sweeper.GridSweeper"
    # print the jobs and their estimated wall time (the task function's ``plan``), run nothing
    plan: bool = False
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


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class GridSweeper(BasicSweeper):
    def __init__(self, max_batch_size: Optional[int], params: Optional[dict] = None, plan: bool = False,
                 repeats: Optional[str] = None, direction: Optional[str] = None, race: Any = None) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.plan_only = plan
        self.repeats, self.direction, self.race = repeats, direction, race or RaceConfig()
        self.planner: Optional[Callable[..., str]] = None
        self.preflight: Optional[Callable[[DictConfig], Any]] = None
        self.explain_error: Callable[[BaseException, Sequence[str]], str] = lambda exc, _: _one_line(exc)
        self._checked = False

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.preflight = getattr(task_function, "preflight", None)
        self.explain_error = getattr(task_function, "explain_error", self.explain_error)
        self.planner = getattr(task_function, "plan", None)

    def problems(self, arguments: List[str]) -> tuple[int, list[str]]:
        """(number of jobs, one line per invalid job)."""
        total, lines, _ = self._compose(arguments)
        return total, lines

    def _compose(self, arguments: List[str]) -> tuple[int, list[str], list[tuple[list[str], DictConfig]]]:
        """(number of jobs, one line per invalid job, (overrides, config) of every job that composed)."""
        jobs = grid_jobs(self._parse_config() + list(arguments), self.hydra_context.config_loader)
        lines, composed = [], []
        for num, overrides in enumerate(jobs):
            try:
                cfg = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
            except Exception as exc:  # noqa: BLE001 - a job that cannot be composed is reported, not raised
                lines.append(f"  job {num} ({' '.join(overrides)}): {self.explain_error(exc, overrides)}")
                continue
            composed.append((overrides, cfg))
            if self.preflight is None:
                continue
            try:
                self.preflight(cfg)
            except Exception as exc:  # noqa: BLE001 - the preflight's one-line verdict
                lines.append(f"  job {num} ({' '.join(overrides)}): {_one_line(exc)}")
        return len(jobs), lines, composed

    def sweep(self, arguments: List[str]) -> Any:
        if self.repeats is not None:  # a race (race.py): rounds of seeds until the best setting is separated
            from hydra_plugins.gan_sweeps_grid.race import race_sweep

            return race_sweep(self, arguments)
        if self.preflight is not None or self.plan_only or self.planner is not None:
            total, lines, composed = self._compose(arguments)
            if lines:
                raise PreflightRefused(total, lines)
            log.info("pre-flight: all %d jobs are valid", total)
            self._checked = True
            if self.plan_only:
                if self.planner is None:
                    raise CompactHydraException("hydra.sweeper.plan=true: this app's task function has no plan")
                print(self.planner([c for _, c in composed], [o for o, _ in composed], self.config.hydra, None))
                return []
            if self.planner is not None:
                try:  # the plan of a sweep that runs: plan.json in its folder, for the report
                    self.planner([c for _, c in composed], [o for o, _ in composed], self.config.hydra,
                                 self.config.hydra.sweep.dir)
                except Exception as exc:  # noqa: BLE001 - an estimate never stops a sweep
                    log.warning("no plan.json: %s", _one_line(exc))
        return super().sweep(arguments)

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        if not self._checked:  # the pre-flight composed every job already
            super().validate_batch_is_legal(batch)
