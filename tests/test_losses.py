"""GAN losses and regularisers as two config axes: each loss against a hand computation, the gradient penalty and
weight clipping on real nets, the paper recipes (loss=wgan, loss=wgan_gp) in the built model and its optimiser,
and real training of every loss and recipe, and of a loss from one paper with the other's regulariser."""

from __future__ import annotations

import csv
import math

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from torch import nn

from conftest import TINY, checked, train_in_process
from gan_sweeps.config.sources import Provenance
from gan_sweeps.nets.nets_config import CGANDiscriminatorConfig
from gan_sweeps.training.regularizers import GradientPenalty, Regularizer, WeightClip
from gan_sweeps.run.build import build_datamodule, build_model

LOSSES = ["non_saturating", "minimax", "lsgan", "hinge", "wasserstein"]
RECIPES = ["wgan", "wgan_gp"]
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
    "wasserstein": (_mean(FAKE) - _mean(REAL), -_mean(FAKE)),
}


@pytest.fixture
def make_loss(compose):
    return lambda name, *overrides: instantiate(compose(f"loss={name}", *overrides).loss)


@pytest.fixture
def make_regularizer(compose):
    return lambda name, *overrides: instantiate(compose(f"regularizer={name}", *overrides).regularizer)


@pytest.mark.unit
@pytest.mark.parametrize("name", LOSSES)
def test_each_loss_matches_a_hand_computation(make_loss, name):
    loss = make_loss(name)
    d, g = HAND[name]
    assert loss.d_loss(torch.tensor(REAL), torch.tensor(FAKE), 1.0).item() == pytest.approx(d, rel=1e-6)
    assert loss.g_loss(torch.tensor(FAKE)).item() == pytest.approx(g, rel=1e-6)


@pytest.mark.unit
def test_minimax_generator_loss_is_finite_where_d_is_confident(make_loss):
    loss = make_loss("minimax")
    logits = torch.tensor([-60.0, 60.0], requires_grad=True)  # sigmoid(60) rounds to 1: log(1 - 1) = -inf naively
    value = loss.g_loss(logits)
    value.backward()
    assert value.item() == pytest.approx(_mean([_log_one_minus_sigmoid(-60.0), -60.0]), rel=1e-6)
    assert logits.grad.tolist() == pytest.approx([0.0, -0.5], abs=1e-12)  # saturates (0) only where D rejects


@pytest.mark.unit
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


@pytest.mark.unit
@pytest.mark.parametrize("name, keys", [("non_saturating", {"d_real", "d_fake"}), ("minimax", {"d_real", "d_fake"}),
                                        ("lsgan", {"d_real_score", "d_fake_score"}),
                                        ("hinge", {"d_real_score", "d_fake_score"}),
                                        ("wasserstein", {"critic_gap"}), ("wgan", {"critic_gap"})])
def test_each_loss_logs_only_the_stats_that_mean_something(make_loss, name, keys):
    stats = make_loss(name).stats(torch.tensor(REAL), torch.tensor(FAKE))
    assert set(stats) == keys
    if "critic_gap" in keys:
        assert stats["critic_gap"].item() == pytest.approx(_mean(REAL) - _mean(FAKE), rel=1e-6)
    if "d_real" in keys:
        assert stats["d_real"].item() == pytest.approx(_mean([math.exp(_log_sigmoid(r)) for r in REAL]), rel=1e-6)


# ---- the gradient penalty -------------------------------------------------------------------------------------------
class LinearCritic(nn.Module):
    """D(x) = <w, x> + b on flattened 1-channel images: its input gradient is w everywhere."""

    def __init__(self, norm: float):
        super().__init__()
        self.linear = nn.Linear(28 * 28, 1)
        with torch.no_grad():
            self.linear.weight.mul_(norm / self.linear.weight.norm())

    def forward(self, x, y=None):
        return {"adv": self.linear(x.flatten(1)).squeeze(1)}


@pytest.mark.unit
@pytest.mark.parametrize("norm", [1.0, 2.0, 0.5])
def test_gradient_penalty_of_a_linear_critic_is_its_distance_from_unit_norm(make_regularizer, norm):
    penalty_term = make_regularizer("gradient_penalty")
    real, fake = torch.rand(16, 1, 28, 28), torch.rand(16, 1, 28, 28)
    penalty = penalty_term.penalty(LinearCritic(norm), real, fake).item()
    assert penalty == pytest.approx(10.0 * (norm - 1.0) ** 2, abs=1e-5)
    assert (penalty == pytest.approx(0.0, abs=1e-5)) == (norm == 1.0)


@pytest.mark.unit
def test_gradient_penalty_passes_labels_and_trains_a_conditional_critic(make_regularizer):
    penalty_term = make_regularizer("gradient_penalty", "regularizer.weight=5")
    assert penalty_term.weight == 5.0
    critic = instantiate(CGANDiscriminatorConfig(num_classes=10, batch_norm=False))
    real, fake, y = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28), torch.arange(8)
    penalty = penalty_term.penalty(critic, real, fake, y)  # a conditional critic fails without its labels
    assert penalty.item() > 0 and math.isfinite(penalty.item())
    penalty.backward()  # double backward: the input gradient's graph reaches every conv/linear weight of the trunk
    trunk = [critic.image, critic.body, critic.head]  # the label's dense layer only shifts the piecewise-linear trunk
    weights = [m.weight for net in trunk for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weights) == 3 and all(w.grad is not None and torch.isfinite(w.grad).all() for w in weights)
    assert all(w.grad.abs().sum() > 0 for w in weights)


# ---- weight clipping ---------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_weight_clipping_keeps_every_critic_parameter_within_clip_after_a_training_step(compose):
    cfg = compose("loss=wgan", "regularizer.clip=0.02", "model=mlp_gan", *TINY)
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


# ---- the recipes, in what gets built --------------------------------------------------------------------------
def _optimizer(module, role: str) -> torch.optim.Optimizer:
    d_opt, g_opt = module.configure_optimizers()
    return d_opt if role == "d" else g_opt


@pytest.mark.unit
def test_wgan_gp_recipe_builds_the_papers_critic_optimiser_and_loop_and_the_command_line_wins():
    module = build_model(checked("loss=wgan_gp"))
    assert type(module.loss).__name__ == "Wasserstein" and isinstance(module.regularizer, GradientPenalty)
    assert module.regularizer.weight == 10.0 and module.k == 5
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.discriminator.modules())
    opt = _optimizer(module, "d")
    assert isinstance(opt, torch.optim.Adam)
    assert (opt.defaults["lr"], opt.defaults["betas"]) == (pytest.approx(1e-4), (0.0, 0.9))
    mine = build_model(checked("loss=wgan_gp", "k=1", "optim.lr=3e-4"))
    assert mine.k == 1 and _optimizer(mine, "g").defaults["lr"] == pytest.approx(3e-4)
    sgd = _optimizer(build_model(checked("loss=wgan_gp", "optim=sgd")), "d")  # its own defaults, no Adam leftovers
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["lr"] == pytest.approx(1e-4)


@pytest.mark.unit
def test_wgan_recipe_builds_rmsprop_k5_and_weight_clipping_other_losses_keep_the_defaults():
    module = build_model(checked("loss=wgan"))
    assert isinstance(module.regularizer, WeightClip) and module.regularizer.clip == 0.01 and module.k == 5
    opt = _optimizer(module, "d")
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == pytest.approx(5e-5)
    for name in LOSSES:
        plain = build_model(checked(f"loss={name}"))
        assert plain.k == 1 and type(plain.regularizer) is Regularizer
        assert isinstance(_optimizer(plain, "d"), torch.optim.Adam)
        assert _optimizer(plain, "d").defaults["lr"] == pytest.approx(2e-4)


@pytest.mark.unit
def test_experiment_values_win_over_loss_defaults():
    provenance = Provenance.of(["loss=wgan_gp", "experiment=ssgan_100_labels"])
    assert str(provenance.source("optim.lr")) == "gan_sweeps/conf/experiment/ssgan_100_labels.yaml"


@pytest.mark.unit
@pytest.mark.parametrize("model", ["dcgan", "cgan", "mlp_gan"])
def test_wgan_gp_critics_have_no_batch_norm(model):
    critic = build_model(checked("loss=wgan_gp", f"model={model}")).discriminator
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())


# ---- training ------------------------------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.parametrize("loss, regularizer", [(name, None) for name in LOSSES + RECIPES] + [
    ("hinge", "gradient_penalty"), ("non_saturating", "gradient_penalty"), ("lsgan", "weight_clip")])
def test_every_loss_and_regulariser_trains_and_logs_what_means_something(tmp_path, loss, regularizer):
    """Kurach et al. 2019's combinations (hinge or NS loss + gradient penalty) are two config words."""
    extra = [f"regularizer={regularizer}"] if regularizer else []
    metrics = train_in_process(tmp_path, "model=mlp_gan", f"loss={loss}", *extra, *TINY, "data.train_size=320")
    assert metrics["status"] == "completed", metrics.get("error")
    k = 5 if loss in RECIPES else 1
    assert (metrics["d_steps_done"], metrics["g_steps_done"]) == (5, 5 // k)  # 320 / 64 batches, one D step each
    with open(tmp_path / "csv" / "metrics.csv") as f:
        columns = set(next(csv.reader(f)))
    assert ("epoch/critic_gap" in columns) == (loss in ("wasserstein", *RECIPES))
    assert ("epoch/d_real" in columns) == (loss in ("non_saturating", "minimax"))
    penalised = regularizer == "gradient_penalty" or loss == "wgan_gp"
    assert ("epoch/d_penalty" in columns) == penalised
    if penalised:
        assert math.isfinite(metrics["train/d_penalty"]) and metrics["train/d_penalty"] > 0
