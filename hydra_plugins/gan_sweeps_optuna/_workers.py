"""Liveness of the worker processes sharing a study, so that a trial is retried only when its worker is gone.

Optuna's own heartbeat runs inside ``Study.optimize`` only, and the journal storage has none; our workers use
ask/tell, so they keep their own liveness record in the storage, the same way for every storage:

- each worker (one ``-m`` command) writes a study system attribute ``worker:<id>`` = ``{host, pid, ..., beat}``
  when it starts and every ``heartbeat_interval`` seconds from a background thread, and marks each trial it asks
  with the trial system attribute ``worker`` = its id (in the same study-locked step as the ask);
- a RUNNING trial's worker is gone when its process no longer exists (same machine: same host name and PID
  namespace, checked with the process's start time, so a reused PID is not mistaken for it), when it has no
  record at all, or when its ``beat`` has not changed for ``grace_period`` seconds *as timed by the observing
  worker's own clock* (so clocks of different machines never need to agree);
- under the study lock, a worker that finds such a trial tells it FAIL (not counted toward ``n_trials``) and
  queues its parameters again (``retry_of`` = its number), at most :data:`MAX_RETRIES` times per parameters;
  the next worker to ask for a trial runs the retry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

log = logging.getLogger(__name__)

WORKER_PREFIX = "worker:"  # study system attribute: one worker's liveness record
OWNER = "worker"  # trial system attribute: the worker running the trial
RETRY_OF = "retry_of"  # trial user attribute of a re-queued trial: the number of the trial it repeats
RETRIES = "retries"  # trial user attribute: how many times these parameters were re-queued
LOST = "lost"  # trial system attribute of a trial given up: why
MAX_RETRIES = 2


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused PID from the original."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _process_alive(pid: int, started: str | None) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and (started is None or fields[19] == started)


def identity() -> dict[str, Any]:
    """This process, as its liveness record names it."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid_namespace": _pid_namespace(), "pid": pid, "started": _process_start(pid)}


class Worker:
    """This process's liveness record in ``study``, kept fresh by a daemon thread that also retries the trials of
    workers that are gone (``lock`` is the study lock)."""

    def __init__(self, study: optuna.Study, lock: Callable[[], Any], interval: float, grace: float) -> None:
        if interval <= 0 or grace <= interval:
            raise ValueError(f"hydra.sweeper.heartbeat_interval={interval} and grace_period={grace}: need "
                             "0 < heartbeat_interval < grace_period")
        self.study = study
        self.lock = lock
        self.interval = float(interval)
        self.grace = float(grace)
        self.me = identity()
        self.id = f"{self.me['host']}:{self.me['pid']}:{uuid.uuid4().hex[:8]}"
        self.beats = 0
        self._seen: dict[str, tuple[Any, float]] = {}  # other worker -> (its last beat, when we first saw it)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        record = {**self.me, "beat": self.beats, "time": time.time(), "stopped": stopped}
        self.study._storage.set_study_system_attr(self.study._study_id, WORKER_PREFIX + self.id, record)

    def own(self, trial: optuna.Trial) -> None:
        """Mark ``trial`` as run by this worker (call it in the study-locked step that asked it)."""
        self.study._storage.set_trial_system_attr(trial._trial_id, OWNER, self.id)

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
        """Why the worker ``owner`` is gone, or None while it may be alive."""
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
        storage, study_id = self.study._storage, self.study._study_id
        running = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
        if not running:
            return []
        records = storage.get_study_system_attrs(study_id)
        now = time.monotonic()
        lost = []
        for trial in running:
            reason = self.gone(trial.system_attrs.get(OWNER), records, now)
            if reason is None:
                continue
            storage.set_trial_system_attr(trial._trial_id, LOST, reason)
            try:
                if not storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                    continue
            except UpdateFinishedTrialError:  # its worker told it after all
                continue
            lost.append((trial, reason))
            requeue(self.study, trial, f"its worker is gone ({reason})")
        return lost


def requeue(study: optuna.Study, trial: FrozenTrial | optuna.Trial, why: str) -> None:
    """Queue ``trial``'s parameters again (at most MAX_RETRIES times per parameters); the caller failed it."""
    frozen = trial if isinstance(trial, FrozenTrial) else study._storage.get_trial(trial._trial_id)
    retries = int(frozen.user_attrs.get(RETRIES, 0))
    if retries >= MAX_RETRIES:
        log.warning("trial %d did not end: %s; its parameters were already retried %d times: not queued again",
                    frozen.number, why, retries)
        return
    study.enqueue_trial(frozen.params, user_attrs={RETRY_OF: frozen.number, RETRIES: retries + 1},
                        skip_if_exists=False)
    log.warning("trial %d did not end: %s; its parameters are queued again", frozen.number, why)
