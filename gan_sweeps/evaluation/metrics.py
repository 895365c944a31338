"""Sample metrics on the evaluator's features and class probabilities: pure functions, no state.

Notation: ``f`` are the evaluator's 50-d penultimate features, ``p(y|x)`` its softmax class probabilities,
``C`` the number of classes.

FID and KID go through torchmetrics with ``EvaluatorFeatures`` as the feature module. torchmetrics hands a
custom module the inputs unchanged (its ``normalize`` flag only matters for its own Inception net), and reads
``num_features`` instead of probing with a dummy 299x299 image. The wrapper also lets *precomputed* features
(N, 50) pass through, so callers can compute features once and score FID, KID and the class metrics from one
pass (and reuse the real side cached with the evaluator). The inception score is computed directly from
probabilities (torchmetrics' ``InceptionScore`` wants images and would shuffle into splits; the tests check that
both agree).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import nn
from torchmetrics.functional.classification import multiclass_confusion_matrix
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from gan_sweeps.atomic import atomic_write
from gan_sweeps.evaluation.passes import seeded

if TYPE_CHECKING:
    from gan_sweeps.evaluation.evaluator import Evaluator

# mode_collapse thresholds, as fractions of the uniform share 1/C (C = 10: below 2 %, above 30 %).
MISSING_RATIO = 0.2
DOMINANT_RATIO = 3.0


# ---- distribution distances (FID, KID) ------------------------------------------------------------------
class EvaluatorFeatures(nn.Module):
    """torchmetrics feature module: images (N, 1, H, W) in [0, 1] -> ``evaluator.features``; a 2-D tensor of
    width ``num_features`` is taken as features already computed and passed through."""

    def __init__(self, evaluator: Evaluator):
        super().__init__()
        self.evaluator = evaluator
        self.num_features = int(evaluator.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            if x.shape[1] != self.num_features:
                raise ValueError(f"precomputed features must be (N, {self.num_features}), got {tuple(x.shape)}")
            return x.float()
        return self.evaluator.features(x.float())


def _device(evaluator: Evaluator) -> torch.device:
    return next(evaluator.parameters()).device


@torch.inference_mode()
def _feed(metric: FrechetInceptionDistance | KernelInceptionDistance, data: torch.Tensor, real: bool,
          batch_size: int) -> None:
    device = metric.device
    for start in range(0, len(data), batch_size):
        metric.update(data[start:start + batch_size].to(device), real=real)


def fid(evaluator: Evaluator, fake: torch.Tensor, real: torch.Tensor, batch_size: int = 1000) -> float:
    r"""Fréchet distance between Gaussians fitted to the evaluator features of ``fake`` and ``real``.

    FID = ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^{1/2}), with mu, S the feature mean and (unbiased)
    covariance of each set, computed in float64 by torchmetrics. Each of ``fake``/``real`` is either [0, 1]
    images (N, 1, 28, 28) or precomputed features (N, 50). 0 for identical sets; needs N >= 2 on both sides."""
    metric = FrechetInceptionDistance(feature=EvaluatorFeatures(evaluator),
                                      sync_on_compute=False).to(_device(evaluator))  # all samples are local
    _feed(metric, real, True, batch_size)
    _feed(metric, fake, False, batch_size)
    return float(metric.compute())


def kid(evaluator: Evaluator, fake: torch.Tensor, real: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0, batch_size: int = 1000) -> tuple[float, float]:
    r"""Kernel Inception Distance: (mean, std) over ``subsets`` random subsets of the unbiased MMD^2 estimate.

    With the cubic polynomial kernel k(a, b) = (a.b / d + 1)^3 on d-dim features and m = ``subset_size``
    samples per side: MMD^2 = 1/(m(m-1)) sum_{i!=j} [k(r_i, r_j) + k(f_i, f_j)] - 2/m^2 sum_{i,j} k(r_i, f_j).
    ``subset_size`` is capped at the smaller set size. Subsets are drawn under ``seed`` (reproducible; the
    caller's RNG state is restored). Inputs as in ``fid``."""
    subset_size = min(subset_size, len(fake), len(real))
    if subset_size < 2:
        raise ValueError("KID needs at least 2 samples on each side")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer.*")
        metric = KernelInceptionDistance(feature=EvaluatorFeatures(evaluator), subsets=subsets,
                                         subset_size=subset_size, sync_on_compute=False).to(_device(evaluator))
    _feed(metric, real, True, batch_size)
    _feed(metric, fake, False, batch_size)
    with seeded(seed):  # torchmetrics draws its subsets with torch.randperm on the CPU generator
        mean, std = metric.compute()
    return float(mean), float(std)


# ---- class-probability metrics ------------------------------------------------------------------------
def inception_score(probs: torch.Tensor, splits: int = 1) -> float:
    r"""Classifier inception score (seed 001, eq. 3): IS = exp(E_x KL(p(y|x) || p(y))), p(y) = E_x p(y|x).

    ``probs`` is (N, C) softmax output. Ranges from 1 (every sample gets the same class distribution, e.g.
    constant images) to C (confident predictions spread evenly over the classes). ``splits`` > 1 averages the
    score over that many consecutive chunks (the Salimans et al. protocol); 1 uses the whole set."""
    if probs.dim() != 2:
        raise ValueError(f"probs must be (N, C), got {tuple(probs.shape)}")
    scores = []
    for chunk in probs.double().chunk(splits):
        p_y = chunk.mean(0, keepdim=True)
        kl = (torch.special.xlogy(chunk, chunk) - torch.special.xlogy(chunk, p_y)).sum(1)
        scores.append(math.exp(float(kl.mean())))
    return float(np.mean(scores))


def class_histogram(preds: torch.Tensor, num_classes: int) -> np.ndarray:
    """Fraction of samples per predicted class: hist[c] = #{i : pred_i = c} / N (sums to 1)."""
    counts = torch.bincount(preds.reshape(-1).long().cpu(), minlength=num_classes).double()
    return (counts / counts.sum().clamp_min(1)).numpy()


def class_entropy(hist: np.ndarray | Sequence[float]) -> float:
    """Normalised entropy H(hist) / log C in [0, 1]: 0 = one class only, 1 = perfectly uniform."""
    h = np.asarray(hist, dtype=np.float64)
    nz = h[h > 0]
    return max(0.0, float(-(nz * np.log(nz)).sum() / math.log(len(h)))) if len(h) > 1 else 0.0


def mode_collapse(hist: np.ndarray | Sequence[float], missing_ratio: float = MISSING_RATIO,
                  dominant_ratio: float = DOMINANT_RATIO) -> bool:
    """True when a class is (nearly) missing or one class dominates the predicted-class histogram.

    With u = 1/C: missing means some hist[c] < ``missing_ratio`` * u (C = 10: under 2 % of samples);
    dominating means max hist > ``dominant_ratio`` * u (C = 10: over 30 %). Real MNIST/Fashion test data lie
    within 8.9-11.4 % per class."""
    h = np.asarray(hist, dtype=np.float64)
    uniform = 1.0 / len(h)
    return bool(h.min() < missing_ratio * uniform or h.max() > dominant_ratio * uniform)


def conditional_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> dict[str, float | np.ndarray]:
    """How well the evaluator recognises the intended class (seed 001, Table 1).

    Returns ``acc`` = mean[argmax p(.|x_i) = y_i]; ``conf_correct`` / ``conf_incorrect`` = mean of
    max_c p(c|x_i) over the correctly / incorrectly classified samples (NaN when there are none); ``confusion``
    = (C, C) int64 numpy counts, rows = intended label, columns = predicted class."""
    probs, labels = probs.detach().cpu(), labels.detach().cpu().long()
    conf, pred = probs.max(1)
    correct = pred == labels
    confusion = multiclass_confusion_matrix(pred, labels, num_classes=probs.shape[1]).numpy()
    return {"acc": float(correct.double().mean()), "conf_correct": _mean_or_nan(conf[correct]),
            "conf_incorrect": _mean_or_nan(conf[~correct]), "confusion": confusion}


def _mean_or_nan(values: torch.Tensor) -> float:
    return float(values.double().mean()) if len(values) else float("nan")


def per_class_scores(probs: torch.Tensor, labels: torch.Tensor) -> list[dict[str, float]]:
    """Per class c (by intended/true label): ``n``, ``acc`` (share predicted c), ``conf`` (mean max probability),
    ``conf_correct`` / ``conf_incorrect`` (its mean over the correctly / incorrectly classified images; NaN when
    there are none)."""
    probs, labels = probs.detach().cpu(), labels.detach().cpu().long()
    conf, pred = probs.max(1)
    rows = []
    for c in range(probs.shape[1]):
        members = labels == c
        correct = pred[members] == c
        c_conf = conf[members]
        rows.append({"n": int(members.sum()), "acc": _mean_or_nan(correct), "conf": _mean_or_nan(c_conf),
                     "conf_correct": _mean_or_nan(c_conf[correct]), "conf_incorrect": _mean_or_nan(c_conf[~correct])})
    return rows


def draw_confusion(ax, matrix: np.ndarray, class_names: Sequence[str], title: str = "") -> object:
    """A confusion matrix on matplotlib axes (rows: intended class, columns: predicted; colour = row fraction,
    text = count); returns the image (for a colour bar)."""
    matrix = np.asarray(matrix)
    fractions = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    n = len(class_names)
    im = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if fractions[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("intended")
    if title:
        ax.set_title(title, fontsize=9)
    return im


def save_confusion_png(matrix: np.ndarray, class_names: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Confusion matrix figure (``draw_confusion``) as a PNG.

    Uses matplotlib's object API with the Agg canvas (no pyplot state, works headless)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(class_names)
    fig = Figure(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    im = draw_confusion(ax, matrix, class_names, title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))
