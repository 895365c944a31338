"""Cross-discriminator table (seed 001, appendix, Table 3): the discriminators of every run scored on the samples of
one fixed generator run, and the transpose (every run's generator scored by the fixed run's discriminator).

"Accuracy" of a discriminator on generated images = the share of them it calls fake (its output above its loss's
decision threshold means "real": D(x) > 1/2 for the BCE losses; evaluation/discriminator.py). The generated images
are one seeded sample pass of ``--num-samples`` (default: the fixed run's ``eval.num_samples``) in batches of the
fixed run's ``eval.batch_size``, the same pass as the end-of-run evaluation, so the fixed run's own cell repeats its
``eval/d_fake_acc``. Conditional discriminators get the labels the generator was asked for. Each discriminator is
also scored on the real test split (share called real, ``eval/d_real_acc`` of the end-of-run evaluation): a
discriminator that calls everything fake scores 100 % on generated images and 0 % on real ones.
``--matrix`` adds every discriminator against every generator."""

from __future__ import annotations

import argparse
import math
from typing import Any

import torch

from gan_sweeps.data import load_split
from gan_sweeps.evaluation.discriminator import RealFakeJudge
from gan_sweeps.evaluation.evaluator import unit_images
from gan_sweeps.evaluation.passes import sample_pass
from gan_sweeps.studies.output import Grid, StudyOutput, new_figure
from gan_sweeps.studies.runs import StudyError, StudyRun, discriminator, generator, pick, select

NAME = "cross-discriminator"
TITLE = "Discriminators against one fixed generator, and the transpose (seed 001, Table 3)"
SEED_NUMBERS = ("seed 001 (shallow cGAN, fixed generator k=2, beta1=0.9; no budget given for Table 3): "
                "discriminators of (k, beta1) = "
                "(1, .5) 94.93 %, (1, .9) 69.12 %, (2, .5) 51.78 %, (2, .9) 43.53 %, (3, .5) 100 %, (3, .9) 99.94 %.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fixed", default="best",
                        help="the fixed run: its folder, folder name (e.g. 3) or label; 'best' (default): the run "
                             "with the lowest eval/fid")
    parser.add_argument("--num-samples", type=int, default=None,
                        help="generated images per generator (default: the fixed run's eval.num_samples)")
    parser.add_argument("--matrix", action="store_true", help="also every discriminator x every generator")


def _best(runs: list[StudyRun]) -> StudyRun:
    scored = [r for r in runs if isinstance(r.metric("eval/fid"), (int, float)) and math.isfinite(r.metric("eval/fid"))]
    if not scored:
        raise StudyError("no run recorded eval/fid to pick the best one: name the fixed run with --fixed")
    return min(scored, key=lambda r: r.metric("eval/fid"))


def fake_accuracies(gen: StudyRun, judges: dict[str, RealFakeJudge], num_samples: int, batch_size: int,
                    seed: int = 0) -> dict[str, float]:
    """Each judge's share of ``gen``'s samples called fake, all judges on the same seeded sample pass."""
    fresh = {name: RealFakeJudge(j.model) for name, j in judges.items()}  # zeroed counters
    sample_pass(gen.model, [j.consume for j in fresh.values()], normalize=gen.model.normalize,
                num_samples=num_samples, batch_size=batch_size, seed=seed)
    return {name: j.fake_accuracy for name, j in fresh.items()}


def run(args: argparse.Namespace, ctx: Any, out: StudyOutput) -> list:
    runs = select(ctx.runs, [generator, discriminator], out.say)
    fixed = _best(runs) if args.fixed == "best" else pick(runs, args.fixed)
    num = args.num_samples or int(fixed.setting("eval.num_samples", 10_000))
    batch = int(fixed.setting("eval.batch_size", 1000))
    if num < 1:
        raise StudyError("--num-samples must be >= 1")
    kinds = {r.model.conditional for r in runs}
    if len(kinds) > 1:
        raise StudyError("the runs mix conditional and unconditional models (a conditional discriminator needs "
                         "labelled samples): study them separately")
    judges = {r.name: RealFakeJudge(r.model) for r in runs}
    on_fixed = fake_accuracies(fixed, judges, num, batch)
    fixed_judge = {fixed.name: judges[fixed.name]}
    transposed = {r.name: fake_accuracies(r, fixed_judge, num, batch)[fixed.name] for r in runs}
    test = load_split(fixed.dataset, ctx.data_root, train=False)
    real01, real_y = unit_images(test.images), test.labels
    on_real = {name: j.real_accuracy(real01, real_y, batch) for name, j in judges.items()}
    rows = [[r.name + (" (fixed)" if r is fixed else ""), r.label, on_fixed[r.name], on_real[r.name],
             transposed[r.name], r.metric("eval/d_fake_acc")] for r in runs]
    out.note(f"Fixed run: {fixed.name} ({fixed.label}); {num} generated images per generator (seed 0, batches of "
             f"{batch}); real: the {len(real_y)} test-split images.",
             "d_acc_on_fixed_G: the share of the fixed generator's images this run's discriminator calls fake "
             "(seed 001's Table 3 'accuracy'; ~50 % = the generator fools it half the time). d_acc_on_real: the "
             "share of real test images it calls real. fixed_D_acc_on_this_G: the share of this run's generated "
             "images the fixed run's discriminator calls fake (the transpose; lower = this generator fools it "
             "more). own_eval_d_fake_acc: the run's end-of-run eval/d_fake_acc (its discriminator on its own "
             "generator, same definition and samples when --num-samples is its eval.num_samples).", SEED_NUMBERS)
    out.table(NAME, Grid(title=f"Discriminators on the samples of run {fixed.name}, and run {fixed.name}'s "
                               "discriminator on every generator",
                         header=["run", "settings", "d_acc_on_fixed_G", "d_acc_on_real", "fixed_D_acc_on_this_G",
                                 "own_eval_d_fake_acc"], rows=rows))
    _bars(out, runs, fixed, on_fixed, on_real, transposed)
    if args.matrix:
        matrix = {g.name: fake_accuracies(g, judges, num, batch) for g in runs}
        header = ["discriminator \\ generator"] + list(matrix)
        out.table(f"{NAME}_matrix", Grid(title="Every discriminator (rows) on every generator's samples (columns): "
                                               "share called fake", header=header,
                                         rows=[[d.name] + [matrix[g][d.name] for g in matrix] for d in runs]))
        _heatmap(out, runs, matrix)
    return runs


def _bars(out: StudyOutput, runs: list, fixed: StudyRun, on_fixed: dict, on_real: dict, transposed: dict) -> None:
    fig = new_figure(max(7.0, 1.2 * len(runs) + 3), 4.5)
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    names = [r.name for r in runs]
    x = torch.arange(len(names)).float()
    ax.bar((x - 0.2).tolist(), [100 * on_fixed[n] for n in names], width=0.4, label=f"on run {fixed.name}'s samples")
    ax.bar((x + 0.2).tolist(), [100 * on_real[n] for n in names], width=0.4, label="on real test images")
    ax.set_title("each run's discriminator: % correct", fontsize=9)
    bx.bar(x.tolist(), [100 * transposed[n] for n in names])
    bx.set_title(f"run {fixed.name}'s discriminator on each generator: % called fake", fontsize=9)
    for axis in (ax, bx):
        axis.set_xticks(x.tolist(), names)
        axis.set_xlabel("run")
        axis.set_ylim(0, 100)
        axis.axhline(50, color="grey", linewidth=0.8, linestyle=":")
        axis.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    out.figure(NAME, fig, "Left: each run's discriminator on the fixed generator's samples (share called fake) and on "
                          "real test images (share called real). Right: the fixed discriminator on each generator. "
                          "Runs: see the table.")


def _heatmap(out: StudyOutput, runs: list, matrix: dict) -> None:
    gens = list(matrix)
    values = [[100 * matrix[g][d.name] for g in gens] for d in runs]
    fig = new_figure(1.2 + 0.7 * len(gens), 1.0 + 0.6 * len(runs))
    ax = fig.add_subplot()
    im = ax.imshow(values, cmap="viridis", vmin=0, vmax=100)
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7, color="white" if v < 60 else "black")
    ax.set_xticks(range(len(gens)), gens)
    ax.set_yticks(range(len(runs)), [d.name for d in runs])
    ax.set_xlabel("generator (run)")
    ax.set_ylabel("discriminator (run)")
    fig.colorbar(im, ax=ax, label="% called fake")
    out.figure(f"{NAME}_matrix", fig, "Every discriminator (rows) on every generator's samples (columns): percent "
                                      "called fake.")
