"""Sample diversity in the evaluator's feature space: the metrics that see mode collapse *within* a class (a cGAN
whose generator ignores its noise draws one digit per class: its class accuracy and IS stay perfect).

Notation: R = real features (N, 50), F = generated features (M, 50), d = Euclidean distance, r_k(x, S) = the
distance from x in S to its k-th nearest *other* point of S (its k-NN radius).

- precision / recall (Kynkaanniemi et al. 2019, k = 3): precision = share of F inside the real manifold
  (some real r with d(f, r) <= r_3(r, R)); recall = share of R inside the generated manifold
  (some f with d(r, f) <= r_3(f, F)). A generator without diversity has tiny k-NN radii: recall near 0.
- coverage (Naeem et al. 2020, k = 5): the share of R whose 5-NN ball holds at least one f; robust to generated
  outliers, which can inflate recall. (Their density, the mean count of real balls holding each f, is left out: on
  two loaded cores its (N, M) count cost as much as the three scores above together.)
- spread = median_f r_3(f, F) / median_r r_3(r, R): how far apart the samples lie next to how far apart real
  images lie (1 for real data, 0 for duplicates). Unlike recall and coverage it does not fall when samples are
  merely off the real manifold (noisy images: 0.9; recall 0.09 at noise sigma 0.3), so it is what the health rule
  reads. k-NN radii shrink as a set grows, so it is exact at equal counts (per class: ~1,000 each side; overall:
  eval.num_samples vs the 10,000 test images: fewer samples read somewhat higher, more somewhat lower).
- per class (conditional models; F_c = samples with intended label c, R_c = real test images of class c):
  ``eval/intra_fid`` = mean_c FID(F_c, R_c) (Miyato & Koyama 2018), ``eval/intra_precision``,
  ``eval/intra_recall``, ``eval/intra_coverage`` = mean_c of the scores above, with the per-class values in
  ``eval/intra_*_by_class``. Computed only when every class has at least ``MIN_PER_CLASS`` samples on both sides:
  twice the 50 feature dimensions, so no class covariance is fitted to fewer samples than it has dimensions
  (eval.num_samples >= 1,000 for 10 classes; with fewer the keys are left out). At equal sample counts only are
  intra-FIDs comparable: FID's bias grows as the count shrinks (real data: 0.8 overall at 10,000, 2.8 per class
  at 1,000).

``low_diversity`` is the health rule (``callbacks/health.py``): the worst class's spread (conditional models) or
the overall spread (unconditional ones) under ``SPREAD_THRESHOLD``. Distances (float32, ``torch.cdist``) are
computed in blocks of ``CHUNK`` rows, so 10,000 x 10,000 pairs never sit in memory at once: three such matrices
per score (real and generated k-NN radii, real x generated)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch

PR_K = 3  # Kynkaanniemi et al.'s k
DC_K = 5  # Naeem et al.'s k
CHUNK = 1024  # rows per distance block (1024 x 10,000 float32: 40 MB)
MIN_PER_CLASS = 100  # per-class metrics need this many samples of each class on both sides (2 x 50 features)
# Health: samples lack diversity when the spread (conditional models: of the worst class) is under this. Measured
# (README "Resuming, run health"): real MNIST training vs test images 0.96-1.07 per class; one test image per class
# plus noise sigma 0.01: 0.02-0.03; 100 distinct test images per class: 0.00; diverse but noisy (sigma 0.3): 0.84.
SPREAD_THRESHOLD = 0.5
DIVERSITY_KEYS = ("precision", "recall", "coverage", "spread")


def knn_radii(x: torch.Tensor, ks: Sequence[int], chunk: int = CHUNK) -> list[torch.Tensor]:
    """r_k(x_i, x) for every row and each k of ``ks``: the distance to its k-th nearest other row (duplicates count
    as neighbours), from one pass over the distances."""
    top = max(ks)
    if len(x) <= top:
        raise ValueError(f"k-NN radii with k={top} need more than {top} points, got {len(x)}")
    nearest = torch.cat([torch.cdist(x[s:s + chunk], x).topk(top + 1, dim=1, largest=False).values
                         for s in range(0, len(x), chunk)])  # column 0: the point itself
    return [nearest[:, k] for k in ks]


@torch.no_grad()
def manifold_scores(real: torch.Tensor, fake: torch.Tensor, pr_k: int = PR_K, dc_k: int = DC_K,
                    chunk: int = CHUNK) -> dict[str, float]:
    """``{precision, recall, coverage, spread}`` of ``fake`` against ``real`` (module docstring): one pass over the
    real x fake distances after the two k-NN passes."""
    real, fake = real.float().cpu(), fake.float().cpu()
    real_pr, real_dc = knn_radii(real, (pr_k, dc_k), chunk)
    (fake_pr,) = knn_radii(fake, (pr_k,), chunk)
    in_real = torch.zeros(len(fake), dtype=torch.bool)
    in_fake = torch.zeros(len(real), dtype=torch.bool)
    covered = torch.zeros(len(real), dtype=torch.bool)
    for s in range(0, len(real), chunk):
        d = torch.cdist(real[s:s + chunk], fake)  # (rows of real, M)
        in_real |= (d <= real_pr[s:s + chunk, None]).any(0)
        in_fake[s:s + chunk] = (d <= fake_pr[None, :]).any(1)
        covered[s:s + chunk] = d.amin(1) <= real_dc[s:s + chunk]
    return {"precision": float(in_real.double().mean()), "recall": float(in_fake.double().mean()),
            "coverage": float(covered.double().mean()), "spread": float(fake_pr.median() / real_pr.median())}


def diversity_scores(evaluator: Any, fake: torch.Tensor, real: torch.Tensor, fake_labels: torch.Tensor | None = None,
                     real_labels: torch.Tensor | None = None) -> dict[str, Any]:
    """``eval/precision`` ... ``eval/coverage`` of all samples and, with both label sets (conditional models), the
    per-class ``eval/intra_*`` keys (module docstring) when every class has ``MIN_PER_CLASS`` samples each side."""
    from gan_sweeps.evaluation.metrics import fid

    out: dict[str, Any] = {f"eval/{k}": v for k, v in manifold_scores(real, fake).items()}
    if fake_labels is None or real_labels is None:
        return out
    fake_labels, real_labels = fake_labels.cpu(), real_labels.cpu()
    classes = range(int(max(fake_labels.max(), real_labels.max())) + 1)
    counts = [min(int((fake_labels == c).sum()), int((real_labels == c).sum())) for c in classes]
    if min(counts) < MIN_PER_CLASS:
        return out
    per_class: dict[str, list[float]] = {"fid": [], **{k: [] for k in DIVERSITY_KEYS}}
    for c in classes:
        f, r = fake[fake_labels == c], real[real_labels == c]
        per_class["fid"].append(fid(evaluator, f, r))
        for key, value in manifold_scores(r, f).items():
            per_class[key].append(value)
    for key, values in per_class.items():
        out[f"eval/intra_{key}"] = sum(values) / len(values)
        out[f"eval/intra_{key}_by_class"] = values
    return out


def judges_diversity(results: Mapping[str, Any]) -> bool:
    """Whether ``results`` hold the spread that ``low_diversity`` judges (per class, or overall)."""
    return bool(results.get("eval/intra_spread_by_class")) or results.get("eval/spread") is not None


def low_diversity(results: Mapping[str, Any], threshold: float = SPREAD_THRESHOLD) -> str | None:
    """The health rule: a one-line reason when the spread (the worst class's, where per-class scores exist) is under
    ``threshold``, else None (also when the results hold no spread)."""
    by_class = results.get("eval/intra_spread_by_class")
    if by_class:
        low = [c for c, v in enumerate(by_class) if v is not None and v < threshold]
        if not low:
            return None
        worst = min(low, key=lambda c: by_class[c])
        return (f"within-class diversity: eval/intra_spread_by_class under {threshold:g} in {len(low)} of "
                f"{len(by_class)} classes ({', '.join(map(str, low))}; worst: class {worst} at "
                f"{by_class[worst]:.3f}; intra_recall {_number(results, 'eval/intra_recall')}, intra_fid "
                f"{_number(results, 'eval/intra_fid')})")
    spread = results.get("eval/spread")
    if spread is None or spread >= threshold:
        return None
    return (f"sample diversity: eval/spread {spread:.3f} < {threshold:g} (recall {_number(results, 'eval/recall')}, "
            f"coverage {_number(results, 'eval/coverage')})")


def _number(results: Mapping[str, Any], key: str) -> str:
    value = results.get(key)
    return f"{value:.3f}" if isinstance(value, (int, float)) else "n/a"
