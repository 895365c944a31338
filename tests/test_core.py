"""The spine: config composition, the k:1 loop, losses' targets, nets' shapes, run folders, faults."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_post_hook

from conftest import TINY, job_dirs, read_metrics, run_cli

from gan_sweeps.losses import NonSaturating
from gan_sweeps.train import build_model, run

MODELS = ["dcgan", "cgan", "mlp_gan", "vae"]


@pytest.mark.parametrize("overrides", [[f"model={m}"] for m in MODELS] +
                         [["model=dcgan", "model.depth=deep"], ["model=cgan", "model.depth=deep"]])
def test_each_model_builds_and_has_the_seed_shapes(compose, overrides):
    model = overrides[0].split("=")[1]
    module = build_model(compose(*overrides))
    labels = torch.arange(4) % 10
    images = module.generate(4, labels if module.conditional else None)
    assert images.shape == (4, 1, 28, 28)
    if model == "vae":
        assert module.reconstruct(images).shape == images.shape
    else:
        out = module.discriminate(images, labels if module.conditional else None)
        assert out["adv"].shape == (4,)
        assert module.automatic_optimization is False


def test_deep_nets_have_one_more_conv_than_shallow(compose):
    def convs(cfg):
        m = build_model(cfg)
        return [sum(isinstance(x, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for x in net.modules())
                for net in (m.generator, m.discriminator)]

    shallow, deep = convs(compose("model=dcgan")), convs(compose("model=dcgan", "model.depth=deep"))
    assert shallow == [3, 3]  # seed 001: two transposed convs + output conv; three strided convs
    assert deep == [4, 4]


def test_one_sided_label_smoothing_targets():
    loss = NonSaturating()
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    s = 0.1
    expected_real = -(0.9 * torch.log(torch.sigmoid(real)) + 0.1 * torch.log(1 - torch.sigmoid(real))).mean()
    expected_fake = -torch.log(1 - torch.sigmoid(fake)).mean()  # fake target stays 0
    assert float(loss.d_loss(real, fake, 1 - s)) == pytest.approx(float(expected_real + expected_fake), rel=1e-6)
    assert float(loss.g_loss(fake)) == pytest.approx(float(-torch.log(torch.sigmoid(fake)).mean()), rel=1e-6)


def test_module_uses_the_smoothed_real_target(compose):
    module = build_model(compose("model=mlp_gan", "label_smoothing=0.2")).eval()
    real, fake = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28)
    terms = module.d_objective(real, fake, None, None)
    r, f = module.discriminate(real, None)["adv"], module.discriminate(fake, None)["adv"]
    expected = F.binary_cross_entropy_with_logits(r, torch.full_like(r, 0.8)) + \
        F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-6)


def _train_in_process(compose, tmp_path: Path, *overrides: str) -> dict:
    cfg = compose(*TINY, *overrides, f"+run_dir={tmp_path}")
    run(cfg)
    return read_metrics(tmp_path)


def test_k2_steps_the_discriminator_exactly_twice_per_generator_step(compose, tmp_path):
    steps: Counter = Counter()

    def count(optimizer, args, kwargs):
        steps[len(optimizer.param_groups[0]["params"])] += 1  # D and G have different parameter counts

    handle = register_optimizer_step_post_hook(count)
    try:
        metrics = _train_in_process(compose, tmp_path, "model=mlp_gan", "k=2", "data.train_size=512")
    finally:
        handle.remove()
    assert metrics["status"] == "completed"
    assert metrics["d_steps_done"] == 8 and metrics["g_steps_done"] == 4  # 512/64 batches, one D step each
    d_count, g_count = sorted(steps.values(), reverse=True)
    assert (d_count, g_count) == (8, 4)


def test_g_steps_trains_the_generator_several_times_per_iteration(compose, tmp_path):
    metrics = _train_in_process(compose, tmp_path, "model=mlp_gan", "g_steps=2", "data.train_size=256")
    assert (metrics["d_steps_done"], metrics["g_steps_done"]) == (4, 8)


def test_same_seed_gives_the_same_losses(compose, tmp_path):
    a = _train_in_process(compose, tmp_path / "a", "model=dcgan", "seed=7")
    b = _train_in_process(compose, tmp_path / "b", "model=dcgan", "seed=7")
    c = _train_in_process(compose, tmp_path / "c", "model=dcgan", "seed=8")
    assert a["train/d_loss"] == b["train/d_loss"] and a["train/g_loss"] == b["train/g_loss"]
    assert a["train/d_loss"] != c["train/d_loss"]


def test_vae_trains_and_records_its_losses(compose, tmp_path):
    metrics = _train_in_process(compose, tmp_path, "model=vae", "data.train_size=256")
    assert metrics["status"] == "completed" and metrics["vae_steps_done"] == 4
    assert 0 < metrics["train/recon"] < 784 * math.log(2) * 1.5  # nats per image, not yet far from chance


# ---- end to end, as a user runs it ---------------------------------------------------------------------------
def test_mission_sweep_makes_six_complete_runs(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "model=cgan", "k=1,2,3", "optim.beta1=0.5,0.9", "data.train_size=256", "batch_size=64",
                   "trainer.max_epochs=1", "eval=off", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = job_dirs(sweep)
    assert len(jobs) == 6
    groups = set()
    for job in jobs:
        metrics = read_metrics(job)
        assert metrics["status"] == "completed"
        assert metrics["images_per_s"] > 0 and metrics["epochs_done"] == 1
        assert (job / "samples" / "epoch_001.png").is_file()
        assert (job / "checkpoints" / "last.ckpt").is_file()
        assert (job / "csv" / "metrics.csv").is_file()
        offline = list((job / "wandb").glob("offline-run-*"))
        assert len(offline) == 1
        groups.add((job / ".hydra" / "overrides.yaml").read_text().count("model=cgan"))
        config = (offline[0] / "files" / "config.yaml")
        if config.is_file():
            assert "cgan" in config.read_text()
    ks = sorted(read_metrics(j)["g_steps_done"] for j in jobs)
    assert ks == [1, 1, 2, 2, 4, 4]  # 4 batches: k=1 -> 4 G steps, k=2 -> 2, k=3 -> 1


def test_wandb_runs_of_one_sweep_share_one_group(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "model=mlp_gan", "k=1,2", *[o for o in TINY if not o.startswith("logger")],
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    group = f"{sweep.parent.name}_{sweep.name}".encode()  # the sweep folder names the W&B group
    for job in job_dirs(sweep):
        (run_file,) = (job / "wandb").glob("offline-run-*/run-*.wandb")
        record = run_file.read_bytes()
        assert group in record and f"{job.name}:batch_size=64".encode() in record  # group; run named by overrides


@pytest.mark.parametrize("override, message", [
    ("k=0", "k=0 is invalid: must be an integer >= 1"),
    ("optim.beta1=1.5", "optim.beta1=1.5 is invalid: must be in [0, 1)"),
    ("g_steps=0", "g_steps=0 is invalid"),
    ("label_smoothing=0.5", "label_smoothing=0.5 is invalid"),
    ("batch_size=0", "batch_size=0 is invalid"),
])
def test_bad_values_fail_fast_with_one_clear_line(tmp_path, override, message):
    proc = run_cli(*TINY, override, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert proc.returncode != 0
    error_lines = [line for line in (proc.stdout + proc.stderr).splitlines() if "ERROR" in line]
    assert len(error_lines) == 1 and message in error_lines[0]
    assert "Traceback" not in proc.stderr
    assert read_metrics(tmp_path / "run")["status"] == "failed"
    assert not (tmp_path / "run" / "checkpoints").exists()  # nothing trained


def test_unknown_model_lists_the_choices(tmp_path):
    proc = run_cli("model=stylegan", *TINY, cwd=tmp_path)
    assert proc.returncode != 0
    assert "Could not find 'model/stylegan'" in proc.stderr
    for choice in ("cgan", "dcgan", "mlp_gan", "vae"):
        assert choice in proc.stderr


def test_missing_dataset_names_the_folders_searched(tmp_path):
    proc = run_cli(*TINY, f"data.root={tmp_path / 'nowhere'}", f"hydra.run.dir={tmp_path / 'run'}",
                   cwd=tmp_path, env={"GAN_SWEEPS_DATA": str(tmp_path / "also_nowhere")})
    assert proc.returncode != 0
    line = next(line for line in proc.stdout.splitlines() + proc.stderr.splitlines() if "ERROR" in line)
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in line and "also_nowhere" in line
    assert "data.download=true" in line


def test_nan_loss_is_recorded_as_diverged_and_siblings_still_run(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "model=mlp_gan", "optim=sgd", "optim.lr=1e30,1e-4", *TINY, "data.train_size=256",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]  # a divergence is a result, not a crash
    diverged, healthy = (read_metrics(j) for j in job_dirs(sweep))
    assert diverged["status"] == "diverged" and "nan" in diverged["error"]
    assert diverged["health"] == "diverged"
    assert healthy["status"] == "completed"


def test_console_script_finds_its_configs_from_any_folder(tmp_path):
    import shutil
    import subprocess
    import sys

    script = shutil.which("gan-sweeps", path=str(Path(sys.executable).parent))
    assert script, "pip install -e . provides the gan-sweeps console script"
    proc = subprocess.run([script, "model=cgan", "--cfg", "job"], cwd=tmp_path, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert "_target_: gan_sweeps.models.ConditionalGAN" in proc.stdout
