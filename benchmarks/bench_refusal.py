"""How long a bad command line takes to be refused (issue: under 2 s wall on a 2-core machine).

Runs each command below several times as a user would (a fresh ``python -m gan_sweeps`` process, from a scratch
folder) and prints the median and worst wall time, with the time Python needs to import torch and Lightning for
comparison (what every refusal cost before the checks ran ahead of them). Each command must exit with status 2
and one line on stderr; anything else is reported as a failure (exit status 1)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("GAN_SWEEPS_DATA", str(REPO.parent / "shared" / "datasets"))
os.environ.setdefault("WANDB_MODE", "offline")
REPEATS = 5
COMMANDS = {
    "out of range (k=0)": ["k=0"],
    "bad type (seed=abc)": ["seed=abc"],
    "not read by the model (model=vae k=3)": ["model=vae", "k=3"],
    "no dataset at data.root": ["data.root=/nonexistent/dir"],
    "grid pre-flight (4 jobs, 2 bad)": ["-m", "model=dcgan,vae", "k=1,2", "data.train_size=256",
                                        "trainer.max_epochs=1"],
}


def timed(args: list[str], cwd: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    return time.perf_counter() - started, proc


def main() -> int:
    failures = 0
    print(f"refusal wall time, {REPEATS} runs each (median / worst), {os.cpu_count()} CPUs:")
    with tempfile.TemporaryDirectory() as scratch:
        for label, overrides in COMMANDS.items():
            times = []
            for _ in range(REPEATS):
                seconds, proc = timed([sys.executable, "-m", "gan_sweeps", *overrides], scratch)
                times.append(seconds)
                if proc.returncode != 2 or "Traceback" in proc.stderr or not proc.stderr.startswith("error: "):
                    failures += 1
                    print(f"  FAILED {label}: exit {proc.returncode}: {proc.stderr.strip()[:300]}")
                    break
            print(f"  {label:<42} {statistics.median(times):5.2f} s / {max(times):5.2f} s")
        seconds, _ = timed([sys.executable, "-c", "import torch, pytorch_lightning"], scratch)
        print(f"  {'(for comparison: import torch + Lightning)':<42} {seconds:5.2f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
