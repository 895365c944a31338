"""Evaluation cost: features, FID, KID and IS of 10,000 samples on this machine's CPU.

The one-off evaluator training is excluded (it happens once per dataset and cache; its time is printed when it
happens here). The "samples" are random real training images (what a perfect generator would produce), so the numbers
also show the scores of a perfect model. Each stage runs ``--repeats`` times; the line shows the best and the
median (other processes on a shared machine only ever add time). Stages run under the thread count evaluation
itself would pick (``evaluation_threads``; ``--threads N`` forces one). The last line runs
``evaluate_generative`` end to end on a model that replays those images (generation cost ~0).
Usage: python benchmarks/bench_evaluation.py [--dataset mnist] [--num-samples 10000] [--repeats 3]"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GAN_SWEEPS_DATA", str(REPO.parent / "shared" / "datasets"))

from gan_sweeps.data import from_unit_range, load_split  # noqa: E402
from gan_sweeps.evaluation import class_scores, evaluate_generative, fid, get_evaluator, kid  # noqa: E402
from gan_sweeps.evaluation.evaluator import evaluation_threads, unit_images  # noqa: E402


class Replay(nn.Module):
    """Unconditional 'generator' returning random images from a fixed set, in the tanh range."""

    conditional, num_classes = False, 10

    def __init__(self, images01: torch.Tensor):
        super().__init__()
        self.images01 = images01

    def generate(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        return from_unit_range(self.images01[torch.randint(0, len(self.images01), (n,))], "tanh")


def timed(name: str, fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Run fn ``repeats`` times; print best/median seconds; return (best, last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    print(f"{name:<34} best {min(times):7.3f} s   median {statistics.median(times):7.3f} s", flush=True)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--cache-dir", default=os.environ.get("GAN_SWEEPS_CACHE", "~/.cache/gan_sweeps"))
    parser.add_argument("--threads", type=int, default=0,
                        help="force torch's thread count (default: picked by a short probe, as evaluation does)")
    args = parser.parse_args()
    data_root, cache_dir = os.environ["GAN_SWEEPS_DATA"], os.path.expanduser(args.cache_dir)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; {args.num_samples} samples of {args.dataset}")

    start = time.perf_counter()
    evaluator = get_evaluator(args.dataset, data_root, cache_dir)
    info = evaluator.info
    how = f"trained now in {info.train_seconds:.1f} s" if info.trained_now else \
        f"loaded from cache (trained once in {info.train_seconds:.1f} s)"
    print(f"evaluator: {how}; get_evaluator {time.perf_counter() - start:.2f} s; test acc {info.test_acc:.4f}")

    train = load_split(args.dataset, data_root, train=True)
    pick = torch.randperm(len(train.images), generator=torch.Generator().manual_seed(0))[:args.num_samples]
    samples = unit_images(train.images[pick])
    real = info.test_features
    bs, r = args.batch_size, args.repeats

    with contextlib.ExitStack() as stack:
        if args.threads:
            torch.set_num_threads(args.threads)
        else:
            start = time.perf_counter()
            threads = stack.enter_context(evaluation_threads(evaluator))
            print(f"thread probe picked {threads} thread(s) in {time.perf_counter() - start:.3f} s")
        t_feat, (feats, logits) = timed("features + logits (1 pass)", lambda: evaluator.embed(samples, bs), r)
        t_fid, fid_value = timed("FID (real side cached)", lambda: fid(evaluator, feats, real), r)
        t_kid, (kid_mean, kid_std) = timed("KID (100 subsets of 1000)", lambda: kid(evaluator, feats, real), r)
        t_is, scores = timed("IS + class histogram/entropy", lambda: class_scores(logits), r)
        print(f"{'total (sum of best)':<34}       {t_feat + t_fid + t_kid + t_is:7.3f} s")
        print(f"scores: FID {fid_value:.4f}  KID {kid_mean:.5f} +- {kid_std:.5f}  IS {scores['eval/is']:.3f}  "
              f"entropy {scores['eval/class_entropy']:.4f}")
        timed("FID from images (torchmetrics)", lambda: fid(evaluator, samples, real), r)
    with tempfile.TemporaryDirectory() as out_dir:  # includes its own thread probe
        timed("evaluate_generative end to end", lambda: evaluate_generative(
            Replay(samples), dataset=args.dataset, data_root=data_root, normalize="tanh",
            num_samples=args.num_samples, cache_dir=cache_dir, out_dir=out_dir, device="cpu", batch_size=bs), r)


if __name__ == "__main__":
    main()
