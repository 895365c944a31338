"""The autoencoder family (seed 004): AE, denoising AE and VAE on one base; their metrics, figures and presets."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from matplotlib.image import imread

from conftest import checked, job_dirs, read_metrics, run_cli
from gan_sweeps.callbacks.samples import fixed_noise_grid, reconstruction_grid
from gan_sweeps.config.checks import ConfigError, validate
from gan_sweeps.config.sources import Provenance
from gan_sweeps.data import to_unit_range
from gan_sweeps.data.subsets import first_per_class
from gan_sweeps.evaluation.autoencoding import reconstruction_scores
from gan_sweeps.evaluation.retrieval import plot_embeddings
from gan_sweeps.models import VAE, Autoencoder, DenoisingAutoencoder
from gan_sweeps.run.build import build_datamodule, build_model


def _test_batch(cfg, n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = build_datamodule(cfg).load(train=False)
    return x[:n], y[:n]


def assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 0, path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    assert imread(path).shape[0] > 20


# ---- the modules ------------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_family_shares_one_base(compose):
    classes = {m: type(build_model(compose(f"model={m}"))) for m in ("ae", "dae", "vae")}
    assert classes == {"ae": Autoencoder, "dae": DenoisingAutoencoder, "vae": VAE}
    assert all(issubclass(c, Autoencoder) for c in classes.values())
    assert not Autoencoder.is_generative and not DenoisingAutoencoder.is_generative and VAE.is_generative
    # Variants override hooks only: the training step and what the family can do live once, in the base.
    for name in ("training_step", "terms", "encode", "decode", "reconstruct"):
        assert name not in vars(DenoisingAutoencoder) and name not in vars(VAE), name
    assert set(vars(DenoisingAutoencoder)) & {"corrupt"} and "corrupt" not in vars(VAE)


@pytest.mark.unit
def test_dae_corrupts_only_in_training_mode_with_the_configured_std(compose):
    cfg = compose("model=dae", "model.noise_std=0.3")
    module = build_model(cfg)
    x, _ = _test_batch(cfg)
    x01 = to_unit_range(x, cfg.data.normalize)
    module.train()
    noise = module.corrupt(x01) - x01
    assert float(noise.std()) == pytest.approx(0.3, rel=0.02)  # 200,704 draws: ~0.2 % standard error
    assert float(noise.mean()) == pytest.approx(0.0, abs=0.005)
    with torch.no_grad():
        t1, t2 = module.terms(x)["recon"], module.terms(x)["recon"]
    assert float(t1) != float(t2)  # the noise reaches the encoder while training
    module.eval()
    assert torch.equal(module.corrupt(x01), x01)
    with torch.no_grad():
        assert float(module.terms(x)["recon"]) == float(module.terms(x)["recon"])
    # The plain AE never corrupts, and reconstruction metrics of the DAE are those of clean inputs.
    ae = build_model(compose("model=ae"))
    assert torch.equal(ae.train().corrupt(x01), x01)
    module.train()
    assert reconstruction_scores(module, x) == reconstruction_scores(module, x)
    assert module.training  # restored


@pytest.mark.unit
@pytest.mark.parametrize("model", ["ae", "dae", "vae"])
@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_each_arch_encodes_decodes_and_learns(compose, model, arch):
    module = build_model(compose(f"model={model}", f"model.arch={arch}", "model.latent_dim=3"))
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    assert module.encode(x).shape == (8, 3)
    assert module.decode(torch.zeros(4, 3)).shape == (4, 1, 28, 28)
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    torch.manual_seed(0)
    before = float(module.terms(x)["loss"].detach())
    for _ in range(5):
        opt.zero_grad()
        module.terms(x)["loss"].backward()
        opt.step()
    assert float(module.terms(x)["loss"].detach()) < before
    metrics = reconstruction_scores(module, x, batch_size=3)  # batch sizes 3, 3, 2: size-weighted means
    assert metrics["eval/recon_bce"] == pytest.approx(float(module.eval().terms(x)["recon"].detach()), rel=1e-5)
    assert metrics["eval/recon_mse"] > 0
    assert ("eval/elbo" in metrics) == (model == "vae")


@pytest.mark.unit
def test_reconstruction_grid_puts_reconstructions_under_inputs(compose):
    cfg = compose("model=ae")
    module = build_model(cfg).eval()
    x, y = build_datamodule(cfg).load(train=False)
    batch = x[first_per_class(y, 2, 10)]
    images, nrow = reconstruction_grid(module, batch, 10)
    assert nrow == 10 and images.shape == (40, 1, 28, 28)
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    unit = to_unit_range(batch, cfg.data.normalize)
    assert torch.equal(images[:10], unit[:10]) and torch.equal(images[20:30], unit[10:])
    assert torch.equal(images[10:20], to_unit_range(module.reconstruct(batch[:10]), cfg.data.normalize))
    assert torch.equal(y[first_per_class(y, 2, 10)], torch.arange(10).repeat(2))
    assert fixed_noise_grid(build_model(compose("model=vae")))[0].shape[0] == 64  # a sampler's fixed-noise grid


@pytest.mark.unit
def test_latent_plot_for_1_2_and_many_dims(tmp_path):
    labels = torch.arange(300) % 10
    for d in (1, 2, 16):
        assert_png(plot_embeddings(torch.randn(300, d), labels, tmp_path / f"latent_{d}.png",
                                   class_names=[f"class {i}" for i in range(10)]))


@pytest.mark.unit
def test_config_rules_for_the_family(compose):
    for override, key in [("model.noise_std=-0.1", "model.noise_std"), ("model.latent_dim=0", "model.latent_dim"),
                          ("model.arch=resnet", "model.arch")]:
        with pytest.raises(ConfigError, match=key) as info:
            validate(compose("model=dae", override))
        assert "\n" not in str(info.value)
    validate(compose("model=dae", "model.noise_std=0"))


@pytest.mark.unit
def test_seed004_vae_preset_builds_the_seeds_vae_on_fashion_mnist():
    cfg = checked("experiment=seed004_vae_fashion")
    module = build_model(cfg)
    assert type(module) is VAE and module.latent_dim == 20 and cfg.data.name == "fashion_mnist"
    opt = module.configure_optimizers()
    assert opt.defaults["lr"] == pytest.approx(5e-4) and opt.defaults["betas"] == (0.9, 0.999)
    assert str(Provenance.of(["experiment=seed004_vae_fashion"]).source("optim.lr")) == \
        "gan_sweeps/conf/experiment/seed004_vae_fashion.yaml"


# ---- end to end ---------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_ae_dae_vae_sweep_metrics_figures_and_report(tmp_path):
    """One tiny CLI sweep, evaluation on (without the FID/IS classifier): every model leaves its test
    reconstruction metrics, the 2-D latent scatter, per-epoch reconstructions and the interpolation grid."""
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "model=ae,dae,vae", "model.latent_dim=2", "data.train_size=128", "batch_size=64",
                   "trainer.max_epochs=1", "logger=csv", "++eval.sample_metrics=false", "threads=1",
                   f"hydra.sweep.dir={sweep}",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = job_dirs(sweep)
    assert len(runs) == 3
    by_model = {read_metrics(r)["model"]: (r, read_metrics(r)) for r in runs}
    assert set(by_model) == {"ae", "dae", "vae"}
    for run, metrics in by_model.values():
        assert metrics["status"] == "completed", metrics.get("error")
        assert 0 < metrics["eval/recon_mse"] < 784 and metrics["eval/recon_bce"] > 0
        assert "eval/fid" not in metrics
        for name in ("latent.png", "interpolation.png", "reconstructions/epoch_001.png", "samples/epoch_001.png"):
            assert_png(run / name)
    ae, vae = by_model["ae"][1], by_model["vae"][1]
    assert ae["ae_steps_done"] == 2 and "train/ae_loss" in ae and "train/recon" in ae
    assert vae["vae_steps_done"] == 2 and {"train/vae_loss", "train/recon", "train/kl"} <= set(vae)
    assert vae["eval/elbo"] == pytest.approx(-(vae["eval/recon_bce"] + vae["eval/kl"]))

    report = subprocess.run([sys.executable, "-m", "gan_sweeps.report", str(sweep), "--no-figures"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    with open(sweep / "report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r.get("model") for r in rows) == ["ae", "dae", "vae"], rows[0].keys()
    assert all(r["eval/recon_mse"] for r in rows)


@pytest.mark.unit
@pytest.mark.parametrize("overrides, lr, beta1, source", [
    (["model=ae"], 1e-3, 0.9, "gan_sweeps/conf/model/optim/ae_adam.yaml"),
    (["model=dae"], 1e-3, 0.9, "gan_sweeps/conf/model/optim/ae_adam.yaml"),
    (["model=vae"], 1e-3, 0.9, "gan_sweeps/conf/model/optim/ae_adam.yaml"),
    (["model=vae", "optim.lr=5e-4"], 5e-4, 0.9, "command line"),  # the command line wins
    (["experiment=seed004_vae_fashion"], 5e-4, 0.9,
     "gan_sweeps/conf/experiment/seed004_vae_fashion.yaml"),  # and presets
    (["model=dcgan"], 2e-4, 0.5, "gan_sweeps/training/optim_config.py"),  # GANs keep theirs
])
def test_autoencoders_train_with_autoencoder_optimiser_defaults(overrides, lr, beta1, source):
    module = build_model(checked(*overrides))
    opts = module.configure_optimizers()
    opt = opts if isinstance(opts, torch.optim.Optimizer) else opts[0]
    assert (opt.defaults["lr"], opt.defaults["betas"][0]) == (pytest.approx(lr), beta1)
    assert str(Provenance.of(overrides).source("optim.lr")) == source
