"""The plan before launch (hydra.sweeper.plan=true, plan.json) and a sweep's terminal output."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import TINY, job_dirs, run_cli

MISSION = ["model=cgan", "model.depth=shallow", "d_step=joint", "k=1,2,3", "optim.beta1=0.5,0.9"]  # make run's


# model=cgan's defaults are the deep net with d_step=separate; these tests' runs are of the shallow net, joint D step
CGAN = ("model=cgan", "model.depth=shallow", "d_step=joint")
CGAN_DEEP = ("model=cgan", "model.depth=deep", "d_step=joint")


def earlier_run(root: Path, k: int = 1, images_per_s: float = 400.0, model: str = "cgan", batch_size: int = 128,
                *overrides: str) -> Path:
    """A completed run folder as a past sweep leaves it (metrics.json with throughput and timings)."""
    from conftest import compose_config

    from gan_sweeps.sweep.plan import arch_key

    run = root / "-".join([f"k{k}-{model}", *overrides])
    run.mkdir(parents=True)
    old_loop = ("d_step=joint",) if model == "cgan" else ()  # the runs these tests were written for
    depth = () if model != "cgan" or any(o.startswith("model.depth=") for o in overrides) else ("model.depth=shallow",)
    arch = arch_key(compose_config(f"model={model}", *old_loop, *depth, *overrides))
    (run / "metrics.json").write_text(json.dumps({
        "status": "completed", "model": model, "arch": arch, "batch_size": batch_size, "device": "cpu", "k": k,
        "g_steps": 1,
        "images_per_s": images_per_s, "eval/num_samples": 1000, "job_in_process": 1, "wall_time_s": 9.0,
        "timings": {"startup": 0.1, "setup": 0.4, "wandb": 0.2, "fit_other": 0.3, "train": 5.0, "eval": 2.0,
                    "reference": 0.0, "teardown": 0.0}}))
    return run


@pytest.mark.unit
def test_estimates_come_from_earlier_runs_of_the_same_model_batch_size_and_device(tmp_path, compose):
    from gan_sweeps.sweep.plan import estimate_job, history

    earlier_run(tmp_path / "multirun", k=1, images_per_s=400.0)
    earlier_run(tmp_path / "multirun", k=2, images_per_s=800.0)
    earlier_run(tmp_path / "multirun", k=2, images_per_s=999.0, model="dcgan")
    runs = history([tmp_path / "multirun"])
    cfg = compose(*CGAN, "k=2", "data.train_size=1600", "trainer.max_epochs=2", "eval.num_samples=3000")
    job = estimate_job(cfg, runs, "cpu", allow_probe=False)
    assert job["source"].startswith("history: 1 run(s)") and "k2-cgan" in job["source"]  # same k preferred
    assert job["train_s"] == pytest.approx(2 * 1600 / 800.0, abs=0.1)
    assert job["eval_s"] == pytest.approx(2.0 / 1000 * 3000, abs=0.1)  # scaled by eval.num_samples
    assert job["overhead_s"] == pytest.approx(1.0, abs=0.1)  # startup + setup + wandb + fit_other
    other = estimate_job(compose(*CGAN, "k=3"), runs, "cpu", allow_probe=False)
    assert other["source"].startswith("history: 2 run(s)")  # no k=3 run: both cGAN runs
    none = estimate_job(compose("model=mlp_gan"), runs, "cpu", allow_probe=False)
    assert none["estimate_s"] is None and none["source"].startswith("none")
    deep = estimate_job(compose(*CGAN_DEEP, "k=2"), runs, "cpu", allow_probe=False)
    assert deep["source"].startswith("none")  # other nets: the shallow runs do not time them
    earlier_run(tmp_path / "multirun", 2, 300.0, "cgan", 128, "model.depth=deep")
    deep = estimate_job(compose(*CGAN_DEEP, "k=2", "trainer.max_epochs=2"),
                        history([tmp_path / "multirun"]), "cpu", allow_probe=False)
    assert deep["source"].startswith("history: 1 run(s)") and "depth=deep" in deep["source"]
    assert deep["train_s"] == pytest.approx(2 * 60000 / 300, rel=0.01)


@pytest.mark.unit
def test_the_report_line_sets_the_estimate_beside_the_actual_time(tmp_path):
    from gan_sweeps.sweep.plan import estimate_vs_actual, write_plan

    write_plan(tmp_path, {"created": time.time() - 20, "total_s": 22.0, "startup_s": 2.0,
                          "jobs": [{"num": 0, "estimate_s": 10.0, "source": "history"},
                                   {"num": 1, "estimate_s": 10.0, "source": "history"}]})
    records = {}
    for num, wall in ((0, 8.0), (1, 12.5)):
        (tmp_path / str(num)).mkdir()
        records[str(num)] = {"status": "completed", "wall_time_s": wall, "timings/startup": 0.0}
        (tmp_path / str(num) / "metrics.json").write_text(json.dumps(records[str(num)]))
    line = estimate_vs_actual(tmp_path, records)
    assert line.startswith("Plan: whole sweep estimated 22s, took 2") and "(estimate +" in line
    assert "per job median error 22% over 2 jobs" in line  # |10-8|/8 = 25 %, |10-12.5|/12.5 = 20 %


@pytest.mark.e2e
def test_plan_prints_the_jobs_and_an_eta_and_runs_nothing(tmp_path):
    earlier_run(tmp_path / "multirun" / "old", k=1)
    proc = run_cli("-m", *MISSION, "hydra.sweeper.plan=true", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "plan: 6 jobs, launcher basic (1 at a time), device cpu" in out
    assert out.count("[history: 1 run(s)") == 6 and "whole sweep: ~" in out and "whole sweep: ~?" not in out
    assert "  #5 model=cgan model.depth=shallow d_step=joint k=3 optim.beta1=0.9: ~" in out
    assert sorted(p.name for p in (tmp_path / "multirun").iterdir()) == ["old"]  # no sweep folder, no run
    assert not (tmp_path / "outputs").exists()


@pytest.mark.e2e
def test_a_sweep_leaves_its_plan_and_prints_one_line_per_job(tmp_path):
    earlier_run(tmp_path / "multirun" / "old", k=1, model="dcgan", batch_size=64)
    sweep = tmp_path / "multirun" / "new"
    tiny = [o for o in TINY if not o.startswith("logger=")]  # W&B on: its terminal output is what is checked
    proc = run_cli("-m", *tiny, "seed=1,2", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    plan = json.loads((sweep / "plan.json").read_text())
    assert [j["overrides"].split()[-1] for j in plan["jobs"]] == ["seed=1", "seed=2"] and plan["total_s"] > 0
    terminal = proc.stdout + proc.stderr
    assert "wandb:" not in terminal and "GPU available" not in terminal  # into the run folders, not here
    assert "Total params" not in terminal  # nor the model summary
    ends = [line for line in terminal.splitlines() if "completed in" in line]
    assert len(ends) == 2 and ends[0].split(" - ", 1)[1].startswith("#0 completed")
    (log,) = job_dirs(sweep)[0].glob("*.log")
    assert "GPU available" in log.read_text() and "Total params" in log.read_text()  # Lightning's lines: the log
    assert all("timings" in json.loads((j / "metrics.json").read_text()) for j in job_dirs(sweep))
