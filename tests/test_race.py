"""Racing (``hydra.sweeper.repeats=auto``, hydra_plugins/gan_sweeps_grid/race.py): the engine's statistics, the
simulations that show it keeps its promise (issue 18: (a) and (b), figures printed; ``pytest -s`` shows them), one
race of the synthetic app (tests/apps/race_app.py) through the real Hydra sweeper, and a smoke-size race of a real
GAN with its report and its resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hydra_plugins.gan_sweeps_grid.race import Race, RaceConfig, final_level, looks_false_rate, welch_p
from apps.race_app import score
from conftest import TINY, job_dirs, run_cli

APP = Path(__file__).parent / "apps" / "race_app.py"
SIMULATED = 200  # races per figure (issue 18: at least 200)
# (b): Table 1's 12 cells, the best 1 noise SD above the runner-up, the others clearly worse (1 to 5.5 SD below it)
MARGIN_MEANS = [1.0, 0.0] + [-1.0 - 0.5 * i for i in range(10)]


def binomial_bound(races: int, alpha: float) -> int:
    """The most false winners a procedure with a true rate of ``alpha`` shows in ``races`` races, but for 1 % of
    test runs: the 99th percentile of Binomial(races, alpha)."""
    from scipy import stats

    return int(stats.binom.ppf(0.99, races, alpha))


def simulate(means: list[float], config: RaceConfig, races: int, first_stream: int) -> tuple[int, int, float]:
    """(races with a winner, races won by setting 0, mean runs used) over ``races`` in-process races of the
    synthetic app's objective (maximised), race r on noise stream ``first_stream + r``."""
    winners = correct = runs = 0
    for stream in range(first_stream, first_stream + races):
        race = Race([[f"setting={i}"] for i in range(len(means))], config, "maximize")
        outcome = race.run(lambda pairs, stream=stream: [score(means, i, seed, 1.0, stream) for i, seed in pairs])
        runs += race.runs_used()
        winners += outcome["winner"] is not None
        correct += outcome["winner"] == ["setting=0"]
    return winners, correct, runs / races


@pytest.mark.unit
def test_welch_p_is_scipys_welch_test():
    from scipy import stats

    a, b = [1.0, 2.5, 0.3, 1.7], [0.1, -0.4, 0.9]
    assert welch_p(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert welch_p([1.0], b) is None
    assert welch_p([1.0, 1.0], [2.0, 2.0]) == 0.0


@pytest.mark.unit
def test_final_level_keeps_two_equal_settings_at_alpha():
    level = final_level(0.05, 2, 10)
    assert 0.05 / 9 < level < 0.05  # between Bonferroni over the 9 rounds and no correction
    assert looks_false_rate(level, 2, 10) <= 0.05
    assert looks_false_rate(0.05, 2, 10) > 0.1  # the uncorrected race: why the correction is needed


@pytest.mark.unit
def test_failed_runs_leave_the_mean_and_n_but_use_a_seed():
    race = Race([["x=0"], ["x=1"]], RaceConfig(max_repeats=3), "minimize")
    values = {(0, 0): 1.0, (0, 1): float("nan"), (1, 0): 5.0, (1, 1): 5.5, (0, 2): 1.2, (1, 2): 5.2}
    race.run(lambda pairs: [values[pair] for pair in pairs])
    first = race.to_json()["settings"][0]
    assert (first["n"], first["failed"], first["mean"]) == (2, 1, pytest.approx(1.1))
    assert race.runs_used() == 6 and race.outcome["reason"] in ("separated", "max_repeats")


@pytest.mark.unit
def test_a_resumed_race_replays_its_rounds_and_asks_only_for_new_seeds():
    means = [0.0, 0.0, 3.0]
    config = RaceConfig(max_repeats=4)
    first = Race([[f"s={i}"] for i in range(3)], config, "minimize")
    first.run(lambda pairs: [score(means, i, s, 1.0, 6) for i, s in pairs])
    assert first.outcome["reason"] == "max_repeats"
    wider = Race([[f"s={i}"] for i in range(3)], RaceConfig(max_repeats=6), "minimize")
    wider.load(json.loads(json.dumps(first.to_json())))
    asked = []
    wider.run(lambda pairs: asked.extend(pairs) or [score(means, i, s, 1.0, 6) for i, s in pairs])
    assert asked and all(seed >= 4 for _, seed in asked)


@pytest.mark.unit
def test_the_table1_race_preset_races_the_12_cgan_cells_on_conditional_accuracy():
    from conftest import compose_config

    from hydra_plugins.gan_sweeps_grid.grid_sweeper import grid_jobs

    cfg = compose_config("experiment=seed001_table1_race", hydra_node=True)
    sweeper = cfg.hydra.sweeper
    assert (sweeper.repeats, sweeper.direction, cfg.objective) == ("auto", "maximize", "eval/cond_acc")
    assert (cfg.model.name, cfg.d_step, cfg.trainer.max_epochs) == ("cgan", "separate", 15)
    assert (sweeper.race.initial, sweeper.race.max_repeats, sweeper.race.alpha) == (2, 10, 0.05)
    cells = grid_jobs([f"{k}={v}" for k, v in sweeper.params.items()])
    assert len(cells) == 12 and not any(o.startswith("seed=") for cell in cells for o in cell)


@pytest.mark.integration
def test_simulation_a_equal_settings_rarely_get_a_winner():
    """(a) All settings equal: a winner in at most alpha of races, within sampling error (the 99th percentile of
    Binomial(races, alpha)). Two settings are the worst case (a winner must beat only one); 12 as in Table 1."""
    alpha, lines = 0.05, []
    for count, config, races in [(2, RaceConfig(), 2 * SIMULATED), (12, RaceConfig(max_repeats=20), SIMULATED)]:
        winners, _, runs = simulate([0.0] * count, config, races, first_stream=10_000 * count)
        bound = binomial_bound(races, alpha)
        lines.append(f"(a) {count} equal settings, max_repeats={config.max_repeats}: a winner in {winners} of {races}"
                     f" races ({winners / races:.3f}; alpha {alpha}, binomial 99% bound {bound}), {runs:.1f} runs")
        assert winners <= bound
    print("\n" + "\n".join(lines))


@pytest.mark.integration
def test_simulation_b_a_best_setting_is_found_with_half_the_runs():
    """(b) One setting best by one noise SD (12 settings, MARGIN_MEANS): the race (max_repeats=20) finds it at least
    as often as a fixed 10-seed grid judged by the same test, using at most half of that grid's runs."""
    grid_config = RaceConfig(initial=10, max_repeats=10)  # one round of 10 seeds: the report's Welch verdict
    grid_winners, grid_found, grid_runs = simulate(MARGIN_MEANS, grid_config, SIMULATED, first_stream=0)
    race_winners, race_found, race_runs = simulate(MARGIN_MEANS, RaceConfig(max_repeats=20), SIMULATED, 0)
    print(f"\n(b) best by 1 SD of 12 settings, {SIMULATED} races: race found it in {race_found} "
          f"({race_found / SIMULATED:.2f}) using {race_runs:.1f} runs on average; the fixed 10-seed grid in "
          f"{grid_found} ({grid_found / SIMULATED:.2f}) using {grid_runs:.0f} runs")
    assert race_found >= grid_found
    assert race_runs <= grid_runs / 2


def _race_app(sweep_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(APP), "-m", "setting=0,1,2", "means=[4.0,0.0,-4.0]",
                           "hydra.sweeper.repeats=auto", "hydra.sweeper.direction=maximize",
                           f"hydra.sweep.dir={sweep_dir}", *overrides], text=True, capture_output=True, timeout=300)


@pytest.mark.e2e
def test_synthetic_app_races_through_the_hydra_sweeper(tmp_path):
    proc = _race_app(tmp_path / "sweep", "hydra.sweeper.race.max_repeats=6")
    assert proc.returncode == 0, proc.stderr[-2000:]
    race = json.loads((tmp_path / "sweep" / "race.json").read_text())
    assert race["outcome"]["winner"] == ["setting=0", "means=[4.0,0.0,-4.0]"]
    assert race["runs_used"] == len(job_dirs(tmp_path / "sweep")) < race["full_grid_runs"] == 18
    values = {s["overrides"][0]: [v["value"] for v in s["values"]] for s in race["settings"]}
    assert values["setting=2"][:2] == [pytest.approx(score([4.0, 0.0, -4.0], 2, seed)) for seed in range(2)]
    refused = _race_app(tmp_path / "bad", "seed=0,1")
    assert refused.returncode != 0 and "remove seed from the sweep" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.e2e
def test_a_raced_gan_sweep_reports_its_outcome_and_resumes_only_new_rounds(tmp_path):
    """Acceptance (issue 18): 3 settings, 2 initial seeds, max_repeats=4, then resumed with max_repeats=5 (a tiny
    cGAN of seed001_table1_race's loop, raced on a metric that needs no evaluation)."""
    sweep = tmp_path / "sweep"
    common = ["-m", "model=cgan", "d_step=separate", "k=1,2,3", *TINY, "objective=train/d_loss",
              "hydra.sweeper.repeats=auto", "hydra.sweeper.direction=minimize", f"hydra.sweep.dir={sweep}"]
    undirected = run_cli(*[o for o in common if "direction" not in o], cwd=tmp_path)
    assert undirected.returncode == 2 and undirected.stderr.strip() == (
        "error: hydra.sweeper.direction=null: a raced sweep (hydra.sweeper.repeats=auto) needs minimize or maximize")
    plan = run_cli(*common, "hydra.sweeper.race.max_repeats=4", "hydra.sweeper.plan=true", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "race: 3 settings; at least 6 runs" in plan.stdout and "at most 12 runs" in plan.stdout
    assert not sweep.exists()

    proc = run_cli(*common, "hydra.sweeper.race.max_repeats=4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    race = json.loads((sweep / "race.json").read_text())
    assert len(race["settings"]) == 3 and race["outcome"]["reason"] in ("separated", "max_repeats")
    folders = job_dirs(sweep)
    assert len(folders) == race["runs_used"] >= 6
    stamps = {path.name: (path / "metrics.json").read_bytes() for path in folders}

    report = subprocess.run([sys.executable, "-m", "gan_sweeps.report", str(sweep)], text=True, capture_output=True,
                            timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    assert "Race on train/d_loss" in report.stdout and "Swept: k; repeats: seed (3 settings)" in report.stdout
    assert ("winner:" in report.stdout) != ("no winner" in report.stdout)
    assert f"Runs used: {race['runs_used']} of the full grid's 12" in report.stdout

    resumed = run_cli(*common, "hydra.sweeper.race.max_repeats=5", "resume=true", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    again = json.loads((sweep / "race.json").read_text())
    assert again["max_repeats"] == 5 and again["full_grid_runs"] == 15
    new = [path for path in job_dirs(sweep) if path.name not in stamps]
    assert len(new) == again["runs_used"] - race["runs_used"]  # only the new rounds ran, each in a new folder
    assert all((sweep / name / "metrics.json").read_bytes() == text for name, text in stamps.items())
    after = subprocess.run([sys.executable, "-m", "gan_sweeps.report", str(sweep)], text=True, capture_output=True,
                           timeout=300)
    assert "Swept: k; repeats: seed (3 settings)" in after.stdout  # resume=true is no setting
    assert f"Runs used: {again['runs_used']} of the full grid's 15" in after.stdout
    seeds = {tuple(s["overrides"]): len(s["values"]) for s in race["settings"]}
    for path in new:  # every new run is a seed beyond what its setting had
        overrides = (path / ".hydra" / "overrides.yaml").read_text()
        assert any(f"seed={seeds[key]}" in overrides or f"seed={seeds[key] + 1}" in overrides
                   for key in seeds if all(o in overrides for o in key))
