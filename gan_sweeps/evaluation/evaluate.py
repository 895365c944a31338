"""Scoring a generative model's samples, and the real data's own scores (the "reference row" of reports).

Every score comes from one seeded pass over the samples (``passes.sample_pass``) through the evaluator (features +
logits, ``Evaluator.embed``) and, for models with a discriminator, through that discriminator; the real side of
FID/KID is the test split's features cached with the evaluator. Keys are flat and JSON-ready:

- ``eval/fid``, ``eval/kid_mean``, ``eval/kid_std``: samples vs the real test split (metrics.fid / metrics.kid);
- ``eval/precision``, ``eval/recall``, ``eval/density``, ``eval/coverage``: sample diversity and fidelity on
  k-NN manifolds of the evaluator's features (diversity.py); conditional models also get the per-class versions
  and the intra-class FID, ``eval/intra_*`` (mean over classes) and ``eval/intra_*_by_class``;
- ``eval/is``: classifier inception score; ``eval/class_hist`` (fractions per predicted class),
  ``eval/class_entropy`` (normalised to [0, 1]), ``eval/mode_collapse`` (metrics.mode_collapse);
- conditional models: ``eval/cond_acc``, ``eval/conf_correct``, ``eval/conf_incorrect`` (seed 001, Table 1) and
  ``confusion.png`` in the run folder;
- with a ``discriminator``: ``eval/d_fake_acc``, the share of the samples it calls fake (discriminator.py; the
  cross-discriminator study's diagonal);
- ``eval/num_samples``, ``eval/evaluator_test_acc``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from gan_sweeps.data import CLASS_NAMES, load_split
from gan_sweeps.atomic import atomic_write
from gan_sweeps.evaluation.cache import load_or_build
from gan_sweeps.evaluation.discriminator import RealFakeJudge
from gan_sweeps.evaluation.diversity import diversity_scores
from gan_sweeps.evaluation.evaluator import Evaluator, cache_path, evaluation_threads, get_evaluator, unit_images
from gan_sweeps.evaluation.metrics import (class_entropy, class_histogram, conditional_accuracy, fid,
                                           inception_score, kid, mode_collapse, save_confusion_png)
from gan_sweeps.evaluation.passes import Sampler, sample_pass

REFERENCE_VERSION = 2  # bump when reference_scores computes anything differently
GenerativeModel = Sampler  # what ``evaluate_generative`` needs from a model


# ---- building blocks ------------------------------------------------------------------------------------
class EvaluatorConsumer:
    """A ``sample_pass`` consumer collecting the evaluator's features and logits and the intended labels."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator
        self.feats: list[torch.Tensor] = []
        self.logits: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []

    def __call__(self, images01: torch.Tensor, labels: torch.Tensor | None) -> None:
        f, lg = self.evaluator.embed(images01, batch_size=len(images01))
        self.feats.append(f)
        self.logits.append(lg)
        if labels is not None:
            self.labels.append(labels)

    def result(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        return torch.cat(self.feats), torch.cat(self.logits), (torch.cat(self.labels) if self.labels else None)


def embed_samples(model: Sampler, evaluator: Evaluator, *, normalize: str, num_samples: int,
                  batch_size: int = 1000, seed: int = 0
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The evaluator's features and logits of ``num_samples`` generated images (``passes.sample_pass``) and their
    intended labels (None for unconditional models)."""
    consumer = EvaluatorConsumer(evaluator)
    sample_pass(model, [consumer], normalize=normalize, num_samples=num_samples, batch_size=batch_size, seed=seed)
    return consumer.result()


def distance_scores(evaluator: Evaluator, fake_features: torch.Tensor, real_features: torch.Tensor
                    ) -> dict[str, float]:
    """FID and KID (mean, std) between two feature sets."""
    kid_mean, kid_std = kid(evaluator, fake_features, real_features)
    return {"eval/fid": fid(evaluator, fake_features, real_features), "eval/kid_mean": kid_mean,
            "eval/kid_std": kid_std}


def class_scores(logits: torch.Tensor, labels: torch.Tensor | None = None, class_names: list[str] | None = None,
                 out_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """IS, predicted-class histogram, entropy and collapse flag; with intended ``labels`` also the
    conditional accuracy/confidences and (when ``out_dir`` and ``class_names`` are given) ``confusion.png``."""
    probs = logits.detach().float().softmax(1).cpu()
    hist = class_histogram(probs.argmax(1), probs.shape[1])
    out: dict[str, Any] = {"eval/is": inception_score(probs), "eval/class_hist": [float(h) for h in hist],
                           "eval/class_entropy": class_entropy(hist), "eval/mode_collapse": mode_collapse(hist)}
    if labels is not None:
        cond = conditional_accuracy(probs, labels)
        out.update({"eval/cond_acc": cond["acc"], "eval/conf_correct": cond["conf_correct"],
                    "eval/conf_incorrect": cond["conf_incorrect"]})
        if out_dir is not None and class_names is not None:
            save_confusion_png(cond["confusion"], class_names, Path(out_dir) / "confusion.png",
                               title=f"accuracy {cond['acc']:.2%}")
    return out


# ---- entry points -------------------------------------------------------------------------------------
def evaluate_generative(model: Sampler, *, dataset: str, data_root: str | os.PathLike | None,
                        normalize: str, num_samples: int, cache_dir: str | os.PathLike,
                        out_dir: str | os.PathLike | None, device: torch.device | str,
                        batch_size: int = 1000, seed: int = 0, discriminator: Any = None) -> dict[str, Any]:
    """Score ``num_samples`` generated images against the dataset's test split (keys: module docstring).

    Conditional models get labels cycling 0..C-1 (balanced classes). ``seed`` fixes the generation noise, so
    repeated evaluations of one model (periodic curves) differ only through the model; the caller's RNG state
    is left untouched. ``discriminator``: a model whose discriminator also judges the samples in the same pass
    (``discriminator.RealFakeJudge``)."""
    if num_samples < 2:
        raise ValueError(f"eval.num_samples must be at least 2, got {num_samples}")
    evaluator = get_evaluator(dataset, data_root, cache_dir, device)
    judge = RealFakeJudge(discriminator) if discriminator is not None else None
    with evaluation_threads(evaluator):
        consumer = EvaluatorConsumer(evaluator)
        sample_pass(model, [consumer] + ([judge.consume] if judge else []), normalize=normalize,
                    num_samples=num_samples, batch_size=batch_size, seed=seed)
        feats, logits, labels = consumer.result()
        info = evaluator.info
        out = distance_scores(evaluator, feats, info.test_features)
        out.update(diversity_scores(evaluator, feats, info.test_features, labels, info.test_labels))
        out.update(class_scores(logits, labels, CLASS_NAMES.get(dataset), out_dir))
    if judge is not None:
        out["eval/d_fake_acc"] = judge.fake_accuracy
    out.update({"eval/num_samples": int(num_samples), "eval/evaluator_test_acc": float(evaluator.info.test_acc)})
    return out


def reference_path(dataset: str, cache_dir: str | os.PathLike, train_subset: int, seed: int) -> Path:
    """``<cache_dir>/reference-<dataset>-<hash>.json``; the hash covers the evaluator file and the protocol."""
    key = json.dumps({"evaluator": cache_path(dataset, cache_dir).name, "train_subset": train_subset,
                      "seed": seed, "version": REFERENCE_VERSION}, sort_keys=True)
    return Path(cache_dir).expanduser() / f"reference-{dataset}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.json"


def reference_scores(dataset: str, data_root: str | os.PathLike | None, cache_dir: str | os.PathLike,
                     device: torch.device | str = "cpu", train_subset: int = 10_000, seed: int = 0
                     ) -> dict[str, Any]:
    """The real data's own scores with the same keys as ``evaluate_generative``, computed once and cached.

    FID/KID and the diversity scores (per class by the true labels): a seeded random ``train_subset`` of the
    training split as "samples" vs the test split (the best a model can hope for at that sample size). IS, class
    histogram/entropy, ``cond_acc`` and confidences: the evaluator on the test split with its true labels."""

    def build() -> dict[str, Any]:
        evaluator = get_evaluator(dataset, data_root, cache_dir, device)
        train = load_split(dataset, data_root, train=True)
        pick = torch.randperm(len(train.images), generator=torch.Generator().manual_seed(seed))[:train_subset]
        info = evaluator.info
        with evaluation_threads(evaluator):
            train_feats, _ = evaluator.embed(unit_images(train.images[pick]))
            out = distance_scores(evaluator, train_feats, info.test_features)
            out.update(diversity_scores(evaluator, train_feats, info.test_features, train.labels[pick],
                                        info.test_labels))
            out.update(class_scores(info.test_logits, info.test_labels))
        out.update({"eval/num_samples": len(pick), "eval/evaluator_test_acc": float(info.test_acc)})
        return out

    def save(scores: dict[str, Any], path: Path) -> None:
        atomic_write(path, lambda fh: fh.write(json.dumps(scores, indent=2, sort_keys=True).encode()))

    path = reference_path(dataset, cache_dir, train_subset, seed)
    scores, _ = load_or_build(path, lambda p: json.loads(p.read_text()), build, save)
    return scores
