"""Studies on finished runs (seed 001 §6 and appendix): every study on one real 2-job cGAN sweep at smoke size, each
checked on a case whose answer is known without running the study (a 100 % real mix is the real-only classifier,
the cross table's own cell is the run's own end-of-run figure, threshold 0 gives the run's class histogram, PCA
with no component samples the mean image, ...), plus the refusals users rely on."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY, job_dirs, read_metrics, run_cli

from gan_sweeps import CONF_DIR
from gan_sweeps.evaluation.discriminator import NotAJudge, RealFakeJudge
from gan_sweeps.training.losses import LeastSquares, NonSaturating, Wasserstein
from gan_sweeps.studies.augmentation import counts
from gan_sweeps.studies.class_distribution import shares
from gan_sweeps.studies.cli import main
from gan_sweeps.studies.output import percent_list
from gan_sweeps.studies.pca_baseline import build_sampler
from gan_sweeps.studies.sequential import split_epochs

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT, CACHE = os.environ["GAN_SWEEPS_DATA"], os.environ["GAN_SWEEPS_CACHE"]  # set by conftest.py
NUM_SAMPLES = 200  # the sweep's eval.num_samples
CLASSIFIER = ["--train-size", "300", "--epochs", "1", "--test-size", "500"]  # smoke budget of the classifier studies


# ---- fixtures and helpers -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sweep(tmp_path_factory) -> Path:
    """A real evaluated 2-job cGAN sweep (k=1,2) at smoke size, shared by the study tests. 1,024 training images:
    with fewer, the discriminators call every sample fake and the cross table's diagonal check would be 1 == 1;
    batches of 32 give G's BatchNorm enough steps for its running statistics (batches of 64: D calls every
    eval-mode sample real). A one-channel label map (``model.label_channels=1``) keeps the discriminators weak
    enough at this size: with the default 64 label channels, run 1's D caught every sample (d_fake_acc 1.0)."""
    root = tmp_path_factory.mktemp("studies")
    path = root / "sweep"
    proc = run_cli("-m", "model=cgan", "k=1,2", "data.train_size=1024", "batch_size=32", "trainer.max_epochs=1",
                   "model.label_channels=1", "model.depth=shallow", "d_step=joint",
                   f"eval.num_samples={NUM_SAMPLES}", "threads=1", "logger=csv", f"hydra.sweep.dir={path}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return path


@pytest.fixture(scope="session")
def vae_run(tmp_path_factory) -> Path:
    """A finished VAE run folder (no discriminator, unconditional), trained in-process."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from gan_sweeps.run.train import run

    path = tmp_path_factory.mktemp("vae_run")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*TINY, "model=vae", f"+run_dir={path}"])
    GlobalHydra.instance().clear()
    (path / ".hydra").mkdir()
    OmegaConf.save(cfg, path / ".hydra" / "config.yaml")
    run(cfg)
    assert read_metrics(path)["status"] == "completed"
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def study(name: str, paths: list[Path], out: Path, *options: str) -> dict:
    """Run a study in-process as the CLI does; it must succeed, leave the run folders as they were and write its
    Markdown document, its main table as CSV and at least one figure. Returns the table's rows and the document."""
    before = {p: snapshot(p) for p in paths}
    assert main([name, *map(str, paths), "--out", str(out), "--device", "cpu", *options]) == 0
    assert {p: snapshot(p) for p in paths} == before  # studies never change a run folder
    with open(out / f"{name}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    doc = (out / f"{name}.md").read_text()
    pngs = sorted(out.glob("*.png"))
    assert pngs and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert all(f"]({p.name})" in doc for p in pngs)
    return {"rows": rows, "doc": doc, "study": json.loads((out / "study.json").read_text())}


def by(rows: list[dict], **match: str) -> list[dict]:
    return [r for r in rows if all(r[k] == v for k, v in match.items())]


# ---- pure functions (unit) ----------------------------------------------------------------------------------------
class ConstantDiscriminator(torch.nn.Module):
    """discriminate(x) = the image's mean pixel (in the model's range) minus ``offset``."""

    conditional = False

    def __init__(self, loss, normalize: str = "none", offset: float = 0.0):
        super().__init__()
        self.loss, self.normalize, self.offset = loss, normalize, offset

    def discriminate(self, x, labels):
        return {"adv": x.flatten(1).mean(1) - self.offset}


@pytest.mark.unit
def test_discriminator_accuracy_is_the_share_called_fake_above_the_loss_threshold():
    images = torch.stack([torch.full((1, 28, 28), v) for v in (0.1, 0.2, 0.6, 0.9)])  # [0, 1] pixels
    bce = RealFakeJudge(ConstantDiscriminator(NonSaturating(), "tanh"))  # means -0.8, -0.6, 0.2, 0.8: logit > 0
    bce.consume(images, None)
    assert bce.fake_accuracy == 0.5 and bce.real_accuracy(images, None) == 0.5
    lsgan = RealFakeJudge(ConstantDiscriminator(LeastSquares(a=0.0, b=1.0)))  # real above (a + b) / 2 = 0.5
    assert lsgan.calls_real(images, None).tolist() == [False, False, True, True]
    with pytest.raises(NotAJudge, match="critic"):
        RealFakeJudge(ConstantDiscriminator(Wasserstein()))
    conditional = ConstantDiscriminator(NonSaturating())
    conditional.conditional = True
    with pytest.raises(NotAJudge, match="labels"):
        RealFakeJudge(conditional).calls_real(images, None)


@pytest.mark.unit
def test_mix_counts_epoch_splits_and_percent_lists():
    assert counts(300, 0) == (300, 0) and counts(300, 50) == (150, 150) and counts(300, 100) == (0, 300)
    assert split_epochs(30, 50) == (15, 15) and split_epochs(2, 100) == (2, 0) and split_epochs(30, 0) == (0, 30)
    assert percent_list("0,12.5,100") == [0, 12.5, 100]
    import argparse

    for bad in ("abc", "120", "10,10", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            percent_list(bad)


@pytest.mark.unit
def test_indecipherable_share_by_hand():
    probs = torch.tensor([[0.9, 0.1, 0.0], [0.4, 0.3, 0.3], [0.2, 0.7, 0.1], [0.5, 0.5, 0.0]])
    per_class, unclear = shares(probs, 0.5)
    assert per_class == pytest.approx([0.5, 0.25, 0.0]) and unclear == pytest.approx(0.25)  # 0.4 is under 0.5
    per_class, unclear = shares(probs, 0.0)
    assert per_class == pytest.approx([0.75, 0.25, 0.0]) and unclear == 0.0


@pytest.mark.unit
def test_pca_sampler_draws_weights_with_the_fitted_variance():
    gen = torch.Generator().manual_seed(0)
    mean, direction = torch.full((784,), 0.5), torch.randn(784, generator=gen)
    direction /= direction.norm()
    weights = 0.3 * torch.randn(4000, generator=gen)
    images = (mean + weights[:, None] * direction * 0.1).view(-1, 1, 28, 28)  # rank 1, stays inside [0, 1]
    labels = torch.arange(4000) % 2
    sampler, explained = build_sampler(images, labels, "global", 1, seed=0)
    assert explained == pytest.approx(1.0, abs=1e-6)
    torch.manual_seed(1)
    drawn = (sampler.generate(4000).flatten(1) - mean) @ direction
    assert float(drawn.std()) == pytest.approx(0.03, rel=0.05)  # std of the training weights along the component
    means_only, _ = build_sampler(images, labels, "per-class", 0, seed=0)
    out = means_only.generate(4, torch.tensor([0, 1, 0, 1]))
    assert torch.allclose(out[0], images[labels == 0].mean(0), atol=1e-6) and torch.equal(out[0], out[2])


@pytest.mark.unit
def test_models_import_no_evaluation_nor_callbacks_and_nets_no_losses():
    import ast

    def imports(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module} | \
            {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}

    package = REPO / "gan_sweeps"
    for path in (package / "models").glob("*.py"):
        bad = {m for m in imports(path) if m.startswith(("gan_sweeps.evaluation", "gan_sweeps.callbacks"))}
        assert not bad, f"{path.name} imports {bad}"
    for path in (package / "nets").glob("*.py"):
        bad = {m for m in imports(path) if m.startswith("gan_sweeps.training.losses")}
        assert not bad, f"{path.name} imports {bad}"


# ---- the studies on a real sweep (integration) ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def augmentation_result(sweep, tmp_path_factory) -> dict:
    return study("augmentation", [sweep], tmp_path_factory.mktemp("aug"), "--ratios", "0,50,100", *CLASSIFIER)


@pytest.mark.integration
def test_augmentation_a_mix_without_generated_images_is_the_real_only_classifier(augmentation_result):
    rows = augmentation_result["rows"]
    baseline = {r["generated_pct"]: r for r in by(rows, generator="real only")}
    assert sorted(baseline) == ["0", "50"]  # no real-only classifier without real images
    assert (baseline["0"]["n_real"], baseline["50"]["n_real"]) == ("300", "150")
    for label in ("k=1", "k=2"):
        mixes = {r["generated_pct"]: r for r in by(rows, generator=label)}
        assert [(m["n_real"], m["n_generated"]) for m in mixes.values()] == [("300", "0"), ("150", "150"),
                                                                          ("0", "300")]
        for key in ("test_acc", "conf_correct", "conf_incorrect"):  # same images, same seed: the same classifier
            assert float(mixes["0"][key]) == pytest.approx(float(baseline["0"][key]), abs=2e-3)
    assert "98.25 %" in augmentation_result["doc"]  # the seed's numbers beside ours


@pytest.mark.integration
def test_extra_data_starts_from_the_real_only_classifier(sweep, tmp_path, augmentation_result):
    rows = study("extra-data", [sweep], tmp_path, "--extra", "0,50", *CLASSIFIER)["rows"]
    assert [(r["generator"], r["extra_pct"], r["n_train"]) for r in rows] == [
        ("real only", "0", "300"), ("k=1", "50", "450"), ("k=2", "50", "450")]
    # all real images and no extra: the augmentation study's 100 % real classifier (same images, budget, seed)
    real_only = by(augmentation_result["rows"], generator="real only", generated_pct="0")[0]
    assert float(rows[0]["test_acc"]) == pytest.approx(float(real_only["test_acc"]), abs=2e-3)


@pytest.mark.integration
def test_sequential_splits_the_epochs_and_records_curves(sweep, tmp_path):
    result = study("sequential", [sweep], tmp_path, "--shares", "0,50,100", "--epochs", "2", "--train-size", "300",
                   "--val-size", "200", "--test-size", "500")
    rows = result["rows"]
    assert [(r["generator"], r["generated_share_pct"], r["generated_epochs"], r["real_epochs"]) for r in rows] == [
        ("real only", "0", "0", "2"), ("k=1", "50", "1", "1"), ("k=1", "100", "2", "0"),
        ("k=2", "50", "1", "1"), ("k=2", "100", "2", "0")]
    with open(tmp_path / "sequential_curves.csv", newline="") as handle:
        curves = list(csv.DictReader(handle))
    half = by(curves, generator="k=1", generated_share_pct="50")
    assert [(c["epoch"], c["data"]) for c in half] == [("1", "generated"), ("2", "real")]
    for row in rows:  # the table's last validation accuracy is the curve's last point
        last = by(curves, generator=row["generator"], generated_share_pct=row["generated_share_pct"])[-1]
        assert row["final_val_acc"] == last["val_acc"]
    assert (tmp_path / "sequential_curves.png").is_file()


@pytest.mark.integration
def test_cross_table_repeats_each_runs_own_end_of_run_figures(sweep, tmp_path):
    rows = study("cross-discriminator", [sweep], tmp_path, "--fixed", "1", "--matrix")["rows"]
    own = {job.name: read_metrics(job) for job in job_dirs(sweep)}
    assert 0 < own["1"]["eval/d_fake_acc"] < 1  # a discriminator that is sometimes fooled: a non-trivial check
    fixed = rows[1]
    assert fixed["run"] == "1 (fixed)" and rows[0]["run"] == "0"
    # D of run 1 on G of run 1: the same samples and definition as its end-of-run eval/d_fake_acc
    assert float(fixed["d_acc_on_fixed_G"]) == pytest.approx(own["1"]["eval/d_fake_acc"], abs=2 / NUM_SAMPLES)
    assert float(fixed["fixed_D_acc_on_this_G"]) == pytest.approx(own["1"]["eval/d_fake_acc"], abs=2 / NUM_SAMPLES)
    for row, name in zip(rows, ("0", "1")):
        assert float(row["d_acc_on_real"]) == pytest.approx(own[name]["eval/d_real_acc"], abs=2e-4)
        assert float(row["own_eval_d_fake_acc"]) == own[name]["eval/d_fake_acc"]
    with open(tmp_path / "cross-discriminator_matrix.csv", newline="") as handle:
        matrix = list(csv.reader(handle))
    for i, name in enumerate(("0", "1"), start=1):  # the diagonal: each run's own figure
        assert float(matrix[i][i]) == pytest.approx(own[name]["eval/d_fake_acc"], abs=2 / NUM_SAMPLES)
    assert float(matrix[1][2]) == pytest.approx(float(rows[0]["d_acc_on_fixed_G"]))  # D0 on G1: the table's column


@pytest.mark.integration
def test_runs_without_the_needed_piece_are_refused_in_one_line(sweep, vae_run, tmp_path, capsys):
    result = study("cross-discriminator", [sweep / "0", vae_run], tmp_path / "cross")
    assert len(result["rows"]) == 1
    assert f"skipping {vae_run}: model=vae has no discriminator" in result["doc"]
    capsys.readouterr()
    assert main(["cross-discriminator", str(vae_run), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no run can serve this study") and err.count("\n") == 1
    assert main(["augmentation", str(vae_run), "--out", str(tmp_path / "y")]) == 2
    assert "model=vae is unconditional" in capsys.readouterr().out


class Trap:
    """Unpickling this with full pickle would create ``path``: code a checkpoint must never run."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


@pytest.mark.integration
def test_checkpoints_are_read_weights_only(sweep, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(sweep / "0", copy)
    marker = tmp_path / "code_ran"
    state = torch.load(copy / "checkpoints" / "last.ckpt", weights_only=True)
    torch.save({**state, "trap": Trap(marker)}, copy / "checkpoints" / "last.ckpt")
    assert main(["class-distribution", str(copy), "--out", str(tmp_path / "out")]) == 2
    assert "checkpoint refused by weights-only loading" in capsys.readouterr().out
    assert not marker.exists()


@pytest.mark.integration
def test_pca_baseline_is_a_run_like_folder_the_report_reads(sweep, tmp_path):
    from gan_sweeps.data import load_split
    from gan_sweeps.evaluation import get_evaluator
    from gan_sweeps.evaluation.evaluator import unit_images
    from gan_sweeps.report.runs import load_sweep

    out = tmp_path / "pca"
    result = study("pca-baseline", [sweep], out, "--components", "0", "--fit-size", "2000")
    rows = {r["name"]: r for r in result["rows"]}
    assert set(rows) == {"pca-global-0", "pca-per-class-0", "0", "1", "real data"}
    # No component: every sample is the mean image (global) or its class's mean image (per class).
    assert float(rows["pca-global-0"]["eval/is"]) == pytest.approx(1.0, abs=1e-5)
    assert float(rows["pca-global-0"]["eval/class_entropy"]) == pytest.approx(0.0, abs=1e-9)
    train = load_split("mnist", DATA_ROOT, train=True)
    x, y = unit_images(train.images[:2000]), train.labels[:2000]
    means = torch.stack([x[y == c].mean(0) for c in range(10)])
    evaluator = get_evaluator("mnist", DATA_ROOT, CACHE)
    hits = (evaluator.embed(means)[1].argmax(1) == torch.arange(10)).float().mean()
    assert float(rows["pca-per-class-0"]["eval/cond_acc"]) == pytest.approx(float(hits), abs=1e-9)
    runs = {run.name: run for run in load_sweep(out)}  # what `python -m gan_sweeps.report` reads
    assert set(runs) == {"pca-global-0", "pca-per-class-0"}
    for run in runs.values():
        assert run.completed and run.overrides["model"] == "pca" and run.final_sample is not None
        assert isinstance(run.metric("eval/fid"), float) and (run.path / "reference.json").is_file()
    assert float(rows["0"]["eval/fid"]) == read_metrics(job_dirs(sweep)[0])["eval/fid"]


@pytest.mark.integration
def test_embeddings_per_class_confidence_and_confusion(sweep, tmp_path):
    from gan_sweeps.evaluation import get_evaluator

    result = study("embeddings", [sweep / "0"], tmp_path, "--num", str(NUM_SAMPLES), "--perplexity", "20")
    rows = result["rows"]
    own = read_metrics(job_dirs(sweep)[0])
    total = by(rows, run="0", **{"class": "all"})[0]
    info = get_evaluator("mnist", DATA_ROOT, CACHE).info
    assert float(total["real_acc"]) == pytest.approx(info.test_acc) and total["real_n"] == "10000"
    assert sum(int(r["real_n"]) for r in by(rows, run="0") if r["class"] != "all") == 10000
    # the generated half is the end-of-run evaluation's pass: its accuracy is the run's eval/cond_acc
    assert float(total["gen_acc"]) == pytest.approx(own["eval/cond_acc"], abs=2 / NUM_SAMPLES)
    assert [int(r["gen_n"]) for r in by(rows, run="0") if r["class"] != "all"] == [NUM_SAMPLES // 10] * 10
    for name in ("embeddings-0", "confidence-0", "confusion-0", "evaluator_curves"):
        assert (tmp_path / f"{name}.png").is_file(), name


@pytest.mark.e2e
def test_class_distribution_at_threshold_zero_is_the_runs_class_histogram(sweep, tmp_path):
    """Through the command line (the module entry point), as a user runs it."""
    before = snapshot(sweep)
    proc = subprocess.run([sys.executable, "-m", "gan_sweeps.studies", "class-distribution", str(sweep), "--out",
                           str(tmp_path), "--threshold", "0"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert snapshot(sweep) == before
    with open(tmp_path / "class-distribution.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for job in job_dirs(sweep):
        row = by(rows, run=job.name)[0]
        assert float(row["indecipherable"]) == 0.0 and row["n"] == str(NUM_SAMPLES)
        shares_ = [float(row[str(c)]) for c in range(10)]
        np.testing.assert_allclose(shares_, read_metrics(job)["eval/class_hist"], atol=2 / NUM_SAMPLES)
    real = by(rows, run="real data")[0]
    assert sum(float(real[str(c)]) for c in range(10)) == pytest.approx(1.0)
    assert (tmp_path / "class-distribution.png").is_file() and (tmp_path / "class-distribution.md").is_file()


@pytest.mark.unit
def test_a_missing_folder_is_one_error_line(tmp_path, capsys):
    assert main(["augmentation", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'} is not a folder\n"
    assert not (tmp_path / "out").exists()
