"""The Optuna sweep: ask trials, run them as Hydra jobs through the configured launcher, tell the results.

One sweep, step by step:

1. The search space comes from ``hydra.sweeper.params`` and the command's sweep overrides (``_search_space``).
2. The study is named (``_naming``), given a stable sweep folder ``multirun/optuna/<study_name>/`` when
   ``hydra.sweep.dir`` is Hydra's time-stamped default, and opened with ``load_if_exists`` from ``storage``
   (default ``sqlite:///<sweep folder>/optuna.db``).
3. Resume: trials left RUNNING by an interrupted sweep are marked FAIL and their parameters queued again; the sweep
   then runs ``n_trials`` minus the trials already finished (complete, pruned, or failed as a run).
4. Batches of ``n_jobs`` trials are asked, each trial's overrides (fixed + sampled + its identity, see
   ``trial_link``) launched with ``initial_job_idx`` = trial number, so job folder ``N`` is trial ``N`` and a resumed
   study adds folders beside the old ones, never over them.
5. Each job's return value is told: finite -> COMPLETE; ``metrics.json`` status ``pruned`` (or a ``TrialPruned``
   escaping the task) -> PRUNED; NaN, a crash or a config that does not compose -> FAIL. The sweep never stops for
   a bad trial.
6. ``optimization_results.yaml`` is rewritten after every batch.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Optional, Sequence

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn
from hydra.errors import HydraException
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from optuna.trial import FrozenTrial, Trial, TrialState

from ._naming import stable_sweep_dir, study_name_for
from ._results import summarize, write_results
from ._search_space import SearchSpace, SearchSpaceError, build_search_space, format_value
from .trial_link import NAMESPACE, PRUNER_ATTR, build_pruner, identity_overrides, open_storage, quote

log = logging.getLogger(__name__)

DIRECTIONS = ("minimize", "maximize")
STORAGE_FILE = "optuna.db"
# Trial user attributes the sweeper sets when it tells a trial (a FAIL trial without RUN_STATUS was interrupted,
# not run to its end, and does not count toward n_trials).
RUN_STATUS = "run_status"  # the run's metrics.json status (completed/failed/diverged/pruned), or crashed/invalid
RUN_DIR = "run_dir"  # the job folder, relative to the sweep folder
ERROR = "error"
RETRY_OF = "retry_of"  # set on a trial queued again for an interrupted one


def counts_toward_n_trials(trial: FrozenTrial) -> bool:
    """Finished trials: complete, pruned, or failed after running (not interrupted, not waiting)."""
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and RUN_STATUS in trial.user_attrs)


class OptunaSweeperImpl:
    """The sweeper's state for one ``-m`` invocation (see the module docstring for the flow)."""

    def __init__(self, sampler: Any, pruner: Any, direction: str, n_trials: int, n_jobs: int,
                 storage: Optional[str], study_name: Optional[str], params: Optional[Any]) -> None:
        if str(direction).lower() not in DIRECTIONS:
            raise HydraException(f"hydra.sweeper.direction={direction!r}: must be one of {', '.join(DIRECTIONS)}")
        if int(n_trials) < 1 or int(n_jobs) < 1:
            raise HydraException(f"hydra.sweeper.n_trials={n_trials} and n_jobs={n_jobs} must both be >= 1")
        self.sampler_conf = _plain(sampler)
        self.pruner_conf = _plain(pruner)
        self.direction = str(direction).lower()
        self.n_trials = int(n_trials)
        self.n_jobs = int(n_jobs)
        self.storage = storage
        self.study_name = study_name
        self.params = {str(k): str(v) for k, v in (_plain(params) or {}).items()}
        self.config: Optional[DictConfig] = None
        self.hydra_context: Optional[HydraContext] = None
        self.launcher: Any = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                 task_function=task_function, config=config)

    # ---- the sweep -----------------------------------------------------------------------------------------------
    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        assert self.config is not None and self.hydra_context is not None and self.launcher is not None
        space = self._search_space(arguments)
        groups = set(OmegaConf.select(self.config, "hydra.runtime.choices", default=None) or {})
        name = self.study_name or study_name_for(space.fixed, space.described(), self.direction, groups)
        sweep_dir = Path(self._settle_sweep_dir(name))
        storage_url = self.storage or f"sqlite:///{(sweep_dir / STORAGE_FILE).resolve()}"
        sweep_dir.mkdir(parents=True, exist_ok=True)
        study, sampler = self._open_study(name, storage_url, space)
        self._requeue_interrupted(study)
        self._refuse_unknown_folders(study, sweep_dir, storage_url)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        finished = sum(map(counts_toward_n_trials, study.get_trials(deepcopy=False)))
        remaining = self.n_trials - finished
        log.info("Optuna study %s (%s, %s): %d of %d trials finished, %d to run; trial folders in %s",
                 name, self.direction, storage_url, finished, self.n_trials, max(remaining, 0), sweep_dir)
        if not space.dimensions:
            log.warning("no search dimension (no sweep override and no hydra.sweeper.params): every trial runs the "
                        "same configuration")
        returns: list[Sequence[JobReturn]] = []
        self._write_results(study, storage_url, sweep_dir)
        while remaining > 0:
            if isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study):
                log.info("the grid is exhausted: every combination has been tried")
                break
            batch = [study.ask(space.distributions) for _ in range(min(self.n_jobs, remaining))]
            try:
                returns.append(self._run_batch(study, space, batch, storage_url, sweep_dir))
            except BaseException:
                self._abandon(study, batch)
                raise
            finally:
                self._write_results(study, storage_url, sweep_dir)
            remaining -= len(batch)
        self._log_summary(study)
        return returns

    # ---- set-up steps --------------------------------------------------------------------------------------------
    def _search_space(self, arguments: list[str]) -> SearchSpace:
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{key}={value}" for key, value in self.params.items()]
        try:
            return build_search_space(parser.parse_overrides(params + list(arguments)))
        except SearchSpaceError as exc:
            raise HydraException(str(exc)) from exc

    def _settle_sweep_dir(self, study_name: str) -> str:
        """Give the study a stable folder unless the user chose one, and keep the trial identity out of
        ``override_dirname`` (job names, folder patterns)."""
        hydra_cfg = self.config.hydra
        typed = [str(o) for o in hydra_cfg.overrides.hydra]
        user_set = any(o.lstrip("+").split("=", 1)[0] == "hydra.sweep.dir" for o in typed)
        configured = str(OmegaConf.to_container(hydra_cfg.sweep, resolve=False).get("dir"))
        stable = None if user_set else stable_sweep_dir(configured, study_name)
        excluded = list(hydra_cfg.job.config.override_dirname.exclude_keys or [])
        excluded += [key for key in (f"{NAMESPACE}.storage", f"{NAMESPACE}.study_name", f"{NAMESPACE}.trial")
                     if key not in excluded]
        # Both the value (what this process and the launcher read) and an override (what each job's config is
        # composed from, in any launcher process) carry the change.
        with read_write(hydra_cfg), open_dict(hydra_cfg):
            if stable is not None:
                hydra_cfg.sweep.dir = stable
                hydra_cfg.overrides.hydra.append(f"hydra.sweep.dir={quote(stable)}")
            hydra_cfg.job.config.override_dirname.exclude_keys = excluded
            hydra_cfg.overrides.hydra.append("hydra.job.config.override_dirname.exclude_keys=["
                                             + ",".join(format_value(k) for k in excluded) + "]")
        return str(hydra_cfg.sweep.dir)

    def _open_study(self, name: str, storage_url: str, space: SearchSpace) -> tuple[optuna.Study, Any]:
        sampler = self._build_sampler(space)
        pruner = build_pruner(self.pruner_conf)
        study = optuna.create_study(study_name=name, storage=open_storage(storage_url), sampler=sampler,
                                    pruner=pruner, direction=self.direction, load_if_exists=True)
        if study.direction.name.lower() != self.direction:
            raise HydraException(f"study {name!r} in {storage_url} was created to {study.direction.name.lower()}; "
                                 f"hydra.sweeper.direction={self.direction} needs another study_name")
        study.set_user_attr(PRUNER_ATTR, self.pruner_conf)  # read by the jobs' pruning callback
        objective = OmegaConf.select(self.config, "objective", default=None)
        if objective is not None:
            study.set_user_attr("objective", str(objective))
        return study, sampler

    def _build_sampler(self, space: SearchSpace) -> Any:
        conf = dict(self.sampler_conf or {"_target_": "optuna.samplers.TPESampler"})
        target = str(conf.get("_target_", ""))
        if target.endswith("GridSampler"):
            try:
                conf["search_space"] = space.grid()
            except SearchSpaceError as exc:
                raise HydraException(str(exc)) from exc
            if target == "optuna.samplers.GridSampler":
                conf["_target_"] = f"{__name__}.AskTellGridSampler"
        return instantiate(conf)

    @staticmethod
    def _requeue_interrupted(study: optuna.Study) -> None:
        """Trials still RUNNING belong to a sweep that was stopped (this sweeper runs one process per study): mark
        them FAIL, which does not count toward n_trials, and queue their parameters again."""
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
            log.warning("trial %d was left running by an interrupted sweep: marked FAIL, its parameters queued "
                        "again", trial.number)

    def _refuse_unknown_folders(self, study: optuna.Study, sweep_dir: Path, storage_url: str) -> None:
        """Job folder N is trial N: a numbered folder the study has not reached yet would be overwritten."""
        subdir = str(OmegaConf.to_container(self.config.hydra.sweep, resolve=False).get("subdir"))
        if subdir != "${hydra.job.num}":
            return
        next_number = len(study.get_trials(deepcopy=False))
        clashes = sorted(int(p.name) for p in sweep_dir.iterdir()
                         if p.name.isdigit() and int(p.name) >= next_number and (p / ".hydra").is_dir())
        if clashes:
            raise HydraException(
                f"{sweep_dir} already holds run folders {clashes[:5]} that study {study.study_name!r} in "
                f"{storage_url} does not know (was the storage deleted?); they would be overwritten. Restore the "
                "storage, or choose another hydra.sweep.dir or hydra.sweeper.study_name.")

    # ---- one batch -----------------------------------------------------------------------------------------------
    def _run_batch(self, study: optuna.Study, space: SearchSpace, batch: list[Trial], storage_url: str,
                   sweep_dir: Path) -> list[JobReturn]:
        jobs: list[tuple[Trial, list[str]]] = []
        for trial in batch:
            overrides = space.overrides(trial.params) + identity_overrides(storage_url, study.study_name,
                                                                           trial.number)
            problem = self._composition_error(overrides)
            if problem:
                log.warning("trial %d: its config does not compose (%s): told FAIL", trial.number, problem)
                self._tell(study, trial, TrialState.FAIL, None, status="invalid", error=problem)
            else:
                jobs.append((trial, overrides))
        returns: list[JobReturn] = []
        for group in _consecutive(jobs):
            # initial_job_idx = the first trial's number: job folder N holds trial N.
            results = self.launcher.launch([overrides for _, overrides in group], initial_job_idx=group[0][0].number)
            for (trial, _), ret in zip(group, results):
                state, value, status, error, run_dir = _outcome(ret)
                self._tell(study, trial, state, value, status=status, error=error,
                           run_dir=_relative(run_dir, sweep_dir))
            returns.extend(results)
        return returns

    def _composition_error(self, overrides: list[str]) -> str | None:
        try:
            self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        except Exception as exc:  # noqa: BLE001 - e.g. a sampled group option that does not exist
            return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        return None

    @staticmethod
    def _tell(study: optuna.Study, trial: Trial, state: TrialState, value: float | None, *, status: str,
              error: str | None = None, run_dir: str | None = None) -> None:
        trial.set_user_attr(RUN_STATUS, status)
        if run_dir is not None:
            trial.set_user_attr(RUN_DIR, run_dir)
        if error:
            trial.set_user_attr(ERROR, error[:1000])
        study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
        shown = f"{value:.6g}" if value is not None and state == TrialState.COMPLETE else "-"
        log.info("trial %d %s (run %s%s): value %s, params %s", trial.number, state.name, status,
                 f", folder {run_dir}" if run_dir else "", shown, json.dumps(trial.params, default=str))

    @staticmethod
    def _abandon(study: optuna.Study, batch: list[Trial]) -> None:
        """The sweep is being stopped (Ctrl-C, a launcher error): its unfinished trials become FAIL (not counted)
        and their parameters are queued for the next run of the command."""
        for trial in batch:
            frozen = study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            if RUN_STATUS not in frozen.user_attrs:
                study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})

    # ---- reporting -----------------------------------------------------------------------------------------------
    def _write_results(self, study: optuna.Study, storage_url: str, sweep_dir: Path) -> None:
        objective = OmegaConf.select(self.config, "objective", default=None)
        results = summarize(study, storage=storage_url, objective=None if objective is None else str(objective),
                            n_trials=self.n_trials, counts=counts_toward_n_trials)
        write_results(sweep_dir, results)

    def _log_summary(self, study: optuna.Study) -> None:
        trials = study.get_trials(deepcopy=False)
        by_state = {s.name.lower(): sum(t.state == s for t in trials) for s in TrialState}
        text = ", ".join(f"{n} {s}" for s, n in by_state.items() if n)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if complete:
            best = study.best_trial
            log.info("study %s: %s; best trial %d: value %.6g, params %s", study.study_name, text, best.number,
                     best.value, json.dumps(best.params, default=str))
        else:
            log.info("study %s: %s; no trial completed", study.study_name, text or "no trials")


class AskTellGridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its ``study.stop()`` after the last grid point, which only works inside
    ``Study.optimize`` (with ask/tell it raises); the sweep loop checks ``is_exhausted`` itself."""

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Optional[Sequence[float]]) -> None:
        pass


# ---- helpers -----------------------------------------------------------------------------------------------------
def _plain(node: Any) -> Any:
    """A DictConfig (or None) as plain Python containers."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _consecutive(jobs: list[tuple[Trial, list[str]]]) -> list[list[tuple[Trial, list[str]]]]:
    """Split jobs into runs of consecutive trial numbers (one launch each, so job number = trial number)."""
    groups: list[list[tuple[Trial, list[str]]]] = []
    for job in jobs:
        if groups and groups[-1][-1][0].number + 1 == job[0].number:
            groups[-1].append(job)
        else:
            groups.append([job])
    return groups


def _run_dir_of(ret: JobReturn) -> Path | None:
    output_dir = OmegaConf.select(ret.hydra_cfg, "hydra.runtime.output_dir", default=None) if ret.hydra_cfg else None
    return Path(output_dir) if output_dir else None


def _recorded_status(run_dir: Path | None) -> str | None:
    """The ``status`` a gan-sweeps run wrote in its ``metrics.json`` (None when there is none)."""
    if run_dir is None:
        return None
    try:
        record = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return str(record.get("status")) if isinstance(record, dict) and record.get("status") else None


def _outcome(ret: JobReturn) -> tuple[TrialState, float | None, str, str | None, Path | None]:
    """``(state, value, status, error, run_dir)`` of a finished job."""
    run_dir = _run_dir_of(ret)
    status = _recorded_status(run_dir)
    try:
        value = ret.return_value
    except Exception as exc:  # noqa: BLE001 - the task raised: a failed trial, not a failed sweep
        if type(exc).__name__ == "TrialPruned":
            return TrialState.PRUNED, None, "pruned", None, run_dir
        return TrialState.FAIL, None, status or "crashed", f"{type(exc).__name__}: {exc}", run_dir
    if status == "pruned":
        return TrialState.PRUNED, None, status, None, run_dir
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is not None and math.isfinite(number):
        return TrialState.COMPLETE, float(number), status or "completed", None, run_dir
    error = f"the task returned {value!r}" + (f" (run status {status})" if status else "")
    return TrialState.FAIL, None, status or "no value", error, run_dir


def _relative(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return os.path.relpath(path, root)
    except ValueError:  # another drive (Windows)
        return str(path)
