"""Semi-supervised GAN and Triplet GAN (seed 000): losses by hand, retrieval metrics on a worked example, labelled
subsets, nets, and a real 1-epoch run of each model that leaves its metrics in metrics.json."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from conftest import DATA_ROOT, train_in_process
from gan_sweeps.data import ImageDataModule
from gan_sweeps.data.subsets import UNLABELLED, LabelledBatches, TripletSampler, balanced_subset, complement
from gan_sweeps.evaluation.retrieval import _vote, retrieval_metrics
from gan_sweeps.training.losses_ssl import (adv_logit, feature_matching_loss, non_saturating_g_loss, supervised_loss,
                                   triplet_loss, unsupervised_d_loss)
from gan_sweeps.nets.nets_config import SSLDiscriminatorConfig, SSLGeneratorConfig
from gan_sweeps.nets.ssgan import data_dependent_init
from gan_sweeps.run.build import build_model


# ---- losses ----------------------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_unsupervised_loss_equals_the_hand_computation():
    real = torch.tensor([[0.0, 1.0, -1.0], [2.0, 0.5, 0.0]])
    fake = torch.tensor([[-2.0, -1.0, 0.0], [1.0, 1.0, 1.0]])

    def d_of(logits):  # D(x) = Z / (Z + 1), Z = sum_k exp(l_k), written out
        z = [sum(math.exp(v) for v in row) for row in logits.tolist()]
        return [zi / (zi + 1.0) for zi in z]

    expected = (sum(-math.log(d) for d in d_of(real)) / 2 + sum(-math.log(1 - d) for d in d_of(fake)) / 2)
    assert unsupervised_d_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)
    assert non_saturating_g_loss(fake).item() == pytest.approx(sum(-math.log(d) for d in d_of(fake)) / 2, rel=1e-6)
    assert adv_logit(real)[0].item() == pytest.approx(math.log(1 + math.e + math.exp(-1)), rel=1e-6)


@pytest.mark.unit
def test_unsupervised_loss_is_finite_for_huge_logits():
    big = torch.full((2, 10), 200.0)  # Z = 10 e^200 overflows float32; the logsumexp/softplus form does not
    loss = unsupervised_d_loss(big, -big)
    assert torch.isfinite(loss) and loss.item() == pytest.approx(0.0, abs=1e-6)
    # real: softplus(lse) - lse ~ -lse = 200 - ln 10; fake: softplus(lse) ~ lse = 200 + ln 10
    assert unsupervised_d_loss(-big, big).item() == pytest.approx(400.0, rel=1e-5)


@pytest.mark.unit
def test_supervised_loss_is_cross_entropy_over_the_real_classes():
    logits, labels = torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([0])
    expected = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
    assert supervised_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.unit
def test_feature_matching_is_zero_when_the_means_are_equal():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(8, 5, generator=gen)
    fake = torch.randn(6, 5, generator=gen)
    fake = fake - fake.mean(0) + real.mean(0)  # different rows, same column means
    assert feature_matching_loss(fake, real).item() == pytest.approx(0.0, abs=1e-12)
    shifted = fake + torch.tensor([1.0, 0.0, 0.0, 0.0, 2.0])
    assert feature_matching_loss(shifted, real).item() == pytest.approx((1 + 4) / 5, rel=1e-5)


@pytest.mark.unit
def test_triplet_loss_equals_the_hand_computation():
    a = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    p = torch.tensor([[3.0, 4.0], [1.0, 2.0]])  # d+ = 5, 1
    n = torch.tensor([[1.0, 0.0], [4.0, 5.0]])  # d- = 1, 5
    per = [-math.log(math.exp(-5) / (math.exp(-5) + math.exp(-1))),
           -math.log(math.exp(-1) / (math.exp(-1) + math.exp(-5)))]
    assert triplet_loss(a, p, n).item() == pytest.approx(sum(per) / 2, rel=1e-6)
    same = torch.zeros(1, 3, requires_grad=True)  # d+ = 0: the gradient stays finite
    triplet_loss(same, same.detach(), torch.ones(1, 3)).backward()
    assert torch.isfinite(same.grad).all()


# ---- retrieval metrics ---------------------------------------------------------------------------------------------
# Database on a line (x, 0): items 1 and 2 are equidistant from query 0, items 1, 2 and 3 from query 2.
DB = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [3.0, 0.0], [4.0, 0.0]])
DB_LABELS = torch.tensor([0, 1, 0, 1, 1])
QUERIES = torch.tensor([[0.0, 0.0], [4.0, 0.0], [2.0, 0.0]])
QUERY_LABELS = torch.tensor([0, 1, 0])
# By hand, ties -> smaller database index first:
#   q0 (class 0): ranking 0,1,2,3,4 -> hits at ranks 1, 3: AP = (1/1 + 2/3) / 2 = 5/6; 3-NN labels 0,1,0 -> 0 (right)
#   q1 (class 1): ranking 4,3,1,2,0 -> hits at 1, 2, 3:   AP = 1;                    3-NN labels 1,1,1 -> 1 (right)
#   q2 (class 0): ranking 1,2,3,0,4 -> hits at 2, 4:      AP = (1/2 + 2/4) / 2 = 1/2; 3-NN labels 1,0,1 -> 1 (wrong)


@pytest.mark.unit
@pytest.mark.parametrize("chunk_size", [1, 2, 256])
def test_retrieval_metrics_match_the_worked_example(chunk_size):
    scores = retrieval_metrics(QUERIES, QUERY_LABELS, DB, DB_LABELS, k=3, chunk_size=chunk_size)
    assert scores["map"] == pytest.approx((5 / 6 + 1 + 1 / 2) / 3, rel=1e-6)
    assert scores["knn_acc"] == pytest.approx(2 / 3)


@pytest.mark.unit
def test_knn_vote_ties_go_to_the_class_met_first():
    # 2-NN: q0 sees labels 0,1 (tie -> 0, right); q1 sees 1,1; q2 sees 1,0 (tie -> 1, wrong)
    assert retrieval_metrics(QUERIES, QUERY_LABELS, DB, DB_LABELS, k=2)["knn_acc"] == pytest.approx(2 / 3)
    assert _vote(torch.tensor([[3, 1, 1, 3], [2, 5, 5, 2], [7, 7, 7, 0]]), 8).tolist() == [3, 2, 7]


@pytest.mark.unit
def test_retrieval_metrics_agree_with_a_brute_force_reference():
    gen = torch.Generator().manual_seed(3)
    db, db_y = torch.randn(60, 4, generator=gen), torch.randint(0, 3, (60,), generator=gen)
    q, q_y = torch.randn(7, 4, generator=gen), torch.randint(0, 3, (7,), generator=gen)
    aps, right = [], 0
    for query, label in zip(q, q_y):
        ranked = db_y[torch.tensor(sorted(range(60), key=lambda i: float(((db[i] - query) ** 2).sum())))]
        hits = [i + 1 for i, lab in enumerate(ranked.tolist()) if lab == label]
        aps.append(sum((j + 1) / rank for j, rank in enumerate(hits)) / len(hits))
        nearest = ranked[:9].tolist()
        best = max(nearest.count(c) for c in nearest)
        vote = next(c for c in nearest if nearest.count(c) == best)  # tie: the class met first
        right += int(vote == label)
    scores = retrieval_metrics(q, q_y, db, db_y, k=9, chunk_size=3)
    assert scores["map"] == pytest.approx(sum(aps) / 7, rel=1e-5)
    assert scores["knn_acc"] == pytest.approx(right / 7)


# ---- labelled subsets ------------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_labelled_subsets_are_class_balanced_and_reproducible():
    labels = torch.arange(1000) % 10
    a = balanced_subset(labels, 7, 10, seed=5)
    assert torch.bincount(labels[a], minlength=10).tolist() == [7] * 10
    assert len(set(a.tolist())) == 70
    assert torch.equal(a, balanced_subset(labels, 7, 10, seed=5))
    assert not torch.equal(a, balanced_subset(labels, 7, 10, seed=6))
    rest = complement(1000, a)
    assert len(rest) == 930 and not set(rest.tolist()) & set(a.tolist())
    with pytest.raises(ValueError, match="class 0 has only 100"):
        balanced_subset(labels, 101, 10)


@pytest.mark.unit
def test_datamodule_exposes_the_labelled_subset_and_hides_the_other_labels():
    def setup(**kw):
        dm = ImageDataModule(root=DATA_ROOT, train_size=2000, batch_size=100, seed=1, **kw)
        dm.setup()
        return dm

    dm = setup(labelled_per_class=20)
    assert torch.bincount(dm.labelled_labels, minlength=10).tolist() == [20] * 10
    assert torch.equal(dm.labelled_images, dm.train_images[dm.labelled_indices])
    assert torch.equal(dm.labelled_labels, dm.train_labels[dm.labelled_indices])
    batches = list(dm.train_dataloader())
    assert len(batches) == (2000 - 200) // 100
    assert all((y == UNLABELLED).all() for _, y in batches)
    seen = torch.cat([x for x, _ in batches]).flatten(1)
    assert not (seen[:, None, :] == dm.labelled_images.flatten(1)[None, :20]).all(-1).any()  # subset kept apart
    assert torch.equal(dm.labelled_indices, setup(labelled_per_class=20).labelled_indices)  # same seed, same subset
    assert not torch.equal(dm.labelled_indices, setup(labelled_per_class=20, labelled_seed=2).labelled_indices)
    full = setup()  # null: every image labelled, batches keep their labels
    assert len(full.labelled_labels) == 2000 and (next(iter(full.train_dataloader()))[1] >= 0).all()


@pytest.mark.unit
def test_labelled_batches_cycle_through_the_whole_set():
    images, labels = torch.arange(10.0).view(10, 1), torch.arange(10)
    sampler = LabelledBatches(images, labels, batch_size=4, seed=0)
    seen = torch.cat([sampler.next()[1] for _ in range(5)])  # 20 draws = two full permutations
    assert sorted(seen[:10].tolist()) == list(range(10)) and sorted(seen[10:].tolist()) == list(range(10))


@pytest.mark.unit
def test_triplets_pair_an_anchor_with_its_class_and_another_class():
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 2])
    a, p, n = TripletSampler(labels, seed=0).sample(2000)
    assert (labels[a] == labels[p]).all() and (a != p).all() and (labels[a] != labels[n]).all()
    assert set(n.tolist()) == set(range(10)) and set(p.tolist()) == set(range(10))


# ---- nets and modules -----------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_nets_have_the_paper_shapes_and_noise_only_in_training():
    d, g = instantiate(SSLDiscriminatorConfig(out_dim=10)), instantiate(SSLGeneratorConfig(normalize="none"))
    widths = [layer.out_features for layer in d.hidden] + [d.head.out_features]
    assert widths == [1000, 500, 250, 250, 250, 10]
    x = g(torch.randn(4, 100))
    assert x.shape == (4, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    out = d.eval()(x)
    assert out["logits"].shape == (4, 10) and out["features"].shape == (4, 250)
    assert torch.allclose(out["adv"], torch.logsumexp(out["logits"], 1))
    assert torch.equal(d(x)["logits"], d(x)["logits"])  # eval: deterministic
    assert not torch.equal(d.train()(x)["logits"], d(x)["logits"])  # training: Gaussian noise
    assert g.eval()(torch.zeros(2, 100)).shape == (2, 1, 28, 28)
    assert instantiate(SSLGeneratorConfig(normalize="tanh")).eval()(torch.randn(3, 100)).min() >= -1


@pytest.mark.unit
def test_data_dependent_init_standardises_pre_activations():
    d = instantiate(SSLDiscriminatorConfig(out_dim=16, input_noise=0.0, hidden_noise=0.0))
    x = torch.rand(256, 1, 28, 28)
    assert data_dependent_init(d, x) == 6
    pre = d.hidden[0](x.flatten(1))
    assert pre.mean(0).abs().max() < 1e-4 and (pre.std(0) - 1).abs().max() < 1e-3
    head = d.eval()(x)["logits"]
    assert head.mean(0).abs().max() < 1e-3 and (head.std(0) - 1).abs().max() < 1e-2


@pytest.mark.unit
def test_models_build_from_config_and_use_their_objectives(compose):
    ss = build_model(compose("model=ssgan", "model.g_loss=non_saturating")).eval()  # eval: no noise
    trip = build_model(compose("model=triplet_gan", "model.embedding_dim=32"))
    assert ss.discriminator.head.out_features == 10 and trip.discriminator.head.out_features == 32
    z = torch.randn(8, 100)
    fake, real = ss.generate(8), torch.rand(8, 1, 28, 28) * 2 - 1
    assert ss.g_objective(fake, None, real, None).item() == pytest.approx(
        F.softplus(-ss.discriminate(fake, None)["adv"]).mean().item(), rel=1e-6)
    assert trip.g_loss_name == "feature_matching" and trip.decode(z, None).shape == (8, 1, 28, 28)
    gen_params = {id(p) for p in trip.generator.parameters() if p.requires_grad}
    assert gen_params and not gen_params & {id(p) for p in trip.discriminator.parameters()}


# ---- real runs ----------------------------------------------------------------------------------------------------
SMOKE = ["data.train_size=600", "data.labelled_per_class=5", "batch_size=100", "logger=csv",
         "eval.sample_metrics=false", "eval.batch_size=2000"]


@pytest.mark.integration
def test_ssgan_smoke_run_records_test_accuracy(tmp_path):
    m = train_in_process(tmp_path, "model=ssgan", *SMOKE, "trainer.max_epochs=1")
    assert m["status"] == "completed", m.get("error")
    assert (m["d_steps_done"], m["g_steps_done"]) == (5, 5)  # (600 - 50) // 100 unlabelled batches
    assert 0 < m["eval/ssl_acc"] <= 1 and m["eval/ssl_errors"] == round((1 - m["eval/ssl_acc"]) * 10000)
    assert {"train/sup", "train/unsup", "train/train_acc"} <= m.keys()
    assert (tmp_path / "samples" / "epoch_001.png").is_file()


@pytest.mark.integration
def test_triplet_gan_smoke_run_records_both_phases(tmp_path):
    m = train_in_process(tmp_path, "model=triplet_gan", *SMOKE, "trainer.max_epochs=2", "model.pretrain_epochs=1",
                         "model.triplets_per_epoch=250", "sample_epochs=[2]")
    assert m["status"] == "completed", m.get("error")
    for key in ("eval/pretrain/knn_acc", "eval/pretrain/map", "eval/knn_acc", "eval/map"):
        assert 0 < m[key] <= 1, key
    assert m["train/triplet"] > 0  # the last epoch trained on triplets
    assert (tmp_path / "embeddings.png").is_file() and (tmp_path / "embeddings_pretrain.png").is_file()
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch_002.png"]


@pytest.mark.unit
@pytest.mark.parametrize("layer, key", [("hidden", "features"), ("output", "logits")])
def test_feature_matching_matches_the_chosen_discriminator_layer(compose, layer, key):
    module = build_model(compose("model=triplet_gan", f"model.feature_matching={layer}")).eval()  # eval: no noise
    real, fake = torch.rand(16, 1, 28, 28), torch.rand(16, 1, 28, 28)
    r, f = module.discriminator(real, None), module.discriminator(fake, None)
    expected = feature_matching_loss(f[key], r[key])
    other = feature_matching_loss(*(out["logits" if key == "features" else "features"] for out in (f, r)))
    got = module.g_objective(fake, None, real, None).item()
    assert got == pytest.approx(expected.item(), rel=1e-5) and got != pytest.approx(other.item(), rel=1e-3)
