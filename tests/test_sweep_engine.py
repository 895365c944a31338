"""Sweep engine without Optuna: run health, parallel and cluster launchers, resuming a grid, atomic checkpoints."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from omegaconf import OmegaConf

from conftest import DATA_ROOT, TINY, job_dirs, read_metrics, run_cli, train_in_process
from gan_sweeps.callbacks.checkpoint_io import AtomicCheckpointIO
from gan_sweeps.callbacks.health import RunHealth
from gan_sweeps.run.launch import job_devices, parallel_jobs


# ---- run health: the diagnoses ---------------------------------------------------------------------------------
@pytest.mark.unit
def test_discriminator_collapse_is_flagged_after_patience_epochs():
    health = RunHealth(d_loss_below=0.05, g_loss_above=5.0, patience=2)
    assert health.check_losses({"d_loss": 0.01, "g_loss": 7.0}, epoch=3, d_loss_bounded=True) is None
    assert health.check_losses({"d_loss": 0.02, "g_loss": 9.0}, epoch=4, d_loss_bounded=True) == "d_collapse"
    assert health.summary()["health"] == "d_collapse" and health.summary()["health_epoch"] == 3
    assert "D loss < 0.05" in health.summary()["health_reason"]


@pytest.mark.unit
def test_a_balanced_epoch_resets_the_collapse_streak():
    health = RunHealth(patience=2)
    for d, g in [(0.01, 7.0), (0.7, 1.0), (0.01, 7.0)]:
        assert health.check_losses({"d_loss": d, "g_loss": g}, epoch=1, d_loss_bounded=True) is None
    assert health.summary()["health"] == "ok"


@pytest.mark.unit
def test_a_discriminator_collapse_the_run_leaves_is_recovered_not_its_verdict():
    """Seed 001's shallow k=2 beta1=0.9 cGAN: D won epochs 1-2, then the run trained to 96 % with varied digits."""
    health = RunHealth(patience=2)
    for epoch, (d, g) in enumerate([(0.03, 6.8), (0.03, 6.8), (0.6, 1.5), (0.02, 7.0)], start=1):
        health.check_losses({"d_loss": d, "g_loss": g}, epoch=epoch, d_loss_bounded=True)
    summary = health.summary()
    assert summary["health"] == "ok" and summary["health_epoch"] is None
    assert summary["health_recovered"] == [{"diagnosis": "d_collapse", "epoch": 1, "until": 3,
                                            "reason": summary["health_recovered"][0]["reason"]}]
    assert "D loss < 0.05" in summary["health_recovered"][0]["reason"]


@pytest.mark.unit
def test_wasserstein_critics_are_not_judged_by_the_bce_rule():
    from gan_sweeps.training.losses import Wasserstein

    assert Wasserstein.d_loss_bounded is False
    health = RunHealth(patience=1)
    assert health.check_losses({"d_loss": -0.5, "g_loss": 40.0}, epoch=1, d_loss_bounded=False) is None
    assert health.summary()["health"] == "ok"


@pytest.mark.unit
def test_a_nan_or_exploding_loss_is_diverged_and_worse_than_collapse():
    health = RunHealth(patience=1, explode_above=1e4)
    health.check_losses({"d_loss": 0.01, "g_loss": 9.0}, epoch=1, d_loss_bounded=True)
    assert health.check_losses({"d_loss": float("nan"), "g_loss": 1.0}, epoch=2) == "diverged"
    health.check_evaluation({"eval/mode_collapse": True, "eval/class_hist": [1.0] + [0.0] * 9}, epoch=3)
    assert health.summary()["health"] == "diverged" and health.summary()["health_epoch"] == 2
    assert RunHealth().check_losses({"g_loss": -2e4}, epoch=1) == "diverged"


@pytest.mark.unit
def test_mode_collapse_comes_from_the_class_histogram():
    health = RunHealth()
    assert health.check_evaluation({"eval/mode_collapse": False}, epoch=1) is None
    hist = [0.9, 0.1] + [0.0] * 8
    assert health.check_evaluation({"eval/mode_collapse": True, "eval/class_hist": hist}, epoch=2) == "mode_collapse"
    assert "8 class(es) under 2%, largest class 90%" in health.summary()["health_reason"]


# ---- run health: in real runs ----------------------------------------------------------------------------------
@pytest.mark.integration
def test_health_stops_a_run_early_and_records_why(tmp_path):
    # Thresholds every real epoch meets, so the very first epoch counts as a discriminator collapse.
    metrics = train_in_process(tmp_path, *TINY, "trainer.max_epochs=3", "health.d_loss_below=100",
                               "health.g_loss_above=0", "health.patience=1", "health.stop_on=[d_collapse]")
    assert metrics["status"] == "completed" and metrics["health"] == "d_collapse"
    assert metrics["stopped_early"] is True and metrics["epochs_done"] == 1 and metrics["health_epoch"] == 1


@pytest.mark.integration
def test_an_exploding_loss_ends_the_run_as_diverged(tmp_path):
    metrics = train_in_process(tmp_path, *TINY, "trainer.max_epochs=2", "health.explode_above=0.5")
    assert metrics["status"] == "diverged" and metrics["health"] == "diverged"
    assert "d_loss" in metrics["health_reason"] and "> 0.5" in metrics["health_reason"]


# ---- launchers ---------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_joblib_runs_jobs_in_parallel_processes_with_split_threads(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=1,2", *TINY,
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = [read_metrics(j) for j in job_dirs(sweep)]
    assert [r["status"] for r in runs] == ["completed", "completed"]
    assert len({r["pid"] for r in runs}) == 2  # two worker processes
    cores = __import__("os").cpu_count()
    assert all(r["threads"] == max(1, cores // 2) for r in runs)  # the cores split between the two jobs
    assert [r["overrides"][0] for r in runs] == ["seed=1", "seed=2"]  # each job its own folder and config


@pytest.mark.e2e
def test_a_failed_job_in_a_worker_process_still_fails_the_command(tmp_path):
    """A failure no pre-flight can see (its dataset files exist but are damaged) in one job of a parallel sweep."""
    damaged = tmp_path / "damaged" / "MNIST" / "raw"
    damaged.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (damaged / stem).write_bytes(b"not an IDX file")
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                   f"data.root={damaged.parents[1]},{DATA_ROOT}", *TINY, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    failed, completed = (read_metrics(j) for j in job_dirs(sweep))
    assert failed["status"] == "failed" and "is not an IDX file" in failed["error"]
    assert completed["status"] == "completed"  # the sibling still ran
    assert (sweep / "0" / "error.log").is_file()
    assert proc.returncode == 1 and "1 run(s) failed" in proc.stderr and str(sweep / "0") in proc.stderr


@pytest.mark.e2e
def test_submitit_local_launcher_runs_a_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/launcher=submitit_local", "seed=3", *TINY, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (job,) = job_dirs(sweep)
    assert read_metrics(job)["status"] == "completed" and (job / "checkpoints" / "last.ckpt").is_file()


def _hydra_view(launcher: dict, job_num: int):
    return OmegaConf.create({"launcher": launcher, "job": {"num": job_num}})


@pytest.mark.unit
def test_parallel_jobs_are_spread_over_the_visible_gpus():
    cfg = OmegaConf.create({"trainer": {"accelerator": "auto", "devices": 1}})
    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 4}
    assert [job_devices(cfg, gpu_count=4, hc=_hydra_view(joblib, n)) for n in range(5)] == [[0], [1], [2], [3], [0]]
    basic = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    assert job_devices(cfg, gpu_count=4, hc=_hydra_view(basic, 2)) == 1  # sequential jobs: Lightning's choice
    assert job_devices(cfg, gpu_count=1, hc=_hydra_view(joblib, 2)) == 1
    ddp = OmegaConf.create({"trainer": {"accelerator": "gpu", "devices": 2}})
    assert job_devices(ddp, gpu_count=4, hc=_hydra_view(joblib, 1)) == 2  # a data-parallel run keeps its devices
    slurm = {"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"}
    assert parallel_jobs(_hydra_view(slurm, 0)) == 1


# ---- resume ------------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_resume_skips_completed_runs_and_continues_interrupted_ones(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "seed=1,2", *TINY, f"hydra.sweep.dir={sweep}"]
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    done, cut = job_dirs(sweep)
    before = read_metrics(done)
    # Job 1 "was interrupted" after its first epoch: its record says so, its epoch-end checkpoint is there.
    interrupted = read_metrics(cut) | {"status": "interrupted"}
    (cut / "metrics.json").write_text(json.dumps(interrupted))

    proc = run_cli(*args, "resume=true", "trainer.max_epochs=2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_metrics(done) == before  # completed: skipped, record untouched
    resumed = read_metrics(cut)
    assert resumed["status"] == "completed" and resumed["epochs_done"] == 2
    assert len(resumed["epoch_seconds"]) == 1  # only the missing epoch was trained
    assert resumed["d_steps_done"] == 2 * before["d_steps_done"]  # step counters continue from the checkpoint


# ---- checkpoints -------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_every_epoch_end_leaves_a_checkpoint_to_resume_from(tmp_path):
    """A long run killed in epoch 2 must be able to resume from epoch 1's end: last.ckpt exists when epoch 2 starts."""
    import pytorch_lightning as pl

    from conftest import compose_config
    from gan_sweeps.run.build import build_datamodule, build_model, build_trainer

    seen: dict[int, int | None] = {}

    class Probe(pl.Callback):
        def on_train_epoch_start(self, trainer, module):
            ckpt = tmp_path / "checkpoints" / "last.ckpt"
            seen[trainer.current_epoch] = torch.load(ckpt, weights_only=True)["epoch"] if ckpt.is_file() else None

    cfg = compose_config(*TINY, "trainer.max_epochs=3", f"data.root={DATA_ROOT}")
    trainer = build_trainer(cfg, tmp_path, [Probe()], [])
    trainer.fit(build_model(cfg), datamodule=build_datamodule(cfg))
    assert seen == {0: None, 1: 0, 2: 1}  # the checkpoint of the epoch that just ended
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["last.ckpt"]

@pytest.mark.unit
def test_checkpoints_are_replaced_whole_or_not_at_all(tmp_path):
    path = tmp_path / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 1, "w": torch.ones(3)}, path)
    with pytest.raises((pickle.PicklingError, AttributeError)):  # "Can't pickle local object"
        io.save_checkpoint({"epoch": 2, "bad": lambda: None}, path)  # cannot be pickled: fails mid-write
    assert torch.load(path, weights_only=False)["epoch"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left behind


# ---- data-parallel training of one run ---------------------------------------------------------------------------
@pytest.mark.e2e
def test_ddp_trains_one_run_on_two_processes_and_rank_zero_records_it(tmp_path):
    # Lightning relaunches the command for rank 1 (with the run's saved Hydra config); gloo on the CPU stands in
    # for NCCL on GPUs. 256 images, batch 64, 2 ranks: each rank steps on 2 batches of its own shard.
    run = tmp_path / "run"
    proc = run_cli("data.train_size=256", "batch_size=64", "trainer.max_epochs=1", "logger=csv", "eval=off",
                   "trainer.accelerator=cpu", "trainer.devices=2", "trainer.strategy=ddp_find_unused_parameters_true",
                   f"hydra.run.dir={run}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = read_metrics(run)
    assert metrics["status"] == "completed" and metrics["error"] is None
    assert metrics["d_steps_done"] == 2 and metrics["train_images"] == 256
    assert (run / "train_ddp_process_1.log").is_file()  # rank 1 ran in its own process, in the same folder


@pytest.mark.e2e
def test_sigterm_to_a_sweep_records_the_running_job_failed_and_starts_no_other(tmp_path):
    """The basic launcher runs jobs in the command's own process: a SIGTERM is meant for the whole sweep."""
    import signal
    import subprocess
    import sys
    import time

    sweep = tmp_path / "sweep"
    command = [sys.executable, "-m", "gan_sweeps", "-m", "seed=0,1,2", "data.train_size=4096", "batch_size=32",
               "trainer.max_epochs=3", "logger=csv", "eval=off", f"hydra.sweep.dir={sweep}"]
    proc = subprocess.Popen(command, cwd=tmp_path, env={**os.environ, "CI": "1"}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    progress, deadline = sweep / "0" / "progress.json", time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if progress.exists() and json.loads(progress.read_text() or "{}").get("stage") == "training":
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, out[-3000:]
    assert read_metrics(sweep / "0")["error"].startswith("Terminated: received SIGTERM")
    assert not (sweep / "1").exists() and not (sweep / "2").exists()
