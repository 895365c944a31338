"""Many workers on one Optuna study: the same ``python -m gan_sweeps -m hydra/sweeper=optuna ...`` command started
several times against one journal file or one PostgreSQL database (a real server, tests/services.py). Together they
finish exactly n_trials trials, trial N in folder N, no trial run twice; a worker killed mid-trial has its trial
retried by another one; a storage password never reaches a run folder, W&B or the report."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import TINY, read_metrics
from optuna.trial import TrialState

from hydra_plugins.gan_sweeps_optuna._study_storage import StorageSpec
from hydra_plugins.gan_sweeps_optuna._results import summarize
from hydra_plugins.gan_sweeps_optuna._workers import LOST, OWNER, WORKER_PREFIX, Worker, requeue, retry_history

N_TRIALS = 8
WORKER = ["-m", "hydra/sweeper=optuna", *TINY, "objective=train/d_loss", "optim.lr=tag(log, interval(1e-4, 1e-2))",
          f"hydra.sweeper.n_trials={N_TRIALS}", "hydra.sweeper.heartbeat_interval=1", "hydra.sweeper.grace_period=20",
          "hydra.sweep.dir=study"]


def start_worker(cwd: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gan_sweeps", *WORKER, *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "CI": "1", **(env or {})})


def finish(worker: subprocess.Popen, timeout: float = 600) -> str:
    out, _ = worker.communicate(timeout=timeout)
    assert worker.returncode == 0, out[-4000:]
    return out


def owner_pid(trial: optuna.trial.FrozenTrial) -> int:
    return int(trial.system_attrs[OWNER].split(":")[1])  # <host>:<pid>:<id>


def check_study(study: optuna.Study, sweep_dir: Path) -> list[optuna.trial.FrozenTrial]:
    """Exactly N_TRIALS complete trials, each in its own folder N, run once by the worker that owns it."""
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(complete) == N_TRIALS
    assert not [t for t in study.trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    for trial in complete:
        assert trial.user_attrs["run_dir"] == str(trial.number)
        metrics = read_metrics(sweep_dir / str(trial.number))
        assert metrics["status"] == "completed" and trial.value == pytest.approx(metrics["train/d_loss"])
        assert metrics["pid"] == owner_pid(trial)  # the folder was written by the worker that told the trial
    return complete


@pytest.mark.e2e
def test_three_workers_on_a_journal_file_one_killed_mid_trial(tmp_path):
    workers = [start_worker(tmp_path, "hydra.sweeper.storage=journal") for _ in range(3)]
    storage = StorageSpec.parse("journal", tmp_path / "study")
    deadline, victim = time.monotonic() + 300, None
    while victim is None and time.monotonic() < deadline:  # a trial whose run has started: kill its worker
        time.sleep(0.3)
        if not storage.path.exists():
            continue
        for trial in optuna.load_study(study_name=None, storage=storage.open()).trials:
            folder = tmp_path / "study" / str(trial.number)
            if trial.state == TrialState.RUNNING and OWNER in trial.system_attrs and (folder / "metrics.json").exists():
                victim = next((w for w in workers if w.pid == owner_pid(trial)), None)
                lost_number = trial.number
                break
    assert victim is not None, "no trial started within 300 s"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    for worker in workers:
        if worker is not victim:
            finish(worker)

    study = optuna.load_study(study_name=None, storage=storage.open())
    complete = check_study(study, tmp_path / "study")
    lost = study.trials[lost_number]
    assert lost.state == TrialState.FAIL and "is no longer running" in lost.system_attrs[LOST]
    [retry] = [t for t in study.trials if retry_history(t) == [lost_number]]  # Optuna's retry callback
    assert retry.state == TrialState.COMPLETE and retry.params == lost.params  # retried once, by another worker
    assert owner_pid(retry) != victim.pid
    assert read_metrics(tmp_path / "study" / str(lost_number))["status"] == "running"  # its folder is left as it was
    assert len({owner_pid(t) for t in complete}) >= 2
    numbered = sorted(int(p.name) for p in (tmp_path / "study").iterdir() if p.name.isdigit())
    assert numbered == sorted([t.number for t in complete] + [lost_number])  # 8 run folders + the lost one
    results = yaml.safe_load((tmp_path / "study" / "optimization_results.yaml").read_text())
    assert results["finished_trials"] == N_TRIALS and results["trials"]["complete"] == N_TRIALS
    assert results["lost_trials"] == [{"trial": lost_number, "run": str(lost_number), "retried_as": retry.number,
                                       "reason": lost.system_attrs[LOST]}]


@pytest.mark.e2e
def test_two_workers_on_an_empty_postgresql_database_keep_the_password_secret(tmp_path, postgres):
    database = postgres.new_database()  # empty: the workers race on creating Optuna's tables (optuna#1092)
    # One worker is given the password in the URL (the worst case), with W&B on; the other takes it from PGPASSWORD.
    typed = start_worker(tmp_path, f"hydra.sweeper.storage='{postgres.url(database)}'", "hydra.sweeper.study_name=pg",
                         "logger=default")
    from_env = start_worker(tmp_path, f"hydra.sweeper.storage='{postgres.url(database, password=False)}'",
                            "hydra.sweeper.study_name=pg", env={"PGPASSWORD": postgres.password})
    outputs = finish(typed) + finish(from_env)

    study = optuna.load_study(study_name="pg", storage=postgres.url(database))
    complete = check_study(study, tmp_path / "study")
    assert len(study.trials) == N_TRIALS
    assert {owner_pid(t) for t in complete} == {typed.pid, from_env.pid}  # both workers took part
    from gan_sweeps.report import main as report_main

    assert report_main([str(tmp_path / "study"), "--no-figures"]) == 0
    wandb_files = list((tmp_path / "study").glob("*/wandb/offline-run-*/*.wandb"))
    assert len(wandb_files) == sum(owner_pid(t) == typed.pid for t in complete) > 0
    secret = postgres.password.encode()
    leaks = [str(p) for p in (tmp_path / "study").rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert leaks == [] and postgres.password not in outputs
    # the last worker to finish writes the results: the typed password masked, or the URL that never had one
    storage = yaml.safe_load((tmp_path / "study" / "optimization_results.yaml").read_text())["storage"]
    assert storage.startswith(("postgresql://optuna:***@127.0.0.1:", "postgresql://optuna@127.0.0.1:"))


@pytest.mark.integration
def test_a_worker_that_stops_beating_is_gone_after_the_grace_period(tmp_path):
    """Liveness across machines: a record from another host is judged by its heartbeat, on our own clock."""
    spec = StorageSpec.parse("journal", tmp_path)
    storage = spec.open()
    study = optuna.create_study(storage=storage, study_name="s")
    study_id = storage.get_study_id_from_name("s")
    trial = study.ask()
    storage.set_trial_system_attr(storage.get_trial_id_from_study_id_trial_number(study_id, trial.number), OWNER,
                                  "elsewhere:1:abc")
    storage.set_study_system_attr(study_id, WORKER_PREFIX + "elsewhere:1:abc",
                                  {"host": "elsewhere", "pid_namespace": "pid:[1]", "pid": 1, "beat": 1})
    observer = Worker(study, storage, spec.lock, interval=0.1, grace=0.5)
    assert observer.retry_lost() == []  # first sighting
    time.sleep(0.3)
    storage.set_study_system_attr(study_id, WORKER_PREFIX + "elsewhere:1:abc",
                                  {"host": "elsewhere", "pid_namespace": "pid:[1]", "pid": 1, "beat": 2})
    assert observer.retry_lost() == []  # it beat again: alive
    time.sleep(0.3)
    assert observer.retry_lost() == []  # 0.3 s without a beat < grace
    time.sleep(0.4)
    [(lost, reason)] = observer.retry_lost()
    assert lost.number == trial.number and "has not recorded a heartbeat" in reason
    [retry] = [t for t in study.trials if t.state == TrialState.WAITING]
    assert retry_history(retry) == [trial.number] and retry.params == study.trials[trial.number].params
    assert observer.retry_lost() == []  # told FAIL once, queued once


@pytest.mark.e2e
def test_a_slow_trial_never_holds_back_another_worker(tmp_path):
    """Asynchronous workers (a generic app): while one worker runs a 6 s trial, the other finishes its fast ones."""
    app = [sys.executable, str(Path(__file__).parent / "optuna_apps" / "sphere.py"), "-m", "hydra.sweep.dir=out",
           "hydra.sweeper.storage=journal", "hydra.sweeper.n_trials=4", "hydra/sweeper/sampler=grid",
           "hydra.sweeper.heartbeat_interval=0.5", "+sleep=choice(6.0, 0.0, 0.1, 0.2)"]
    workers = [subprocess.Popen(app, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
               for _ in range(2)]
    for worker in workers:
        finish(worker)
    trials = optuna.load_study(study_name=None, storage=StorageSpec.parse("journal", tmp_path / "out").open()).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    [slow] = [t for t in trials if t.params["sleep"] == 6.0]
    fast = [t for t in trials if t is not slow and slow.datetime_start < t.datetime_complete < slow.datetime_complete]
    assert fast and {owner_pid(t) for t in fast} != {owner_pid(slow)}  # told by the other worker meanwhile


@pytest.mark.integration
def test_a_trial_that_stops_beating_on_an_rdb_storage_is_retried_by_optunas_heartbeat(tmp_path):
    """SQLite/PostgreSQL/MySQL: Optuna's heartbeat (by the database's clock) and its retry callback."""
    spec = StorageSpec.parse(None, tmp_path)
    storage = spec.open(heartbeat_interval=1, grace_period=2, heartbeat_stale_trial_callback=requeue)
    study = optuna.create_study(storage=storage, study_name="s")
    worker = Worker(study, storage, spec.lock, interval=1, grace=2)
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    worker.own(trial)  # its first heartbeat; this worker then stops beating for it
    assert worker.retry_lost() == [] and study.trials[trial.number].state == TrialState.RUNNING
    time.sleep(3.5)  # past the grace period (SQLite's clock counts whole seconds)
    worker.retry_lost()
    lost, retry = study.trials
    assert lost.state == TrialState.FAIL and retry.state == TrialState.WAITING
    assert retry_history(retry) == [lost.number] and retry.params == lost.params
    results = summarize(  # optimization_results.yaml lists it as lost, retried as the new trial
study, storage=spec.shown, objective=None, n_trials=1, counts=lambda t: False,
                        failed=lambda t: False)
    assert results["lost_trials"] == [{"trial": lost.number, "run": str(lost.number), "retried_as": retry.number,
                                       "reason": "its heartbeat is older than hydra.sweeper.grace_period"}]
