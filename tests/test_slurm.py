"""gan-sweeps on a real single-node Slurm cluster (tests/services.py: munge, slurmdbd + MariaDB for accounting,
slurmctld, slurmd on 127.0.0.1): a grid as Slurm jobs through ``hydra/launcher=submitit_slurm``, one job cancelled
with scancel, and the README's multi-node recipe: N Slurm jobs as workers of one PostgreSQL study."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from conftest import TINY, job_dirs, read_metrics
from hydra_plugins.gan_sweeps_optuna._workers import OWNER
from optuna.trial import TrialState



@pytest.mark.unit
def test_a_job_uses_the_cores_of_its_slurm_allocation():
    from gan_sweeps.run.launch import allocated_cores

    assert allocated_cores({"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_TASK": "3", "SLURM_CPUS_ON_NODE": "8"}) == 3
    assert allocated_cores({"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "8", "SLURM_NTASKS_PER_NODE": "4"}) == 2
    assert allocated_cores({"SLURM_CPUS_PER_TASK": "3"}) == len(os.sched_getaffinity(0))  # not inside a job


def wait_for(what: str, condition, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.5)


@pytest.mark.e2e
def test_a_grid_of_slurm_jobs_where_a_cancelled_job_is_a_failed_run(tmp_path, slurm):
    # Four jobs of one CPU each on the 2-CPU node; job 3 trains long enough to be cancelled while it runs.
    command = [sys.executable, "-m", "gan_sweeps", "-m", "hydra/launcher=submitit_slurm",
               "hydra.launcher.cpus_per_task=1", "hydra.sweep.dir=grid", *[o for o in TINY if "max_epochs" not in o],
               "trainer.max_epochs=1,2,1,300"]
    sweep = subprocess.Popen(command, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env={**os.environ, **slurm.env, "CI": "1"})
    progress = tmp_path / "grid" / "3" / "progress.json"  # written once training has started
    wait_for("job 3 training", progress.exists)
    [job] = [line.split()[0] for line in slurm.run("squeue", "-h", "-o", "%i").split() if line.endswith("_3")]
    slurm.run("scancel", job)
    out, _ = sweep.communicate(timeout=300)

    assert sweep.returncode == 1, out[-3000:]
    failed = "1 run(s) failed (metrics.json says why; error.log holds a traceback where there is one)"
    assert f"{failed}: {Path('grid') / '3'}" in out  # named, after the others ran
    runs = {d.name: read_metrics(d) for d in job_dirs(tmp_path / "grid")}
    assert [runs[n]["status"] for n in "0123"] == ["completed", "completed", "completed", "failed"]
    assert runs["3"]["error"].startswith("Terminated: received SIGTERM")
    assert {runs[n]["threads"] for n in "012"} == {1}  # one thread in a one-CPU allocation of a 2-CPU node

    def states() -> list[str]:  # sacct's record of the array's four jobs, once each has ended
        lines = slurm.run("sacct", "-X", "-n", "-P", "-j", job.split("_")[0], "-o", "JobID,State").splitlines()
        return sorted(line.split("|")[1].split()[0] for line in lines)

    wait_for("sacct", lambda: "RUNNING" not in states() and "COMPLETING" not in states(), timeout=60)
    assert states() == ["CANCELLED", "COMPLETED", "COMPLETED", "COMPLETED"]


@pytest.mark.e2e
def test_slurm_jobs_as_workers_of_one_postgresql_study(tmp_path, slurm, postgres):
    database = postgres.new_database()
    worker = [sys.executable, "-m", "gan_sweeps", "-m", "hydra/sweeper=optuna", *TINY, "objective=train/d_loss",
              "optim.lr=tag(log, interval(1e-4, 1e-2))", "hydra.sweeper.n_trials=4", "hydra.sweep.dir=study",
              "hydra.sweeper.heartbeat_interval=1", f"hydra.sweeper.storage={postgres.url(database, password=False)}"]
    env = {**os.environ, **slurm.env, "CI": "1", "PGPASSWORD": postgres.password}  # sbatch passes it on
    submitted = subprocess.run(["sbatch", "--parsable", "--array=0-1", "--cpus-per-task=1", "-o", "worker_%a.log",
                                "--wrap", shlex.join(worker)], cwd=tmp_path, env=env, text=True, capture_output=True,
                               check=True).stdout
    array = submitted.strip().split(";")[0]

    def states() -> list[str]:
        lines = slurm.run("sacct", "-X", "-n", "-P", "-j", array, "-o", "JobID,State,ExitCode").splitlines()
        return [line for line in lines if line.startswith(array + "_")]

    wait_for("both workers", lambda: len(states()) == 2 and all(
        s.split("|")[1] in ("COMPLETED", "FAILED", "CANCELLED") for s in states()), timeout=400)
    logs = "".join((tmp_path / f"worker_{i}.log").read_text()[-2000:] for i in range(2))
    assert [s.split("|")[1:] for s in states()] == [["COMPLETED", "0:0"]] * 2, logs

    study = optuna.load_study(study_name=None, storage=postgres.url(database))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    owners = {t.system_attrs[OWNER].rsplit(":", 1)[0] for t in study.trials}  # <host>:<pid> of the worker that told it
    assert len(owners) == 2  # both array tasks worked on the one study
    for trial in study.trials:
        metrics = read_metrics(tmp_path / "study" / str(trial.number))
        assert metrics["status"] == "completed" and metrics["threads"] == 1  # the worker's 1-CPU allocation
