"""The Optuna sweeper plugin (``hydra/sweeper=optuna``): real Hydra, real Optuna on SQLite in tmp_path, real tiny
training through ``python -m gan_sweeps``.

Fast unit tests cover the naming, the search-space translation and plugin discovery; the end-to-end tests cover
resume (2 trials, then the same command with n_trials=4), a failing trial, and pruning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import TINY, job_dirs, read_metrics, run_cli
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from gan_sweeps.report import main as report_main
from gan_sweeps.report.runs import load_sweep
from gan_sweeps.report.table import analyse
from hydra_plugins.gan_sweeps_optuna._naming import slug, stable_sweep_dir, study_name_for
from hydra_plugins.gan_sweeps_optuna._outcome import Outcome, as_values, repeats_outcome
from hydra_plugins.gan_sweeps_optuna._search_space import build_search_space, dimension_of
from hydra_plugins.gan_sweeps_optuna._study_storage import STORAGE_ENV, StorageError, StorageSpec
from hydra_plugins.gan_sweeps_optuna.trial_link import link_override

OPTUNA = ["-m", "hydra/sweeper=optuna"]
FAST = [*TINY, "objective=train/d_loss"]  # eval=off: the objective is a training loss metrics.json records


def study_dir(cwd: Path) -> Path:
    """The one study folder an Optuna sweep run in ``cwd`` created (multirun/optuna/<study_name>/)."""
    found = [p for p in (cwd / "multirun" / "optuna").iterdir() if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


def load_study(folder: Path) -> optuna.Study:
    storage = f"sqlite:///{folder / 'optuna.db'}"
    names = optuna.get_all_study_names(storage)
    assert names == [folder.name]  # the folder is named after the study
    return optuna.load_study(study_name=folder.name, storage=storage)


def check(proc: subprocess.CompletedProcess, *codes: int) -> None:
    assert proc.returncode in (codes or (0,)), proc.stdout[-3000:] + proc.stderr[-3000:]


# ---- unit ----------------------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_study_name_is_the_same_for_the_same_command_and_differs_otherwise():
    fixed = ["model=dcgan", "data.train_size=512", "objective=train/d_loss"]
    space = {"optim.lr": "tag(log, interval(1e-5, 1e-2))", "k": "1,5"}
    name = study_name_for(fixed, space, "minimize")
    assert name == study_name_for(list(reversed(fixed)), dict(reversed(space.items())), "minimize")
    assert name.startswith("data.train_size=512_model=dcgan_objective=train-d_loss-")  # readable slug + hash
    assert len(name.rsplit("-", 1)[1]) == 8
    others = {study_name_for(fixed[:-1], space, "minimize"), study_name_for(fixed, {"k": "1,5"}, "minimize"),
              study_name_for(fixed, space, "maximize"), study_name_for(fixed + ["seed=1"], space, "minimize")}
    assert name not in others and len(others) == 4
    assert slug([]) == "defaults" and len(slug([f"k{i}=v" for i in range(40)])) <= 60
    groups = {"model", "data", "experiment"}  # config group choices lead the readable part
    assert slug(["batch_size=64", "experiment=lucic_losses_search", "data.train_size=128"], groups) == (
        "experiment=lucic_losses_search_batch_size=64")  # whole overrides up to 60 characters
    assert study_name_for(fixed, space, "minimize", groups).endswith(name[-9:])  # same hash


@pytest.mark.unit
def test_time_stamped_sweep_dir_becomes_one_folder_per_study():
    assert stable_sweep_dir("multirun/${now:%Y-%m-%d}/${now:%H-%M-%S}", "s-1") == "multirun/optuna/s-1"
    assert stable_sweep_dir("/abs/runs/${now:%H}", "s") == "/abs/runs/optuna/s"
    assert stable_sweep_dir("runs/lr_study", "s") is None  # a folder the user chose is kept


@pytest.mark.unit
def test_sweep_syntax_becomes_optuna_distributions():
    parser = OverridesParser.create()
    space = build_search_space(parser.parse_overrides([
        "model=dcgan", "optim.lr=tag(log, interval(1e-5, 1e-2))", "optim.beta1=interval(0, 0.9)",
        "k=choice(1, 5)", "g_steps=range(1, 4)", "batch_size=int(interval(32, 256))", "loss=a,b", "k=1,2,3"]))
    dist = space.distributions
    assert dist["optim.lr"] == FloatDistribution(1e-5, 1e-2, log=True)
    assert dist["optim.beta1"] == FloatDistribution(0.0, 0.9)
    assert dist["g_steps"] == IntDistribution(1, 3)  # range excludes its stop, as Hydra's own
    assert dist["batch_size"] == IntDistribution(32, 256)
    assert dist["loss"] == CategoricalDistribution(["a", "b"])
    assert dist["k"] == CategoricalDistribution([1, 2, 3])  # the later (command-line) sweep of a key wins
    assert space.fixed == ["model=dcgan"]
    overrides = space.overrides({"optim.lr": 3e-4, "optim.beta1": 0.5, "k": 2, "g_steps": 1, "batch_size": 64,
                                 "loss": "b"})
    parsed = {o.key_or_group: o.value() for o in parser.parse_overrides(overrides)}
    assert parsed == {"model": "dcgan", "optim.lr": 3e-4, "optim.beta1": 0.5, "k": 2, "g_steps": 1,
                      "batch_size": 64, "loss": "b"}


@pytest.mark.e2e
def test_hydra_finds_the_plugin_without_importing_optuna(tmp_path):
    code = ("import sys; from hydra.core.plugins import Plugins; from hydra.plugins.sweeper import Sweeper; "
            "names = [c.__name__ for c in Plugins.instance().discover(Sweeper)]; "
            "print(names, 'optuna' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, text=True, capture_output=True, timeout=120)
    assert out.stdout.strip().endswith("'OptunaSweeper'] False"), out.stdout + out.stderr


@pytest.mark.unit
def test_storage_values_and_masked_passwords(tmp_path):
    sqlite = StorageSpec.parse(None, tmp_path)
    assert (sqlite.kind, sqlite.url) == ("sqlite", f"sqlite:///{tmp_path / 'optuna.db'}")
    assert StorageSpec.parse("journal", tmp_path).path == tmp_path / "optuna.journal"
    assert StorageSpec.parse("journal:///abs/s.log", tmp_path).path == Path("/abs/s.log")
    pg = StorageSpec.parse("postgresql+psycopg2://optuna:s3cret@db:5432/studies", tmp_path)
    assert pg.kind == "rdb" and pg.password == "s3cret"
    assert pg.shown == "postgresql+psycopg2://optuna:***@db:5432/studies"
    assert pg.redact("FATAL: s3cret rejected") == "FATAL: *** rejected"
    assert StorageSpec.parse("postgresql://optuna@db/studies", tmp_path).shown == "postgresql://optuna@db/studies"
    with pytest.raises(StorageError, match="is not a storage"):
        StorageSpec.parse("not a url", tmp_path)


@pytest.mark.unit
def test_a_job_link_holds_no_password_and_the_job_gets_it_from_the_environment(monkeypatch, tmp_path):
    url = "postgresql://optuna:s3cret@db/studies"
    override = link_override("s", 3, storage=StorageSpec.parse(url, tmp_path).shown)
    assert "s3cret" not in override and "open_trial" in override
    link = OverridesParser.create().parse_overrides([override])[0].value()
    assert (link["number"], link["study_name"]) == (3, "s")
    monkeypatch.delenv(STORAGE_ENV, raising=False)
    with pytest.raises(StorageError, match="needs the password"):
        StorageSpec.for_job(link["storage"])
    monkeypatch.setenv(STORAGE_ENV, url)
    assert StorageSpec.for_job(link["storage"]).url == url


@pytest.mark.unit
def test_any_value_float_accepts_is_a_value():
    import numpy as np
    import torch

    for value in (np.float32(1.5), np.array(1.5), torch.tensor(1.5), 1.5, 3):
        assert as_values(value, 1) == [pytest.approx(1.5 if value != 3 else 3.0)]
    assert as_values((np.float64(1.0), torch.tensor(2.0)), 2) == [1.0, 2.0]
    with pytest.raises(ValueError, match="expected a value float"):
        as_values("abc", 1)
    with pytest.raises(ValueError, match="returned 1 values for 2 objectives"):
        as_values([1.0], 2)


@pytest.mark.unit
def test_repeats_tell_the_mean_with_the_spread():
    runs = [Outcome(TrialState.COMPLETE, [v], "completed") for v in (1.0, 2.0, 6.0)]
    told = repeats_outcome(runs, "seed", Path("4"))
    assert told.state == TrialState.COMPLETE and told.values == [pytest.approx(3.0)]
    assert told.repeats["std"] == pytest.approx(2.6457513)  # sqrt(((1-3)^2 + (2-3)^2 + (6-3)^2) / 2)
    assert (told.repeats["n"], told.repeats["values"]) == (3, [1.0, 2.0, 6.0])
    runs[1] = Outcome(TrialState.FAIL, None, "failed", "ConfigError: k=0")
    failed = repeats_outcome(runs, "seed", Path("4"))
    assert failed.state == TrialState.FAIL and failed.failure and failed.error == "repeat 1 (seed=1): ConfigError: k=0"


# ---- the official plugin's search-space mapping -------------------------------------------------------------------
@pytest.mark.unit
@pytest.mark.parametrize("override, expected", [
    ("key=choice(1,2)", CategoricalDistribution([1, 2])),
    ("key=choice(true, false)", CategoricalDistribution([True, False])),
    ("key=choice('hello', 'world')", CategoricalDistribution(["hello", "world"])),
    ("key=shuffle(range(1,3))", CategoricalDistribution((1, 2))),
    ("key=range(1,3)", IntDistribution(1, 2)),  # Hydra's range excludes its stop (the official plugin: 1..3)
    ("key=range(1,10,3)", IntDistribution(1, 7, step=3)),
    ("key=interval(1, 5)", FloatDistribution(1, 5)),
    ("key=int(interval(1, 5))", IntDistribution(1, 5)),
    ("key=tag(log, interval(1, 5))", FloatDistribution(1, 5, log=True)),
    ("key=tag(log, int(interval(1, 5)))", IntDistribution(1, 5, log=True)),
    ("key=range(0.5, 5.5, step=1)", FloatDistribution(0.5, 4.5, step=1)),
    ("key=range(-5.5, 5.5, step=0.5)", FloatDistribution(-5.5, 5.0, step=0.5)),
])
def test_sweep_overrides_map_to_the_official_distributions(override, expected):
    actual = dimension_of(OverridesParser.create().parse_overrides([override])[0]).distribution
    if isinstance(expected, CategoricalDistribution):  # shuffle() orders the choices at random
        assert isinstance(actual, CategoricalDistribution) and set(actual.choices) == set(expected.choices)
    else:
        assert actual == expected


# ---- end to end ----------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_rerunning_the_command_resumes_the_study_without_redoing_trials(tmp_path):
    command = [*OPTUNA, *FAST, "optim.lr=tag(log, interval(1e-4, 1e-2))", "hydra.sweeper.sampler.seed=0"]
    check(run_cli(*command, "hydra.sweeper.n_trials=2", cwd=tmp_path))
    folder = study_dir(tmp_path)
    first = {d.name: (d / "metrics.json").read_text() for d in job_dirs(folder)}
    assert sorted(first) == ["0", "1"]
    assert [t.state for t in load_study(folder).trials] == [TrialState.COMPLETE] * 2

    check(run_cli(*command, "hydra.sweeper.n_trials=4", cwd=tmp_path))
    assert study_dir(tmp_path) == folder  # the same command names the same study
    study = load_study(folder)
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    runs = job_dirs(folder)
    assert [d.name for d in runs] == ["0", "1", "2", "3"]  # trial N in folder N
    assert {d.name: (d / "metrics.json").read_text() for d in runs[:2]} == first  # old trials untouched
    for trial, run_dir in zip(study.trials, runs):
        metrics = read_metrics(run_dir)
        assert metrics["status"] == "completed"
        assert trial.value == pytest.approx(metrics["train/d_loss"])
        assert trial.user_attrs["run_dir"] == run_dir.name

    results = yaml.safe_load((folder / "optimization_results.yaml").read_text())
    assert results["direction"] == "minimize" and results["finished_trials"] == 4
    assert results["trials"]["complete"] == 4
    assert results["best_value"] == pytest.approx(study.best_value)
    assert results["best_params"] == study.best_params and list(results["best_params"]) == ["optim.lr"]

    sweep = analyse(load_sweep(folder))  # the trial identity overrides are not settings
    assert sweep.swept == ["optim.lr"] and not any(k.startswith("optuna.") for k in sweep.fixed)
    assert report_main([str(folder), "--no-figures"]) == 0
    report = (folder / "report.md").read_text()
    assert "Best trial" in report and f"best run: lowest train/d_loss (run {study.best_trial.number}" in report


@pytest.mark.e2e
def test_an_invalid_trial_is_refused_before_launch_told_fail_and_the_sweep_goes_on(tmp_path):
    # k=0 is refused by gan-sweeps' pre-flight as the trial is drawn: told FAIL (run_status invalid, the one-line
    # reason kept), no job launched, no folder; max_failure_rate=0.5 of 2 trials tolerates it, so the other trial
    # runs and the command ends normally.
    proc = run_cli(*OPTUNA, *FAST, "hydra/sweeper/sampler=grid", "k=0,1", "hydra.sweeper.n_trials=2",
                   "hydra.sweeper.max_failure_rate=0.5", cwd=tmp_path)
    check(proc)
    study = load_study(study_dir(tmp_path))
    by_k = {t.params["k"]: t for t in study.trials}
    assert by_k[0].state == TrialState.FAIL and by_k[0].user_attrs["run_status"] == "invalid"
    assert by_k[0].user_attrs["error"].startswith("k=0 is invalid: must be an integer >= 1")
    assert not (study_dir(tmp_path) / str(by_k[0].number)).exists()
    assert by_k[1].state == TrialState.COMPLETE


@pytest.mark.e2e
def test_a_pruned_trial_stops_early_and_is_told_pruned(tmp_path):
    # The threshold pruner with upper=0 prunes any FID (always > 0) at the first periodic evaluation (epoch 1).
    proc = run_cli(*OPTUNA, *[o for o in TINY if o not in ("eval=off", "trainer.max_epochs=1")],
                   "trainer.max_epochs=2", "eval.every_n_epochs=1", "eval.num_samples=200",
                   "hydra/sweeper/pruner=threshold", "hydra.sweeper.pruner.upper=0", "hydra.sweeper.n_trials=1",
                   "optim.lr=interval(1e-4, 1e-3)", cwd=tmp_path)
    check(proc)
    folder = study_dir(tmp_path)
    [trial] = load_study(folder).trials
    assert trial.state == TrialState.PRUNED
    assert list(trial.intermediate_values) == [1] and trial.intermediate_values[1] > 0
    metrics = read_metrics(folder / "0")
    assert metrics["status"] == "pruned" and "pruned at epoch 1" in metrics["error"]
    assert metrics["epochs_done"] < 2
    results = yaml.safe_load((folder / "optimization_results.yaml").read_text())
    assert results["trials"]["pruned"] == 1 and results["best_value"] is None


@pytest.mark.unit
def test_a_list_objective_returns_one_value_per_metric_for_a_multi_objective_study():
    import math

    from omegaconf import OmegaConf

    from gan_sweeps.run.train import objective_of

    metrics = {"status": "completed", "eval/fid": 12.5, "eval/is": 8}
    assert objective_of(OmegaConf.create({"objective": ["eval/fid", "eval/is"]}), metrics) == (12.5, 8.0)
    assert objective_of(OmegaConf.create({"objective": "eval/fid"}), metrics) == 12.5
    failed = objective_of(OmegaConf.create({"objective": ["eval/fid", "eval/is"]}), {**metrics, "status": "failed"})
    assert len(failed) == 2 and all(math.isnan(v) for v in failed)


@pytest.mark.unit
def test_the_report_shows_a_multi_objective_study_as_its_pareto_front():
    from gan_sweeps.report.table import pareto_grid

    results = {"name": "optuna", "directions": ["minimize", "maximize"], "objective": ["eval/fid", "eval/is"],
               "solutions": [{"params": {"k": 1}, "values": [10.0, 8.0], "trial": 0, "run": "0"},
                             {"params": {"k": 5, "optim.lr": 0.001}, "values": [12.0, 9.0], "trial": 3, "run": "3"}]}
    grid = pareto_grid(results)
    assert grid.header == ["trial", "run", "eval/fid (minimize)", "eval/is (maximize)", "k", "optim.lr"]
    assert grid.rows == [[0, "0", 10.0, 8.0, 1, None], [3, "3", 12.0, 9.0, 5, 0.001]]
    assert pareto_grid({"name": "optuna", "best_params": {}}) is None
