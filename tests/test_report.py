"""The report command on hand-built sweep folders that follow the run-folder contract (what train.py writes).

The fixtures below write what a Hydra multirun leaves: ``.hydra/{config,overrides,hydra}.yaml``, ``metrics.json``,
a sparse Lightning ``csv/metrics.csv`` and ``samples/epoch_NNN.png``; the report is a pure reader of these files,
so building them directly keeps these tests fast (an end-to-end test on a real sweep lives elsewhere)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from matplotlib.image import imread, imsave

from gan_sweeps.report import ReportOptions, main, make_report
from gan_sweeps.report.runs import read_csv_log

REPO = Path(__file__).resolve().parents[1]
K_VALUES = (1, 2, 3)
BETA1_VALUES = (0.5, 0.9)
DIVERGED_JOB = 3  # k=2, beta1=0.9
RUNNING_JOB = 5  # k=3, beta1=0.9: started, nothing written yet but .hydra/
CSV_COLUMNS = ["epoch", "epoch/d_loss", "epoch/g_loss", "eval/fid", "step", "train/d_loss", "train/d_real",
               "train/g_loss"]


# ---- fixture builders ----------------------------------------------------------------------------------------------
def nested_config(settings: dict[str, Any]) -> dict[str, Any]:
    """A composed-config-like dict: defaults of gan_sweeps/conf/config.yaml with the run's dotted settings applied."""
    config: dict[str, Any] = {"seed": 42, "k": 1, "batch_size": 128, "objective": "eval/fid",
                              "model": {"name": "dcgan", "depth": "shallow", "latent_dim": 100,
                                        "generator": {"depth": "${model.depth}"}},
                              "optim": {"name": "adam", "lr": 2e-4, "beta1": 0.5, "beta2": 0.999},
                              "data": {"name": "mnist", "train_size": None}, "trainer": {"max_epochs": 3}}
    for key, value in settings.items():
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if isinstance(node.get(leaf), dict):  # a group choice: model=cgan
            node[leaf]["name"] = value
        else:
            node[leaf] = value
    return config


def write_png(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, np.random.default_rng(seed).random((30, 30)), cmap="gray")


def write_csv_log(path: Path, steps: int, d_loss: float) -> None:
    """A sparse CSVLogger file: per-step rows with the train/ columns, one epoch/ row per epoch, eval at the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for step in range(1, steps + 1, 2):
            epoch = (step - 1) * 3 // steps
            writer.writerow({"epoch": epoch, "step": step, "train/d_loss": d_loss + 1 / step,
                             "train/g_loss": 1.0 + step / 100, "train/d_real": 0.8})
            if step + 2 > (epoch + 1) * steps / 3:
                writer.writerow({"epoch": epoch, "step": step, "epoch/d_loss": d_loss, "epoch/g_loss": 1.2})
        writer.writerow({"epoch": 2, "step": steps, "eval/fid": 20.0})


def write_run(run_dir: Path, overrides: list[str], metrics: dict[str, Any] | None, sample_epochs=(),
              csv_steps: int = 0) -> Path:
    """One run folder as train.py leaves it; ``metrics=None`` means metrics.json was not written yet."""
    settings = dict(item.split("=", 1) for item in overrides)
    typed = {k: yaml.safe_load(v) for k, v in settings.items()}
    hydra_dir = run_dir / ".hydra"
    hydra_dir.mkdir(parents=True)
    (hydra_dir / "config.yaml").write_text(yaml.safe_dump(nested_config(typed), sort_keys=False))
    (hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    choices = {"model": settings.get("model", "dcgan"), "optim": "adam", "data": "mnist", "eval": "default"}
    (hydra_dir / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"runtime": {"choices": choices}}}))
    if metrics is not None:
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if csv_steps:
        write_csv_log(run_dir / "csv" / "metrics.csv", csv_steps, d_loss=float(metrics.get("train/d_loss") or 0.5))
    for epoch in sample_epochs:
        write_png(run_dir / "samples" / f"epoch_{epoch:03d}.png", seed=epoch)
    return run_dir


def cond_acc(k: int, beta1: float, depth: str = "shallow") -> float:
    """Made-up but distinct accuracies: best at k=1, beta1=0.9 (deep nets a little better)."""
    return round(0.99 - 0.01 * k + 0.005 * (beta1 == 0.9) + 0.002 * (depth == "deep"), 6)


def fid(k: int, beta1: float) -> float:
    """Made-up FIDs: lowest (best) at high k."""
    return 30.0 - 5 * k - 2 * (beta1 == 0.9)


def completed_metrics(k: int, beta1: float, depth: str = "shallow") -> dict[str, Any]:
    acc = cond_acc(k, beta1, depth)
    return {"status": "completed", "health": "ok", "error": None, "model": "cgan", "dataset": "mnist",
            "epochs_done": 3, "g_steps_done": 30 // k, "wall_time_s": 12.5, "images_per_s": 1000.0 + k,
            "epoch_seconds": [4.0 + k, 4.2 + k, 3.8 + k], "train/d_loss": 0.6, "train/g_loss": 1.2,
            "eval/fid": fid(k, beta1), "eval/is": 8.0 + k, "eval/cond_acc": acc, "eval/conf_correct": acc + 0.005,
            "eval/conf_incorrect": 0.8 - 0.01 * k, "eval/class_hist": [0.1] * 10, "eval/mode_collapse": False,
            "eval": {"pretrain": {"knn_acc": 0.9}}}


def overrides_for(k: int, beta1: float, *extra: str) -> list[str]:
    return ["model=cgan", f"k={k}", f"optim.beta1={beta1}", *extra, "data.train_size=512"]


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """seed 001's cGAN grid, k=1,2,3 x beta1=0.5,0.9 (Hydra order: the last key varies fastest); job 3 diverged,
    job 5 still running (no metrics.json, no log, no samples)."""
    root = tmp_path / "multirun" / "2024-05-01" / "12-00-00"
    root.mkdir(parents=True)
    (root / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {
        "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"},
        "overrides": {"task": ["model=cgan", "k=1,2,3", "optim.beta1=0.5,0.9", "data.train_size=512"]}}}))
    for job, (k, beta1) in enumerate((k, b) for k in K_VALUES for b in BETA1_VALUES):
        run_dir = root / str(job)
        if job == DIVERGED_JOB:
            metrics = {"status": "diverged", "health": "diverged", "error": "d loss became nan at d-step 17 (epoch 0)",
                       "model": "cgan", "epochs_done": 0, "epoch_seconds": [], "train/d_loss": None,
                       "eval/fid": None}
            write_run(run_dir, overrides_for(k, beta1), metrics, sample_epochs=(1,), csv_steps=16)
        elif job == RUNNING_JOB:
            write_run(run_dir, overrides_for(k, beta1), None)
        else:
            write_run(run_dir, overrides_for(k, beta1), completed_metrics(k, beta1), sample_epochs=(1, 2, 3),
                      csv_steps=30)
    return root


def quiet(**kwargs: Any) -> ReportOptions:
    return ReportOptions(figures=False, print_table=False, **kwargs)


def titled(report, prefix: str):
    return next(grid for grid in report.grids if grid.title.startswith(prefix))


def column(grid, name: str) -> list[Any]:
    index = grid.header.index(name)
    return [row[index] for row in grid.rows]


# ---- the run table -------------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_one_row_per_run_led_by_the_swept_keys(sweep):
    report = make_report(sweep, quiet())
    table = titled(report, "Runs")
    assert table.header[:5] == ["run", "k", "optim.beta1", "status", "health"]
    assert "model" not in table.header and "data.train_size" not in table.header  # constant overrides
    assert report.sweep.fixed == {"model": "cgan", "data.train_size": "512"}
    assert column(table, "run") == ["0", "1", "2", "3", "4", "5"]
    assert [row[1:3] for row in table.rows] == [[str(k), str(b)] for k in K_VALUES for b in BETA1_VALUES]
    # default metrics: evaluation first (nested eval/pretrain/knn_acc flattened), lists and flags left out
    metrics = report.sweep.metrics
    assert metrics[:6] == ["eval/fid", "eval/is", "eval/cond_acc", "eval/conf_correct", "eval/conf_incorrect",
                           "eval/pretrain/knn_acc"]
    assert "eval/class_hist" not in metrics and "eval/mode_collapse" not in metrics
    assert {"images_per_s", "s_per_epoch"} <= set(metrics)
    assert column(table, "eval/cond_acc")[0] == pytest.approx(cond_acc(1, 0.5))
    assert column(table, "s_per_epoch")[1] == pytest.approx(5.0)


@pytest.mark.unit
def test_unfinished_runs_keep_their_row_with_blank_metrics(sweep):
    report = make_report(sweep, quiet())
    table, sweep_info = titled(report, "Runs"), report.sweep
    statuses = column(table, "status")
    assert statuses == ["completed", "completed", "completed", "diverged", "completed", "running"]
    assert column(table, "health")[DIVERGED_JOB] == "diverged"
    for job in (DIVERGED_JOB, RUNNING_JOB):
        assert all(column(table, m)[job] is None for m in sweep_info.metrics), job
    with open(sweep / "report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    assert rows[DIVERGED_JOB]["status"] == "diverged" and rows[DIVERGED_JOB]["eval/fid"] == ""
    assert "nan" in rows[DIVERGED_JOB]["error"]
    assert rows[RUNNING_JOB]["status"] == "running"
    assert "Runs that did not complete" in (sweep / "report.md").read_text()


@pytest.mark.parametrize("metrics, best, expected_job", [
    ([], None, "4"),  # the runs' objective eval/fid, lower is better: k=3, beta1=0.5 (k=3, 0.9 is still running)
    (["eval/cond_acc"], None, "1"),  # accuracy, higher is better: k=1, beta1=0.9
    (["eval/fid"], "maximize", "0"),  # --best overrides the direction found from the name
])
@pytest.mark.unit
def test_best_run_is_marked_for_the_primary_metric(sweep, metrics, best, expected_job):
    report = make_report(sweep, quiet(metrics=metrics, best=best))
    assert report.sweep.best is not None and report.sweep.best.name == expected_job
    assert column(titled(report, "Runs"), "best") == ["★" if str(job) == expected_job else "" for job in range(6)]


# ---- pivots --------------------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_pivot_gives_the_k_by_beta1_layout(sweep):
    report = make_report(sweep, quiet(rows=["k"], cols=["optim.beta1"], metrics=["eval/cond_acc"]))
    pivot = titled(report, "Pivot")
    assert pivot.header == ["k", "optim.beta1=0.5\neval/cond_acc", "optim.beta1=0.9\neval/cond_acc"]
    assert [row[0] for row in pivot.rows] == ["1", "2", "3"]
    assert pivot.rows[0][1:] == pytest.approx([cond_acc(1, 0.5), cond_acc(1, 0.9)])
    assert pivot.rows[1][1] == pytest.approx(cond_acc(2, 0.5))
    assert pivot.rows[1][2] == "diverged" and pivot.rows[2][2] == "running"  # why a cell is empty
    with open(sweep / "report_pivot.csv", newline="") as handle:
        assert next(csv.reader(handle)) == ["k", "optim.beta1=0.5 | eval/cond_acc", "optim.beta1=0.9 | eval/cond_acc"]


@pytest.mark.unit
def test_seed_001_table_1_layout(tmp_path):
    """Rows k x beta1, a column group per architecture (Deep, Shallow) holding Acc, Conf C, Conf I."""
    root = tmp_path / "sweep"
    grid = [(d, k, b) for d in ("shallow", "deep") for k in K_VALUES for b in BETA1_VALUES]
    for job, (depth, k, beta1) in enumerate(grid):
        write_run(root / str(job), overrides_for(k, beta1, f"model.depth={depth}"),
                  completed_metrics(k, beta1, depth))
    metrics = ["eval/cond_acc", "eval/conf_correct", "eval/conf_incorrect"]
    report = make_report(root, quiet(rows=["k", "optim.beta1"], cols=["model.depth"], metrics=metrics))
    assert [run.name for run in report.sweep.runs] == [str(i) for i in range(12)]  # 10 and 11 after 9
    pivot = titled(report, "Pivot")
    assert pivot.header == ["k", "optim.beta1", *(f"model.depth={d}\n{m}" for d in ("deep", "shallow")
                                                   for m in metrics)]
    assert [row[:2] for row in pivot.rows] == [[str(k), str(b)] for k in K_VALUES for b in BETA1_VALUES]
    k2_beta09 = pivot.rows[3]
    assert k2_beta09[2] == pytest.approx(cond_acc(2, 0.9, "deep"))
    assert k2_beta09[5] == pytest.approx(cond_acc(2, 0.9, "shallow"))
    assert k2_beta09[4] == pytest.approx(0.78)


# ---- the command ---------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_cli_writes_report_table_and_figures(sweep, tmp_path, capsys):
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps({"eval/cond_acc": 0.9899, "conf_correct": 0.9972, "is": 9.88}))
    # a sweep still being written: a half-written last sample grid and CSV line must not stop the report
    last_sample = sweep / "2" / "samples" / "epoch_003.png"
    last_sample.write_bytes(last_sample.read_bytes()[:100])
    with open(sweep / "2" / "csv" / "metrics.csv", "a") as handle:
        handle.write("2,,,,31,0.5")
    code = main([str(sweep), "--rows", "k", "--cols", "optim.beta1", "--epochs", "1,3,50",
                 "--reference", str(reference)])
    assert code == 0
    figures = ["loss_curves.png", "samples_mosaic.png", "samples_by_epoch.png", "epoch_seconds.png"]
    for name in ["report.md", "report.csv", "report_pivot.csv", *figures]:
        assert (sweep / name).is_file(), name
    markdown = (sweep / "report.md").read_text()
    for name in figures:
        assert f"]({name})" in markdown
        image = imread(sweep / name)
        assert image.shape[0] > 100 and image.shape[1] > 100
    with open(sweep / "report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["run"] for r in rows] == ["0", "1", "2", "3", "4", "5", "real data"]
    assert float(rows[-1]["eval/cond_acc"]) == pytest.approx(0.9899)
    assert float(rows[-1]["eval/conf_correct"]) == pytest.approx(0.9972)  # matched without the eval/ prefix
    out, err = capsys.readouterr()
    assert "optim.beta1" in out and "diverged" in out and "★" in out
    assert "epoch(s) 50" in err  # no run reached epoch 50: that column is left out


@pytest.mark.unit
def test_single_run_folder_and_optuna_best_trial(sweep):
    single = make_report(sweep / "0", quiet())
    assert [run.name for run in single.sweep.runs] == ["0"] and (sweep / "0" / "report.md").is_file()

    (sweep / "optimization_results.yaml").write_text(yaml.safe_dump(
        {"name": "optuna", "study_name": "cgan-k-beta1", "direction": "minimize",
         "best_params": {"k": 3, "optim.beta1": 0.5}, "best_value": 15.0}))
    report = make_report(sweep, quiet(out=sweep / "out"))
    best_trial = dict((row[0], row[1]) for row in titled(report, "Best trial").rows)
    assert best_trial["best_value"] == 15.0 and best_trial["matching run"] == "4"
    assert "## Best trial" in (sweep / "out" / "report.md").read_text()


@pytest.mark.unit
def test_a_job_still_starting_changes_no_column(sweep):
    (sweep / "6" / ".hydra").mkdir(parents=True)  # Hydra made the folder, its files are not written yet
    table = titled(make_report(sweep, quiet()), "Runs")
    assert table.header[:5] == ["run", "k", "optim.beta1", "status", "health"]
    assert table.rows[-1][:4] == ["6", None, None, "running"]


@pytest.mark.unit
def test_csv_log_reader_skips_blanks_and_a_half_written_line(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,train/d_loss,train/g_loss\n0,1,1.5,0.9\n0,3,,0.8\n0,5,1.2,0.7\n0,7,1.")
    log = read_csv_log(path)
    assert log["train/d_loss"][:2] == [(1.0, 1.5), (5.0, 1.2)]
    assert log["train/g_loss"] == [(1.0, 0.9), (3.0, 0.8), (5.0, 0.7)]
    assert "epoch" not in log


@pytest.mark.unit
def test_bad_requests_exit_non_zero_with_one_line(sweep, tmp_path, capsys):
    assert main([str(sweep), "--rows", "kk", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --rows kk") and "k, optim.beta1" in err and "\n" not in err


def run_module(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gan_sweeps.report", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.e2e
def test_module_entry_point(sweep, tmp_path):
    done = run_module(str(sweep), "--metric", "eval/cond_acc", "--no-figures")
    assert done.returncode == 0, done.stderr
    assert "eval/cond_acc" in done.stdout and (sweep / "report.md").is_file()

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "multirun.yaml").write_text("hydra: {}\n")
    failed = run_module(str(empty))
    assert failed.returncode != 0
    assert failed.stderr.strip().count("\n") == 0 and failed.stderr.startswith("error: no runs found")


# ---- end to end: a real evaluated sweep -----------------------------------------------------------------------------
@pytest.mark.e2e
def test_evaluated_cgan_sweep_reports_seed_001_table_with_the_real_data_row(tmp_path, capsys):
    from conftest import job_dirs, read_metrics, run_cli

    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "model=cgan", "k=1,2", "optim.beta1=0.5,0.9", "data.train_size=256", "batch_size=64",
                   "trainer.max_epochs=1", "eval.num_samples=500", "logger=csv", f"hydra.sweep.dir={sweep}",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = job_dirs(sweep)
    assert len(jobs) == 4
    for job in jobs:
        metrics = read_metrics(job)
        for key in ("eval/fid", "eval/kid_mean", "eval/is", "eval/class_entropy", "eval/cond_acc",
                    "eval/conf_correct", "eval/evaluator_test_acc"):
            assert isinstance(metrics[key], float), key
        assert len(metrics["eval/class_hist"]) == 10 and isinstance(metrics["eval/mode_collapse"], bool)
        assert (job / "confusion.png").is_file() and (job / "reference.json").is_file()

    assert main([str(sweep), "--rows", "k", "--cols", "optim.beta1",
                 "--metric", "eval/cond_acc,eval/conf_correct,eval/conf_incorrect,eval/fid,eval/is"]) == 0
    with open(sweep / "report_pivot.csv", newline="") as handle:
        pivot = list(csv.reader(handle))
    assert pivot[0][0] == "k" and [row[0] for row in pivot[1:]] == ["1", "2", "real data"]
    assert pivot[0][1].startswith("optim.beta1=0.5") and pivot[0][6].startswith("optim.beta1=0.9")
    assert all(cell != "" for row in pivot[1:3] for cell in row)  # every k x beta1 cell was measured
    real = pivot[-1]  # the real test split, scored by the same evaluator: seed 001's 98.99 % row
    assert float(real[1]) > 0.97
    assert "real data" in capsys.readouterr().out


@pytest.mark.unit
def test_reference_row_only_when_it_has_a_value_for_a_shown_metric(sweep, tmp_path):
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps({"eval/is": 9.88}))
    shown = make_report(sweep, ReportOptions(metrics=["eval/is"], reference=reference, figures=False,
                                             print_table=False))
    assert shown.grids[0].rows[-1][0] == "real data"
    hidden = make_report(sweep, ReportOptions(metrics=["train/d_loss"], reference=reference, figures=False,
                                              print_table=False))
    assert all(row[0] != "real data" for row in hidden.grids[0].rows)
