"""``python -m gan_sweeps.sweep.status``: each job state read from run folders, the ETA, and a real joblib sweep watched
while it runs (which also checks the unique sweep folder, the W&B job type and grouping columns of its jobs, and
the seed-aware report of issue 12's acceptance)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from gan_sweeps import CONF_DIR
from gan_sweeps.run.hydra_callbacks import claim_dir, claim_output_dir
from gan_sweeps.run.launch import shares_terminal
from gan_sweeps.sweep.progress import this_host, write_progress
from gan_sweeps.run.run_record import RunRecord
from gan_sweeps.sweep.status import main, sweep_status

NOW = 1_800_000_000.0


# ---- job states from hand-written run folders (the files train.py writes, through its own writers) ---------------
def job(root: Path, name: str, seed: int, record: dict | None, progress: dict | None = None) -> Path:
    run_dir = root / name
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"seed={seed}", "k=2"]))
    if record is not None:
        RunRecord(run_dir).write({"error": None, **record})
    if progress is not None:
        write_progress(run_dir, {"pid": os.getpid(), "host": this_host(), "stage": "training", "train_ended": None,
                                 "max_epochs": 5, "batches_per_epoch": 10, "updated": NOW, **progress})
    return run_dir


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def states(tmp_path: Path) -> Path:
    """A 10-job grid (seed=0..9 in multirun.yaml) with one job in each state and two not started."""
    root = tmp_path / "sweep"
    root.mkdir()
    (root / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {
        "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"},
        "overrides": {"task": ["seed=range(10)", "k=2"]}}}))
    done = job(root, "0", 0, {"status": "completed", "wall_time_s": 100.0, "epoch_seconds": [16.0] * 5},
               {"epoch": 5, "stage": "finishing", "started": NOW - 1000, "train_ended": NOW - 1000 + 80})
    os.utime(done / "metrics.json", (NOW - 1000 + 92, NOW - 1000 + 92))  # 12 s from training's end to the record
    job(root, "1", 1, {"status": "running"}, {"epoch": 2, "batch": 5, "epoch_seconds": [10.0, 10.0],
                                              "started": NOW - 25, "losses": {"d_loss": 0.61, "g_loss": 1.3}})
    job(root, "2", 2, {"status": "failed", "error": "ValueError: boom"})
    job(root, "3", 3, {"status": "diverged", "error": "d loss became nan"})
    job(root, "4", 4, {"status": "running"}, {"epoch": 1, "pid": dead_pid(), "started": NOW - 50})
    job(root, "5", 5, {"status": "running"})  # metrics.json written, training not started yet
    job(root, "6", 6, {"status": "pruned"})
    job(root, "7", 7, {"status": "interrupted", "error": "interrupted"})
    return root


@pytest.mark.integration
def test_each_job_state_is_read_from_the_run_folders(states):
    status = sweep_status(states, now=NOW)
    by_name = {job.name: job for job in status.jobs}
    assert {name: job.state for name, job in by_name.items()} == {
        "0": "completed", "1": "running", "2": "failed", "3": "diverged", "4": "lost", "5": "starting",
        "6": "pruned", "7": "interrupted"}
    assert status.expected == 10 and status.pending == 2
    assert [status.count(s) for s in ("completed", "running", "failed", "diverged", "pending", "lost")] == \
        [1, 2, 1, 1, 2, 1]
    running = by_name["1"]
    assert running.epoch == pytest.approx(2.5) and running.max_epochs == 5
    assert running.losses == {"d_loss": pytest.approx(0.61), "g_loss": pytest.approx(1.3)}
    assert running.remaining_s == pytest.approx(2.5 * 10.0 + 12.0)  # epochs left x s/epoch + evaluation tail
    assert running.elapsed_s == pytest.approx(25.0) and running.label == "seed=1"
    assert by_name["2"].note == "ValueError: boom"
    assert by_name["5"].remaining_s == pytest.approx(100.0)  # no timings yet: a typical job's wall time
    # two running jobs: (37 + 100 + 2 pending x 100 s) / 2 in parallel
    assert status.eta_s == pytest.approx((37.0 + 100.0 + 200.0) / 2)


@pytest.mark.integration
def test_status_command_prints_counts_running_jobs_and_problems(states, capsys):
    assert main([str(states)]) == 0
    out = capsys.readouterr().out
    assert "10 jobs: 1 completed, 2 running, 1 failed, 1 diverged, 2 pending, 1 pruned, 1 interrupted, 1 lost" in out
    assert "ETA" in out and "2.5/5" in out and "0.610" in out and "seed=1" in out
    assert listed_jobs(out) == {"1", "2", "3", "4", "5", "7"}  # running and problem jobs, not completed/pruned
    assert main([str(states), "--all"]) == 0
    assert listed_jobs(capsys.readouterr().out) == {str(n) for n in range(8)}


def listed_jobs(out: str) -> set[str]:
    return {line.split()[0] for line in out.splitlines()[1:] if line.strip() and line.split()[0].isdigit()}


@pytest.mark.integration
def test_status_refuses_a_folder_that_is_no_sweep_in_one_line(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no runs found") and err.count("\n") == 1


@pytest.mark.unit
def test_parallel_jobs_draw_no_progress_bars():
    from omegaconf import OmegaConf

    def view(launcher: dict):
        return OmegaConf.create({"launcher": launcher, "job": {"num": 0}})

    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}
    assert shares_terminal(view(joblib)) is True
    assert shares_terminal(view({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"})) is False


# ---- the sweep folder is claimed -----------------------------------------------------------------------------------
@pytest.mark.unit
def test_claiming_a_taken_folder_gives_the_next_free_name(tmp_path):
    first = claim_dir(tmp_path / "multirun" / "2024-05-01" / "12-00-00")
    second = claim_dir(first)
    assert first.name == "12-00-00" and second.name == "12-00-00_2" and claim_dir(first).name == "12-00-00_3"


@pytest.mark.unit
def test_only_time_stamped_grid_folders_are_claimed(tmp_path, monkeypatch):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    monkeypatch.chdir(tmp_path)

    def hydra_cfg(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return hydra_compose(config_name="config", overrides=list(overrides), return_hydra_config=True)

    cfg = hydra_cfg()
    claimed = claim_output_dir(cfg, "sweep")
    assert claimed is not None and cfg.hydra.sweep.dir == str(claimed) and claimed.is_dir()
    assert cfg.hydra.overrides.hydra[-1] == f"hydra.sweep.dir='{claimed}'"  # every job's config gets it too
    assert claim_output_dir(cfg, "run") is not None  # single runs (outputs/<date>/<time>) alike
    assert claim_output_dir(hydra_cfg("hydra.sweep.dir=multirun/make-run"), "sweep") is None  # the user's: reused
    assert claim_output_dir(hydra_cfg("hydra/sweeper=optuna"), "sweep") is None  # a study names its own folder
    GlobalHydra.instance().clear()


# ---- a real joblib sweep, watched while it runs --------------------------------------------------------------------
SETTINGS = ("k=1", "k=2")
SEEDS = (0, 1, 2)


@dataclass
class LiveSweep:
    root: Path
    cwd: Path
    taken: list[Path]  # folders another command had claimed for the seconds the sweep could start in
    proc: subprocess.CompletedProcess
    snapshots: list  # SweepStatus objects taken while the sweep ran


@pytest.fixture(scope="module")
def live_sweep(tmp_path_factory) -> LiveSweep:
    """k=1,2 x seed=0,1,2 (6 jobs, 2 at a time under joblib, 2 epochs each, W&B offline) in the default sweep
    folder, while every time-stamped folder it could pick is already taken; `status` is read every 0.25 s."""
    cwd = tmp_path_factory.mktemp("live")
    start = datetime.now()
    taken = [claim_dir(cwd / "multirun" / f"{t:%Y-%m-%d}" / f"{t:%H-%M-%S}")
             for t in (start + timedelta(seconds=s) for s in range(-1, 60))]
    args = [sys.executable, "-m", "gan_sweeps", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
            f"k={','.join(s.split('=')[1] for s in SETTINGS)}", f"seed={','.join(map(str, SEEDS))}",
            "model=mlp_gan", "data.train_size=256", "batch_size=64", "trainer.max_epochs=2", "eval=off", "logger=csv"]
    env = {**os.environ, "CI": "1", "WANDB_SILENT": "true"}
    snapshots = []
    with subprocess.Popen(args, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        root = None
        while proc.poll() is None:
            root = root or next((p.parent for p in cwd.glob("multirun/*/*/multirun.yaml")), None)
            if root is not None:
                snapshots.append(sweep_status(root))
            time.sleep(0.25)
        out, err = proc.communicate()
    done = subprocess.CompletedProcess(args, proc.returncode, out, err)
    assert done.returncode == 0, err[-3000:]
    root = next(p.parent for p in cwd.glob("multirun/*/*/multirun.yaml"))
    return LiveSweep(root=root, cwd=cwd, taken=taken, proc=done, snapshots=snapshots)


@pytest.mark.e2e
def test_status_shows_a_running_joblib_sweep(live_sweep):
    snapshots = live_sweep.snapshots
    assert snapshots, "the sweep folder appeared only after the command ended"
    for status in snapshots:  # every job is in exactly one state, and the grid's 6 jobs are always accounted for
        assert status.expected == 6 and len(status.jobs) + status.pending == 6
    training = [job for status in snapshots for job in status.jobs if job.state == "running"]
    assert training, "no snapshot caught a job while it trained"
    assert all(job.max_epochs == 2 and 0 <= job.epoch <= 2 and job.label.startswith("k=") and " seed=" in job.label
               for job in training)
    assert max(status.count("running") for status in snapshots) == 2  # joblib's 2 workers, never more
    assert any(status.pending > 0 and status.count("completed") > 0 for status in snapshots)
    final = sweep_status(live_sweep.root)
    assert final.finished and final.count("completed") == 6 and final.eta_s == 0.0
    assert all(job.epoch == pytest.approx(2.0) for job in final.jobs)


@pytest.mark.e2e
def test_a_sweep_started_in_a_taken_second_gets_its_own_folder(live_sweep):
    assert live_sweep.root.name.endswith("_2")  # <time>_2 beside the other command's <time>
    assert live_sweep.root.with_name(live_sweep.root.name[:-2]) in live_sweep.taken
    assert all(not any(folder.iterdir()) for folder in live_sweep.taken)  # nothing written into a taken folder
    records = [json.loads((live_sweep.root / str(n) / "metrics.json").read_text()) for n in range(6)]
    assert len({r["pid"] for r in records}) == 2  # really run by joblib's two worker processes


@pytest.mark.e2e
def test_wandb_columns_let_the_ui_group_the_seeds_of_a_setting(live_sweep, monkeypatch):
    """What each job of the sweep hands W&B (tests/test_core.py checks it arrives in a real W&B run)."""
    from omegaconf import OmegaConf

    from gan_sweeps.run.tracking import job_type, sweep_columns

    monkeypatch.chdir(live_sweep.cwd)  # the saved hydra.sweep.dir is relative to where the command ran
    settings: dict[str, set[str]] = {}
    for n in range(6):
        job = live_sweep.root / str(n) / ".hydra"
        hc, cfg = OmegaConf.load(job / "hydra.yaml").hydra, OmegaConf.load(job / "config.yaml")
        columns = sweep_columns(hc)["sweep"]
        assert job_type(cfg, hc) == "train" and columns["swept"] == ["k", "seed"]
        settings.setdefault(columns["setting"], set()).add(columns["repeat"])
    assert settings == {s: {f"seed={seed}" for seed in SEEDS} for s in SETTINGS}  # group by setting: 3 seeds each


@pytest.mark.e2e
def test_report_of_two_settings_by_three_seeds_gives_intervals_and_a_verdict(live_sweep, capsys):
    from gan_sweeps.report import ReportOptions, make_report

    report = make_report(live_sweep.root, ReportOptions(metrics=["train/d_loss"], figures=False))
    settings = next(grid for grid in report.grids if grid.title.startswith("Settings"))
    assert [row[0] for row in settings.rows] == ["1", "2"] and report.sweep.repeat_keys == ["seed"]
    d_loss = {str(k): [] for k in (1, 2)}
    for n in range(6):
        record = json.loads((live_sweep.root / str(n) / "metrics.json").read_text())
        d_loss[record["overrides"][0].split("=")[1]].append(record["train/d_loss"])
    column = settings.header.index("train/d_loss")
    for row in settings.rows:
        values = d_loss[row[0]]
        summary = row[column]
        half = 4.302653 * statistics.stdev(values) / 3 ** 0.5  # t(0.975, 2 d.f.) from tables
        assert (summary.n, summary.mean, summary.half_width) == (3, pytest.approx(statistics.mean(values)),
                                                                 pytest.approx(half, rel=1e-5))
        assert row[settings.header.index("runs")] == 3
    from scipy.stats import ttest_ind

    differ = ttest_ind(d_loss["1"], d_loss["2"], equal_var=False).pvalue < 0.05
    out = capsys.readouterr().out
    assert ("best setting: k=" in out) == differ and ("tied" in out) != differ
    assert "± " in out and "n = 3 per cell" in out
