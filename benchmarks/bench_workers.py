"""Worker scaling of the Optuna sweeper: trials per hour when 1, 2 or 4 worker processes share one study (journal
file) at smoke size (128 images, 1 epoch, eval=off), from the first worker's start to the last worker's end.

    python benchmarks/bench_workers.py [--trials 12] [--workers 1,2,4] [OVERRIDE ...]   # e.g. threads=1

Each worker is the same ``python -m gan_sweeps -m hydra/sweeper=optuna ...`` command; on a machine with fewer cores
than workers the trials compete for the CPU (threads are not capped across separate commands)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TINY = ["data.train_size=128", "batch_size=64", "trainer.max_epochs=1", "logger=csv", "eval=off",
        "objective=train/d_loss"]


def run(workers: int, trials: int, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "gan_sweeps", "-m", "hydra/sweeper=optuna", *TINY,
                   "optim.lr=tag(log, interval(1e-4, 1e-2))", f"hydra.sweeper.n_trials={trials}",
                   "hydra.sweeper.storage=journal", "hydra.sweep.dir=study", "hydra.sweeper.heartbeat_interval=1",
                   *extra]
        started = time.perf_counter()
        procs = [subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                  env={**os.environ, "CI": "1"}) for _ in range(workers)]
        codes = [p.wait() for p in procs]
        elapsed = time.perf_counter() - started
        done = sum(1 for d in Path(folder, "study").iterdir() if d.name.isdigit())
        if any(codes) or done != trials:
            raise SystemExit(f"{workers} workers: exit codes {codes}, {done} trial folders")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("overrides", nargs="*", help="more overrides for every worker, e.g. threads=1")
    args = parser.parse_args()
    print(f"{'workers':>7} {'wall s':>8} {'trials/hour':>12}  ({args.trials} trials, {os.cpu_count()} cores"
          f"{', ' + ' '.join(args.overrides) if args.overrides else ''})")
    for workers in (int(w) for w in args.workers.split(",")):
        elapsed = run(workers, args.trials, args.overrides)
        print(f"{workers:>7} {elapsed:>8.1f} {args.trials * 3600 / elapsed:>12.0f}")


if __name__ == "__main__":
    main()
