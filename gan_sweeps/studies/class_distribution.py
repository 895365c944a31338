"""Class distribution of generated samples, with an "indecipherable" share (seed 001, Fig. 15/16).

Seed 001 sorted 100 samples per generator by hand into the ten digits and "indecipherable". Here the evaluator
does it for ``--num-samples`` samples (default: the run's ``eval.num_samples``, the end-of-run evaluation's seeded
pass): a sample is *indecipherable* when the evaluator's confidence (its largest softmax probability) is below
``--threshold`` (default 0.5: no class gets the majority of its belief); every other sample counts for its
predicted class. Shares are of all samples (the eleven shares add up to 1). With ``--threshold 0`` nothing is
indecipherable and the shares are the run's ``eval/class_hist``. A "real data" row applies the same rule to the
test split. Works for conditional and unconditional generators (mode collapse shows as missing classes); the
least confident samples of each run are shown too."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from torchvision.utils import make_grid

from gan_sweeps.data import CLASS_NAMES
from gan_sweeps.evaluation.evaluator import get_evaluator
from gan_sweeps.evaluation.passes import sample_pass
from gan_sweeps.studies.output import Grid, StudyOutput, new_figure
from gan_sweeps.studies.runs import StudyError, generator, select

NAME = "class-distribution"
TITLE = "Class distribution of samples with an indecipherable share (seed 001, Fig. 15/16)"
REAL = "real data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--num-samples", type=int, default=None,
                        help="samples per run (default: each run's eval.num_samples)")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="indecipherable: the evaluator's top-class probability below this (default 0.5)")
    parser.add_argument("--examples", type=int, default=20, help="least confident samples shown per run (default 20)")


def shares(probs: torch.Tensor, threshold: float) -> tuple[list[float], float]:
    """(share of all samples per predicted class among the decipherable ones, indecipherable share)."""
    conf, pred = probs.max(1)
    clear = conf >= threshold
    counts = torch.bincount(pred[clear], minlength=probs.shape[1]).double()
    return (counts / len(probs)).tolist(), float((~clear).double().mean())


class LeastConfident:
    """A sample-pass consumer: the evaluator's probabilities of every sample and the ``keep`` least confident
    images."""

    def __init__(self, evaluator: Any, keep: int):
        self.evaluator, self.keep = evaluator, keep
        self.probs: list[torch.Tensor] = []
        self.images = torch.empty(0, 1, 28, 28)
        self.conf = torch.empty(0)

    def __call__(self, images01: torch.Tensor, labels: torch.Tensor | None) -> None:
        _, logits = self.evaluator.embed(images01, batch_size=len(images01))
        probs = logits.softmax(1).cpu()
        self.probs.append(probs)
        conf = torch.cat([self.conf, probs.max(1).values])
        images = torch.cat([self.images, images01.cpu()])
        order = conf.argsort()[: self.keep]
        self.conf, self.images = conf[order], images[order]


def run(args: argparse.Namespace, ctx: Any, out: StudyOutput) -> list:
    if not 0.0 <= args.threshold <= 1.0:
        raise StudyError(f"--threshold {args.threshold} must be in [0, 1] (a probability)")
    if args.num_samples is not None and args.num_samples < 1:
        raise StudyError("--num-samples must be >= 1")
    runs = select(ctx.runs, [generator], out.say)
    dataset = runs[0].dataset
    evaluator = get_evaluator(dataset, ctx.data_root, ctx.cache_dir, ctx.device)
    num_classes = evaluator.info.test_logits.shape[1]
    names = CLASS_NAMES.get(dataset) or [str(c) for c in range(num_classes)]
    rows, bars, examples = [], [], []
    for run_ in runs:
        num = args.num_samples or int(run_.setting("eval.num_samples", 10_000))
        consumer = LeastConfident(evaluator, args.examples)
        sample_pass(run_.model, [consumer], normalize=run_.model.normalize, num_samples=num,
                    batch_size=int(run_.setting("eval.batch_size", 1000)), seed=0)
        per_class, unclear = shares(torch.cat(consumer.probs), args.threshold)
        rows.append([run_.name, run_.label, num, unclear, *per_class])
        bars.append((f"run {run_.name}", per_class, unclear))
        examples.append((run_, consumer.images, consumer.conf))
        out.say(f"{run_.label}: {unclear:.1%} indecipherable")
    real_classes, real_unclear = shares(evaluator.info.test_logits.softmax(1), args.threshold)
    rows.append([REAL, "test split", len(evaluator.info.test_labels), real_unclear, *real_classes])
    bars.append((REAL, real_classes, real_unclear))
    out.note(f"indecipherable: the evaluator's largest softmax probability below {args.threshold}; other samples "
             "count for their predicted class; shares are of all samples. Samples: each run's seeded end-of-run "
             "pass (seed 0). 'real data': the test split under the same rule.",
             "seed 001 (DCGAN, 100 samples sorted by hand): the deep net had about 3 % fewer indecipherable digits "
             "than the shallow one; both near-uniform over the classes (no mode collapse).")
    out.table(NAME, Grid(title="Share of samples per predicted class, and indecipherable",
                         header=["run", "settings", "n", "indecipherable", *names], rows=rows))
    _bars_figure(out, bars, names, args.threshold)
    if args.examples > 0:
        _examples_figure(out, examples, args.examples)
    return runs


def _bars_figure(out: StudyOutput, bars: list, names: list[str], threshold: float) -> None:
    cols = min(3, len(bars))
    rows = -(-len(bars) // cols)
    fig = new_figure(4.2 * cols, 3.0 * rows)
    x = np.arange(len(names) + 1)
    for i, (title, per_class, unclear) in enumerate(bars):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.bar(x, [100 * v for v in per_class] + [100 * unclear], color=["C0"] * len(names) + ["grey"])
        ax.axhline(100 / len(names), color="black", linewidth=0.6, linestyle=":")
        ax.set_xticks(x, [*names, "?"], fontsize=7, rotation=45 if len(names[0]) > 2 else 0)
        ax.set_ylabel("% of samples")
        ax.set_title(title, fontsize=9)
    out.figure(NAME, fig, f"Predicted class of the samples ('?': indecipherable, confidence under {threshold}); "
                          "dotted: a uniform share (seed 001, Fig. 15).")


def _examples_figure(out: StudyOutput, examples: list, keep: int) -> None:
    fig = new_figure(min(12.0, 0.6 * keep + 1.5), 0.9 * len(examples) + 0.5)
    for i, (run_, images, conf) in enumerate(examples):
        ax = fig.add_subplot(len(examples), 1, i + 1)
        if len(images):
            grid = make_grid(images, nrow=keep, padding=2, pad_value=1.0)[0].numpy()
            ax.imshow(grid, cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"run {run_.name}: least confident (max prob {float(conf.min()):.2f}-{float(conf.max()):.2f})"
                     if len(conf) else f"run {run_.name}", fontsize=8)
        ax.axis("off")
    out.figure(f"{NAME}_least_confident", fig, "The least confident samples of each run, most doubtful first.")
