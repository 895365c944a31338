"""The plan's estimate against the actual wall time (issue 12: within 25 %) for two sweeps:

- ``make-run``: `make run`'s sweep (the cGAN k x beta1 grid at the Makefile's size);
- ``mlp``: a 6-job full-MNIST MLP GAN sweep (1 epoch each, three learning rates x two batch sizes).

Each sweep is planned first (``hydra.sweeper.plan=true``: earlier runs under this folder's multirun/, else a
probe), then run into a temporary folder under multirun/; its plan.json and run records give the estimate and
the actual wall time (plan written -> last record). Prints one line per sweep.
Usage: python benchmarks/bench_plan.py [make-run|mlp ...]"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SWEEPS = {
    "make-run": None,  # read from the Makefile, so the benchmark follows `make run`
    "mlp": ["model=mlp_gan", "optim.lr=1e-4,2e-4,5e-4", "batch_size=64,128", "trainer.max_epochs=1",
            "eval.num_samples=2000"],
}


def make_run_overrides() -> list[str]:
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    line = re.search(r"\$\(PY\) -m gan_sweeps -m (.*)", text).group(1)
    return [a for a in shlex.split(line) if not a.startswith("hydra.sweep.dir=")]


def gan_sweeps(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gan_sweeps", "-m", *args], cwd=REPO, env=env, text=True,
                          capture_output=True)


def main(names: list[str]) -> int:
    env = {**os.environ, "WANDB_MODE": os.environ.get("WANDB_MODE", "offline")}
    env.setdefault("GAN_SWEEPS_DATA", str(REPO.parent / "shared" / "datasets"))
    sys.path.insert(0, str(REPO))
    from gan_sweeps.sweep.plan import duration, estimate_vs_actual, read_plan

    for name in names or list(SWEEPS):
        overrides = SWEEPS[name] or make_run_overrides()
        planned = gan_sweeps([*overrides, "hydra.sweeper.plan=true"], env)
        if planned.returncode:
            print(planned.stderr[-2000:], file=sys.stderr)
            return 1
        sweep = REPO / "multirun" / f"bench-plan-{name}-{int(time.time())}"
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = gan_sweeps([*overrides, f"hydra.sweep.dir={sweep}"], env)
        wall = time.perf_counter() - start
        if done.returncode:
            print(done.stderr[-2000:], file=sys.stderr)
            return 1
        plan = read_plan(sweep)
        records = {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/metrics.json")}
        total = plan.get("total_s")
        error = f"{(total - wall) / wall:+.0%}" if total else "no estimate"
        print(f"{name}: {len(plan['jobs'])} jobs, estimated {duration(total)} "
              f"({sorted({j['source'].split(':')[0] for j in plan['jobs']})}), command wall {duration(wall)}: "
              f"{error} (target within 25 %); load average {load:.1f}")
        print("  " + (estimate_vs_actual(sweep, records) or ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
