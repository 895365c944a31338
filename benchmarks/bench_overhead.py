"""Per-job overhead of a smoke sweep: where a job's time goes besides training.

Runs a 6-job cGAN sweep at smoke size (512 images, 1 epoch; ``seed=0..5``) as a user would, in one subprocess
(the basic launcher runs the jobs in one process), and prints each job's ``timings`` from its ``metrics.json``
(gan_sweeps/run/timings.py) and the mean overhead per job: the command's wall time minus the training time, over the
jobs. The command's own start (Python, Hydra, torch imports) is shared by the jobs and shown apart.
Usage: python benchmarks/bench_overhead.py [--jobs N] [--eval off] [--num-samples N]"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHASES = ("startup", "setup", "wandb", "fit_other", "train", "eval", "reference", "teardown")
TARGET_S = 1.5  # issue 12: a smoke job's overhead, evaluation on


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--eval", choices=("default", "off"), default="default")
    parser.add_argument("--num-samples", type=int, default=None, help="eval.num_samples (default: the config's)")
    args = parser.parse_args()
    env = {**os.environ, "WANDB_MODE": os.environ.get("WANDB_MODE", "offline")}
    env.setdefault("GAN_SWEEPS_DATA", str(REPO.parent / "shared" / "datasets"))
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "sweep"
        cmd = [sys.executable, "-m", "gan_sweeps", "-m", "model=cgan", "model.depth=shallow", "d_step=joint",
               "data.train_size=512", "trainer.max_epochs=1",
               f"eval={args.eval}", "seed=" + ",".join(str(i) for i in range(args.jobs)),
               f"hydra.sweep.dir={sweep}"]
        if args.num_samples:
            cmd.append(f"eval.num_samples={args.num_samples}")
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            return 1
        records = [json.loads((sweep / str(i) / "metrics.json").read_text()) for i in range(args.jobs)]
    for r in records:  # a run recorded before timings existed: its wall time, training and the rest
        r.setdefault("timings", {"train": sum(r.get("epoch_seconds") or []),
                                 "eval": r.get("wall_time_s", 0.0) - sum(r.get("epoch_seconds") or [])})
    print(f"{args.jobs}-job smoke sweep ({' '.join(cmd[3:-1])}), load average {load:.1f} on "
          f"{os.cpu_count()} cores: {wall:.1f} s wall")
    print("job " + " ".join(f"{p:>9}" for p in PHASES) + "  overhead")
    for i, r in enumerate(records):
        t = r.get("timings", {})
        overhead = sum(v for k, v in t.items() if k != "train")
        print(f"{i:>3} " + " ".join(f"{t.get(p, 0.0):9.2f}" for p in PHASES) + f"  {overhead:8.2f}")
    train = sum(r["timings"].get("train", 0.0) for r in records)
    per_job = (wall - train) / args.jobs
    shared = records[0]["timings"].get("startup", 0.0) + records[0]["timings"].get("setup", 0.0)
    later = [sum(v for k, v in r["timings"].items() if k != "train") for r in records[1:]] or [0.0]
    print(f"per job: {per_job:.2f} s overhead (command wall {wall:.1f} s - training {train:.1f} s, over "
          f"{args.jobs} jobs); the first job's start-up and imports {shared:.2f} s; a later job's overhead "
          f"{sum(later) / len(later):.2f} s (target {TARGET_S} s)")
    evals = [r["timings"].get("eval", 0.0) for r in records[1:]] or [0.0]
    samples = records[-1].get("eval/num_samples")
    print(f"a later job without its evaluation: {(sum(later) - sum(evals)) / len(later):.2f} s; its evaluation "
          f"(generating and scoring {samples} samples: compute that grows with eval.num_samples): "
          f"{sum(evals) / len(evals):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
