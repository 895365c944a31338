"""The report on repeated settings (seeds): intervals checked by hand, the best-setting verdict, pivots, CSV columns,
curves over seeds; the swept/fixed split from resolved configs; the terminal table's width and columns.

Sweep folders are hand-built with tests/test_report.py's writers (the run-folder contract); a real seeded sweep's
report is checked in tests/test_status.py."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import yaml

from gan_sweeps.report import ReportOptions, main, make_report
from gan_sweeps.report.render import format_interval, format_value
from gan_sweeps.report.stats import compare, summarize, welch_p_value
from gan_sweeps.report.table import optimization_grids, pareto_grid
from test_report import column, completed_metrics, nested_config, quiet, titled, write_run

# ---- statistics (pure functions) -----------------------------------------------------------------------------------
T_975_2DF = 4.302653  # Student t, 0.975 quantile, 2 degrees of freedom (printed tables: 4.303)


@pytest.mark.unit
def test_interval_is_the_t_interval_of_the_mean_computed_by_hand():
    summary = summarize([0.90, 0.93, 0.99])
    # mean 0.94; s^2 = (0.04^2 + 0.01^2 + 0.05^2) / 2 = 0.0021; half-width = t * s / sqrt(3)
    half = T_975_2DF * math.sqrt(0.0021) / math.sqrt(3)
    assert summary.n == 3 and summary.mean == pytest.approx(0.94)
    assert summary.half_width == pytest.approx(half, rel=1e-6) and half == pytest.approx(0.11384, abs=1e-5)
    assert (summary.low, summary.high) == (pytest.approx(0.94 - half), pytest.approx(0.94 + half))
    assert (summary.min, summary.max) == (0.90, 0.99)
    assert format_interval(summary.mean, summary.half_width) == "0.94 ± 0.11"  # 2 significant digits of the width
    assert format_value(summary) == "0.94 ± 0.11 (n=3, 0.9000–0.9900)"


@pytest.mark.unit
def test_fewer_than_three_values_are_shown_not_summarised():
    pair = summarize([0.91, float("nan"), 0.93, None])  # non-finite and missing values do not count
    assert pair.n == 2 and pair.half_width is None and pair.low is None
    assert format_value(pair) == "0.9100, 0.9300 (n=2)" and format_value(pair, usual_n=3) == "0.9100, 0.9300"
    assert summarize([None, float("inf")]) is None


@pytest.mark.unit
def test_welch_test_separates_clear_differences_and_ties_overlapping_ones():
    low, high = summarize([10.0, 11.0, 12.0]), summarize([20.0, 21.0, 19.0])
    # Welch by hand: both variances 1, t = 9 / sqrt(2/3) = 11.02 on 4 d.f.: p = 0.0004
    assert welch_p_value(low, high) == pytest.approx(0.000386, abs=2e-5)
    verdict = compare([("a", high), ("b", low)], "eval/fid", "min")
    assert verdict.best == "b" and verdict.decided and verdict.tied == []
    close = summarize([10.5, 12.5, 11.6])
    tied = compare([("a", low), ("b", close), ("c", high)], "eval/fid", "min")
    assert tied.best == "a" and not tied.decided and tied.tied == ["b"]  # c is beaten, b is within the noise
    single = compare([("a", low), ("b", summarize([30.0]))], "eval/fid", "min")
    assert not single.decided and single.p_values == {"b": None}  # one value cannot be tested: not "beaten"
    same = summarize([5.0, 5.0, 5.0])
    assert welch_p_value(same, summarize([5.0, 5.0])) == 1.0 and welch_p_value(same, summarize([6.0, 6.0])) == 0.0


# ---- the report on a seeded sweep ----------------------------------------------------------------------------------
FIDS = {1: (30.0, 31.0, 29.5), 2: (20.0, 21.5, 19.0)}  # k=2 clearly better (lower)


def seeded_sweep(root: Path, fids=FIDS, diverged: tuple[int, int] | None = None) -> Path:
    """k in fids x seed 0,1,2 with the given FIDs; ``diverged=(k, seed)``: that run diverged."""
    job = 0
    for k, values in fids.items():
        for seed, value in enumerate(values):
            metrics = completed_metrics(k, 0.5) | {"eval/fid": value, "model": "dcgan"}
            if diverged == (k, seed):
                metrics = {"status": "diverged", "health": "diverged", "error": "nan", "model": "dcgan"}
            write_run(root / str(job), [f"k={k}", f"seed={seed}", "data.train_size=512"], metrics, csv_steps=30)
            job += 1
    return root


@pytest.mark.integration
def test_seeds_are_aggregated_per_setting_and_the_best_setting_is_tested(tmp_path):
    root = seeded_sweep(tmp_path / "sweep")
    report = make_report(root, quiet())
    sweep = report.sweep
    assert sweep.repeat_keys == ["seed"] and sweep.setting_keys == ["k"] and sweep.primary == "eval/fid"
    settings = titled(report, "Settings")
    assert settings.header[:4] == ["k", "runs", "status", "health"]
    fid = column(settings, "eval/fid")
    for cell, values in zip(fid, FIDS.values()):
        assert cell.n == 3 and cell.mean == pytest.approx(sum(values) / 3)
    assert column(settings, "best") == ["", "★"] and settings.best_row == 1
    assert "★ best setting: k=2" in settings.notes[-1] and "Welch's t-test" in settings.notes[-1]
    assert "best" not in titled(report, "Runs").header  # no single run is "the best" of repeated settings
    with open(root / "report_settings.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    second = rows[1]
    assert float(second["eval/fid | n"]) == 3 and float(second["eval/fid | min"]) == 19.0
    assert float(second["eval/fid | max"]) == 21.5
    assert float(second["eval/fid | ci_high"]) - float(second["eval/fid | mean"]) == pytest.approx(
        fid[1].half_width)
    assert (root / "report.csv").read_text().count("\n") == 7  # every run keeps its own row in report.csv


@pytest.mark.integration
def test_top_settings_within_noise_are_reported_tied(tmp_path, capsys):
    root = seeded_sweep(tmp_path / "sweep", fids={1: (30.0, 20.0, 25.0), 2: (22.0, 27.0, 24.0)},
                        diverged=(2, 2))
    report = make_report(root, quiet())
    settings = titled(report, "Settings")
    assert column(settings, "best") == ["≈", "≈"] and settings.best_row is None
    assert column(settings, "status") == ["completed", "2 completed, 1 diverged"]
    assert column(settings, "eval/fid")[1].values == (22.0, 27.0)  # n = 2: shown as values, no interval
    assert "top settings tied on eval/fid" in settings.notes[-1] and "no setting is marked best" in settings.notes[-1]
    assert main([str(root), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "tied within noise: k=2; k=1" in out and "22.00, 27.00" in out  # n = 2 in the terminal: the values


@pytest.mark.integration
def test_pivot_cells_hold_intervals_and_the_real_data_row_stays(tmp_path):
    root = seeded_sweep(tmp_path / "sweep")
    (root / "reference.json").write_text('{"eval/fid": 2.1}')
    report = make_report(root, quiet(rows=["k"], metrics=["eval/fid"], reference=root / "reference.json"))
    pivot = titled(report, "Pivot")
    assert [row[0] for row in pivot.rows] == ["1", "2", "real data"]
    assert pivot.rows[0][1].n == 3 and pivot.rows[0][1].mean == pytest.approx(30.1666667)
    assert pivot.rows[2][1] == 2.1
    assert any("over seed (repeats)" in note for note in pivot.notes)
    with open(root / "report_pivot.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["k", *(f"eval/fid | {part}" for part in ("mean", "ci_low", "ci_high", "n", "min", "max"))]
    assert rows[3][:2] == ["real data", "2.1"] and rows[3][2:] == [""] * 5


@pytest.mark.integration
def test_repeat_key_option(tmp_path, capsys):
    root = seeded_sweep(tmp_path / "sweep")
    flat = make_report(root, quiet(repeat_keys=["none"]))
    assert flat.sweep.repeat_keys == [] and titled(flat, "Runs").header[-1] == "best"
    assert flat.sweep.best.name == "5" and not any(g.title.startswith("Settings") for g in flat.grids)
    assert main([str(root), "--repeat-key", "data.train_size", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --repeat-key data.train_size: not swept") and err.count("\n") == 1
    by_k = make_report(root, quiet(repeat_keys=["k"]))  # any swept key can be the repeat axis
    assert by_k.sweep.setting_keys == ["seed"] and len(by_k.sweep.settings) == 3


@pytest.mark.integration
def test_loss_curves_are_drawn_per_setting_over_seeds(tmp_path):
    from matplotlib.image import imread

    root = seeded_sweep(tmp_path / "sweep")
    report = make_report(root, ReportOptions(print_table=False))
    from gan_sweeps.report.figures import DPI, TILE_INCHES, mean_band

    image = imread(report.files["loss_curves.png"])  # two panels (one per setting) in a row, not six runs
    assert image.shape[:2] == (round(TILE_INCHES * DPI), round(2 * TILE_INCHES * 1.15 * DPI))

    steps, mean, low, high = mean_band([[(1, 1.0), (3, 3.0)], [(1, 2.0), (2, 2.0), (3, 4.0)], [(1, 3.0)]])
    assert list(steps) == [1.0, 2.0, 3.0]
    assert list(mean) == pytest.approx([2.0, 2.0, 3.5])  # run 1 interpolated at step 2; run 3 ends at step 1
    assert low[0] == pytest.approx(2.0 - T_975_2DF * 1.0 / math.sqrt(3)) and (low[2], high[2]) == (3.0, 4.0)


@pytest.mark.integration
def test_periodic_evaluation_is_drawn_as_curves_over_seeds(tmp_path):
    root = seeded_sweep(tmp_path / "sweep")
    assert "eval_curves.png" not in make_report(root, ReportOptions(print_table=False)).files  # evaluated once
    for job in range(6):  # eval.every_n_epochs: the CSV log holds eval/fid at several steps
        with open(root / str(job) / "csv" / "metrics.csv", "a") as handle:
            handle.write("".join(f"{epoch},,,{40.0 - epoch - job},{10 * epoch},,,\n" for epoch in (1, 2)))
    report = make_report(root, ReportOptions(print_table=False))
    assert report.files["eval_curves.png"].is_file()
    assert "## Figures" in (root / "report.md").read_text() and "](eval_curves.png)" in (root / "report.md").read_text()


# ---- swept keys from resolved configs ------------------------------------------------------------------------------
@pytest.mark.integration
def test_values_a_preset_changed_show_as_differences_between_runs(tmp_path):
    """Two presets, same command-line keys: the keys their resolved configs differ in are swept columns; a swept
    config group's own keys (model.*) are summed up by the group's name."""
    root = tmp_path / "sweep"
    for job, (preset, lr, model) in enumerate([("a", 2e-4, "dcgan"), ("b", 1e-4, "cgan")]):
        run = write_run(root / str(job), [f"experiment={preset}", f"model={model}"], completed_metrics(1, 0.5))
        config = nested_config({"optim.lr": lr, "model": model, "model.latent_dim": 100 + job})
        (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    report = make_report(root, quiet())
    assert report.sweep.swept == ["experiment", "model", "optim.lr"] and report.sweep.derived == ["optim.lr"]
    runs = titled(report, "Runs")
    assert column(runs, "optim.lr") == ["0.0002", "0.0001"]
    assert "without an override (set by a preset, a loss or an optimiser recipe): optim.lr" in (
        root / "report.md").read_text()


# ---- the terminal table --------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_terminal_table_fits_120_columns_and_shows_the_key_metrics(tmp_path, capsys):
    root = tmp_path / "sweep"
    for job, (k, beta1) in enumerate((k, b) for k in (1, 2, 3) for b in (0.5, 0.9)):
        metrics = completed_metrics(k, beta1) | {"error": "x" * 300}
        write_run(root / str(job), [f"k={k}", f"optim.beta1={beta1}", "model.depth=a_very_long_depth_name_" + "x" * 40,
                                    "model=cgan"], metrics)
    assert main([str(root), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 120
    header = next(line for line in out.splitlines() if line.lstrip().startswith("run "))
    assert header.split()[:5] == ["run", "k", "optim.beta1", "status", "health"]
    assert {"eval/cond_acc", "eval/fid", "eval/is"} <= set(header.split())  # the cGAN's key metrics
    assert "images_per_s" not in header and "not shown here:" in out and "images_per_s" in out
    rows = [line for line in out.splitlines() if line.lstrip().startswith(tuple("012345")) and "completed" in line]
    assert len(rows) == 6  # one line per run: no cell text wrapped onto a second line
    assert main([str(root), "--no-figures", "--all-columns"]) == 0
    wide = capsys.readouterr().out
    assert "images_per_s" in next(line for line in wide.splitlines() if line.lstrip().startswith("run "))


@pytest.mark.unit
def test_lists_of_records_in_optimization_results_get_their_own_tables():
    """Any list of mappings (here the lost trials of a worker) becomes a table; a multi-objective study's
    ``solutions`` are the Pareto-front table (pareto_grid), not a second copy of it."""
    results = {"best_value": 1.0, "directions": ["minimize", "maximize"], "objective": ["eval/fid", "eval/is"],
               "lost_trials": [{"trial": 2, "retried_as": 5}, {"trial": 4, "retried_as": 6}],
               "solutions": [{"trial": 0, "values": [1.0, 2.0], "params": {"k": 1}},
                             {"trial": 3, "values": [2.0, 3.0], "params": {"k": 3}}]}
    grids = optimization_grids(results, [])
    assert [g.title for g in grids] == ["Best trial (optimization_results.yaml)",
                                        "lost_trials (optimization_results.yaml)"]
    assert grids[1].header == ["trial", "retried_as"] and grids[1].rows[1] == [4, 6]
    front = pareto_grid(results)
    assert front.header == ["trial", "run", "eval/fid (minimize)", "eval/is (maximize)", "k"]
    assert front.rows == [[0, None, 1.0, 2.0, 1], [3, None, 2.0, 3.0, 3]]
