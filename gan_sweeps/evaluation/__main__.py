"""``python -m gan_sweeps.evaluation [--dataset mnist] [--out ref.json]``: the real data's reference scores
(trains/loads the cached evaluator), as the flat ``{metric: value}`` JSON that ``gan_sweeps.report --reference``
reads. ``--run RUN_DIR [--num-samples N]``: re-score a finished run with the current metrics instead (rescore.py:
its ``metrics.json`` gets the new ``eval/*`` values and health; the scores are printed)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from gan_sweeps.evaluation.evaluate import reference_scores

DEFAULT_CACHE = "~/.cache/gan_sweeps"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].split(": ", 1)[-1])
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    parser.add_argument("--data-root", default=os.environ.get("GAN_SWEEPS_DATA", "data"))
    parser.add_argument("--cache-dir", default=None,
                        help=f"evaluator cache (default: $GAN_SWEEPS_CACHE, else {DEFAULT_CACHE}; with --run: the "
                             "run's eval.cache_dir)")
    parser.add_argument("--out", type=Path, help="write the JSON here (default: print it)")
    parser.add_argument("--run", type=Path, metavar="RUN_DIR",
                        help="re-score this finished run folder and update its metrics.json")
    parser.add_argument("--num-samples", type=int, metavar="N",
                        help="with --run: samples to score (default: the run's eval.num_samples)")
    args = parser.parse_args()
    if args.run is not None:
        from gan_sweeps.evaluation.rescore import rescore, scores_text
        from gan_sweeps.studies.runs import StudyError

        try:
            metrics = rescore(args.run, num_samples=args.num_samples, cache_dir=args.cache_dir)
        except StudyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        print(scores_text(metrics))
        print(f"updated {args.run / 'metrics.json'} ({metrics['rescored']['seconds']} s)")
        return
    if args.num_samples is not None:
        parser.error("--num-samples needs --run")
    cache_dir = args.cache_dir or os.environ.get("GAN_SWEEPS_CACHE", DEFAULT_CACHE)
    text = json.dumps(reference_scores(args.dataset, args.data_root, os.path.expanduser(cache_dir)),
                      indent=2, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
