"""Sweep folder -> report: ``python -m gan_sweeps.report SWEEP_DIR`` (or ``gan-sweeps report SWEEP_DIR``).

Reads only run folders (``.hydra/``, ``metrics.json``, ``csv/metrics.csv``, ``samples/``) and writes ``report.md``,
``report.csv`` and PNG figures. Modules: ``runs`` (reading), ``table`` (swept keys, repeats and settings, best run
or setting, pivot), ``stats`` (intervals and tests over repeats), ``render`` (Markdown/CSV/terminal), ``figures``
(matplotlib), ``cli`` (options, the report as a whole), ``command`` (the entry point), ``dashboard`` (the W&B
report run)."""

from gan_sweeps.report.cli import ReportOptions, make_report
from gan_sweeps.report.command import main

__all__ = ["ReportOptions", "main", "make_report"]
