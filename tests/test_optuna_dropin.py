"""Our Optuna sweeper as a drop-in for the official hydra-optuna-sweeper, with a generic Hydra app (not gan-sweeps):
the official example configs and commands (re-written in tests/optuna_apps/, the official example folder cannot
be fetched offline), its keys (max_failure_rate, custom_search_space, samplers, multi-objective directions) and
its search-space mapping; plus the shared pre-flight contract and repeats, which any app gets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

pytestmark = pytest.mark.e2e

APPS = Path(__file__).parent / "optuna_apps"


def run_app(script: str, *args: str, cwd: Path, multirun: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(APPS / script), *["-m"] * multirun, *args], cwd=cwd, text=True,
                          capture_output=True, timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": ""})


def results_of(folder: Path) -> dict:
    return yaml.safe_load((folder / "optimization_results.yaml").read_text())


def study_in(folder: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{folder / 'optuna.db'}")


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_the_example_config_runs_and_a_second_command_says_the_study_is_complete(tmp_path):
    tpe_keys = ["hydra.sweeper.sampler.n_ei_candidates=12", "hydra.sweeper.sampler.consider_endpoints=true"]
    ok(run_app("sphere.py", "hydra.sweeper.n_trials=5", "hydra.sweep.dir=out", *tpe_keys, cwd=tmp_path))
    results = results_of(tmp_path / "out")
    study = study_in(tmp_path / "out", "sphere")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 5
    assert results["name"] == "optuna" and results["best_value"] == pytest.approx(study.best_value)
    assert results["best_params"] == study.best_params
    for trial in study.trials:  # x from range(-5.5, 5.5, step=0.5): the stop excluded; y from choice(-5, 0, 5)
        assert trial.params["x"] in [-5.5 + 0.5 * i for i in range(22)] and trial.params["y"] in (-5, 0, 5)
        assert trial.value == pytest.approx(trial.params["x"] ** 2 + trial.params["y"] ** 2)
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name.isdigit()) == list("01234")

    again = ok(run_app("sphere.py", "hydra.sweeper.n_trials=5", "hydra.sweep.dir=out", cwd=tmp_path))
    assert "study sphere already has its 5 trials: 0 trials run" in again.stdout + again.stderr
    assert len(study_in(tmp_path / "out", "sphere").trials) == 5


def test_the_documented_commands_and_every_return_type_float_accepts(tmp_path):
    shown = ok(run_app("sphere.py", "--cfg", "hydra", "-p", "hydra.sweeper", cwd=tmp_path, multirun=False)).stdout
    sweeper = yaml.safe_load(shown)
    assert sweeper["sampler"]["n_ei_candidates"] == 24 and sweeper["max_failure_rate"] == 0.0
    assert sweeper["params"] == {"x": "range(-5.5, 5.5, step=0.5)", "y": "choice(-5 ,0 ,5)"}
    commands = {  # the official docs' command-line search spaces, with the return types as a further dimension
        "int-log": ["x=int(interval(-5.0, 5.0))", "y=tag(log, interval(1, 10))", "+returns=float32,array0d,tensor0d"],
        "ranges": ["x=range(-5.0, 5.0)", "y=shuffle(range(-5, 5))", "~z"],
        "choices": ["x=choice(-5.0, 0.0, 5.0)", "y=choice(0, 1, 2, 3, 4, 5)"],
    }
    for name, overrides in commands.items():
        ok(run_app("sphere.py", "hydra.sweeper.n_trials=3", f"hydra.sweep.dir={name}", "hydra/sweeper/sampler=random",
                   "hydra.job.chdir=True", *overrides, cwd=tmp_path))
        for trial in study_in(tmp_path / name, "sphere").trials:
            assert trial.state == TrialState.COMPLETE  # NumPy float32, 0-d array, 0-d tensor are values
            assert trial.value == pytest.approx(trial.params["x"] ** 2 + trial.params["y"] ** 2)
            x, y = trial.params["x"], trial.params["y"]
            if name == "int-log":
                assert isinstance(x, int) and -5 <= x <= 5 and 1 <= y <= 10
            elif name == "ranges":
                assert x in [-5.0 + i for i in range(10)] and y in range(-5, 5)
            else:
                assert x in (-5.0, 0.0, 5.0) and y in range(6)


def test_failures_stop_the_study_beyond_max_failure_rate_and_the_command_fails(tmp_path):
    proc = run_app("sphere.py", "hydra.sweeper.n_trials=8", "hydra.sweeper.n_jobs=2", "hydra.sweep.dir=half",
                   "hydra/sweeper/sampler=random", "hydra.sweeper.max_failure_rate=0.25", "error=true", cwd=tmp_path)
    assert proc.returncode != 0
    assert "RuntimeError: cfg.error is True" in proc.stderr  # the one-line reason names the job's error
    assert "more than max_failure_rate=0.25 x n_trials=8 allows (2): stopped" in proc.stderr
    trials = study_in(tmp_path / "half", "sphere").trials
    assert len(trials) == 4 and {t.user_attrs["run_status"] for t in trials} == {"crashed"}  # 2 batches of 2

    proc = run_app("sphere.py", "hydra.sweeper.n_trials=3", "hydra.sweep.dir=all", "hydra/sweeper/sampler=random",
                   "hydra.sweeper.max_failure_rate=1.0", "+returns=text", cwd=tmp_path)
    assert proc.returncode != 0 and "no trial completed (3 fail)" in proc.stderr  # every trial ran, none completed
    assert {t.user_attrs["run_status"] for t in study_in(tmp_path / "all", "sphere").trials} == {"bad value"}


def test_two_objectives_give_the_pareto_front(tmp_path):
    ok(run_app("sphere.py", "--config-name=two_objectives", "hydra.sweeper.n_trials=8", "hydra.sweep.dir=out",
               cwd=tmp_path))
    solutions = results_of(tmp_path / "out")["solutions"]
    study = study_in(tmp_path / "out", "multi-objective")
    assert sorted(s["trial"] for s in solutions) == sorted(t.number for t in study.best_trials)
    for s in solutions:
        x, y = s["params"]["x"], s["params"]["y"]
        assert x % 0.5 == 0 and y % 0.5 == 0 and 0 <= x <= 4.5 and 0 <= y <= 2.5
        assert s["values"] == pytest.approx([4 * x ** 2 + 4 * y ** 2, (x - 5) ** 2 + (y - 5) ** 2])
        for other in solutions:  # no solution dominates another
            assert not (all(a <= b for a, b in zip(other["values"], s["values"])) and other["values"] != s["values"])


def test_custom_search_space_suggests_dependent_and_new_keys(tmp_path):
    ok(run_app("sphere.py", "--config-name=custom_space", "hydra.sweeper.n_trials=4", "hydra.sweep.dir=out",
               "hydra/sweeper/sampler=random", "max_z_difference_from_x=0.3", cwd=tmp_path))
    for trial in study_in(tmp_path / "out", "custom-search-space").trials:
        assert trial.state == TrialState.COMPLETE
        assert abs(trial.params["x"] - trial.params["z"]) <= 0.3 and 0 <= trial.params["+w"] <= 1
        p = trial.params
        assert trial.value == pytest.approx(p["x"] ** 2 + p["y"] ** 2 + p["z"] ** 2 + p["+w"] ** 2)


def test_grid_sampler_tries_each_combination_once(tmp_path):
    ok(run_app("sphere.py", "hydra/sweeper/sampler=grid", "hydra.sweep.dir=out", "x=choice(-1, 1)",
               "y=range(-1.0, 1.0, step=1)", "z=choice(foo, bar)", "+returns=float32", "~error", cwd=tmp_path))
    combos = [(t.params["x"], t.params["y"], t.params["z"]) for t in study_in(tmp_path / "out", "sphere").trials]
    assert sorted(combos) == sorted((x, y, z) for x in (-1, 1) for y in (-1.0, 0.0) for z in ("foo", "bar"))


def test_preflight_refuses_a_trial_before_launch(tmp_path):
    ok(run_app("checked.py", "hydra.sweep.dir=out", cwd=tmp_path))
    [study_name] = optuna.get_all_study_names(f"sqlite:///{tmp_path / 'out' / 'optuna.db'}")
    by_x = {t.params["x"]: t for t in study_in(tmp_path / "out", study_name).trials}
    refused = by_x[-1]
    assert refused.state == TrialState.FAIL and refused.user_attrs["run_status"] == "invalid"
    assert refused.user_attrs["error"] == "x=-1 is invalid: must be >= 0"  # the app's own one-line message
    assert not (tmp_path / "out" / str(refused.number)).exists()  # never launched
    assert by_x[2].state == TrialState.COMPLETE and by_x[2].value == 4.0


def test_repeats_tell_the_mean_and_keep_the_spread(tmp_path):
    ok(run_app("sphere.py", "hydra.sweeper.n_trials=2", "hydra.sweep.dir=out", "hydra.sweeper.repeats=3",
               "hydra.sweeper.repeat_key=+seed", "hydra/sweeper/pruner=none", cwd=tmp_path))
    study = study_in(tmp_path / "out", "sphere")
    for trial in study.trials:  # the value of seed r is x^2 + y^2 + r: mean +1, std 1
        base = trial.params["x"] ** 2 + trial.params["y"] ** 2
        spread = trial.user_attrs["repeats"]
        assert spread["values"] == pytest.approx([base, base + 1, base + 2])
        assert (spread["mean"], spread["std"], spread["n"]) == (pytest.approx(base + 1), pytest.approx(1.0), 3)
        assert trial.value == pytest.approx(base + 1)
        assert sorted(p.name for p in (tmp_path / "out" / str(trial.number)).iterdir()) == ["0", "1", "2"]
    assert results_of(tmp_path / "out")["repeats"] == {"key": "+seed", "n": 3}

    proc = run_app("sphere.py", "hydra.sweep.dir=bad", "hydra.sweeper.repeats=3", "hydra.sweeper.repeat_key=+seed",
                   cwd=tmp_path)
    assert proc.returncode != 0 and "a trial with repeats cannot be pruned" in proc.stderr
