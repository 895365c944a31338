"""The evaluation of a trained model at the end of its run (and every ``eval.every_n_epochs``): what is measured is
decided here from what the model can do, never by the model.

- ``classify`` (the semi-supervised GAN's K-class discriminator): ``eval/ssl_acc``, ``eval/ssl_errors`` on the
  test split;
- ``embed`` (the Triplet GAN's M-dim discriminator outputs): 9-NN accuracy and retrieval mAP of the test split
  against the training split (``eval/knn_acc``, ``eval/map``; ``embeddings.png``), plus the phase-switch numbers
  ``eval/pretrain/*`` (``phase_switch_scores``, called by ``callbacks.evaluation.PhaseSwitchEvaluation``);
- ``reconstruct`` (autoencoders): ``evaluation/autoencoding.py``;
- samplers (``is_generative``): ``evaluate_generative`` (FID, KID, IS, class metrics) and, for models that
  ``discriminate`` with a real/fake decision, D's accuracy on its own samples (``eval/d_fake_acc``, the same pass)
  and on the real test split (``eval/d_real_acc``): evaluation/discriminator.py, the cross-discriminator study's
  definition."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from gan_sweeps.data import CLASS_NAMES, to_unit_range
from gan_sweeps.evaluation.autoencoding import can_reconstruct, latent_figures, reconstruction_scores
from gan_sweeps.evaluation.discriminator import NotAJudge, RealFakeJudge
from gan_sweeps.evaluation.evaluate import evaluate_generative
from gan_sweeps.evaluation.passes import eval_mode, map_batches
from gan_sweeps.evaluation.retrieval import plot_embeddings, retrieval_metrics

KNN_K = 9  # Zieba & Wang's k-NN classification
RETRIEVAL_CHUNK = 256  # queries per distance block


def _can(model: Any, name: str) -> bool:
    return callable(getattr(model, name, None))


@torch.no_grad()
def classification_scores(model: Any, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
                          ) -> dict[str, float]:
    """Test accuracy of ``model.classify`` and its error count (of 10,000 for MNIST)."""
    with eval_mode(model):
        pred = map_batches(model.classify, images, batch_size).argmax(1)
    wrong = int((pred != labels.to(pred.device)).sum())
    return {"eval/ssl_acc": 1.0 - wrong / len(labels), "eval/ssl_errors": wrong}


@torch.no_grad()
def embedding_scores(model: Any, datamodule: Any, plot_path: Path | None = None, title: str = "",
                     batch_size: int = 1000) -> dict[str, float]:
    """9-NN accuracy and mAP of the test split's ``model.embed`` embeddings against the training split's
    (the database), plus their PCA plot; keys without the ``eval/`` prefix."""
    test_x, test_y = datamodule.load(train=False, device=model.device)
    with eval_mode(model):
        database = map_batches(model.embed, datamodule.train_images, batch_size)
        queries = map_batches(model.embed, test_x, batch_size)
    scores = retrieval_metrics(queries, test_y, database, datamodule.train_labels, k=KNN_K,
                               chunk_size=RETRIEVAL_CHUNK)
    if plot_path is not None:
        plot_embeddings(queries, test_y, plot_path,
                        f"test embeddings, M={queries.shape[1]}" + (f", {title}" if title else ""))
    return scores


def phase_switch_scores(model: Any, datamodule: Any, run_dir: str | Path, batch_size: int = 1000
                        ) -> dict[str, float]:
    """``eval/pretrain/*`` and ``embeddings_pretrain.png``: the embedding at the end of pre-training."""
    scores = embedding_scores(model, datamodule, Path(run_dir) / "embeddings_pretrain.png", "after pre-training",
                              batch_size)
    return {f"eval/pretrain/{k}": v for k, v in scores.items()}


def discriminator_judge(model: Any) -> RealFakeJudge | None:
    """The model's discriminator as a real/fake judge, or None (no discriminator, or a critic without a decision)."""
    try:
        return RealFakeJudge(model)
    except NotAJudge:
        return None


def evaluate_run(model: Any, datamodule: Any, run_dir: str | Path, *, num_samples: int,
                 cache_dir: str | os.PathLike, batch_size: int = 1000, sample_metrics: bool = True
                 ) -> dict[str, Any]:
    """Every metric the model's abilities allow (module docstring), flat ``eval/...`` keys; figures into
    ``run_dir``. ``sample_metrics=False`` keeps the model-specific ones only (no FID/IS classifier)."""
    run_dir = Path(run_dir)
    out: dict[str, Any] = {}
    test_x, test_y = datamodule.load(train=False, device=model.device)
    if _can(model, "classify"):
        out.update(classification_scores(model, test_x, test_y, batch_size))
    if _can(model, "embed"):
        scores = embedding_scores(model, datamodule, run_dir / "embeddings.png", batch_size=batch_size)
        out.update({f"eval/{k}": v for k, v in scores.items()})
        if getattr(model, "pretrain_metrics", None):
            out.update(model.pretrain_metrics)
        elif getattr(model, "ended_in_pretraining", False):  # never reached triplet training: final = pre-trained
            out.update({f"eval/pretrain/{k}": v for k, v in scores.items()})
    if can_reconstruct(model):
        out.update(reconstruction_scores(model, test_x, batch_size))
        latent_figures(model, test_x, test_y, run_dir, class_names=CLASS_NAMES.get(datamodule.name))
    if not (model.is_generative and sample_metrics):
        return out
    judge = discriminator_judge(model)
    out.update(evaluate_generative(model, dataset=datamodule.name, data_root=datamodule.root,
                                   normalize=datamodule.normalize, num_samples=num_samples, cache_dir=cache_dir,
                                   out_dir=run_dir, device=model.device, batch_size=batch_size,
                                   discriminator=model if judge is not None else None))
    if judge is not None:
        out["eval/d_real_acc"] = judge.real_accuracy(to_unit_range(test_x, datamodule.normalize), test_y,
                                                     batch_size)
    return out
