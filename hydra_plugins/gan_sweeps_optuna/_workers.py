"""Liveness of the worker processes sharing a study: a trial whose worker is gone is told FAIL and its parameters
are queued again by Optuna's :class:`~optuna.storages.RetryHeartbeatStaleTrialCallback` (at most
:data:`MAX_RETRIES` times per parameters; the retry's ``retry_history`` names the trials it repeats).

- RDB storages (SQLite, PostgreSQL, MySQL): Optuna's own heartbeat. The storage is opened with
  ``heartbeat_interval``, ``grace_period`` and the retry callback (:meth:`StorageSpec.open`); this worker records
  a heartbeat for each trial it runs every ``heartbeat_interval`` seconds, from a thread of its own (Optuna's
  heartbeat thread runs inside ``Study.optimize`` only, and our workers ask and tell), and
  ``optuna.storages.fail_stale_trials`` fails the trials whose heartbeat is older than ``grace_period`` (by the
  database's clock).
- Journal files: Optuna has no heartbeat for them, so the workers keep their own record in the study. Each worker
  writes a study system attribute ``worker:<id>`` = ``{host, pid, ..., beat}`` every ``heartbeat_interval``
  seconds; a RUNNING trial's worker is gone when its process no longer exists (same host name and PID namespace,
  checked with the process's start time, so a reused PID is not mistaken for it), when it has no record, or when
  its ``beat`` has not changed for ``grace_period`` seconds *as timed by the observing worker's own clock* (so
  clocks of different machines never need to agree).

Every trial a worker asks carries the trial system attribute ``worker`` = its id (set in the study-locked step
of the ask); a trial given up carries ``lost`` = why, where the sweeper knows it."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, Callable

import optuna
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

log = logging.getLogger(__name__)

WORKER_PREFIX = "worker:"  # study system attribute: one worker's liveness record (journal files)
OWNER = "worker"  # trial system attribute: the worker running the trial
LOST = "lost"  # trial system attribute of a trial given up: why
MAX_RETRIES = 2
STALE = "its heartbeat is older than hydra.sweeper.grace_period"  # the reason Optuna's heartbeat gives


def retry_history(trial: FrozenTrial) -> list[int]:
    """The numbers of the trials that ``trial`` retries, oldest first ([] for a first attempt)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback.retry_history(trial)


def requeue(study: optuna.Study, trial: FrozenTrial, why: str = STALE) -> None:
    """Queue the parameters of ``trial``, which was told FAIL, again (Optuna's retry callback)."""
    if len(retry_history(trial)) >= MAX_RETRIES:
        log.warning("trial %d did not end: %s; its parameters were already retried %d times: not queued again",
                    trial.number, why, MAX_RETRIES)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)(study, trial)
    log.warning("trial %d did not end: %s; its parameters are queued again", trial.number, why)


def _process_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _process_alive(pid: int, started: str | None) -> bool:
    fields = _process_fields(pid)
    return fields is not None and fields[0] != "Z" and (started is None or fields[19] == started)


def identity() -> dict[str, Any]:
    """This process, as its liveness record names it (``started``: its start time in clock ticks since boot)."""
    pid = os.getpid()
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = None
    fields = _process_fields(pid)
    return {"host": socket.gethostname(), "pid_namespace": namespace, "pid": pid,
            "started": fields[19] if fields else None}


class Worker:
    """This process's liveness in ``study`` (opened on ``storage``), kept fresh by a daemon thread that also
    retries the trials of workers that are gone (``lock`` is the study lock)."""

    def __init__(self, study: optuna.Study, storage: Any, lock: Callable[[], Any], interval: float,
                 grace: float) -> None:
        self.study = study
        self.storage = storage
        self.study_id = storage.get_study_id_from_name(study.study_name)
        self.optuna_heartbeat = isinstance(storage, optuna.storages.RDBStorage)
        self.lock = lock
        self.interval = float(interval)
        self.grace = float(grace)
        self.me = identity()
        self.id = f"{self.me['host']}:{self.me['pid']}:{uuid.uuid4().hex[:8]}"
        self.beats = 0
        self.running: dict[int, int] = {}  # trial number -> trial id, of the trials this worker runs
        self._seen: dict[str, tuple[Any, float]] = {}  # other worker -> (its last beat, when we first saw it)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

    # ---- this worker ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.beat()
        self._thread = threading.Thread(target=self._run, name="optuna-worker-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.beat(stopped=True)
        except Exception as exc:  # noqa: BLE001 - the storage is gone: the others will find this process ended
            log.warning("could not record this worker's end: %s: %s", type(exc).__name__, exc)

    def beat(self, stopped: bool = False) -> None:
        self.beats += 1
        if self.optuna_heartbeat:
            for trial_id in list(self.running.values()):
                self.storage.record_heartbeat(trial_id)
            return
        record = {**self.me, "beat": self.beats, "time": time.time(), "stopped": stopped}
        self.storage.set_study_system_attr(self.study_id, WORKER_PREFIX + self.id, record)

    def own(self, trial: optuna.Trial) -> None:
        """Mark ``trial`` as run by this worker (call it in the study-locked step that asked it)."""
        trial_id = self.running[trial.number] = self.trial_id(trial.number)
        self.storage.set_trial_system_attr(trial_id, OWNER, self.id)
        if self.optuna_heartbeat:
            self.storage.record_heartbeat(trial_id)

    def done(self, number: int) -> None:
        self.running.pop(number, None)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
                with self.lock():
                    self.retry_lost()
            except Exception as exc:  # noqa: BLE001 - a storage hiccup: the next beat tries again
                log.warning("worker heartbeat: %s: %s", type(exc).__name__, exc)

    # ---- the others ----------------------------------------------------------------------------------------------
    def gone(self, owner: str | None, records: dict[str, Any], now: float) -> str | None:
        """Why the worker ``owner`` is gone, or None while it may be alive (journal files)."""
        if owner is None:
            return "no worker owns it (its worker stopped before marking it)"
        if owner == self.id:
            return None
        record = records.get(WORKER_PREFIX + owner)
        if not isinstance(record, dict):
            return f"worker {owner} has no liveness record"
        if record.get("stopped"):
            return f"worker {owner} ended without telling it"
        if (record.get("host"), record.get("pid_namespace")) == (self.me["host"], self.me["pid_namespace"]) \
                and record.get("pid_namespace") and not _process_alive(int(record["pid"]), record.get("started")):
            return f"worker {owner} (pid {record['pid']} on this machine) is no longer running"
        seen = self._seen.get(owner)
        if seen is None or seen[0] != record.get("beat"):
            self._seen[owner] = (record.get("beat"), now)
            return None
        if now - seen[1] > self.grace:
            return f"worker {owner} has not recorded a heartbeat for {now - seen[1]:.0f} s"
        return None

    def retry_lost(self) -> list[tuple[FrozenTrial, str]]:
        """Tell FAIL every running trial whose worker is gone and queue its parameters again (under the lock)."""
        if self.optuna_heartbeat:  # the storage's retry callback queues them
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                optuna.storages.fail_stale_trials(self.study)
            return []
        running = self.storage.get_all_trials(self.study_id, deepcopy=False, states=(TrialState.RUNNING,))
        if not running:
            return []
        records = self.storage.get_study_system_attrs(self.study_id)
        now = time.monotonic()
        lost = []
        for trial in running:
            reason = self.gone(trial.system_attrs.get(OWNER), records, now)
            if reason is None:
                continue
            trial_id = self.trial_id(trial.number)
            self.storage.set_trial_system_attr(trial_id, LOST, reason)
            try:
                if not self.storage.set_trial_state_values(trial_id, TrialState.FAIL):
                    continue
            except UpdateFinishedTrialError:  # its worker told it after all
                continue
            lost.append((trial, reason))
            requeue(self.study, self.storage.get_trial(trial_id), f"its worker is gone ({reason})")
        return lost
