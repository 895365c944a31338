"""``python -m gan_sweeps.report SWEEP_DIR [options]`` and ``gan-sweeps report``: the report (``cli``: its options
and ``make_report``), then, with ``--wandb``, its W&B run (``dashboard``). Kept apart from ``cli`` because the
dashboard builds on ``cli``'s report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from gan_sweeps.report.cli import Report, ReportError, build_parser, make_report, parse_options
from gan_sweeps.report.runs import NoRunsError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m gan_sweeps.report`` and ``gan-sweeps report``; returns the exit status
    (0 written, 2 bad request or no runs - with one ``error:`` line on stderr)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, argparse printed why)
        return int(exc.code or 0)
    try:
        report = make_report(args.sweep_dir, parse_options(args))
    except (NoRunsError, ReportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return log_to_wandb(report, args.sweep_dir, args.out or args.sweep_dir) if args.wandb else 0


def log_to_wandb(report: Report, root: Path, out: Path) -> int:
    """``--wandb``: the report run (gan_sweeps/report/dashboard.py); 1 with one line when it cannot be logged."""
    from gan_sweeps.report.dashboard import log_report, recorded_target

    try:
        target = recorded_target(root)
        if target is None:
            print("error: --wandb: W&B is disabled (WANDB_MODE=disabled)", file=sys.stderr)
            return 1
        folder = log_report(report, root, target, out)
    except Exception as exc:  # noqa: BLE001 - the report is written; W&B's failure is one line
        print(f"error: the W&B report run was not logged: {type(exc).__name__}: {exc}".splitlines()[0],
              file=sys.stderr)
        return 1
    print(f"logged the report run to W&B project {target.project} ({target.mode}), group {target.group}, "
          f"job_type report: {folder}" + (" (upload: wandb sync)" if target.mode == "offline" else ""))
    return 0
