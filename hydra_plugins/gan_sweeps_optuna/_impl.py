"""The Optuna sweep of one worker: ask trials, run them as Hydra jobs through the configured launcher, tell them.

Any number of workers (the same command, on one machine or many) share one study:

1. The search space comes from ``hydra.sweeper.params`` and the command's sweep overrides (``_search_space``).
2. The study is named (``_naming``), given a stable sweep folder ``multirun/optuna/<study_name>/`` when
   ``hydra.sweep.dir`` is Hydra's time-stamped default, and created once under the study lock (``_study_storage``),
   which every worker also holds while it decides what to run next.
3. This worker's liveness is kept fresh by a thread (``_workers``): a trial is retried only when its worker is
   gone.
4. Each step, under the lock: trials of workers that are gone are told FAIL and re-queued; the study stops once
   failures exceed ``max_failure_rate * n_trials``; this worker asks up to ``n_jobs`` of the trials still
   missing from ``n_trials`` (finished + running + queued trials of every worker count), or waits while other
   workers' trials run, or ends when the study is complete.
5. Each trial's overrides (fixed + sampled + its trial link, see ``trial_link``) are composed and checked by the
   app's ``preflight`` hook (``hydra.sweeper.app_hooks``, see ``gan_sweeps_grid.hooks``): a refused trial is told
   FAIL (``run_status: invalid``) without being launched. The others are launched with ``initial_job_idx`` = trial
   number, so job folder ``N`` is trial ``N`` (a trial's repeats: ``N/0``, ``N/1``, ...), and told from their
   return values and the ``run_status`` hook (``_outcome``).
6. ``optimization_results.yaml`` is rewritten after every batch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn
from hydra.errors import CompactHydraException
from hydra.types import HydraContext, TaskFunction
from hydra.utils import get_method, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict, read_write
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, Trial, TrialState

from hydra_plugins.gan_sweeps_grid.hooks import AppHooks, check_job, load_app_hooks

from ._naming import stable_sweep_dir, study_name_for
from ._outcome import FAILURE_STATUSES, Outcome, job_outcome, repeats_outcome
from ._results import ERROR, REPEATS, RUN_DIR, RUN_STATUS, summarize, write_atomically, write_results
from ._search_space import SearchSpace, SearchSpaceError, build_search_space, format_value
from ._study_storage import StorageError, StorageSpec
from ._workers import LOST, Worker, requeue
from .trial_link import NAMESPACE, PRUNER_ATTR, build_pruner, link_override, quote

log = logging.getLogger(__name__)

DIRECTIONS = ("minimize", "maximize")


class SweepError(CompactHydraException):
    """A sweep that cannot start or go on; Hydra prints its one-line message, no traceback."""


def counts_toward_n_trials(trial: FrozenTrial) -> bool:
    """Finished trials: complete, pruned, or failed after running (not interrupted, not lost, not waiting)."""
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and RUN_STATUS in trial.user_attrs)


def is_failure(trial: FrozenTrial) -> bool:
    """A trial that counts against ``max_failure_rate`` (see ``_outcome``)."""
    return trial.state == TrialState.FAIL and trial.user_attrs.get(RUN_STATUS) in FAILURE_STATUSES


class OptunaSweeperImpl:
    """The sweeper's state for one ``-m`` invocation (see the module docstring for the flow)."""

    def __init__(self, sampler: Any, pruner: Any, direction: Any, n_trials: int, n_jobs: int,
                 storage: Optional[str], study_name: Optional[str], params: Optional[Any],
                 max_failure_rate: float = 0.0, custom_search_space: Optional[str] = None, repeats: int = 1,
                 repeat_key: Optional[str] = None, heartbeat_interval: float = 10.0,
                 grace_period: float = 60.0, app_hooks: Optional[str] = None) -> None:
        self.directions = _directions(direction)
        if int(n_trials) < 1 or int(n_jobs) < 1:
            raise SweepError(f"hydra.sweeper.n_trials={n_trials} and n_jobs={n_jobs} must both be >= 1")
        if not 0.0 <= float(max_failure_rate) <= 1.0:
            raise SweepError(f"hydra.sweeper.max_failure_rate={max_failure_rate}: must be in [0, 1]")
        if int(repeats) < 1 or (int(repeats) > 1 and not repeat_key):
            raise SweepError(f"hydra.sweeper.repeats={repeats}: must be >= 1, and > 1 needs "
                                 "hydra.sweeper.repeat_key (the override each repeat sets, e.g. seed)")
        self.sampler_conf = _plain(sampler)
        self.pruner_conf = _plain(pruner)
        self.n_trials = int(n_trials)
        self.n_jobs = int(n_jobs)
        self.storage = storage
        self.study_name = study_name
        self.params = {str(k): str(v) for k, v in (_plain(params) or {}).items()}
        self.max_failure_rate = float(max_failure_rate)
        self.extender: Optional[Callable[[DictConfig, Trial], None]] = None
        if custom_search_space:
            try:
                self.extender = get_method(custom_search_space)
            except Exception as exc:  # noqa: BLE001
                raise SweepError(f"hydra.sweeper.custom_search_space={custom_search_space}: cannot load it "
                                     f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
                                     ) from None
        self.repeats = int(repeats)
        self.repeat_key = str(repeat_key) if repeat_key else None
        self.heartbeat_interval = float(heartbeat_interval)
        self.grace_period = float(grace_period)
        self.config: Optional[DictConfig] = None
        self.hydra_context: Optional[HydraContext] = None
        self.launcher: Any = None
        self.app_hooks = app_hooks
        self.hooks = AppHooks()

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.hooks = load_app_hooks(self.app_hooks)
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                 task_function=task_function, config=config)

    # ---- the sweep -----------------------------------------------------------------------------------------------
    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        assert self.config is not None and self.hydra_context is not None and self.launcher is not None
        space = self._search_space(arguments)
        self._check_repeats(space)
        groups = set(OmegaConf.select(self.config, "hydra.runtime.choices", default=None) or {})
        direction_text = self.directions[0] if len(self.directions) == 1 else ",".join(self.directions)
        name = self.study_name or study_name_for(space.fixed, space.described(), direction_text, groups)
        sweep_dir = Path(self._settle_sweep_dir(name))
        try:
            spec = StorageSpec.parse(self.storage, sweep_dir)
        except StorageError as exc:
            raise SweepError(str(exc)) from None
        self._keep_password_out_of_records(spec)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        sampler = self._build_sampler(space)
        n_trials = self._capped_n_trials(sampler, space)
        if not 0 < self.heartbeat_interval < self.grace_period:
            raise SweepError(f"hydra.sweeper.heartbeat_interval={self.heartbeat_interval} and grace_period="
                             f"{self.grace_period}: need 0 < heartbeat_interval < grace_period")
        try:
            with spec.lock():  # an empty database's tables are created once (optuna#1092)
                storage = spec.open(heartbeat_interval=self.heartbeat_interval, grace_period=self.grace_period,
                                    heartbeat_stale_trial_callback=requeue)
            study = self._open_study(spec, storage, name, sampler)
            worker = Worker(study, storage, spec.lock, self.heartbeat_interval, self.grace_period)
        except (StorageError, ValueError) as exc:
            raise SweepError(spec.redact(str(exc))) from None
        with spec.lock():
            self._refuse_unknown_folders(study, sweep_dir, spec)
        write_atomically(sweep_dir / "multirun.yaml", OmegaConf.to_yaml(self.config))  # workers write it too
        run = _Run(self, study, space, spec, sweep_dir, worker, n_trials)
        worker.start()
        try:
            returns = run.loop()
        finally:
            worker.stop()
            run.write_results()
        run.finish()
        return returns

    # ---- set-up steps --------------------------------------------------------------------------------------------
    def _search_space(self, arguments: list[str]) -> SearchSpace:
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{key}={value}" for key, value in self.params.items()]
        try:
            return build_search_space(parser.parse_overrides(params + list(arguments)))
        except SearchSpaceError as exc:
            raise SweepError(str(exc)) from exc

    def _check_repeats(self, space: SearchSpace) -> None:
        if self.repeat_key is None:
            return
        key = self.repeat_key.lstrip("+")
        if key in space.dimensions or key in space.fixed_keys:
            raise SweepError(f"hydra.sweeper.repeat_key={key}: {key} is also set by the command or params; "
                                 "the repeats set it to 0..repeats-1 themselves")
        if len(self.directions) == 1 and str((self.pruner_conf or {}).get("_target_", "")).split(".")[-1] not in (
                "NopPruner", ""):
            raise SweepError(f"hydra.sweeper.repeats={self.repeats}: a trial with repeats cannot be pruned "
                                 "(each repeat is its own run): add hydra/sweeper/pruner=none")
        subdir = str(OmegaConf.to_container(self.config.hydra.sweep, resolve=False).get("subdir"))
        if subdir != "${hydra.job.num}":
            raise SweepError(f"hydra.sweeper.repeats: the repeats of trial N go to N/0, N/1, ...; "
                                 f"hydra.sweep.subdir={subdir} would be ignored: leave it at its default")

    def _settle_sweep_dir(self, study_name: str) -> str:
        """Give the study a stable folder unless the user chose one, and keep the trial link out of
        ``override_dirname`` (job names, folder patterns)."""
        hydra_cfg = self.config.hydra
        typed = [str(o) for o in hydra_cfg.overrides.hydra]
        user_set = any(o.lstrip("+").split("=", 1)[0] == "hydra.sweep.dir" for o in typed)
        configured = str(OmegaConf.to_container(hydra_cfg.sweep, resolve=False).get("dir"))
        stable = None if user_set else stable_sweep_dir(configured, study_name)
        excluded = list(hydra_cfg.job.config.override_dirname.exclude_keys or [])
        excluded += [key for key in (f"{NAMESPACE}.trial",) if key not in excluded]
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

    def _keep_password_out_of_records(self, spec: StorageSpec) -> None:
        """A storage password typed into the config or the command is masked in the config this process saves
        (multirun.yaml), passes to every job (.hydra/hydra.yaml) and shows as its command line (``sys.argv``, which
        W&B records); the jobs get the URL from the environment."""
        if not spec.password:
            return
        hydra_cfg = self.config.hydra
        with read_write(hydra_cfg), open_dict(hydra_cfg):
            raw = OmegaConf.to_container(hydra_cfg.sweeper, resolve=False).get("storage")
            if isinstance(raw, str) and spec.password in raw:
                hydra_cfg.sweeper.storage = spec.shown
            hydra_cfg.overrides.hydra = [
                f"hydra.sweeper.storage={quote(spec.shown)}" if o.lstrip("+").startswith("hydra.sweeper.storage=")
                and spec.password in o else o for o in hydra_cfg.overrides.hydra]
        sys.argv[:] = [spec.redact(arg) for arg in sys.argv]  # what tools record as "the command" (W&B's args)
        spec.export_for_jobs()
        log.warning("the storage URL holds a password: it is masked in every record, but it stays in your shell "
                    "history; prefer PGPASSWORD, ~/.pgpass or hydra.sweeper.storage='${oc.env:OPTUNA_STORAGE}'")

    def _open_study(self, spec: StorageSpec, storage: Any, name: str, sampler: Any) -> optuna.Study:
        """Create the study once, under the study lock, or load it."""
        pruner = build_pruner(self.pruner_conf)
        with spec.lock():
            study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                        directions=self.directions, load_if_exists=True)
            stored = [d.name.lower() for d in study.directions]
            if stored != self.directions:
                raise SweepError(f"study {name!r} in {spec.shown} was created to {stored}; "
                                     f"hydra.sweeper.direction={self.directions} needs another study_name")
            if study.user_attrs.get(PRUNER_ATTR) != self.pruner_conf:
                study.set_user_attr(PRUNER_ATTR, self.pruner_conf)  # read by the jobs' open_trial
            objective = OmegaConf.select(self.config, "objective", default=None)
            if objective is not None and study.user_attrs.get("objective") != _plain(objective):
                study.set_user_attr("objective", _plain(objective))
        return study

    def _build_sampler(self, space: SearchSpace) -> Any:
        conf = {k: v for k, v in (self.sampler_conf or {"_target_": "optuna.samplers.TPESampler"}).items()
                if v is not None}  # null = Optuna's default
        target = str(conf.get("_target_", ""))
        if target.endswith("GridSampler"):
            try:
                conf["search_space"] = space.grid()
            except SearchSpaceError as exc:
                raise SweepError(str(exc)) from exc
            conf.pop("_partial_", None)
            if target == "optuna.samplers.GridSampler":
                conf["_target_"] = f"{__name__}.AskTellGridSampler"
        try:
            return instantiate(conf)
        except Exception as exc:  # noqa: BLE001 - e.g. motpe, a wrong key: one line naming the sampler
            cause = exc.__cause__ or exc
            raise SweepError(f"hydra.sweeper.sampler ({target}): {cause}") from None

    def _capped_n_trials(self, sampler: Any, space: SearchSpace) -> int:
        if not isinstance(sampler, optuna.samplers.GridSampler):
            return self.n_trials
        size = math.prod(len(values) for values in space.grid().values())
        if size < self.n_trials:
            log.info("the grid has %d combinations: n_trials %d -> %d", size, self.n_trials, size)
        return min(self.n_trials, size)

    def _refuse_unknown_folders(self, study: optuna.Study, sweep_dir: Path, spec: StorageSpec) -> None:
        """Job folder N is trial N: a numbered folder the study has not reached yet would be overwritten."""
        subdir = str(OmegaConf.to_container(self.config.hydra.sweep, resolve=False).get("subdir"))
        if subdir != "${hydra.job.num}":
            return
        next_number = len(study.get_trials(deepcopy=False))
        clashes = sorted(int(p.name) for p in sweep_dir.iterdir() if p.name.isdigit() and int(p.name) >= next_number
                         and ((p / ".hydra").is_dir() or (p / "0" / ".hydra").is_dir()))
        if clashes:
            raise SweepError(
                f"{sweep_dir} already holds run folders {clashes[:5]} that study {study.study_name!r} in "
                f"{spec.shown} does not know (was the storage deleted?); they would be overwritten. Restore the "
                "storage, or choose another hydra.sweep.dir or hydra.sweeper.study_name.")

    def composed(self, overrides: list[str]) -> str | None:
        """None when the job's config composes and passes the app's preflight, else the one-line reason."""
        return check_job(self.hooks, self.hydra_context.config_loader, self.config, overrides)[1]


class _Run:
    """One worker's loop over a study (see the module docstring)."""

    def __init__(self, sweeper: OptunaSweeperImpl, study: optuna.Study, space: SearchSpace, spec: StorageSpec,
                 sweep_dir: Path, worker: Worker, n_trials: int) -> None:
        self.sweeper = sweeper
        self.study = study
        self.space = space
        self.spec = spec
        self.sweep_dir = sweep_dir
        self.worker = worker
        self.n_trials = n_trials
        self.objectives = len(sweeper.directions)
        # Intermediate values need one run per trial and one objective (Optuna has no multi-objective report).
        self.link_storage = spec.shown if self.objectives == 1 and sweeper.repeats == 1 else None
        self.ran = 0

    # ---- the loop ------------------------------------------------------------------------------------------------
    def loop(self) -> list[Sequence[JobReturn]]:
        returns: list[Sequence[JobReturn]] = []
        announced = False
        while True:
            batch, state = self._reserve()
            if not announced:
                self._announce(state)
                announced = True
            if batch is None:
                return returns
            if not batch:  # other workers' trials are still running: one of them may need a retry
                time.sleep(self.worker.interval)
                continue
            try:
                returns.append(self._run_batch(batch))
            except BaseException:
                self._abandon(batch)
                raise
            finally:
                self.write_results()

    def _reserve(self) -> tuple[list[Trial] | None, dict[str, int]]:
        """Under the study lock: retry lost trials, stop on too many failures, then ask this worker's next
        trials: ``None`` when the study is done, ``[]`` while only other workers' trials are left."""
        with self.spec.lock():
            self.worker.retry_lost()
            trials = self.study.get_trials(deepcopy=False)
            state = {"finished": sum(map(counts_toward_n_trials, trials)),
                     "running": sum(t.state == TrialState.RUNNING for t in trials),
                     "waiting": sum(t.state == TrialState.WAITING for t in trials)}
            self._check_failures(trials)
            free = max(self.n_trials - state["finished"] - state["running"] - state["waiting"], 0)
            count = min(self.sweeper.n_jobs, free + state["waiting"])
            if count == 0:
                return (None if state["running"] == 0 or state["finished"] >= self.n_trials else []), state
            batch = []
            for _ in range(count):
                with warnings.catch_warnings():  # ask/tell workers keep the RDB heartbeat themselves (_workers)
                    warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used", UserWarning)
                    trial = self.study.ask(self.space.distributions)
                self.worker.own(trial)
                batch.append(trial)
                self._extend(trial)
            return batch, state

    def _extend(self, trial: Trial) -> None:
        """``custom_search_space``: the user's function suggests more parameters on the trial."""
        if self.sweeper.extender is None:
            return
        self.sweeper.extender(self.sweeper.config, trial)
        overlap = sorted(set(trial.params) & self.space.fixed_keys)
        if overlap:
            raise SweepError(f"hydra.sweeper.custom_search_space suggested {overlap}, which the command or "
                                 "params fix: a parameter is either fixed or searched")

    def _check_failures(self, trials: Sequence[FrozenTrial]) -> None:
        failed = [t for t in trials if is_failure(t)]
        allowed = math.floor(self.sweeper.max_failure_rate * self.n_trials + 1e-9)
        if len(failed) > allowed:
            last = max(failed, key=lambda t: t.number)
            raise SweepError(
                f"study {self.study.study_name}: {len(failed)} trials failed, more than max_failure_rate="
                f"{self.sweeper.max_failure_rate} x n_trials={self.n_trials} allows ({allowed}): stopped. Last: trial "
                f"{last.number} ({last.user_attrs.get(RUN_STATUS)}): {last.user_attrs.get(ERROR, '')}")

    def _announce(self, state: dict[str, int]) -> None:
        left = max(self.n_trials - state["finished"], 0)
        log.info("Optuna study %s (%s, %s): %d of %d trials finished, %d running elsewhere; trial folders in %s",
                 self.study.study_name, ",".join(self.sweeper.directions), self.spec.shown, state["finished"],
                 self.n_trials, state["running"], self.sweep_dir)
        if left == 0:
            log.warning("study %s already has its %d trials: 0 trials run (re-running a command resumes its study: "
                        "raise hydra.sweeper.n_trials to run more, or choose another study_name or hydra.sweep.dir)",
                        self.study.study_name, self.n_trials)
        if not self.space.dimensions and self.sweeper.extender is None:
            log.warning("no search dimension (no sweep override and no hydra.sweeper.params): every trial runs the "
                        "same configuration")

    # ---- one batch -----------------------------------------------------------------------------------------------
    def _jobs_of(self, trial: Trial) -> list[list[str]]:
        """The overrides of ``trial``'s jobs: one, or one per repeat (folder N/r)."""
        base = self.space.overrides(trial.params)
        name, number = self.study.study_name, trial.number
        if self.sweeper.repeats == 1:
            repeat_key = [] if self.sweeper.repeat_key is None else [f"{self.sweeper.repeat_key}=0"]
            return [base + repeat_key + [link_override(name, number, storage=self.link_storage)]]
        return [base + [f"{self.sweeper.repeat_key}={r}", link_override(name, number, repeat=r),
                        f"hydra.sweep.subdir={number}/{r}"] for r in range(self.sweeper.repeats)]

    def _run_batch(self, batch: list[Trial]) -> list[JobReturn]:
        runnable: list[tuple[Trial, list[list[str]]]] = []
        for trial in batch:
            jobs = self._jobs_of(trial)
            problem = next(filter(None, map(self.sweeper.composed, jobs)), None)
            if problem:
                log.warning("trial %d: refused before launch (%s): told FAIL", trial.number, problem)
                self._tell(trial, Outcome(TrialState.FAIL, None, "invalid", problem))
            else:
                runnable.append((trial, jobs))
        returns: list[JobReturn] = []
        repeats = self.sweeper.repeats
        for group in _consecutive(runnable):
            # initial_job_idx = the first trial's number (times the repeats): job folder N holds trial N.
            overrides = [job for _, jobs in group for job in jobs]
            results = list(self.sweeper.launcher.launch(overrides, initial_job_idx=group[0][0].number * repeats))
            for index, (trial, _) in enumerate(group):
                mine = results[index * repeats:(index + 1) * repeats]
                outcomes = [job_outcome(ret, self.objectives, self.sweeper.hooks.run_status) for ret in mine]
                if repeats == 1:
                    outcome = outcomes[0]
                else:
                    outcome = repeats_outcome(outcomes, self.sweeper.repeat_key, self.sweep_dir / str(trial.number))
                self._tell(trial, outcome)
            returns.extend(results)
        self.ran += len(batch)
        return returns

    def _tell(self, trial: Trial, outcome: Outcome) -> None:
        run_dir = _relative(outcome.run_dir, self.sweep_dir)
        try:
            trial.set_user_attr(RUN_STATUS, outcome.status)
            if run_dir is not None:
                trial.set_user_attr(RUN_DIR, run_dir)
            if outcome.error:
                trial.set_user_attr(ERROR, self.spec.redact(outcome.error)[:1000])
            if outcome.repeats is not None:
                trial.set_user_attr(REPEATS, outcome.repeats)
            values = outcome.values if outcome.state == TrialState.COMPLETE else None
            self.study.tell(trial, values, state=outcome.state)
        except UpdateFinishedTrialError:
            lost = self.worker.storage.get_trial(self.worker.trial_id(trial.number)).system_attrs.get(LOST, "")
            log.warning("trial %d was given up by another worker while it ran (%s); its run in %s is kept but not "
                        "told", trial.number, lost, run_dir)
            return
        finally:
            self.worker.done(trial.number)
        shown = ", ".join(f"{v:.6g}" for v in outcome.values) if values else "-"
        log.info("trial %d %s (run %s%s): value %s, params %s", trial.number, outcome.state.name, outcome.status,
                 f", folder {run_dir}" if run_dir else "", shown, json.dumps(trial.params, default=str))

    def _abandon(self, batch: list[Trial]) -> None:
        """The worker is being stopped (Ctrl-C, a launcher error): its unfinished trials become FAIL (not counted)
        and their parameters are queued for a worker that goes on, or the next run of the command."""
        try:
            with self.spec.lock():
                for trial in batch:
                    with contextlib.suppress(UpdateFinishedTrialError):  # told meanwhile: kept as told
                        self.worker.storage.set_trial_system_attr(self.worker.trial_id(trial.number), LOST,
                                                                  "its worker was stopped")
                    frozen = self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                    self.worker.done(trial.number)
                    if RUN_STATUS not in frozen.user_attrs:
                        requeue(self.study, frozen, "this worker was stopped")
        except Exception as exc:  # noqa: BLE001 - the storage is gone too: the others will see this worker gone
            log.warning("could not give this worker's trials back: %s", self.spec.redact(str(exc)))

    # ---- the end -------------------------------------------------------------------------------------------------
    def write_results(self) -> None:
        objective = OmegaConf.select(self.sweeper.config, "objective", default=None)
        repeats = {"key": self.sweeper.repeat_key, "n": self.sweeper.repeats} if self.sweeper.repeats > 1 else None
        try:
            results = summarize(self.study, storage=self.spec.shown, objective=_plain(objective),
                                n_trials=self.n_trials, counts=counts_toward_n_trials, failed=is_failure,
                                repeats=repeats)
            write_results(self.sweep_dir, results)
        except Exception as exc:  # noqa: BLE001 - never hide the sweep's own error behind its summary
            log.warning("could not write optimization_results.yaml: %s", self.spec.redact(str(exc)))

    def finish(self) -> None:
        trials = self.study.get_trials(deepcopy=False)
        by_state = {s.name.lower(): sum(t.state == s for t in trials) for s in TrialState}
        text = ", ".join(f"{n} {s}" for s, n in by_state.items() if n)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if self.objectives > 1 and complete:
            front = self.study.best_trials
            log.info("study %s: %s; Pareto front of %d trials: %s", self.study.study_name, text, len(front),
                     "; ".join(f"trial {t.number} {t.values} {json.dumps(t.params, default=str)}" for t in front))
        elif complete:
            best = self.study.best_trial
            log.info("study %s: %s; best trial %d: value %.6g, params %s", self.study.study_name, text, best.number,
                     best.value, json.dumps(best.params, default=str))
        elif not any(t.state == TrialState.PRUNED for t in trials):
            last = max(trials, key=lambda t: t.number, default=None)
            detail = f"; last: trial {last.number}: {last.user_attrs.get(ERROR, last.state.name)}" if last else ""
            raise SweepError(f"study {self.study.study_name}: no trial completed ({text or 'no trials'})"
                                 f"{detail}")
        else:
            log.info("study %s: %s; no trial completed", self.study.study_name, text)


class AskTellGridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its ``study.stop()`` after the last grid point, which only works inside
    ``Study.optimize`` (with ask/tell it raises); ``n_trials`` is capped at the grid's size instead."""

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Optional[Sequence[float]]) -> None:
        pass


# ---- helpers -----------------------------------------------------------------------------------------------------
def _directions(direction: Any) -> list[str]:
    items = list(direction) if isinstance(direction, (list, tuple, ListConfig)) else [direction]
    names = [getattr(d, "name", d) for d in items]  # the official plugin's Direction enum too
    names = [str(n).lower() for n in names]
    if not names or any(n not in DIRECTIONS for n in names):
        raise SweepError(f"hydra.sweeper.direction={direction!r}: must be minimize, maximize, or a list of them")
    return names


def _plain(node: Any) -> Any:
    """A DictConfig/ListConfig (or None) as plain Python containers."""
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _consecutive(jobs: list[tuple[Trial, Any]]) -> list[list[tuple[Trial, Any]]]:
    """Split jobs into runs of consecutive trial numbers (one launch each, so job number = trial number)."""
    groups: list[list[tuple[Trial, Any]]] = []
    for job in jobs:
        if groups and groups[-1][-1][0].number + 1 == job[0].number:
            groups[-1].append(job)
        else:
            groups.append([job])
    return groups


def _relative(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return os.path.relpath(path, root)
    except ValueError:  # another drive (Windows)
        return str(path)
