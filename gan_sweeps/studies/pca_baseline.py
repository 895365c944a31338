"""PCA as a generative baseline (seed 001, §7 and appendix): a linear model scored like any run.

PCA (scikit-learn) is fitted on the training images ([0, 1] pixels, ``--fit-size`` of them, default all); an image
is sampled by drawing each component's weight from its fitted distribution (a zero-mean normal with the
component's explained variance: the weights of the training images are uncorrelated with exactly those
variances), adding the weighted components to the mean image and clipping to [0, 1]. ``global`` fits one PCA to
all classes (an unconditional sampler); ``per-class`` fits one per class (a conditional sampler, so it also gets
seed 001's conditional accuracy). ``--components 0`` samples the mean image(s) only.

Each (kind, components) is scored by the end-of-run evaluation's own code (``evaluate_generative``: FID, KID, IS,
class histogram, conditional accuracy and ``confusion.png``) and written as a run-like folder
``<out>/pca-<kind>-<components>/`` (``.hydra/config.yaml``, ``.hydra/overrides.yaml`` with ``model=pca``,
``metrics.json`` with ``status: completed``, ``samples/epoch_001.png``, ``reference.json``): put ``--out`` inside a
sweep folder and ``python -m gan_sweeps.report`` shows PCA as rows beside the sweep's runs. The study's own table
puts the PCA rows beside the given runs' recorded metrics and the real data's."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import nn

from gan_sweeps.atomic import atomic_write_text
from gan_sweeps.data import load_split
from gan_sweeps.evaluation.evaluate import evaluate_generative, reference_scores
from gan_sweeps.evaluation.evaluator import unit_images
from gan_sweeps.images import save_grid
from gan_sweeps.studies.output import Grid, StudyOutput, new_figure
from gan_sweeps.studies.runs import StudyError, finished

NAME = "pca-baseline"
TITLE = "PCA as a generative baseline, scored like the runs (seed 001, §7)"
RUNS_OPTIONAL = True
KINDS = ("global", "per-class")
METRICS = ["eval/fid", "eval/kid_mean", "eval/is", "eval/class_entropy", "eval/cond_acc", "eval/conf_correct",
           "eval/conf_incorrect"]


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected integers >= 0, got {text!r}")
    return values


def _kinds(text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or any(v not in KINDS for v in values):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(KINDS)} (comma-separated), got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--components", type=_ints, default=[50], help="principal components (list: one PCA each; "
                        "default 50)")
    parser.add_argument("--kind", type=_kinds, default=list(KINDS), help="global, per-class or both (default both)")
    parser.add_argument("--fit-size", type=int, default=None, help="training images to fit on (default: all)")
    parser.add_argument("--num-samples", type=int, default=None,
                        help="samples scored (default: the runs' eval.num_samples, else 10000)")
    parser.add_argument("--dataset", default=None, help="mnist or fashion_mnist (default: the runs', else mnist)")


class PCASampler(nn.Module):
    """Mean image(s) + components weighted by N(0, explained variance) draws; [0, 1] pixels (normalize=none).

    Buffers are per class (C, ...) for ``per-class``, a single row for ``global``."""

    normalize = "none"

    def __init__(self, means: torch.Tensor, components: torch.Tensor, stds: torch.Tensor, conditional: bool,
                 num_classes: int = 10):
        super().__init__()
        self.conditional, self.num_classes = conditional, num_classes
        self.register_buffer("means", means.float())  # (G, 784)
        self.register_buffer("components", components.float())  # (G, k, 784)
        self.register_buffer("stds", stds.float())  # (G, k)

    def generate(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        device = self.means.device
        groups = labels.to(device).long() if self.conditional else torch.zeros(n, dtype=torch.long, device=device)
        out = torch.empty(n, self.means.shape[1], device=device)
        weights = torch.randn(n, self.stds.shape[1], device=device)
        for g in groups.unique().tolist():
            rows = groups == g
            out[rows] = self.means[g] + (weights[rows] * self.stds[g]) @ self.components[g]
        return out.clamp_(0.0, 1.0).view(n, 1, 28, 28)


def fit_pca(images01: torch.Tensor, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """(mean (784,), components (k, 784), weight std (k,), explained variance ratio) of flattened images."""
    x = images01.flatten(1).double().numpy()
    if k == 0:
        return torch.from_numpy(x.mean(0)), torch.zeros(0, x.shape[1]), torch.zeros(0), 0.0
    from sklearn.decomposition import PCA

    if k > min(x.shape):
        raise StudyError(f"--components {k} exceeds what {len(x)} images of {x.shape[1]} pixels allow")
    pca = PCA(n_components=k, random_state=seed).fit(x)
    return (torch.from_numpy(pca.mean_), torch.from_numpy(pca.components_), torch.from_numpy(pca.explained_variance_)
            .sqrt(), float(pca.explained_variance_ratio_.sum()))


def build_sampler(images01: torch.Tensor, labels: torch.Tensor, kind: str, k: int, seed: int
                  ) -> tuple[PCASampler, float]:
    """The sampler and its explained variance ratio (mean over classes for ``per-class``)."""
    num_classes = int(labels.max()) + 1
    groups = [images01] if kind == "global" else [images01[labels == c] for c in range(num_classes)]
    fits = [fit_pca(g, k, seed) for g in groups]
    sampler = PCASampler(torch.stack([f[0] for f in fits]), torch.stack([f[1] for f in fits]),
                         torch.stack([f[2] for f in fits]), conditional=kind == "per-class", num_classes=num_classes)
    return sampler, sum(f[3] for f in fits) / len(fits)


def write_run_folder(folder: Path, sampler: PCASampler, *, dataset: str, kind: str, k: int, fit_size: int | None,
                     seed: int, metrics: dict[str, Any], reference: dict[str, Any], seconds: float) -> None:
    """The run-folder contract, as far as a fitted (not trained) model has it: config, overrides, metrics.json,
    a sample grid and the real data's reference scores. ``data.train_size``: the images fitted on (null: all, as
    for a run)."""
    overrides = ["model=pca", f"model.kind={kind}", f"model.components={k}"]
    data = {"name": dataset, "normalize": "none", "num_classes": sampler.num_classes, "train_size": fit_size}
    config = {"model": {"name": "pca", "kind": kind, "components": k}, "seed": seed, "data": data,
              "eval": {"num_samples": metrics["eval/num_samples"]}}
    atomic_write_text(folder / ".hydra" / "config.yaml", OmegaConf.to_yaml(OmegaConf.create(config)))
    atomic_write_text(folder / ".hydra" / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(overrides)))
    record = {"status": "completed", "model": "pca", "dataset": dataset, "overrides": overrides, "error": None,
              "wall_time_s": round(seconds, 3), **metrics}
    atomic_write_text(folder / "metrics.json", json.dumps(record, indent=2, sort_keys=True))
    atomic_write_text(folder / "reference.json", json.dumps(reference, indent=2, sort_keys=True))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        labels = torch.arange(sampler.num_classes).repeat_interleave(10) if sampler.conditional else None
        images = sampler.generate(100, labels)
    save_grid(images, 10, folder / "samples" / "epoch_001.png")


def run(args: argparse.Namespace, ctx: Any, out: StudyOutput) -> list:
    runs = []
    for r in ctx.runs:
        reason = finished(r)
        if reason:
            out.say(f"skipping {r.path}: {reason}")
        else:
            runs.append(r)
    datasets = sorted({r.dataset for r in runs})
    if len(datasets) > 1:
        raise StudyError(f"the runs use different datasets ({', '.join(datasets)}); study one dataset at a time")
    dataset = args.dataset or (datasets[0] if datasets else "mnist")
    if datasets and dataset != datasets[0]:
        raise StudyError(f"--dataset {dataset} differs from the runs' dataset {datasets[0]}")
    num = args.num_samples or (int(runs[0].setting("eval.num_samples", 10_000)) if runs else 10_000)
    if num < 2:
        raise StudyError("--num-samples must be >= 2")
    split = load_split(dataset, ctx.data_root, train=True)
    fit_size = len(split.labels) if args.fit_size is None else args.fit_size
    if not 1 <= fit_size <= len(split.labels):
        raise StudyError(f"--fit-size must be in [1, {len(split.labels)}]")
    images01, labels = unit_images(split.images[:fit_size]), split.labels[:fit_size]
    reference = reference_scores(dataset, ctx.data_root, ctx.cache_dir, device=ctx.device)
    rows, grids = [], []
    for kind in args.kind:
        for k in args.components:
            start = time.perf_counter()
            sampler, explained = build_sampler(images01, labels, kind, k, args.seed)
            sampler.to(ctx.device)
            folder = out.dir / f"pca-{kind}-{k}"
            metrics = evaluate_generative(sampler, dataset=dataset, data_root=ctx.data_root, normalize="none",
                                          num_samples=num, cache_dir=ctx.cache_dir, out_dir=folder,
                                          device=ctx.device)
            metrics["pca/explained_variance_ratio"] = explained
            write_run_folder(folder, sampler, dataset=dataset, kind=kind, k=k, fit_size=args.fit_size, seed=args.seed,
                             metrics=metrics, reference=reference, seconds=time.perf_counter() - start)
            rows.append([f"pca-{kind}-{k}", f"model=pca, {kind}, {k} components", explained,
                         *[metrics.get(m) for m in METRICS]])
            grids.append((folder.name, folder / "samples" / "epoch_001.png"))
            out.say(f"PCA {kind}, {k} components: FID {metrics['eval/fid']:.2f}, IS {metrics['eval/is']:.2f}")
    rows += [[r.name, r.label, None, *[r.metric(m) for m in METRICS]] for r in runs]
    rows.append(["real data", "test split (reference.json)", None, *[reference.get(m) for m in METRICS]])
    out.note(f"PCA fitted on the first {fit_size} {dataset} training images ([0, 1] pixels); each variant scored on "
             f"{num} samples by the evaluator (same code as a run's end-of-run evaluation; conditional metrics for "
             "per-class PCA only). Runs' numbers: their metrics.json. explained_variance: share of the pixel "
             "variance the components keep (mean over classes for per-class PCA).")
    out.table(NAME, Grid(title="PCA samplers beside the runs", header=["name", "settings", "explained_variance",
                                                                         *METRICS], rows=rows))
    _figure(out, grids)
    return runs


def _figure(out: StudyOutput, grids: list[tuple[str, Path]]) -> None:
    from matplotlib.image import imread

    fig = new_figure(3.2 * len(grids), 3.6)
    for i, (name, path) in enumerate(grids):
        ax = fig.add_subplot(1, len(grids), i + 1)
        ax.imshow(imread(path), cmap="gray")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    out.figure(NAME, fig, "Samples of each PCA variant (per-class: one row per class).")
