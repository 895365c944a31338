"""Extra generated data (seed 001, §6, Fig. 10/26).

All N real training images plus p percent of N extra generated images (``--extra``; labels: the classes the
generator was asked for), for each conditional generator run; one classifier of the evaluator's architecture per
(generator, p), trained from scratch and scored on the test split (accuracy, confidence when correct / incorrect).
The baseline (p = 0) is the same training set for every generator, so it is trained once: the "real only" row."""

from __future__ import annotations

import argparse
from typing import Any

from gan_sweeps.studies.classifier import CELL_HEADER, add_budget_arguments, fit_and_test, recipe_of
from gan_sweeps.studies.data import generated_data, real_data
from gan_sweeps.studies.output import Grid, StudyOutput, line_panel, new_figure, percent_list
from gan_sweeps.studies.runs import conditional_generator, select

NAME = "extra-data"
TITLE = "Extra generated data on top of all real data (seed 001, Fig. 10/26)"
BASELINE = "real only"
SEED_NUMBERS = ("seed 001 (full MNIST): above 99 % with 15-20 % extra generated images from the deep cGAN k=1, "
                "beta1=0.5; otherwise about constant, real data only 98.99 %.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extra", type=percent_list, default=[5, 10, 15, 20, 30, 50, 100],
                        help="extra generated images as a percentage of the real ones (default 5,10,15,20,30,50,100; "
                             "0, the real-only baseline, is always trained)")
    add_budget_arguments(parser)


def run(args: argparse.Namespace, ctx: Any, out: StudyOutput) -> list:
    runs = select(ctx.runs, [conditional_generator], out.say)
    recipe = recipe_of(args)
    real = real_data(runs[0].dataset, ctx.data_root, train_size=args.train_size, val_size=args.val_size,
                     test_size=args.test_size, seed=args.seed)
    n_real = len(real.train)
    extras = [p for p in args.extra if p > 0]
    cell = fit_and_test([("real", real.train, args.epochs)], recipe, real.test, ctx.device)
    rows: list[list[Any]] = [[BASELINE, 0, n_real, 0, *cell.row()]]
    out.say(f"{BASELINE}, {n_real} real images: acc {cell.acc:.4f}")
    for run_ in runs:
        generated = generated_data(run_, max((round(n_real * p / 100) for p in extras), default=0), seed=args.seed)
        for p in extras:
            n_gen = round(n_real * p / 100)
            cell = fit_and_test([("real+generated", real.train.cat(generated.head(n_gen)), args.epochs)], recipe,
                                real.test, ctx.device)
            rows.append([run_.label, p, n_real, n_gen, *cell.row()])
            out.say(f"{run_.label}, {p} % extra generated: acc {cell.acc:.4f}")
        del generated
    out.note(f"Classifiers: the evaluator's architecture, {args.epochs} epochs, batch {args.batch_size}, peak lr "
             f"{args.lr} (one-cycle), seed {args.seed}; {n_real} real training images each; test: {len(real.test)} "
             "test-split images.",
             "test_acc: accuracy on the test images; conf_correct / conf_incorrect: mean max softmax probability "
             "over the correctly / incorrectly classified ones.", SEED_NUMBERS)
    out.table(NAME, Grid(title="Test accuracy with extra generated training images",
                         header=["generator", "extra_pct", "n_real", "n_generated", *CELL_HEADER], rows=rows))
    fig = new_figure(11, 4)
    acc, conf = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    base = rows[0]
    xs = [0, *extras]
    curves_acc: dict[str, tuple[list, list]] = {BASELINE: (xs, [base[5]] * len(xs))}
    curves_conf: dict[str, tuple[list, list]] = {}
    for run_ in runs:
        rs = [base] + [r for r in rows if r[0] == run_.label]
        curves_acc[run_.label] = ([r[1] for r in rs], [r[5] for r in rs])
        curves_conf[f"{run_.label}: correct"] = ([r[1] for r in rs], [r[6] for r in rs])
        curves_conf[f"{run_.label}: incorrect"] = ([r[1] for r in rs], [r[7] for r in rs])
    line_panel(acc, curves_acc, "extra generated images (% of the real ones)", "test accuracy", "accuracy",
               dashed=[BASELINE])
    line_panel(conf, curves_conf, "extra generated images (% of the real ones)", "mean confidence",
               "confidence when correct / incorrect", dashed=[k for k in curves_conf if k.endswith("incorrect")])
    out.figure(NAME, fig, "Test accuracy (left) and confidence (right) with extra generated images "
                          "(seed 001, Fig. 10, 26); every curve starts at the real-only classifier.")
    return runs
