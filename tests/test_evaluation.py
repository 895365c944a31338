"""Evaluation library on real data with real (trained) evaluators: no mocks.

The evaluators are trained once per test session into a temporary cache (session fixtures), which also checks
that the training recipe still reaches its accuracy targets. Models used here are tiny real ``nn.Module``s that
replay dataset images, so every expected value is known."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gan_sweeps.callbacks.health import RunHealth
from gan_sweeps.data import from_unit_range, load_split
from gan_sweeps.evaluation import (EvaluatorFeatures, class_entropy, class_histogram, conditional_accuracy,
                                   evaluate_generative, fid, get_evaluator, inception_score, kid, mode_collapse,
                                   reference_scores, save_confusion_png)
from gan_sweeps.evaluation.autoencoding import reconstruction_scores
from gan_sweeps.evaluation.diversity import low_diversity
from gan_sweeps.evaluation.evaluator import cache_path, unit_images, with_recipe

from samplers import DistinctImages, OneImagePerClass

DATA_ROOT = os.environ["GAN_SWEEPS_DATA"]  # set by conftest.py (../shared/datasets when not given)
REPO = Path(__file__).resolve().parents[1]


# ---- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory) -> Path:
    """One fresh evaluator cache per test session: evaluators train once here, later calls load them."""
    return tmp_path_factory.mktemp("eval_cache")


@pytest.fixture(scope="session")
def mnist_evaluator(eval_cache):
    return get_evaluator("mnist", DATA_ROOT, eval_cache)


@pytest.fixture(scope="session")
def fashion_evaluator(eval_cache):
    return get_evaluator("fashion_mnist", DATA_ROOT, eval_cache)


@pytest.fixture(scope="session")
def mnist_test01() -> tuple[torch.Tensor, torch.Tensor]:
    split = load_split("mnist", DATA_ROOT, train=False)
    return unit_images(split.images), split.labels


@pytest.fixture(scope="session")
def mnist_sample(mnist_test01) -> torch.Tensor:
    """2,000 random test images. (Not the first 2,000: MNIST's test split is ordered by writer population, and
    its first part alone is measurably off the whole: FID ~5 against the full split vs ~0.5 for a random part.)"""
    pick = torch.randperm(10_000, generator=torch.Generator().manual_seed(0))[:2000]
    return mnist_test01[0][pick]


class ReplayModel(nn.Module):
    """A 'generator' that returns random images of a real split in the model's pixel range.

    Conditional: an image of each requested class. ``collapsed``: always the same image."""

    def __init__(self, images01: torch.Tensor, labels: torch.Tensor, normalize: str, conditional: bool = False,
                 collapsed: bool = False):
        super().__init__()
        self.images01, self.labels, self.normalize = images01, labels, normalize
        self.conditional, self.collapsed, self.num_classes = conditional, collapsed, 10
        self.modes_seen: list[bool] = []

    def generate(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        self.modes_seen.append(self.training)
        if self.collapsed:
            idx = torch.zeros(n, dtype=torch.long)
        elif labels is None:
            idx = torch.randint(0, len(self.images01), (n,))
        else:
            by_class = [torch.nonzero(self.labels == c).squeeze(1) for c in range(self.num_classes)]
            idx = torch.stack([by_class[int(c)][torch.randint(0, len(by_class[int(c)]), ())] for c in labels])
        return from_unit_range(self.images01[idx], self.normalize)


class MeanPixelAutoencoder(ReplayModel):
    """What the autoencoder evaluation reads: ``terms`` (batch means that must be averaged over the test split,
    weighted by batch size) and ``reconstruct`` (perfect here)."""

    device = torch.device("cpu")

    def terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"recon": x.mean(), "batch_size": torch.tensor(float(len(x))), "loss": x.mean()}

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return x


# ---- the evaluator and its cache ----------------------------------------------------------------------
@pytest.mark.integration
def test_mnist_evaluator_accuracy(mnist_evaluator):
    info = mnist_evaluator.info
    assert info.test_acc >= 0.985
    assert info.conf_correct > info.conf_incorrect  # seed 001: confident when right, less when wrong
    assert info.test_features.shape == (10_000, 50) and info.test_logits.shape == (10_000, 10)
    assert mnist_evaluator.num_features == 50


@pytest.mark.integration
def test_fashion_evaluator_accuracy(fashion_evaluator):
    assert fashion_evaluator.info.test_acc >= 0.89


@pytest.mark.integration
def test_evaluator_shapes_and_cached_test_outputs(mnist_evaluator, mnist_test01):
    x, _ = mnist_test01
    feats, logits = mnist_evaluator.embed(x[:64])
    assert feats.shape == (64, 50) and logits.shape == (64, 10)
    torch.testing.assert_close(mnist_evaluator(x[:64]), logits)
    torch.testing.assert_close(feats, mnist_evaluator.info.test_features[:64], atol=1e-4, rtol=1e-4)


@pytest.mark.integration
def test_second_call_loads_the_cache(mnist_evaluator, eval_cache):
    path = cache_path("mnist", eval_cache)
    mtime = path.stat().st_mtime_ns
    again = get_evaluator("mnist", DATA_ROOT, eval_cache)
    assert not again.info.trained_now
    assert path.stat().st_mtime_ns == mtime
    for key, value in mnist_evaluator.state_dict().items():
        torch.testing.assert_close(again.state_dict()[key], value, rtol=0, atol=0)
    assert again.info.test_acc == mnist_evaluator.info.test_acc


_RACER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from gan_sweeps.evaluation.evaluator import get_evaluator, with_recipe
    cache, me, other = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    (cache / f"ready-{me}").touch()
    while not (cache / f"ready-{other}").exists():  # start get_evaluator together, after the slow imports
        time.sleep(0.01)
    ev = get_evaluator("mnist", sys.argv[4], cache, recipe=with_recipe("mnist", train_size=1000, epochs=1))
    print(json.dumps({"trained_now": ev.info.trained_now, "test_acc": ev.info.test_acc}))
""")


@pytest.mark.e2e
def test_two_processes_at_once_train_once(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(tmp_path), me, other, DATA_ROOT],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
             for me, other in (("a", "b"), ("b", "a"))]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["trained_now"] for r in results) == [False, True]
    assert results[0]["test_acc"] == results[1]["test_acc"]
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("ready-"))
    evaluator_file = cache_path("mnist", tmp_path, with_recipe("mnist", train_size=1000, epochs=1)).name
    assert files == [evaluator_file, evaluator_file + ".lock"]  # one cache file, no temporary left behind
    entry = torch.load(tmp_path / evaluator_file, weights_only=True)
    assert entry["test_acc"] == results[0]["test_acc"] and entry["recipe"]["train_size"] == 1000


# ---- FID / KID ------------------------------------------------------------------------------------------
def _noisy(x: torch.Tensor, sigma: float) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return (x + sigma * torch.randn(x.shape, generator=gen)).clamp(0, 1)


@pytest.mark.integration
def test_fid_of_a_set_with_itself_is_zero(mnist_evaluator, mnist_sample):
    x = mnist_sample
    assert fid(mnist_evaluator, x, x) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.integration
def test_fid_grows_with_noise(mnist_evaluator, mnist_sample):
    x = mnist_sample
    real = mnist_evaluator.info.test_features
    scores = [fid(mnist_evaluator, _noisy(x, s), real) for s in (0.0, 0.1, 0.2, 0.4, 0.8)]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


@pytest.mark.integration
def test_fid_same_from_images_or_features(mnist_evaluator, mnist_test01):
    x = mnist_test01[0]
    fake = _noisy(x[:1000], 0.2)
    fake_feats, _ = mnist_evaluator.embed(fake)
    real_feats = mnist_evaluator.info.test_features
    assert fid(mnist_evaluator, fake, x) == pytest.approx(fid(mnist_evaluator, fake_feats, real_feats), rel=1e-4)


@pytest.mark.integration
def test_kid_near_zero_for_same_distribution_and_grows_with_noise(mnist_evaluator, mnist_sample):
    real = mnist_evaluator.info.test_features
    same_mean, same_std = kid(mnist_evaluator, mnist_sample, real)
    noisy_mean, _ = kid(mnist_evaluator, _noisy(mnist_sample, 0.4), real)
    assert abs(same_mean) < 2 * same_std  # KID is unbiased: ~0 within its subset spread
    assert noisy_mean > same_mean + 10 * same_std
    assert kid(mnist_evaluator, mnist_sample, real) == (same_mean, same_std)  # seeded subsets


@pytest.mark.integration
def test_feature_wrapper_rejects_wrong_width(mnist_evaluator):
    with pytest.raises(ValueError, match="precomputed features"):
        EvaluatorFeatures(mnist_evaluator)(torch.zeros(3, 7))


# ---- inception score ------------------------------------------------------------------------------------
@pytest.mark.integration
def test_is_of_real_mnist_test_data_above_9(mnist_evaluator):
    score = inception_score(mnist_evaluator.info.test_logits.softmax(1))
    assert 9.0 < score <= 10.0


@pytest.mark.integration
@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_is_of_constant_images_is_one(mnist_evaluator, value):
    _, logits = mnist_evaluator.embed(torch.full((500, 1, 28, 28), value))
    assert inception_score(logits.softmax(1)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:.*(save all extracted features|degrees of freedom).*:UserWarning")
def test_is_matches_torchmetrics(mnist_evaluator, mnist_sample):
    from torchmetrics.image.inception import InceptionScore

    class Logits(nn.Module):
        def __init__(self, evaluator):
            super().__init__()
            self.evaluator = evaluator

        def forward(self, x):
            return self.evaluator(x)

    x = mnist_sample
    metric = InceptionScore(feature=Logits(mnist_evaluator), splits=1)  # normalize=False: float images as-is
    with torch.no_grad():
        metric.update(x)
    expected = float(metric.compute()[0])
    assert inception_score(mnist_evaluator(x).softmax(1)) == pytest.approx(expected, rel=1e-4)


@pytest.mark.unit
def test_is_extremes_by_hand():
    assert inception_score(torch.eye(10)) == pytest.approx(10.0)  # confident and uniform over classes
    assert inception_score(torch.full((7, 10), 0.1)) == pytest.approx(1.0)
    assert inception_score(torch.eye(10)[[3] * 5]) == pytest.approx(1.0)  # one class only


# ---- class balance --------------------------------------------------------------------------------------
@pytest.mark.unit
def test_histogram_entropy_collapse_one_class():
    hist = class_histogram(torch.full((100,), 3), 10)
    assert hist.tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert class_entropy(hist) == pytest.approx(0.0, abs=1e-12)
    assert mode_collapse(hist)


@pytest.mark.unit
def test_histogram_entropy_collapse_uniform():
    hist = class_histogram(torch.arange(1000) % 10, 10)
    np.testing.assert_allclose(hist, 0.1)
    assert class_entropy(hist) == pytest.approx(1.0)
    assert not mode_collapse(hist)


@pytest.mark.unit
def test_collapse_thresholds():
    missing = [0.015] + [0.985 / 9] * 9  # one class under 2 %
    dominant = [0.31] + [0.69 / 9] * 9  # one class over 30 %
    healthy = [0.05, 0.15] + [0.1] * 8  # unbalanced but every class present and none dominating
    assert mode_collapse(missing) and mode_collapse(dominant) and not mode_collapse(healthy)
    assert 0.0 < class_entropy(missing) < 1.0


@pytest.mark.integration
def test_real_test_labels_are_not_collapsed(mnist_test01):
    hist = class_histogram(mnist_test01[1], 10)
    assert not mode_collapse(hist) and class_entropy(hist) > 0.99


# ---- conditional accuracy -------------------------------------------------------------------------------
@pytest.mark.unit
def test_conditional_accuracy_by_hand():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = torch.tensor([0, 1, 1, 1])  # predictions 0, 1, 0, 1 -> right, right, wrong, right
    out = conditional_accuracy(probs, labels)
    assert out["acc"] == pytest.approx(0.75)
    assert out["conf_correct"] == pytest.approx((0.9 + 0.8 + 0.7) / 3)
    assert out["conf_incorrect"] == pytest.approx(0.6)
    np.testing.assert_array_equal(out["confusion"], [[1, 0], [1, 2]])  # rows: intended, columns: predicted


@pytest.mark.unit
def test_conditional_accuracy_without_errors_has_nan_incorrect_confidence():
    out = conditional_accuracy(torch.eye(3), torch.arange(3))
    assert out["acc"] == 1.0 and out["conf_correct"] == 1.0 and math.isnan(out["conf_incorrect"])


@pytest.mark.unit
def test_confusion_png(tmp_path):
    path = save_confusion_png(np.array([[5, 1], [0, 7]]), ["a", "b"], tmp_path / "sub" / "confusion.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- end to end -----------------------------------------------------------------------------------------
def _check_json_ready(results: dict) -> None:
    json.loads(json.dumps(results, allow_nan=False))
    assert all(k.startswith("eval/") for k in results)


@pytest.mark.integration
def test_evaluate_unconditional_real_images(mnist_evaluator, mnist_test01, eval_cache, tmp_path):
    model = ReplayModel(*mnist_test01, normalize="tanh").train()
    out = evaluate_generative(model, dataset="mnist", data_root=DATA_ROOT, normalize="tanh", num_samples=2500,
                              cache_dir=eval_cache, out_dir=tmp_path, device="cpu", batch_size=1000)
    _check_json_ready(out)
    # eval mode for every generator call (batches of 1000 drawn in GENERATE_CHUNK pieces), training mode restored
    assert model.training and len(model.modes_seen) >= 3 and not any(model.modes_seen)
    assert out["eval/num_samples"] == 2500 and out["eval/evaluator_test_acc"] == mnist_evaluator.info.test_acc
    # Real images score near the reference (noise sigma 0.1 on real images already gives FID ~15).
    assert out["eval/fid"] < 3.0 and out["eval/is"] > 9.0 and not out["eval/mode_collapse"]
    assert len(out["eval/class_hist"]) == 10 and sum(out["eval/class_hist"]) == pytest.approx(1.0)
    assert "eval/cond_acc" not in out and not (tmp_path / "confusion.png").exists()
    assert out["eval/spread"] > 0.9 and "eval/intra_fid" not in out  # per class only for conditional models
    again = evaluate_generative(model, dataset="mnist", data_root=DATA_ROOT, normalize="tanh", num_samples=2500,
                                cache_dir=eval_cache, out_dir=tmp_path, device="cpu", batch_size=1000)
    assert again == out  # seeded generation and KID subsets


@pytest.mark.integration
def test_evaluate_conditional_real_images(mnist_evaluator, eval_cache, tmp_path):
    train = load_split("mnist", DATA_ROOT, train=True)
    model = ReplayModel(unit_images(train.images[:5000]), train.labels[:5000], normalize="half", conditional=True)
    out = evaluate_generative(model, dataset="mnist", data_root=DATA_ROOT, normalize="half", num_samples=1000,
                              cache_dir=eval_cache, out_dir=tmp_path, device="cpu", batch_size=300)
    _check_json_ready(out)
    assert out["eval/cond_acc"] > 0.97
    assert out["eval/conf_correct"] > out["eval/conf_incorrect"]
    np.testing.assert_allclose(out["eval/class_hist"], 0.1, atol=0.02)  # labels cycle 0..9
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.integration
def test_evaluate_collapsed_model_and_reconstruction_scores(mnist_test01, mnist_evaluator, eval_cache):
    model = MeanPixelAutoencoder(*mnist_test01, normalize="none", collapsed=True)
    out = evaluate_generative(model, dataset="mnist", data_root=DATA_ROOT, normalize="none", num_samples=200,
                              cache_dir=eval_cache, out_dir=None, device="cpu", batch_size=3000)
    _check_json_ready(out)
    assert out["eval/mode_collapse"] and out["eval/class_entropy"] == pytest.approx(0.0)
    assert out["eval/is"] == pytest.approx(1.0, abs=1e-6) and out["eval/fid"] > 50
    rec = reconstruction_scores(model, mnist_test01[0], batch_size=3000)
    assert rec["eval/recon_bce"] == pytest.approx(float(mnist_test01[0].mean()), rel=1e-5)
    assert rec["eval/recon_mse"] == 0.0 and "eval/elbo" not in rec and "eval/loss" not in rec
    # Test batches of 3000, 3000, 3000, 1000: size-weighted mean of the batch sizes (an unweighted one is 2500).
    assert rec["eval/batch_size"] == pytest.approx((3 * 3000 ** 2 + 1000 ** 2) / 10_000)


@pytest.mark.integration
def test_reference_scores(mnist_evaluator, eval_cache):
    ref = reference_scores("mnist", DATA_ROOT, eval_cache)
    _check_json_ready(ref)
    info = mnist_evaluator.info
    assert ref["eval/cond_acc"] == pytest.approx(info.test_acc)
    assert ref["eval/conf_correct"] == pytest.approx(info.conf_correct)
    assert ref["eval/is"] > 9.0 and 0.0 <= ref["eval/fid"] < 3.0 and not ref["eval/mode_collapse"]
    assert ref["eval/num_samples"] == 10_000
    # Diversity of real data (README: 0.85 / 0.87 / 0.95 / 1.0; intra-FID 2.8 at ~1,000 images a class).
    assert ref["eval/recall"] > 0.8 and ref["eval/coverage"] > 0.9 and 0.9 < ref["eval/spread"] < 1.1
    assert 0 < ref["eval/intra_fid"] < 5 and len(ref["eval/intra_spread_by_class"]) == 10
    assert min(ref["eval/intra_spread_by_class"]) > 0.9 and low_diversity(ref) is None
    assert reference_scores("mnist", DATA_ROOT, eval_cache) == ref  # cached


DIVERSITY_KEYS = ("precision", "recall", "coverage", "spread")


@pytest.mark.integration
def test_diversity_of_distinct_real_images_is_the_reference(mnist_evaluator, eval_cache):
    train = load_split("mnist", DATA_ROOT, train=True)
    model = DistinctImages(unit_images(train.images), train.labels, normalize="tanh")
    out = evaluate_generative(model, dataset="mnist", data_root=DATA_ROOT, normalize="tanh", num_samples=10_000,
                              cache_dir=eval_cache, out_dir=None, device="cpu")
    ref = reference_scores("mnist", DATA_ROOT, eval_cache)  # 10,000 random training images, true labels
    for key in DIVERSITY_KEYS:
        assert out[f"eval/{key}"] == pytest.approx(ref[f"eval/{key}"], abs=0.05)
        assert out[f"eval/intra_{key}"] == pytest.approx(ref[f"eval/intra_{key}"], abs=0.05)
    assert out["eval/intra_fid"] == pytest.approx(ref["eval/intra_fid"], abs=1.5)
    assert low_diversity(out) is None and not out["eval/mode_collapse"]


@pytest.mark.integration
def test_one_image_per_class_is_seen_and_flagged(mnist_test01, mnist_evaluator, eval_cache, tmp_path):
    info = mnist_evaluator.info
    recognised = info.test_logits.argmax(1) == info.test_labels  # a digit of each class the evaluator gets right
    model = OneImagePerClass(mnist_test01[0][recognised], mnist_test01[1][recognised], normalize="tanh", noise=0.01)
    out = evaluate_generative(model, dataset="mnist", data_root=DATA_ROOT, normalize="tanh", num_samples=1000,
                              cache_dir=eval_cache, out_dir=None, device="cpu")
    ref = reference_scores("mnist", DATA_ROOT, eval_cache)
    # What the class metrics see: nothing wrong (the failure of seed 001 Fig. 20).
    assert out["eval/cond_acc"] == 1.0 and not out["eval/mode_collapse"] and out["eval/is"] > 9.0
    # What the diversity metrics see (README: intra-FID ~290 vs 2.8 real; recall, coverage, spread ~0).
    assert out["eval/intra_fid"] > 30 * ref["eval/intra_fid"]
    assert max(out["eval/intra_recall"], out["eval/intra_coverage"], out["eval/intra_spread"]) < 0.1
    assert out["eval/intra_precision"] > 0.9  # each sample is a real digit
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "epoch_001.png").write_bytes(b"")
    health = RunHealth(run_dir=tmp_path)
    assert health.check_evaluation(out, epoch=1) == "low_diversity"
    assert "10 of 10 classes" in health.summary()["health_reason"]
    assert health.summary()["health_figure"] == "samples/epoch_001.png"


@pytest.mark.integration
def test_the_collapsed_cgan_of_the_old_defaults_is_flagged(mnist_evaluator, eval_cache):
    """Samples of a real collapsed generator (tests/fixtures/cgan_collapsed_5ep.npz: 100 a class, the fewest the
    per-class metrics score, drawn from the cGAN that the old defaults trained in 5 epochs: shallow, k=1, beta1 0.5,
    joint D step; docs/reproductions.md). Every row of its grid is one digit drawn ten times: the class metrics see
    nothing wrong, the diversity metrics and the health rule do."""
    saved = np.load(Path(__file__).parent / "fixtures" / "cgan_collapsed_5ep.npz")
    images01 = torch.from_numpy(saved["images"]).float().div(255).unsqueeze(1)
    model = DistinctImages(images01, torch.from_numpy(saved["labels"]).long(), normalize="tanh")
    out = evaluate_generative(model, dataset="mnist", data_root=DATA_ROOT, normalize="tanh",
                              num_samples=len(images01), cache_dir=eval_cache, out_dir=None, device="cpu")
    assert out["eval/cond_acc"] > 0.95 and not out["eval/mode_collapse"] and out["eval/is"] > 8.0
    assert out["eval/intra_recall"] < 0.05 and out["eval/intra_spread"] < 0.5
    assert "10 of 10 classes" in low_diversity(out)


# ---- cache and thread helpers ------------------------------------------------------------------------------
@pytest.mark.integration
def test_damaged_cache_file_is_rebuilt(tmp_path):
    recipe = with_recipe("mnist", train_size=500, epochs=1)
    path = cache_path("mnist", tmp_path, recipe)
    path.write_bytes(b"not a torch file")
    ev = get_evaluator("mnist", DATA_ROOT, tmp_path, recipe=recipe)
    assert ev.info.trained_now and torch.load(path, weights_only=True)["recipe"]["train_size"] == 500


@pytest.mark.unit
def test_thread_helpers_keep_items_and_restore_thread_count():
    from gan_sweeps.evaluation.threads import adaptive_threads, fastest_threads

    before = torch.get_num_threads()
    seen = []
    for item in adaptive_threads(range(50), candidates=(1, 2), probe_steps=3, exploit_steps=4):
        seen.append(item)
        assert torch.get_num_threads() in (1, 2)
    assert seen == list(range(50)) and torch.get_num_threads() == before
    with fastest_threads(lambda: torch.ones(64, 64) @ torch.ones(64, 64), candidates=(1, 2)) as n:
        assert n in (1, 2) and torch.get_num_threads() == n
    assert torch.get_num_threads() == before
