"""Presets run what they say. (Every job of every preset passes the pre-flight and each preset's first job
trains at smoke size: tests/test_readme.py, since the README lists every preset.)"""

from __future__ import annotations

import pytest

from conftest import job_dirs, read_metrics, run_cli


@pytest.mark.e2e
def test_seed004_gan_preset_runs_one_change_at_a_time(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "experiment=seed004_gan_fashion", "data.train_size=128", "batch_size=64",
                   "trainer.max_epochs=1", "sample_epochs=[1]", "eval=off", "logger=csv",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = {read_metrics(j)["overrides"][0].split("=")[1]: read_metrics(j) for j in job_dirs(sweep)}
    assert list(runs) == ["baseline", "lower_g_lr", "lower_lrs", "g_twice", "d_twice", "beta1", "cgan"]
    assert all(r["status"] == "completed" and r["dataset"] == "fashion_mnist" for r in runs.values())
    assert runs["g_twice"]["g_steps_done"] == 2 * runs["baseline"]["g_steps_done"]
    assert runs["d_twice"]["g_steps_done"] == runs["baseline"]["g_steps_done"] // 2
    assert runs["cgan"]["model"] == "cgan" and runs["beta1"]["model"] == "dcgan"
