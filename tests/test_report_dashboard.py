"""The sweep's answer on the W&B dashboard (issue 18, item 5): a sweep whose jobs log to W&B ends by logging one run
with ``job_type=report`` in its jobs' group, holding the report's tables and figures (gan_sweeps/report/dashboard.py).
Everything is read back from the offline run file (``<sweep>/wandb/offline-run-*/run-*.wandb``) and its files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TINY, compose_config, run_cli, wandb_records, wandb_run_record

WITH_WANDB = [o for o in TINY if o != "logger=csv"]  # the jobs log to W&B (offline), so the sweep logs its report
GRID = ["-m", "model=mlp_gan", "k=1,2", "seed=0,1", *WITH_WANDB, "hydra.sweep.dir=sweep"]
OFFLINE = {"WANDB_MODE": "offline"}
RACE = {"settings": [{"setting": "k=1", "n": 2, "mean": 1.3, "dropped_at": 1},
                     {"setting": "k=2", "n": 2, "mean": 1.1, "dropped_at": None}],
        "rounds": [{"round": 1, "runs": 4, "open": ["k=1", "k=2"], "dropped": ["k=1"]}],
        "outcome": {"winner": "k=2", "alpha": 0.05, "runs_used": 4, "full_grid_runs": 20}}


def report_runs(sweep_dir: Path) -> list[Path]:
    return sorted(Path(sweep_dir).glob("wandb/offline-run-*"))


class LoggedRun:
    """An offline W&B run as read back: its run record, the values of its logged step and its final summary (keys
    flattened with ``/``), and its files folder."""

    def __init__(self, folder: Path) -> None:
        (path,) = folder.glob("run-*.wandb")
        self.files = folder / "files"
        self.history: dict = {}
        self.summary: dict = {}
        for record in wandb_records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                self.run = record.run
            items = record.history.item if kind == "history" else record.summary.update if kind == "summary" else []
            for item in items:
                (self.history if kind == "history" else self.summary)[item.key or "/".join(item.nested_key)] = \
                    json.loads(item.value_json)

    def logged(self, key: str) -> dict:
        """What ``run.log({key: ...})`` recorded for a table or an image: its ``_type``, ``path``, ..."""
        return {k[len(key) + 1:]: v for k, v in self.history.items() if k.startswith(key + "/")}

    def table(self, key: str) -> dict:
        entry = self.logged(key)
        assert entry.get("_type") == "table-file", sorted(self.history)
        return json.loads((self.files / entry["path"]).read_text())

    def image(self, key: str) -> bytes:
        entry = self.logged(key)
        assert entry.get("_type") == "image-file", sorted(self.history)
        return (self.files / entry["path"]).read_bytes()


@pytest.fixture(scope="module")
def ended_sweep(tmp_path_factory) -> Path:
    """A tiny real grid (k=1,2 x seed=0,1, one epoch of 128 images) whose jobs log to W&B offline."""
    cwd = tmp_path_factory.mktemp("dashboard")
    proc = run_cli(*GRID, cwd=cwd, env=OFFLINE)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "report run was not logged" not in proc.stderr, proc.stderr[-4000:]
    return cwd / "sweep"


def copy_runs(sweep: Path, to: Path) -> Path:
    """A test's own copy of the sweep's folders to add files to (without the jobs' and the report's W&B runs)."""
    return Path(shutil.copytree(sweep, to, ignore=shutil.ignore_patterns("wandb")))


@pytest.mark.e2e
def test_a_sweep_ends_with_one_report_run_in_the_group_of_its_jobs(ended_sweep):
    (folder,) = report_runs(ended_sweep)
    logged = LoggedRun(folder)
    job = wandb_run_record(ended_sweep / "0")
    assert (logged.run.job_type, logged.run.run_group) == ("report", job.run_group)
    assert job.job_type == "train" and logged.run.display_name == f"report {job.run_group}"
    summary = logged.summary["report/summary"]
    assert "Runs: 4 runs (4 completed)" in summary and "Swept: k; repeats: seed (2 settings)" in summary
    assert logged.summary["report/warnings"] == []
    assert (logged.files / "report.md").read_text().startswith("# Sweep report")


@pytest.mark.e2e
def test_the_report_run_holds_the_settings_table_the_pivot_and_the_figures(ended_sweep):
    logged = LoggedRun(report_runs(ended_sweep)[0])
    settings = logged.table("report/settings")
    columns = settings["columns"]
    assert columns[:2] == ["k", "runs"]
    for part in ("mean", "ci_low", "ci_high", "n", "min", "max"):
        assert f"train/d_loss | {part}" in columns
    rows = [dict(zip(columns, row)) for row in settings["data"]]
    assert [(row["k"], row["runs"], row["train/d_loss | n"]) for row in rows] == [("1", 2, 2), ("2", 2, 2)]
    d_losses = {run: json.loads((ended_sweep / str(run) / "metrics.json").read_text())["train/d_loss"]
                for run in range(4)}  # jobs 0, 1: k=1 seeds 0, 1; jobs 2, 3: k=2
    assert rows[0]["train/d_loss | mean"] == pytest.approx((d_losses[0] + d_losses[1]) / 2)
    assert rows[1]["train/d_loss | min"] == pytest.approx(min(d_losses[2], d_losses[3]))
    pivot = logged.table("report/pivot")  # at a sweep's end: the swept keys as rows (the last one as columns)
    assert pivot["columns"][0] == "k" and [row[0] for row in pivot["data"]] == ["1", "2"]
    assert "train/d_loss | mean" in pivot["columns"]
    assert len(logged.table("report/runs")["data"]) == 4
    for figure in ("loss_curves", "samples_mosaic", "epoch_seconds"):
        assert logged.image(f"report/{figure}").startswith(b"\x89PNG"), figure


@pytest.mark.e2e
def test_report_wandb_logs_a_folder_again_with_its_race(ended_sweep, tmp_path):
    sweep = copy_runs(ended_sweep, tmp_path / "sweep")
    (sweep / "race.json").write_text(json.dumps(RACE))
    proc = run_cli("report", str(sweep), "--wandb", "--no-figures", cwd=tmp_path, env=OFFLINE)
    assert proc.returncode == 0, proc.stderr
    (folder,) = report_runs(sweep)
    assert f"job_type report: {folder}" in proc.stdout
    logged = LoggedRun(folder)
    job = wandb_run_record(ended_sweep / "0")
    assert (logged.run.job_type, logged.run.run_group) == ("report", job.run_group)  # multirun.yaml's folder
    rounds = logged.table("race/rounds")
    assert rounds["columns"] == ["round", "runs", "open", "dropped"]
    assert rounds["data"] == [[1, 4, '["k=1", "k=2"]', '["k=1"]']]
    assert [row[0] for row in logged.table("race/settings")["data"]] == ["k=1", "k=2"]
    assert logged.summary["race/outcome"] == RACE["outcome"]
    assert "report/settings" in {key.rsplit("/", 1)[0] for key in logged.history}


@pytest.mark.integration
def test_no_report_run_without_wandb_and_a_failure_is_one_warning(ended_sweep, tmp_path, capsys):
    from gan_sweeps.report.dashboard import log_sweep_end

    sweep = copy_runs(ended_sweep, tmp_path / "sweep")
    assert log_sweep_end(compose_config("logger=csv", f"hydra.sweep.dir={sweep}", hydra_node=True)) is None
    assert not (sweep / "wandb").exists()
    (sweep / "race.json").write_text('{"rounds": [')  # a half-written file: the report run cannot be made
    assert log_sweep_end(compose_config(f"hydra.sweep.dir={sweep}", hydra_node=True)) is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: the sweep's W&B report run was not logged: JSONDecodeError")
    assert not (sweep / "wandb").exists()


@pytest.mark.e2e
def test_an_optuna_study_ends_with_its_optimisation_history_in_the_report_run(tmp_path):
    proc = run_cli("-m", "hydra/sweeper=optuna", "model=mlp_gan", *WITH_WANDB, "objective=train/d_loss",
                   "optim.lr=tag(log, interval(1e-4, 1e-2))", "hydra.sweeper.n_trials=2", "hydra.sweep.dir=study",
                   cwd=tmp_path, env=OFFLINE)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (folder,) = report_runs(tmp_path / "study")
    logged = LoggedRun(folder)
    trial = wandb_run_record(tmp_path / "study" / "0")
    assert (logged.run.job_type, logged.run.run_group, trial.job_type) == ("report", trial.run_group, "study")
    for plot in ("optimization_history", "param_importances"):
        assert logged.image(f"optuna/{plot}").startswith(b"\x89PNG"), plot
    assert len(logged.table("report/runs")["data"]) == 2
    assert logged.summary["report/warnings"] == []


@pytest.mark.integration
def test_a_multi_objective_study_gets_a_history_per_objective_and_its_pareto_front(tmp_path):
    """The study is opened from what optimization_results.yaml records (here a journal file, as
    ``hydra.sweeper.storage=journal`` writes it); a 4-trial two-objective study made with Optuna's API."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    from gan_sweeps.report.dashboard import optuna_figures

    journal = tmp_path / "optuna.journal"
    study = optuna.create_study(study_name="two", directions=["minimize", "maximize"],
                                storage=optuna.storages.JournalStorage(JournalFileBackend(str(journal))))
    study.optimize(lambda t: (t.suggest_float("optim.lr", 0, 1) ** 2, t.suggest_float("k", 0, 1)), n_trials=4)
    problems: list[str] = []
    recorded = {"study_name": "two", "storage": f"journal:{journal}", "objective": ["eval/fid", "eval/is"]}
    files = optuna_figures(recorded, tmp_path, problems)
    assert problems == []
    assert sorted(files) == ["optimization_history_eval_fid", "optimization_history_eval_is", "param_importances",
                             "pareto_front"]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in files.values())
