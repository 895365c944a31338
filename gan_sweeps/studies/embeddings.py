"""Real vs generated, seen through the evaluator (seed 001, appendix "Real vs Fake Visualisation", Fig. 8, 11, 23).

For each conditional generator run: the evaluator's 50-d features of ``--num`` real test images (a seeded random
part of the test split) and ``--num`` generated ones (the seeded sample pass of the end-of-run evaluation, labels
cycling over the classes), reduced to 2-D by PCA and by t-SNE (scikit-learn; both fitted on real and generated
together, so the two panels share axes) and drawn side by side, coloured by class (true labels for real images,
the labels the generator was asked for). Per class: the evaluator's accuracy and mean confidence (max softmax
probability; also when correct / incorrect) on the whole real test split and on the generated images; the real test
split's confusion matrix beside the generated images'. Once: the evaluator's training curves (from its cache)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from gan_sweeps.data import CLASS_NAMES, load_split
from gan_sweeps.evaluation.evaluate import EvaluatorConsumer
from gan_sweeps.evaluation.evaluator import get_evaluator, unit_images
from gan_sweeps.evaluation.metrics import conditional_accuracy, draw_confusion, per_class_scores
from gan_sweeps.evaluation.passes import sample_pass
from gan_sweeps.studies.output import Grid, StudyOutput, line_panel, new_figure
from gan_sweeps.studies.runs import StudyError, conditional_generator, select

NAME = "embeddings"
TITLE = "Evaluator embeddings, confidences and confusion of real vs generated images (seed 001, Fig. 8, 11, 23)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--num", type=int, default=1000, help="real and generated images each (default 1000)")
    parser.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default 30)")


def reduce_2d(features: np.ndarray, perplexity: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(PCA, t-SNE) 2-D coordinates of the rows of ``features`` (scikit-learn).

    t-SNE runs on one OpenMP thread: for a few thousand points that is about as fast as two on an idle machine
    and 3x faster on a busy one (measured here: 1,000 points, 9 s on one thread vs 31 s on two while other jobs
    held the cores)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    pca = PCA(n_components=2, random_state=seed).fit_transform(features)
    with threadpool_limits(limits=1):
        tsne = TSNE(n_components=2, perplexity=min(perplexity, (len(features) - 1) / 3), init="pca",
                    random_state=seed).fit_transform(features)
    return pca, tsne


def run(args: argparse.Namespace, ctx: Any, out: StudyOutput) -> list:
    runs = select(ctx.runs, [conditional_generator], out.say)
    if args.num < 10:
        raise StudyError("--num must be >= 10")
    dataset = runs[0].dataset
    names = CLASS_NAMES.get(dataset)
    evaluator = get_evaluator(dataset, ctx.data_root, ctx.cache_dir, ctx.device)
    info = evaluator.info
    test = load_split(dataset, ctx.data_root, train=False)
    if args.num > len(test.labels):
        raise StudyError(f"--num must be at most {len(test.labels)} (the test split)")
    pick = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(args.seed))[:args.num]
    real_feats, real_logits = evaluator.embed(unit_images(test.images[pick]))
    real_y = test.labels[pick]
    real_probs = info.test_logits.softmax(1)
    real_classes = per_class_scores(real_probs, info.test_labels)
    real_cond = conditional_accuracy(real_probs, info.test_labels)
    rows = []
    for run_ in runs:
        consumer = EvaluatorConsumer(evaluator)
        sample_pass(run_.model, [consumer], normalize=run_.model.normalize, num_samples=args.num,
                    batch_size=int(run_.setting("eval.batch_size", 1000)), seed=0)
        gen_feats, gen_logits, gen_y = consumer.result()
        gen_probs = gen_logits.softmax(1).cpu()
        gen_classes = per_class_scores(gen_probs, gen_y)
        gen_cond = conditional_accuracy(gen_probs, gen_y)
        for c, (r, g) in enumerate(zip(real_classes, gen_classes)):
            rows.append([run_.name, names[c] if names else c, r["n"], r["acc"], r["conf"], r["conf_correct"],
                         r["conf_incorrect"], g["n"], g["acc"], g["conf"], g["conf_correct"], g["conf_incorrect"]])
        rows.append([run_.name, "all", len(info.test_labels), real_cond["acc"], float(real_probs.max(1).values.mean()),
                     real_cond["conf_correct"], real_cond["conf_incorrect"], len(gen_y), gen_cond["acc"],
                     float(gen_probs.max(1).values.mean()), gen_cond["conf_correct"], gen_cond["conf_incorrect"]])
        feats = torch.cat([real_feats.cpu(), gen_feats.cpu()]).double().numpy()
        pca, tsne = reduce_2d(feats, args.perplexity, args.seed)
        _embedding_figure(out, run_, pca, tsne, real_y.numpy(), gen_y.cpu().numpy(), names, args.num)
        _confidence_figure(out, run_, real_classes, gen_classes, names)
        _confusion_figure(out, run_, real_cond["confusion"], gen_cond["confusion"], real_cond["acc"], gen_cond["acc"],
                          names or [str(c) for c in range(len(real_classes))])
        out.say(f"{run_.label}: generated accuracy {gen_cond['acc']:.4f} (real test {real_cond['acc']:.4f})")
    out.note(f"Embeddings: {args.num} real test images (seeded random part) and {args.num} generated images per run "
             f"(seed 0, the end-of-run evaluation's pass); t-SNE perplexity {args.perplexity}. Per-class table: real "
             f"= the whole test split ({len(info.test_labels)} images), generated = the {args.num} generated images; "
             "acc = share classified as the class; conf = mean max softmax probability (conf_correct / "
             "conf_incorrect: over the correctly / incorrectly classified ones).")
    out.table(NAME, Grid(title="Evaluator accuracy and confidence per class, real test split vs generated",
                         header=["run", "class", "real_n", "real_acc", "real_conf", "real_conf_correct",
                                 "real_conf_incorrect", "gen_n", "gen_acc", "gen_conf", "gen_conf_correct",
                                 "gen_conf_incorrect"], rows=rows))
    _curves_figure(out, info.history)
    return runs


def _scatter(ax, xy: np.ndarray, labels: np.ndarray, title: str, names: list[str] | None) -> None:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for c in sorted(set(labels.tolist())):
        m = labels == c
        ax.scatter(xy[m, 0], xy[m, 1], s=3, color=cmap(c % 10), label=names[c] if names else str(c))
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _embedding_figure(out, run_, pca, tsne, real_y, gen_y, names, n) -> None:
    fig = new_figure(10, 10)
    for row, (xy, method) in enumerate([(pca, "PCA"), (tsne, "t-SNE")]):
        lo, hi = xy.min(0), xy.max(0)
        for col, (part, labels, what) in enumerate([(xy[:n], real_y, "real"), (xy[n:], gen_y, "generated")]):
            ax = fig.add_subplot(2, 2, 2 * row + col + 1)
            _scatter(ax, part, labels, f"{method}, {what}", names)
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
    fig.axes[0].legend(fontsize=7, markerscale=3, loc="best")
    out.figure(f"{NAME}-{run_.name}", fig, f"Run {run_.name} ({run_.label}): PCA (top) and t-SNE (bottom) of the "
                                            "evaluator's features, real (left) and generated (right), coloured by "
                                            "class (seed 001, appendix Fig. 11).")


def _confidence_figure(out, run_, real_classes, gen_classes, names) -> None:
    fig = new_figure(9, 3.8)
    ax = fig.add_subplot()
    x = np.arange(len(real_classes))
    for offset, classes, what, mark in [(-0.2, real_classes, "real", "black"), (0.2, gen_classes, "generated", "red")]:
        ax.bar(x + offset, [c["conf"] for c in classes], width=0.4, label=f"{what}: mean confidence")
        ax.scatter(x + offset, [c["conf_incorrect"] for c in classes], marker="v", s=18, color=mark,
                   label=f"{what}: when incorrect", zorder=3)
    ax.set_xticks(x, names or [str(c) for c in x])
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("evaluator confidence (max softmax)")
    ax.legend(fontsize=7, loc="lower right")
    out.figure(f"confidence-{run_.name}", fig, f"Run {run_.name}: evaluator confidence per class, real test split vs "
                                                "generated images; triangles: mean confidence of the misclassified "
                                                "ones (seed 001, appendix Fig. 11).")


def _confusion_figure(out, run_, real_matrix, gen_matrix, real_acc, gen_acc, names) -> None:
    fig = new_figure(12, 5.5)
    for i, (matrix, title) in enumerate([(real_matrix, f"real test split, accuracy {real_acc:.2%}"),
                                         (gen_matrix, f"generated (run {run_.name}), accuracy {gen_acc:.2%}")]):
        draw_confusion(fig.add_subplot(1, 2, i + 1), matrix, names, title)
    out.figure(f"confusion-{run_.name}", fig, f"Confusion matrices of the evaluator: real test split (left), run "
                                               f"{run_.name}'s generated images (right) (seed 001, Fig. 8).")


def _curves_figure(out, history: list[dict[str, Any]]) -> None:
    fig = new_figure(10, 3.8)
    epochs = [h["epoch"] for h in history]
    line_panel(fig.add_subplot(1, 2, 1), {"training": (epochs, [h["train_loss"] for h in history]),
                                         "test split": (epochs, [h["val_loss"] for h in history])},
               "epoch", "cross-entropy", "evaluator loss")
    line_panel(fig.add_subplot(1, 2, 2), {"training": (epochs, [h["train_acc"] for h in history]),
                                         "test split": (epochs, [h["val_acc"] for h in history])},
               "epoch", "accuracy", "evaluator accuracy")
    out.figure("evaluator_curves", fig, "The evaluator's training curves (training batches' mean per epoch, and the "
                                        "test split after each epoch), seed 001's Fig. 23.")
