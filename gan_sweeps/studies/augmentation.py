"""Augmentation at a fixed training-set size (seed 001, §6, Fig. 9/24/25).

For each conditional generator run and each share r of generated images (``--ratios``, percent), a classifier of
the evaluator's architecture is trained from scratch on N images: the first N(1 - r) real training images plus
N r generated ones (labels: the classes the generator was asked for); beside it, the baseline is trained on the
same N(1 - r) real images alone. Every classifier is scored on the test split: accuracy, and its mean confidence
(max softmax probability) on correctly and incorrectly classified images. At r = 0 a mix holds exactly the
baseline's images (the real-only classifier on all N images)."""

from __future__ import annotations

import argparse
from typing import Any

from gan_sweeps.studies.classifier import CELL_HEADER, add_budget_arguments, fit_and_test, recipe_of
from gan_sweeps.studies.data import generated_data, real_data
from gan_sweeps.studies.output import Grid, StudyOutput, line_panel, new_figure, percent_list
from gan_sweeps.studies.runs import conditional_generator, select

NAME = "augmentation"
TITLE = "Augmentation at a fixed training-set size (seed 001, Fig. 9/24/25)"
BASELINE = "real only"
SEED_NUMBERS = ("seed 001 (full MNIST): 96.70 % test accuracy from generated data only (deep cGAN k=2, beta1=0.9); "
                "20 % real + 80 % generated 98.25 % vs the same 20 % real alone 98.09 %; real data only 98.99 %.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ratios", type=percent_list, default=list(range(0, 101, 10)),
                        help="shares of generated images in the training set, percent (default 0,10,...,100)")
    add_budget_arguments(parser)


def counts(total: int, ratio: float) -> tuple[int, int]:
    """(real, generated) image counts of a mix of ``total`` images with ``ratio`` percent generated."""
    n_gen = round(total * ratio / 100)
    return total - n_gen, n_gen


def run(args: argparse.Namespace, ctx: Any, out: StudyOutput) -> list:
    runs = select(ctx.runs, [conditional_generator], out.say)
    recipe = recipe_of(args)
    real = real_data(runs[0].dataset, ctx.data_root, train_size=args.train_size, val_size=args.val_size,
                     test_size=args.test_size, seed=args.seed)
    total = len(real.train)
    rows: list[list[Any]] = []
    for ratio in args.ratios:  # the baseline: the mix's real part alone
        n_real, _ = counts(total, ratio)
        if n_real == 0:
            continue
        cell = fit_and_test([("real", real.train.head(n_real), args.epochs)], recipe, real.test, ctx.device)
        rows.append([BASELINE, ratio, n_real, 0, *cell.row()])
        out.say(f"{BASELINE}, {n_real} real images (the real part at {ratio} % generated): acc {cell.acc:.4f}")
    for run_ in runs:
        generated = generated_data(run_, max(counts(total, r)[1] for r in args.ratios), seed=args.seed)
        for ratio in args.ratios:
            n_real, n_gen = counts(total, ratio)
            mix = real.train.head(n_real).cat(generated.head(n_gen))
            cell = fit_and_test([("mix", mix, args.epochs)], recipe, real.test, ctx.device)
            rows.append([run_.label, ratio, n_real, n_gen, *cell.row()])
            out.say(f"{run_.label}, {ratio} % generated: acc {cell.acc:.4f}")
        del generated
    out.note(f"Classifiers: the evaluator's architecture, {args.epochs} epochs, batch {args.batch_size}, peak lr "
             f"{args.lr} (one-cycle), seed {args.seed}; {total} training images per mix; test: {len(real.test)} "
             "test-split images.",
             "test_acc: accuracy on the test images; conf_correct / conf_incorrect: mean max softmax probability "
             f"over the correctly / incorrectly classified ones. '{BASELINE}' rows: trained on the real part of "
             "the mix at that generated share alone (n_real images).", SEED_NUMBERS)
    grid = Grid(title="Test accuracy per share of generated training images",
                header=["generator", "generated_pct", "n_real", "n_generated", *CELL_HEADER], rows=rows)
    out.table(NAME, grid)
    _figure(out, rows)
    return runs


def _figure(out: StudyOutput, rows: list[list[Any]]) -> None:
    fig = new_figure(11, 4)
    acc, conf = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    by_label: dict[str, list[list[Any]]] = {}
    for row in rows:
        by_label.setdefault(row[0], []).append(row)
    line_panel(acc, {label: ([r[1] for r in rs], [r[5] for r in rs]) for label, rs in by_label.items()},
               "generated share of the training set (%)", "test accuracy",
               f"accuracy ('{BASELINE}': the real part alone)", dashed=[BASELINE])
    curves = {}
    for label, rs in by_label.items():
        curves[f"{label}: correct"] = ([r[1] for r in rs], [r[6] for r in rs])
        curves[f"{label}: incorrect"] = ([r[1] for r in rs], [r[7] for r in rs])
    line_panel(conf, curves, "generated share of the training set (%)", "mean confidence",
               "confidence when correct / incorrect", dashed=[k for k in curves if k.endswith("incorrect")])
    out.figure(NAME, fig, "Test accuracy (left) and confidence when correct / incorrect (right) per share of "
                          "generated images (seed 001, Fig. 9, 24, 25).")
