"""``python -m gan_sweeps.evaluation [--dataset mnist] [--out ref.json]``: the real data's reference scores
(trains/loads the cached evaluator), as the flat ``{metric: value}`` JSON that ``gan_sweeps.report --reference``
reads."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from gan_sweeps.evaluation.evaluate import reference_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].split(": ", 1)[-1])
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    parser.add_argument("--data-root", default=os.environ.get("GAN_SWEEPS_DATA", "data"))
    parser.add_argument("--cache-dir", default=os.environ.get("GAN_SWEEPS_CACHE", "~/.cache/gan_sweeps"))
    parser.add_argument("--out", type=Path, help="write the JSON here (default: print it)")
    args = parser.parse_args()
    text = json.dumps(reference_scores(args.dataset, args.data_root, os.path.expanduser(args.cache_dir)),
                      indent=2, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
