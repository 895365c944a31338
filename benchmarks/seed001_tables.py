"""Seed 001's Table 1 and Table 3 beside ours, as Markdown (for docs/reproductions.md).

    python benchmarks/seed001_tables.py SWEEP_DIR [CROSS_STUDY_DIR]

SWEEP_DIR holds the 12 cGAN runs of ``experiment=seed001_grid model=cgan`` (benchmarks/reproduce_seed001.sh);
CROSS_STUDY_DIR the output of ``python -m gan_sweeps.studies cross-discriminator SWEEP_DIR --fixed 3``. The seed's
numbers are typed from ../shared/seeds/001_f099b7c2026c9d28.txt (Table 1, l.151-157; Table 3, l.271-277)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import yaml

# (k, beta1) -> (deep acc, conf C, conf I, shallow acc, conf C, conf I), percent
TABLE1 = {(1, 0.5): (99.02, 99.62, 81.25, 74.02, 97.81, 91.83), (1, 0.9): (99.25, 99.76, 82.08, 73.40, 96.41, 87.21),
          (2, 0.5): (98.83, 99.66, 83.77, 98.22, 94.29, 58.51), (2, 0.9): (99.34, 99.82, 81.82, 98.90, 99.64, 80.41),
          (3, 0.5): (98.78, 99.70, 83.61, 98.59, 99.60, 81.56), (3, 0.9): (99.27, 99.78, 85.34, 98.15, 99.51, 82.41)}
# (k, beta1) -> accuracy of that (shallow) discriminator on the samples of the shallow k=2, beta1=0.9 generator
TABLE3 = {(1, 0.5): 94.93, (1, 0.9): 69.12, (2, 0.5): 51.78, (2, 0.9): 43.53, (3, 0.5): 100.0, (3, 0.9): 99.94}
METRICS = ("eval/cond_acc", "eval/conf_correct", "eval/conf_incorrect")


def runs(sweep: Path) -> dict[tuple[str, int, float], tuple[str, dict]]:
    found = {}
    for metrics in sorted(sweep.glob("*/metrics.json")):
        cfg = yaml.safe_load((metrics.parent / ".hydra" / "config.yaml").read_text())
        key = (cfg["model"]["depth"], int(cfg["k"]), float(cfg["optim"]["beta1"]))
        found[key] = (metrics.parent.name, json.loads(metrics.read_text()))
    return found


def pct(value) -> str:
    return f"{100 * value:.2f}" if isinstance(value, (int, float)) else "-"


def _float(value):
    return float(value) if value not in (None, "") else None


def table1(found) -> str:
    lines = ["| k | beta1 | depth | seed acc | ours acc | seed conf C | ours conf C | seed conf I | ours conf I "
             "| ours FID | ours health |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (k, beta1), seed in TABLE1.items():
        for depth, offset in (("deep", 0), ("shallow", 3)):
            run, m = found.get((depth, k, beta1), ("", {}))
            ours = [pct(m.get(name)) for name in METRICS]
            fid = f"{m['eval/fid']:.1f}" if isinstance(m.get("eval/fid"), (int, float)) else "-"
            lines.append(f"| {k} | {beta1} | {depth} (run {run}) | {seed[offset]:.2f} | {ours[0]} | "
                         f"{seed[offset + 1]:.2f} | {ours[1]} | {seed[offset + 2]:.2f} | {ours[2]} | {fid} | "
                         f"{m.get('health', '-')} |")
    return "\n".join(lines)


def table3(found, cross: Path) -> str:
    rows = list(csv.DictReader((cross / "cross-discriminator.csv").open()))
    by_run = {r["run"].split()[0]: r for r in rows}  # the fixed run is "3 (fixed)"
    lines = ["| k | beta1 | seed: D's accuracy on the fixed G's samples | ours (shallow) | ours: D on real test images "
             "| ours (deep D) |", "|---|---|---|---|---|---|"]
    for (k, beta1), seed in TABLE3.items():
        cells = []
        for depth in ("shallow", "deep"):
            run, _ = found.get((depth, k, beta1), ("", {}))
            row = by_run.get(run, {})
            cells.append((run, row.get("d_acc_on_fixed_G"), row.get("d_acc_on_real")))
        (s_run, s_fake, s_real), (d_run, d_fake, _) = cells
        lines.append(f"| {k} | {beta1} | {seed:.2f} | {pct(_float(s_fake))} (run {s_run}) | {pct(_float(s_real))} "
                     f"| {pct(_float(d_fake))} (run {d_run}) |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    found = runs(Path(argv[0]))
    print(table1(found))
    if len(argv) > 1:
        print()
        print(table3(found, Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
