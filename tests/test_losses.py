"""GAN losses as a config axis: each loss against a hand computation, the WGAN-GP penalty and WGAN clipping on real
nets, per-loss defaults in the composed config, the one-line errors, and one tiny sweep over every loss."""

from __future__ import annotations

import csv
import math

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from torch import nn

from conftest import TINY, job_dirs, read_metrics, run_cli

from gan_sweeps.config import ConfigError, validate
from gan_sweeps.nets import ConvDiscriminator
from gan_sweeps.train import build_datamodule, build_model

LOSSES = ["non_saturating", "minimax", "lsgan", "hinge", "wgan", "wgan_gp"]
REAL = [2.0, -1.0, 0.5]
FAKE = [0.5, -3.0, 1.0]


def _mean(xs):
    return sum(xs) / len(xs)


def _log_sigmoid(x):
    return -math.log1p(math.exp(-x))


def _log_one_minus_sigmoid(x):
    return -math.log1p(math.exp(x))


# Hand computations in plain Python: (d_loss, g_loss) on REAL/FAKE logits, real target 1.
HAND = {
    "non_saturating": (_mean([-_log_sigmoid(r) for r in REAL]) + _mean([-_log_one_minus_sigmoid(f) for f in FAKE]),
                       _mean([-_log_sigmoid(f) for f in FAKE])),
    "minimax": (_mean([-_log_sigmoid(r) for r in REAL]) + _mean([-_log_one_minus_sigmoid(f) for f in FAKE]),
                _mean([_log_one_minus_sigmoid(f) for f in FAKE])),
    "lsgan": (0.5 * _mean([(r - 1) ** 2 for r in REAL]) + 0.5 * _mean([f ** 2 for f in FAKE]),
              0.5 * _mean([(f - 1) ** 2 for f in FAKE])),
    "hinge": (_mean([max(0.0, 1 - r) for r in REAL]) + _mean([max(0.0, 1 + f) for f in FAKE]), -_mean(FAKE)),
    "wgan": (_mean(FAKE) - _mean(REAL), -_mean(FAKE)),
    "wgan_gp": (_mean(FAKE) - _mean(REAL), -_mean(FAKE)),
}


@pytest.fixture
def make_loss(compose):
    return lambda name, *overrides: instantiate(compose(f"loss={name}", *overrides).loss)


@pytest.mark.parametrize("name", LOSSES)
def test_each_loss_matches_a_hand_computation(make_loss, name):
    loss = make_loss(name)
    d, g = HAND[name]
    assert loss.d_loss(torch.tensor(REAL), torch.tensor(FAKE), 1.0).item() == pytest.approx(d, rel=1e-6)
    assert loss.g_loss(torch.tensor(FAKE)).item() == pytest.approx(g, rel=1e-6)


def test_minimax_generator_loss_is_finite_where_d_is_confident(make_loss):
    loss = make_loss("minimax")
    logits = torch.tensor([-60.0, 60.0], requires_grad=True)  # sigmoid(60) rounds to 1: log(1 - 1) = -inf naively
    value = loss.g_loss(logits)
    value.backward()
    assert value.item() == pytest.approx(_mean([_log_one_minus_sigmoid(-60.0), -60.0]), rel=1e-6)
    assert logits.grad.tolist() == pytest.approx([0.0, -0.5], abs=1e-12)  # saturates (0) only where D rejects


def test_lsgan_targets_and_one_sided_smoothing(make_loss):
    loss = make_loss("lsgan", "loss.a=-1", "loss.b=1", "loss.c=0")  # Mao et al.'s other coding
    s = 0.2
    b_smoothed = -1 + 2 * (1 - s)  # the real target moves towards the fake one by s of the way
    at_targets = loss.d_loss(torch.full((4,), b_smoothed), torch.full((4,), -1.0), 1 - s)
    assert at_targets.item() == pytest.approx(0.0, abs=1e-12)
    assert loss.g_loss(torch.zeros(4)).item() == pytest.approx(0.0, abs=1e-12)
    off = loss.d_loss(torch.tensor([1.0]), torch.tensor([0.0]), 1 - s)
    assert off.item() == pytest.approx(0.5 * (1 - b_smoothed) ** 2 + 0.5 * 1.0, rel=1e-6)
    # the default coding smooths 1 -> 1 - s, the fake target stays 0
    default = make_loss("lsgan")
    assert default.d_loss(torch.tensor([0.9]), torch.tensor([0.0]), 0.9).item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name, keys", [("non_saturating", {"d_real", "d_fake"}), ("minimax", {"d_real", "d_fake"}),
                                        ("lsgan", {"d_real_score", "d_fake_score"}),
                                        ("hinge", {"d_real_score", "d_fake_score"}),
                                        ("wgan", {"critic_gap"}), ("wgan_gp", {"critic_gap"})])
def test_each_loss_logs_only_the_stats_that_mean_something(make_loss, name, keys):
    stats = make_loss(name).stats(torch.tensor(REAL), torch.tensor(FAKE))
    assert set(stats) == keys
    if "critic_gap" in keys:
        assert stats["critic_gap"].item() == pytest.approx(_mean(REAL) - _mean(FAKE), rel=1e-6)
    if "d_real" in keys:
        assert stats["d_real"].item() == pytest.approx(_mean([math.exp(_log_sigmoid(r)) for r in REAL]), rel=1e-6)


# ---- WGAN-GP penalty ---------------------------------------------------------------------------------------------
class LinearCritic(nn.Module):
    """D(x) = <w, x> + b on flattened 1-channel images: its input gradient is w everywhere."""

    def __init__(self, norm: float):
        super().__init__()
        self.linear = nn.Linear(28 * 28, 1)
        with torch.no_grad():
            self.linear.weight.mul_(norm / self.linear.weight.norm())

    def forward(self, x, y=None):
        return {"adv": self.linear(x.flatten(1)).squeeze(1)}


@pytest.mark.parametrize("norm", [1.0, 2.0, 0.5])
def test_gradient_penalty_of_a_linear_critic_is_its_distance_from_unit_norm(make_loss, norm):
    loss = make_loss("wgan_gp")
    real, fake = torch.rand(16, 1, 28, 28), torch.rand(16, 1, 28, 28)
    penalty = loss.penalty(LinearCritic(norm), real, fake).item()
    assert penalty == pytest.approx(10.0 * (norm - 1.0) ** 2, abs=1e-5)
    assert (penalty == pytest.approx(0.0, abs=1e-5)) == (norm == 1.0)


def test_gradient_penalty_passes_labels_and_trains_a_conditional_critic(make_loss):
    loss = make_loss("wgan_gp", "loss.gp_weight=5")
    critic = ConvDiscriminator(num_classes=10, batch_norm=False)
    real, fake, y = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28), torch.arange(8)
    penalty = loss.penalty(critic, real, fake, y)  # a conditional critic fails without its labels
    assert penalty.item() > 0 and math.isfinite(penalty.item())
    penalty.backward()  # double backward: the input gradient's graph reaches every conv/linear weight of the trunk
    weights = [m.weight for m in list(critic.body.modules()) + [critic.head] if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weights) == 4 and all(w.grad is not None and torch.isfinite(w.grad).all() for w in weights)
    assert all(w.grad.abs().sum() > 0 for w in weights)


# ---- WGAN weight clipping ------------------------------------------------------------------------------------------
def test_weight_clipping_keeps_every_critic_parameter_within_clip_after_a_training_step(compose):
    cfg = compose("loss=wgan", "loss.clip=0.02", "model=mlp_gan", *TINY)
    module, datamodule = build_model(cfg), build_datamodule(cfg)
    before = [p.detach().clone() for p in module.discriminator.parameters()]
    assert max(p.abs().max().item() for p in before) > 0.02  # Xavier init: clipping has work to do
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(module, datamodule=datamodule)
    assert module.steps_done["d"] == 1
    params = list(module.discriminator.parameters())
    assert all(p.abs().max().item() <= 0.02 for p in params)
    assert any(p.abs().max().item() == pytest.approx(0.02) for p in params)


# ---- config: per-loss defaults and refused combinations ---------------------------------------------------------
def test_wgan_gp_brings_its_paper_defaults_and_the_command_line_wins(compose):
    cfg = compose("loss=wgan_gp")
    assert cfg.k == 5
    assert (cfg.optim.name, cfg.optim.lr, cfg.optim.beta1, cfg.optim.beta2) == ("adam", 1e-4, 0.0, 0.9)
    assert cfg.model.discriminator.batch_norm is False
    validate(cfg)
    assert compose("loss=wgan_gp", "k=1").k == 1
    assert compose("loss=wgan_gp", "optim.lr=3e-4").optim.lr == 3e-4
    sgd = compose("loss=wgan_gp", "optim=sgd").optim  # another optimiser: its own defaults, no Adam leftovers
    assert dict(sgd) == dict(compose("optim=sgd").optim)


def test_wgan_brings_rmsprop_and_k5_and_other_losses_keep_the_defaults(compose):
    cfg = compose("loss=wgan")
    assert (cfg.k, cfg.optim.name, cfg.optim.lr, cfg.loss.clip) == (5, "rmsprop", 5e-5, 0.01)
    base = compose()
    for name in ("non_saturating", "minimax", "lsgan", "hinge"):
        cfg = compose(f"loss={name}")
        assert cfg.k == 1 and dict(cfg.optim) == dict(base.optim)


def test_experiment_values_win_over_loss_defaults(compose):
    cfg = compose("loss=wgan_gp", "experiment=ssgan_100_labels")  # the preset sets Adam lr 3e-4, beta1 0.5
    assert (cfg.optim.lr, cfg.optim.beta1) == (3e-4, 0.5)


@pytest.mark.parametrize("model", ["dcgan", "cgan", "mlp_gan"])
def test_wgan_gp_critics_have_no_batch_norm(compose, model):
    cfg = compose("loss=wgan_gp", f"model={model}")
    validate(cfg)
    critic = build_model(cfg).discriminator
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())


def test_wgan_gp_refuses_a_batch_norm_critic_in_one_line(compose):
    with pytest.raises(ConfigError, match=r"^loss=wgan_gp cannot be used with a BatchNorm critic .*"
                                          r"model\.discriminator\.batch_norm=false$"):
        validate(compose("loss=wgan_gp", "model.discriminator.batch_norm=true"))
    validate(compose("loss=wgan", "model.discriminator.batch_norm=true"))  # clipping has no such limit


@pytest.mark.parametrize("override, message", [("loss.clip=0", "loss.clip=0 is invalid: must be > 0"),
                                               ("loss.clip=-0.01", "loss.clip=-0.01 is invalid: must be > 0")])
def test_bad_loss_parameters_fail_in_one_line(compose, override, message):
    with pytest.raises(ConfigError, match=r"^[^\n]*" + message.replace(".", r"\.")):
        validate(compose("loss=wgan", override))


def test_lucic_presets_compose(compose):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from conftest import CONF_DIR

    cfg = compose("experiment=lucic_losses")
    assert (cfg.model.name, cfg.data.name, cfg.objective) == ("dcgan", "mnist", "eval/fid")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        full = hydra_compose(config_name="config", overrides=["experiment=lucic_losses"], return_hydra_config=True)
    assert full.hydra.sweeper.params["loss"].split(",") == ["non_saturating", "lsgan", "hinge", "wgan", "wgan_gp"]


def test_label_smoothing_with_an_unbounded_critic_fails_in_one_line(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "loss=wgan,hinge", "label_smoothing=0.1", *TINY, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    error_lines = [line for line in (proc.stdout + proc.stderr).splitlines() if "ERROR" in line]
    assert len(error_lines) == 2  # one line per run
    for line, job, name in zip(error_lines, job_dirs(sweep), ["wgan", "hinge"]):
        message = f"label_smoothing=0.1 cannot be used with loss={name}"
        assert message in line
        m = read_metrics(job)
        assert m["status"] == "failed" and message in m["error"]
        assert not (job / "checkpoints").exists()  # refused before training


# ---- end to end --------------------------------------------------------------------------------------------------
def test_tiny_sweep_over_every_loss_completes_and_logs_the_critic_gap(tmp_path):
    sweep = tmp_path / "sweep"
    tiny = [o for o in TINY if not o.startswith("data.train_size")]
    proc = run_cli("-m", "model=mlp_gan", f"loss={','.join(LOSSES)}", "data.train_size=320", *tiny,
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = {read_metrics(job)["overrides"][1].split("=")[1]: job for job in job_dirs(sweep)}
    assert sorted(runs) == sorted(LOSSES)
    for name, job in runs.items():
        m = read_metrics(job)
        assert m["status"] == "completed", m.get("error")
        k = 5 if name.startswith("wgan") else 1
        assert (m["d_steps_done"], m["g_steps_done"]) == (5, 5 // k)  # 320 / 64 batches, one D step each
        with open(job / "csv" / "metrics.csv") as f:
            columns = set(next(csv.reader(f)))
        assert ("epoch/critic_gap" in columns) == (k == 5)
        assert ("epoch/d_real" in columns) == (name in ("non_saturating", "minimax"))
    gp = read_metrics(runs["wgan_gp"])
    assert math.isfinite(gp["train/critic_gap"]) and gp["train/d_penalty"] > 0


def test_semi_supervised_models_refuse_a_gan_loss_they_would_ignore(compose):
    with pytest.raises(ConfigError, match=r"^loss=wgan cannot be used with model=ssgan: .*own loss"):
        validate(compose("model=ssgan", "loss=wgan"))
    validate(compose("model=triplet_gan"))  # the default loss is fine: its hooks are not used
