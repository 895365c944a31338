"""Presets run what they say. (Every job of every preset passes the pre-flight and each preset's first job
trains at smoke size: tests/test_readme.py, since the README lists every preset.)"""

from __future__ import annotations

import pytest

from conftest import job_dirs, read_metrics, run_cli


@pytest.mark.e2e
def test_seed004_gan_preset_runs_one_change_at_a_time(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "experiment=seed004_gan_fashion", "data.train_size=128", "batch_size=64",
                   "trainer.max_epochs=1", "sample_epochs=[1]", "eval=off", "logger=csv",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = {read_metrics(j)["overrides"][0].split("=")[1]: read_metrics(j) for j in job_dirs(sweep)}
    assert list(runs) == ["baseline", "lower_g_lr", "lower_lrs", "g_twice", "d_twice", "beta1", "cgan"]
    assert all(r["status"] == "completed" and r["dataset"] == "fashion_mnist" for r in runs.values())
    assert runs["g_twice"]["g_steps_done"] == 2 * runs["baseline"]["g_steps_done"]
    assert runs["d_twice"]["g_steps_done"] == runs["baseline"]["g_steps_done"] // 2
    assert runs["cgan"]["model"] == "cgan" and runs["beta1"]["model"] == "dcgan"


def _linear_widths(net) -> list[int]:
    import torch

    return [m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)]


@pytest.mark.unit
def test_seed_presets_build_the_seeds_nets_and_loops(compose):
    import torch

    from gan_sweeps.run.build import build_model

    mlp002 = build_model(compose("experiment=seed002_mlp_gan"))
    assert _linear_widths(mlp002.generator) == [256, 512, 1024, 784]  # no BatchNorm in G
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in mlp002.generator.modules())
    assert _linear_widths(mlp002.discriminator) == [1024, 512, 256, 1]
    body = [type(m).__name__ for m in mlp002.discriminator.body]
    assert body.count("Dropout") == 3 and all(body[i + 1] == "Dropout" for i, b in enumerate(body) if b == "LeakyReLU")
    assert mlp002.optim_cfg["beta1"] == 0.9 and mlp002.optim_cfg["beta2"] == 0.999 and mlp002.optim_cfg["lr"] == 2e-4

    mlp003 = build_model(compose("experiment=seed003_normalization"))
    layers = [type(m).__name__ for m in mlp003.generator.net]  # 100 -LReLU-> 128 -BN,LReLU-> 256 -BN,LReLU-> 512
    assert layers == ["Linear", "LeakyReLU", "Linear", "BatchNorm1d", "LeakyReLU", "Linear", "BatchNorm1d",
                      "LeakyReLU", "Linear", "Tanh"]
    assert mlp003.update_order == "g_first"

    triplet = build_model(compose("experiment=seed000_triplet"))
    assert (triplet.latent_dist, triplet.g_steps, triplet.feature_key) == ("uniform", 2, "logits")
    for overrides in (["experiment=seed001_grid"], ["experiment=seed001_label_smoothing"]):
        assert build_model(compose(*overrides)).d_step == "separate"


@pytest.mark.unit
def test_seed001_sgd_grid_is_dcgan_only_and_table2_uses_table1_budget(compose):
    from conftest import compose_config

    sgd = compose_config("experiment=seed001_grid_sgd", hydra_node=True)
    assert sgd.model.name == "dcgan" and "model" not in sgd.hydra.sweeper.params  # the seed's cGAN: Adam only
    table2 = compose("experiment=seed001_label_smoothing")
    assert table2.trainer.max_epochs == compose("experiment=seed001_grid").trainer.max_epochs == 15
