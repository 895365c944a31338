"""The spine: config composition, the k:1 loop, losses' targets, nets' shapes, run folders, faults."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_post_hook

from conftest import TINY, job_dirs, read_metrics, run_cli, train_in_process
from gan_sweeps.training.losses import NonSaturating
from gan_sweeps.run.build import build_model

MODELS = ["dcgan", "cgan", "mlp_gan", "vae"]


@pytest.mark.unit
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


@pytest.mark.unit
def test_deep_nets_have_one_more_conv_than_shallow(compose):
    def convs(cfg):
        m = build_model(cfg)
        return [sum(isinstance(x, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for x in net.modules())
                for net in (m.generator, m.discriminator)]

    shallow, deep = convs(compose("model=dcgan")), convs(compose("model=dcgan", "model.depth=deep"))
    assert shallow == [3, 3]  # seed 001: two transposed convs + output conv; three strided convs
    assert deep == [4, 4]
    shallow, deep = convs(compose("model=cgan", "model.depth=shallow")), convs(compose("model=cgan"))  # deep: default
    assert shallow == [2, 2]  # seed 001's cGAN: one transposed conv + output conv; two strided convs
    assert deep == [3, 3]  # "an additional convolutional layer after the merge"


@pytest.mark.unit
def test_dcgan_discriminator_flattens_4x4x128_into_2048(compose):
    d = build_model(compose("model=dcgan")).discriminator
    assert d.body(torch.rand(2, 1, 28, 28)).shape == (2, 2048)  # seed 001 l.37
    assert d.head.in_features == 2048


@pytest.mark.unit
@pytest.mark.parametrize("depth", ["shallow", "deep"])
def test_cgan_nets_merge_at_14x14_and_d_halves_to_7x7x128(compose, depth):
    module = build_model(compose("model=cgan", f"model.depth={depth}")).eval()
    g, d = module.generator, module.discriminator
    z, y = torch.randn(3, 100), torch.tensor([0, 4, 9])
    assert g.noise(z).shape == (3, 128, 14, 14)  # seed 001 l.95: "reshaped into a 14 x 14 x 128 tensor"
    assert g.label(torch.eye(10)[y]).shape == (3, 128, 14, 14)  # "Each of which [...] 14 x 14 x 128": the label too
    assert g.merge(z, y).shape == (3, 256, 14, 14)
    assert g(z, y).shape == (3, 1, 28, 28)
    assert [type(m) for m in g.trunk if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))][-2:] == \
        [torch.nn.ConvTranspose2d, torch.nn.Conv2d]  # one stride-2 transposed conv to 28x28, a conv to 1 channel
    x = torch.rand(3, 1, 28, 28)
    # l.97: the first conv halves 28 -> 14; the label "projected and reshaped to match the tensor shape" merged there
    assert d.merge(x, y).shape == (3, 128, 14, 14)
    out = d(x, y)
    assert out["features"].shape == (3, 7 * 7 * 128)  # "halves the image size to 7 x 7 x 128", flattened
    assert out["adv"].shape == (3,)
    other = g(z, torch.tensor([1, 4, 9]))
    assert not torch.allclose(other[0], g(z, y)[0]) and torch.allclose(other[1:], g(z, y)[1:])  # label conditions


@pytest.mark.unit
def test_cgan_label_channels_sets_the_label_maps_of_both_nets(compose):
    module = build_model(compose("model=cgan", "model.label_channels=1"))
    y = torch.tensor([0, 4, 9])
    assert module.generator.merge(torch.randn(3, 100), y).shape == (3, 129, 14, 14)
    assert module.discriminator.merge(torch.rand(3, 1, 28, 28), y).shape == (3, 65, 14, 14)


@pytest.mark.unit
@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_model_bn_knobs_reach_every_batchnorm_of_g_and_d(compose, model):
    def settings(module):
        return {(m.eps, m.momentum) for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)}

    assert settings(build_model(compose(f"model={model}"))) == {(1e-5, 0.1)}  # PyTorch's defaults
    keras = build_model(compose(f"model={model}", "model.bn_eps=1e-3", "model.bn_momentum=0.01"))
    assert settings(keras.generator) == settings(keras.discriminator) == {(1e-3, 0.01)}


@pytest.mark.unit
def test_one_sided_label_smoothing_targets():
    loss = NonSaturating()
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    s = 0.1
    expected_real = -(0.9 * torch.log(torch.sigmoid(real)) + 0.1 * torch.log(1 - torch.sigmoid(real))).mean()
    expected_fake = -torch.log(1 - torch.sigmoid(fake)).mean()  # fake target stays 0
    assert float(loss.d_loss(real, fake, 1 - s)) == pytest.approx(float(expected_real + expected_fake), rel=1e-6)
    assert float(loss.g_loss(fake)) == pytest.approx(float(-torch.log(torch.sigmoid(fake)).mean()), rel=1e-6)


@pytest.mark.unit
def test_module_uses_the_smoothed_real_target(compose):
    module = build_model(compose("model=mlp_gan", "label_smoothing=0.2")).eval()
    real, fake = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28)
    terms = module.d_objective(real, fake, None, None)
    r, f = module.discriminate(real, None)["adv"], module.discriminate(fake, None)["adv"]
    expected = F.binary_cross_entropy_with_logits(r, torch.full_like(r, 0.8)) + \
        F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-6)


def _train_in_process(tmp_path: Path, *overrides: str) -> dict:
    return train_in_process(tmp_path, *TINY, *overrides)


@pytest.mark.integration
def test_k2_steps_the_discriminator_exactly_twice_per_generator_step(tmp_path):
    steps: Counter = Counter()

    def count(optimizer, args, kwargs):
        steps[len(optimizer.param_groups[0]["params"])] += 1  # D and G have different parameter counts

    handle = register_optimizer_step_post_hook(count)
    try:
        metrics = _train_in_process(tmp_path, "model=mlp_gan", "k=2", "data.train_size=512")
    finally:
        handle.remove()
    assert metrics["status"] == "completed"
    assert metrics["d_steps_done"] == 8 and metrics["g_steps_done"] == 4  # 512/64 batches, one D step each
    d_count, g_count = sorted(steps.values(), reverse=True)
    assert (d_count, g_count) == (8, 4)


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["batch", "running"])
def test_d_bn_in_g_step_picks_the_statistics_d_uses_in_gs_step(tmp_path, mode):
    """Each batch (k=1, d_step=joint): D sees the real and the fake batch in train mode, then G's step runs D once:
    in train mode (batch statistics) or, with running, in eval mode, which neither uses nor updates batch stats."""
    from conftest import DATA_ROOT, compose_config
    from gan_sweeps.run.train import build_datamodule, build_trainer

    cfg = compose_config(*TINY, "model=dcgan", "data.train_size=128", f"d_bn_in_g_step={mode}",
                         f"data.root={DATA_ROOT}")
    model = build_model(cfg)
    bn = next(m for m in model.discriminator.modules() if isinstance(m, torch.nn.BatchNorm2d))
    calls: list[bool] = []
    bn.register_forward_pre_hook(lambda module, args: calls.append(module.training))
    build_trainer(cfg, tmp_path, [], []).fit(model, datamodule=build_datamodule(cfg))
    assert calls == [True, True, mode == "batch"] * 2  # 2 batches of 64
    assert bn.training  # back in train mode after G's step


@pytest.mark.integration
def test_g_steps_trains_the_generator_several_times_per_iteration(tmp_path):
    metrics = _train_in_process(tmp_path, "model=mlp_gan", "g_steps=2", "data.train_size=256")
    assert (metrics["d_steps_done"], metrics["g_steps_done"]) == (4, 8)


@pytest.mark.integration
def test_same_seed_gives_the_same_losses(tmp_path):
    a = _train_in_process(tmp_path / "a", "model=dcgan", "seed=7")
    b = _train_in_process(tmp_path / "b", "model=dcgan", "seed=7")
    c = _train_in_process(tmp_path / "c", "model=dcgan", "seed=8")
    assert a["train/d_loss"] == b["train/d_loss"] and a["train/g_loss"] == b["train/g_loss"]
    assert a["train/d_loss"] != c["train/d_loss"]


@pytest.mark.integration
def test_vae_trains_and_records_its_losses(tmp_path):
    metrics = _train_in_process(tmp_path, "model=vae", "data.train_size=256")
    assert metrics["status"] == "completed" and metrics["vae_steps_done"] == 4
    assert 0 < metrics["train/recon"] < 784 * math.log(2) * 1.5  # nats per image, not yet far from chance


# ---- end to end, as a user runs it (the README's mission command: tests/test_readme.py) ------------------------
@pytest.mark.e2e
def test_a_bad_value_is_refused_in_one_line_before_anything_runs(tmp_path):
    """In-process tests (test_config.py) cover each rule; this is what a user sees: exit status 2, one line on
    stderr naming the key, no traceback, no run folder."""
    proc = run_cli(*TINY, "k=0", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: k=0 is invalid: must be an integer >= 1 (discriminator steps per generator step, one D step per batch)"]
    assert not (tmp_path / "run").exists()


@pytest.mark.e2e
def test_nan_loss_is_recorded_as_diverged_and_siblings_still_run(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "model=mlp_gan", "optim=sgd", "optim.lr=1e30,1e-4", *TINY, "data.train_size=256",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]  # a divergence is a result, not a crash
    diverged, healthy = (read_metrics(j) for j in job_dirs(sweep))
    assert diverged["status"] == "diverged" and "nan" in diverged["error"]
    assert diverged["health"] == "diverged"
    assert healthy["status"] == "completed"


@pytest.mark.e2e
def test_console_script_finds_its_configs_from_any_folder(tmp_path):
    import shutil
    import subprocess
    import sys

    script = shutil.which("gan-sweeps", path=str(Path(sys.executable).parent))
    assert script, "pip install -e . provides the gan-sweeps console script"
    proc = subprocess.run([script, "model=cgan", "--cfg", "job"], cwd=tmp_path, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert "_target_: gan_sweeps.models.ConditionalGAN" in proc.stdout


@pytest.mark.unit
@pytest.mark.parametrize("name", ["report", "status", "provenance", "studies"])
def test_each_console_subcommand_is_the_module_of_its_name(name, capsys, monkeypatch):
    """`gan-sweeps NAME --help` prints the usage of `python -m gan_sweeps.NAME` (the same argument parser)."""
    import sys

    from gan_sweeps.__main__ import cli

    monkeypatch.setattr(sys, "argv", ["gan-sweeps", name, "--help"])
    with pytest.raises(SystemExit) as done:
        cli()
    assert done.value.code == 0
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage.startswith("usage: ") and name in usage


# ---- loop knobs: update_order, d_step, latent_dist ------------------------------------------------------------------
def _step_order(compose, *overrides: str, batches: int = 1) -> tuple[list[str], object]:
    """The roles ("d"/"g") of the real optimizer steps of ``batches`` training batches, in order."""
    import pytorch_lightning as pl

    from gan_sweeps.run.build import build_datamodule

    cfg = compose("model=mlp_gan", *TINY, *overrides)
    module, datamodule = build_model(cfg), build_datamodule(cfg)
    d_params = {id(p) for p in module.discriminator.parameters()}
    order: list[str] = []
    handle = register_optimizer_step_post_hook(
        lambda opt, args, kwargs: order.append("d" if id(opt.param_groups[0]["params"][0]) in d_params else "g"))
    try:
        pl.Trainer(max_epochs=1, limit_train_batches=batches, logger=False, enable_checkpointing=False,
                   enable_progress_bar=False, enable_model_summary=False, accelerator="cpu").fit(module, datamodule)
    finally:
        handle.remove()
    return order, module


@pytest.mark.unit
def test_update_order_g_first_steps_the_generator_before_the_discriminator(compose):
    assert _step_order(compose)[0] == ["d", "g"]
    assert _step_order(compose, "update_order=g_first")[0] == ["g", "d"]  # seed 003: G, then D, each batch
    assert _step_order(compose, "update_order=g_first", "k=2", batches=2)[0] == ["d", "g", "d"]  # G on its turn


@pytest.mark.unit
def test_d_step_separate_takes_one_d_step_on_real_then_one_on_fake(compose):
    order, module = _step_order(compose, "d_step=separate")
    assert order == ["d", "d", "g"] and module.steps_done["d"] == 2
    real, fake = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28)
    module.eval()
    real_loss, _ = module.d_side_objective(real, None, real=True)
    fake_loss, _ = module.d_side_objective(fake, None, real=False)
    joint = module.d_objective(real, fake, None, None)["loss"]
    assert (real_loss + fake_loss).item() == pytest.approx(joint.item(), rel=1e-6)  # the two halves of one loss


@pytest.mark.unit
def test_latent_dist_uniform_feeds_the_generator_u01_noise(compose):
    normal = build_model(compose("model=dcgan"))
    uniform = build_model(compose("model=cgan", "latent_dist=uniform"))
    assert normal.fixed_z.min() < 0 and uniform.fixed_z.min() >= 0 and uniform.fixed_z.max() < 1
    seen: list[torch.Tensor] = []
    uniform.generator.noise.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    uniform.generate(500, torch.arange(500) % 10)
    (z,) = seen
    assert z.shape == (500, 100) and z.min() >= 0 and z.max() < 1 and abs(z.mean().item() - 0.5) < 0.01
