"""Sequential training: generated data first, then real data (seed 001, §6, Fig. 11/27).

A classifier of the evaluator's architecture trains ``--epochs`` epochs in all (seed: 30): the first
round(s * epochs) on generated images (as many as the real training images, ``--generated-size`` to change it),
the rest on the real training images, one optimizer and learning-rate schedule throughout; s is each share of
``--shares`` (percent). Share 0 is real data only, the same for every generator, so it is trained once. Each
classifier is scored on the test split (accuracy, confidence when correct / incorrect); after every epoch it is
also scored on the held-out validation images (``--val-size`` images of the training split, never trained on):
the training and validation curves of the ``--curves`` split (seed: 50 %, its Fig. 27)."""

from __future__ import annotations

import argparse
from typing import Any

from gan_sweeps.studies.classifier import CELL_HEADER, add_budget_arguments, fit_and_test, recipe_of
from gan_sweeps.studies.data import generated_data, real_data
from gan_sweeps.studies.output import Grid, StudyOutput, line_panel, new_figure, percent_list
from gan_sweeps.studies.runs import StudyError, conditional_generator, select

NAME = "sequential"
TITLE = "Sequential training: generated data first, then real (seed 001, Fig. 11/27)"
BASELINE = "real only"
SEED_EPOCHS = 30
SEED_NUMBERS = ("seed 001 (full MNIST, 30 epochs): no share of generated-first epochs beat real data only "
                "(98.99 %); with 15 + 15 epochs the validation accuracy stalls while training on generated images "
                "and recovers once the real ones come (Fig. 27).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shares", type=percent_list, default=[0, 25, 50, 75, 100],
                        help="percent of the epochs trained on generated images first (default 0,25,50,75,100)")
    parser.add_argument("--curves", type=float, default=50,
                        help="the share whose training/validation curves are drawn (default 50; trained too when "
                             "not among --shares)")
    parser.add_argument("--generated-size", type=int, default=None,
                        help="generated training images (default: as many as the real training images)")
    add_budget_arguments(parser, epochs=SEED_EPOCHS)


def split_epochs(epochs: int, share: float) -> tuple[int, int]:
    """(epochs on generated images, epochs on real images) for a share in percent."""
    first = round(epochs * share / 100)
    return first, epochs - first


def run(args: argparse.Namespace, ctx: Any, out: StudyOutput) -> list:
    runs = select(ctx.runs, [conditional_generator], out.say)
    recipe = recipe_of(args)
    if args.val_size < 1:
        raise StudyError("--val-size must be >= 1: the sequential study draws validation curves")
    shares = list(dict.fromkeys([*args.shares, args.curves]))
    real = real_data(runs[0].dataset, ctx.data_root, train_size=args.train_size, val_size=args.val_size,
                     test_size=args.test_size, seed=args.seed)
    n_gen = len(real.train) if args.generated_size is None else args.generated_size
    if n_gen < 1:
        raise StudyError("--generated-size must be >= 1")
    rows: list[list[Any]] = []
    curves: list[list[Any]] = []

    def record(label: str, share: float, cell) -> None:
        first, second = split_epochs(args.epochs, share)
        rows.append([label, share, first, second, *cell.row(), cell.history[-1]["val_acc"]])
        curves.extend([label, share, h["epoch"], h["data"], h["train_loss"], h["train_acc"], h["val_loss"],
                       h["val_acc"]] for h in cell.history)
        out.say(f"{label}, {share} % of {args.epochs} epochs on generated images first: acc {cell.acc:.4f}")

    if any(split_epochs(args.epochs, s)[0] == 0 for s in shares):
        record(BASELINE, 0, fit_and_test([("real", real.train, args.epochs)], recipe, real.test, ctx.device,
                                         validation=real.val))
    for run_ in runs:
        generated = generated_data(run_, n_gen, seed=args.seed)
        for share in shares:
            first, second = split_epochs(args.epochs, share)
            if first == 0:
                continue
            cell = fit_and_test([("generated", generated, first), ("real", real.train, second)], recipe, real.test,
                                ctx.device, validation=real.val)
            record(run_.label, share, cell)
        del generated
    out.note(f"Classifiers: the evaluator's architecture, {args.epochs} epochs in all, batch {args.batch_size}, "
             f"peak lr {args.lr} (one one-cycle schedule over both parts), seed {args.seed}; {len(real.train)} real "
             f"and {n_gen} generated training images; validation: {len(real.val)} held-out training images; test: "
             f"{len(real.test)} test-split images.",
             "generated_epochs / real_epochs: how the epochs were split (generated first); share 0 = real only. "
             "test_acc, conf_correct / conf_incorrect (mean max softmax probability when correct / incorrect) on "
             "the test images; final_val_acc: validation accuracy after the last epoch.", SEED_NUMBERS)
    out.table(NAME, Grid(title="Test accuracy per share of epochs on generated images first",
                         header=["generator", "generated_share_pct", "generated_epochs", "real_epochs",
                                 *CELL_HEADER, "final_val_acc"], rows=rows))
    out.table(f"{NAME}_curves", Grid(title="Training and validation curves, every share (per epoch)",
                                     header=["generator", "generated_share_pct", "epoch", "data", "train_loss",
                                             "train_acc", "val_loss", "val_acc"], rows=curves))
    _figures(out, rows, curves, runs, args)
    return runs


def _figures(out: StudyOutput, rows: list, curves: list, runs: list, args: argparse.Namespace) -> None:
    fig = new_figure(6, 4)
    ax = fig.add_subplot()
    base = [r for r in rows if r[0] == BASELINE]
    line_panel(ax, {run_.label: ([r[1] for r in base + rows if r[0] in (BASELINE, run_.label)],
                                 [r[5] for r in base + rows if r[0] in (BASELINE, run_.label)]) for run_ in runs},
               f"share of the {args.epochs} epochs on generated images first (%)", "test accuracy", "test accuracy")
    out.figure(NAME, fig, "Test accuracy per share of epochs trained on generated images before the real ones "
                          "(seed 001, Fig. 11); share 0 is real data only.")
    fig = new_figure(11, 4)
    train_ax, val_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    first, _ = split_epochs(args.epochs, args.curves)
    shown = {}
    for label in [BASELINE] + [r.label for r in runs]:
        share = 0 if label == BASELINE else args.curves
        hs = [c for c in curves if c[0] == label and c[1] == share]
        if hs:
            shown[label] = hs
    line_panel(train_ax, {k: ([h[2] for h in v], [h[5] for h in v]) for k, v in shown.items()}, "epoch",
               "training accuracy", f"training accuracy, {args.curves} % generated first", dashed=[BASELINE])
    line_panel(val_ax, {k: ([h[2] for h in v], [h[7] for h in v]) for k, v in shown.items()}, "epoch",
               "validation accuracy", f"validation accuracy (held-out real images), {args.curves} % generated first",
               dashed=[BASELINE])
    for ax in (train_ax, val_ax):
        if 0 < first < args.epochs:
            ax.axvline(first + 0.5, color="grey", linewidth=0.8, linestyle=":")
    out.figure(f"{NAME}_curves", fig, f"Training and validation accuracy per epoch with {args.curves} % of the epochs "
                                      "on generated images first (dotted: the switch to real images; dashed: real "
                                      "data only), seed 001's Fig. 27.")
