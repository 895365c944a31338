"""``python -m gan_sweeps.studies STUDY RUN_OR_SWEEP_DIR... --out DIR [options]``: one study of seed 001 (its §6 and
appendix) on finished runs; tables (Markdown + CSV), figures and ``study.json`` go into ``--out``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ContextManager, Sequence

import torch

from gan_sweeps.data import DatasetNotFoundError
from gan_sweeps.studies import (augmentation, class_distribution, cross_discriminator, embeddings, extra_data,
                                pca_baseline, sequential)
from gan_sweeps.studies.output import StudyOutput
from gan_sweeps.studies.runs import StudyError, StudyRun, find_runs

STUDIES = {module.NAME: module for module in (augmentation, extra_data, sequential, cross_discriminator,
                                              pca_baseline, embeddings, class_distribution)}
EXAMPLES = """examples:
  python -m gan_sweeps.studies augmentation multirun/2026-12-01/10-00-00 --out studies/augmentation
  python -m gan_sweeps.studies cross-discriminator multirun/2026-12-01/10-00-00 --fixed 3 --out studies/cross
  python -m gan_sweeps.studies pca-baseline multirun/2026-12-01/10-00-00 --out multirun/2026-12-01/10-00-00/pca
  python -m gan_sweeps.studies STUDY --help   # the study's own options"""


@dataclass
class Context:
    """What every study gets besides its options: the runs found, the device, the data and cache folders."""

    runs: list[StudyRun]
    device: torch.device
    data_root: str | None
    cache_dir: str


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_sweeps.studies", description=__doc__.split("\n\n")[0],
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="study", required=True, metavar="STUDY")
    for module in STUDIES.values():
        p = sub.add_parser(module.NAME, help=module.TITLE, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("paths", nargs="*" if getattr(module, "RUNS_OPTIONAL", False) else "+",
                       metavar="RUN_OR_SWEEP_DIR", help="run folders, or sweep folders holding them")
        p.add_argument("--out", type=Path, required=True, help="output folder (created; run folders stay untouched)")
        p.add_argument("--device", default=_default_device(), help="torch device (default: cuda if present, else cpu)")
        p.add_argument("--seed", type=int, default=0, help="seed of data orders, samples and classifiers (default 0)")
        p.add_argument("--data-root", help="folder holding MNIST/raw (default: the runs' data.root)")
        p.add_argument("--cache-dir", help="evaluator cache (default: the runs' eval.cache_dir)")
        module.add_arguments(p)
    return parser


def _context(args: argparse.Namespace) -> Context:
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise StudyError(f"--device {args.device!r} is not a torch device") from None
    runs = find_runs(args.paths, device) if args.paths else []
    first = runs[0] if runs else None
    data_root = args.data_root or (first.setting("data.root") if first else None) or os.environ.get("GAN_SWEEPS_DATA")
    cache_dir = (args.cache_dir or (first.setting("eval.cache_dir") if first else None)
                 or os.environ.get("GAN_SWEEPS_CACHE") or "~/.cache/gan_sweeps")
    return Context(runs=runs, device=device, data_root=data_root, cache_dir=os.path.expanduser(str(cache_dir)))


def _cpu_threads(device: torch.device) -> ContextManager[int]:
    """On the CPU, the intra-op thread count under which a conv net's forward pass is fastest right now (one
    thread can be several times faster than two on a busy machine: evaluation/threads.py); training loops adapt
    their own."""
    if device.type != "cpu":
        return contextlib.nullcontext(torch.get_num_threads())
    from gan_sweeps.evaluation.evaluator import Evaluator, evaluation_threads

    return evaluation_threads(Evaluator())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 written, 2 a request the study cannot serve, with one ``error:``
    line on stderr)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, argparse printed why)
        return int(exc.code or 0)
    module = STUDIES[args.study]
    try:
        ctx = _context(args)
        out = StudyOutput(args.out, module.NAME, module.TITLE, argv,
                          {k: v for k, v in vars(args).items() if k != "study"})
        with _cpu_threads(ctx.device):
            used = module.run(args, ctx, out)
        out.finish(used)
    except (StudyError, DatasetNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
