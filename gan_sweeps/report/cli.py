"""``python -m gan_sweeps.report SWEEP_DIR [options]`` (also ``gan-sweeps report``): a sweep folder -> report.md,
report.csv, figures and a terminal table. See ``--help``; :func:`make_report` is the same without argument parsing."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from gan_sweeps.atomic import atomic_write_text
from gan_sweeps.sweep.plan import estimate_vs_actual
from gan_sweeps.report import render
from gan_sweeps.report.race import load_race, race_lines
from gan_sweeps.report.runs import Run, expected_job_count, flatten, is_number, load_optimization_results, load_sweep
from gan_sweeps.report.table import (DIRECTIONS, Grid, Sweep, analyse, missing_keys, name_list, optimization_grids,
                                     pareto_grid, pivot_grid, run_grid, settings_grid, split_list, swept_keys)

EXAMPLES = """examples:
  python -m gan_sweeps.report multirun/2024-05-01/12-00-00
  python -m gan_sweeps.report SWEEP --rows k,optim.beta1 --cols model.depth \\
      --metric eval/cond_acc,eval/conf_correct,eval/conf_incorrect      # seed 001 Table 1
  python -m gan_sweeps.report SWEEP --epochs 10,20,50,100              # seed 002 samples by epoch
  python -m gan_sweeps.report SWEEP --repeat-key seed,data.labelled_seed  # these keys are repeats, not settings

Repeats: runs that differ only in a repeat key (default: seed, when swept) are one setting; its metrics are shown
as mean ± half-width of the 95 % t-interval over the repeats (n >= 3; with fewer, the values), and the best setting
is marked only when Welch's t-test (two-sided, level 0.05) separates it from every other one.
"""
NO_REPEATS = "none"  # --repeat-key none: every swept key is a setting


class ReportError(Exception):
    """A problem with the request (unknown key, unreadable reference): reported as one line, exit status 2."""


@dataclass
class ReportOptions:
    metrics: list[str] = field(default_factory=list)  # empty: the default set found in the runs
    rows: list[str] = field(default_factory=list)
    cols: list[str] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    out: Path | None = None  # None: the sweep folder
    best: str | None = None  # "min"/"max" (or minimize/maximize); None: by the metric's name
    reference: Path | None = None
    figures: bool = True
    print_table: bool = True  # the terminal output: tables, files written, warnings (False: Report.warnings)
    repeat_keys: list[str] | None = None  # None: seed when swept; []: no repeat axis
    all_columns: bool = False  # the terminal shows every column (default: the headline ones, fitted to the width)


@dataclass
class Report:
    """What one report call decided and wrote (tests and callers read it instead of parsing files)."""

    sweep: Sweep
    grids: list[Grid]
    files: dict[str, Path]
    warnings: list[str]
    lines: list[str] = field(default_factory=list)  # the summary above the tables (runs, swept keys, best)
    reference: dict[str, Any] = field(default_factory=dict)  # the real data's scores (the tables' reference row)


# ---- inputs ------------------------------------------------------------------------------------------------------
REFERENCE_FILE = "reference.json"  # the real data's own scores, written by each evaluated run (gan_sweeps.run.train)


def run_reference(runs: list[Run]) -> Path | None:
    """The ``reference.json`` the runs left, when they all trained on one dataset (else the row would mislead)."""
    datasets = {run.metrics.get("dataset") for run in runs if run.metrics.get("dataset")}
    found = [run.path / REFERENCE_FILE for run in runs if (run.path / REFERENCE_FILE).is_file()]
    return found[0] if found and len(datasets) <= 1 else None


def load_reference(path: Path | None) -> dict[str, Any]:
    """``--reference`` JSON: ``{metric: value}`` (nested dicts flattened with ``/``), numbers only."""
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"cannot read --reference {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ReportError(f"--reference {path} must hold a JSON object of metric -> value")
    return {k: v for k, v in flatten(data).items() if is_number(v)}


def check_keys(runs: list[Run], option: str, keys: Sequence[str], swept: Sequence[str]) -> None:
    unknown = missing_keys(runs, keys)
    if unknown:
        hint = f"swept keys: {', '.join(swept)}" if swept else "no key differs between runs"
        raise ReportError(f"{option} {', '.join(unknown)}: not set in any run ({hint})")


def unknown_metrics(runs: list[Run], metrics: Sequence[str]) -> list[str]:
    return [m for m in metrics if all(run.metric(m) is None for run in runs)]


# ---- the Markdown document ---------------------------------------------------------------------------------------
def summary_lines(sweep: Sweep, root: Path, expected: int | None) -> list[str]:
    """The few facts above the tables: run counts by status, swept (and repeat) keys, keys that differ only in the
    resolved configs, fixed overrides, primary metric and the best run or setting."""
    counts = Counter(run.status for run in sweep.runs)
    by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    total = f"{len(sweep.runs)} runs" + (f" of {expected} expected" if expected and expected != len(sweep.runs)
                                        else "")
    swept = ", ".join(sweep.setting_keys) or "(nothing differs between runs)"
    lines = [f"Sweep: {root}", f"Runs: {total} ({by_status})", f"Swept: {swept}"]
    if sweep.repeated:
        lines[-1] = f"Swept: {', '.join(sweep.setting_keys) or '(only the repeats)'}; repeats: " \
                    f"{', '.join(sweep.repeat_keys)} ({len(sweep.settings)} settings)"
    if sweep.derived:
        lines.append("Differing in the resolved configs without an override (set by a preset, a loss or an "
                     f"optimiser recipe): {', '.join(sweep.derived)}")
    if sweep.fixed:
        lines.append("Fixed overrides: " + " ".join(f"{k}={v}" for k, v in sweep.fixed.items()))
    if sweep.primary:
        word = "lower" if sweep.direction == "min" else "higher"
        if sweep.repeated:
            verdict = sweep.verdict
            if verdict is None or not verdict.ranked:
                best = "none yet"
            elif verdict.decided:
                best = f"{sweep.setting_label(sweep.settings[verdict.best])} (differs from every other setting)"
            else:
                best = "tied within noise: " + name_list([sweep.setting_label(sweep.settings[i])
                                                          for i in [verdict.best, *verdict.tied]])
            lines.append(f"Primary metric: {sweep.primary} ({word} is better); best setting: {best}")
        else:
            best = f"run {sweep.best.name} ({sweep.label(sweep.best)})" if sweep.best else "none yet"
            lines.append(f"Primary metric: {sweep.primary} ({word} is better); best: {best}")
    return lines


def problems_grid(sweep: Sweep) -> Grid | None:
    """Runs that did not complete, with their error: the list to look at first."""
    rows = [[run.name, sweep.label(run), run.status, run.health, run.error]
            for run in sweep.runs if not run.completed]
    return Grid("Runs that did not complete", ["run", "settings", "status", "health", "error"], rows) if rows else None


FIGURE_TITLES = {"loss_curves": "Loss curves (D and G loss per step)",
                 "eval_curves": "Evaluation during training",
                 "samples_mosaic": "Final samples per configuration",
                 "samples_by_epoch": "Samples by epoch",
                 "epoch_seconds": "Seconds per epoch"}


def markdown_document(sweep: Sweep, root: Path, lines: list[str], grids: list[Grid], figures: dict[str, Path],
                      out: Path) -> str:
    """report.md: summary, each table under its title, then each figure (linked relative to report.md)."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"# Sweep report: {'/'.join(root.resolve().parts[-2:])}", "",
             *(f"- {line}" for line in lines), f"- Generated: {stamp}", ""]
    bold = [sweep.primary] if sweep.primary else []
    for grid in grids:
        parts += [f"## {grid.title}", "", render.markdown_table(grid, bold_columns=bold)]
    if figures:
        parts += ["## Figures", ""]
    for name, path in figures.items():
        link = path.relative_to(out).as_posix() if path.is_relative_to(out) else path.as_posix()
        parts += [f"### {FIGURE_TITLES.get(name, name)}", "", f"![{FIGURE_TITLES.get(name, name)}]({link})", ""]
    return "\n".join(parts).rstrip() + "\n"


# ---- the report --------------------------------------------------------------------------------------------------
def draw_figures(sweep: Sweep, out: Path, epochs: Sequence[int], warnings: list[str]) -> dict[str, Path]:
    from gan_sweeps.report import figures as fig

    files = {"loss_curves": fig.loss_curves(sweep, out / "loss_curves.png"),
             "samples_mosaic": fig.samples_mosaic(sweep, out / "samples_mosaic.png")}
    curves = fig.eval_curves(sweep, out / "eval_curves.png")
    if curves:
        files["eval_curves"] = curves
    if epochs:
        files["samples_by_epoch"], shown = fig.samples_by_epoch(sweep, epochs, out / "samples_by_epoch.png")
        skipped = [e for e in epochs if e not in shown]
        if skipped:
            warnings.append(f"no run saved samples at epoch(s) {', '.join(map(str, skipped))}: left out")
    files["epoch_seconds"] = fig.epoch_seconds(sweep, out / "epoch_seconds.png")
    return files


def check_repeat_keys(runs: list[Run], keys: list[str] | None) -> list[str] | None:
    """``--repeat-key``: None (default: seed when swept), ``none`` (no repeat axis) or keys that must be swept."""
    if keys is None:
        return None
    if keys == [NO_REPEATS]:
        return []
    swept = swept_keys(runs)[0]
    unknown = [k for k in keys if k not in swept]
    if unknown:
        raise ReportError(f"--repeat-key {', '.join(unknown)}: not swept in this sweep (swept keys: "
                          f"{', '.join(swept) or 'none'}; 'none' for no repeat axis)")
    return keys


def make_report(sweep_dir: str | Path, options: ReportOptions | None = None) -> Report:
    """Read SWEEP_DIR, write report.md / report.csv (/ report_settings.csv, report_pivot.csv) and the figures into
    ``options.out`` (default SWEEP_DIR), print the tables; raises NoRunsError or ReportError for a request it cannot
    serve."""
    options = options or ReportOptions()
    root = Path(sweep_dir)
    runs = load_sweep(root)
    reference = load_reference(options.reference or run_reference(runs))
    optimization = load_optimization_results(root)
    repeat_keys = check_repeat_keys(runs, options.repeat_keys)
    sweep = analyse(runs, options.metrics, options.best, _sweeper_direction(optimization), repeat_keys)
    check_keys(runs, "--rows", options.rows, sweep.swept)
    check_keys(runs, "--cols", options.cols, sweep.swept)
    warnings = [f"metric {m} is not recorded by any run (blank column)" for m in unknown_metrics(runs, sweep.metrics)]
    out = Path(options.out) if options.out else root
    out.mkdir(parents=True, exist_ok=True)

    runs_table = run_grid(sweep, reference)
    settings = settings_grid(sweep, reference) if sweep.repeated else None
    pivot = pivot_grid(sweep, options.rows, options.cols, reference=reference) if options.rows or options.cols else None
    extra = [*(optimization_grids(optimization, runs) if optimization else []),
             *[grid for grid in [pareto_grid(optimization or {})] if grid],  # several objectives
             *[grid for grid in [problems_grid(sweep)] if grid]]
    grids = [grid for grid in (settings, runs_table, pivot) if grid] + extra
    terminal = [grid for grid in (settings or runs_table, pivot) if grid] + extra
    if options.all_columns and settings:
        terminal.insert(1, runs_table)
    figures = draw_figures(sweep, out, options.epochs, warnings) if options.figures else {}
    lines = summary_lines(sweep, root, expected_job_count(root))
    race = load_race(root)  # a raced sweep (hydra.sweeper.repeats=auto): its outcome
    if race:
        lines += race_lines(race)
    planned = estimate_vs_actual(root, {run.name: run.metrics for run in runs})
    if planned:
        lines.append(planned)

    documents = {"report.md": markdown_document(sweep, root, lines, grids, figures, out),
                 "report.csv": render.grid_csv(run_grid(sweep, reference, details=True))}
    if settings:
        documents["report_settings.csv"] = render.grid_csv(settings)
    if pivot:
        documents["report_pivot.csv"] = render.grid_csv(pivot)
    files = {name: out / name for name in documents}
    for name, text in documents.items():
        atomic_write_text(files[name], text)
    files.update({f"{name}.png": path for name, path in figures.items()})
    if options.print_table:
        render.print_grids(terminal, lines, all_columns=options.all_columns)
        print(f"wrote {', '.join(sorted(files))} to {out}")
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return Report(sweep=sweep, grids=grids, files=files, warnings=warnings, lines=lines, reference=reference)


def _sweeper_direction(optimization: dict[str, Any] | None) -> str | None:
    """``direction: minimize|maximize`` from optimization_results.yaml, when the sweeper recorded it."""
    direction = str((optimization or {}).get("direction", "")).lower()
    return DIRECTIONS.get(direction)


# ---- command line ------------------------------------------------------------------------------------------------
def _epochs(text: str) -> list[int]:
    try:
        epochs = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated epoch numbers, got {text!r}") from None
    if any(e < 1 for e in epochs):
        raise argparse.ArgumentTypeError("epochs are 1-based (samples/epoch_001.png is epoch 1)")
    return epochs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gan-sweeps report", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Tables and figures of a sweep folder (multirun/<date>/<time>/) or of a single run folder; "
                    "writes report.md, report.csv and PNG figures and prints the table.")
    parser.add_argument("sweep_dir", metavar="SWEEP_DIR", type=Path)
    parser.add_argument("--metric", "-m", action="append", metavar="KEYS",
                        help="metrics.json keys to show (repeatable or comma list; the first is the primary metric "
                             "that picks the best run); default: the evaluation metrics the runs recorded, losses, "
                             "s_per_epoch, images_per_s")
    parser.add_argument("--rows", action="append", metavar="KEYS",
                        help="pivot table: one row per value (combination) of these config keys, e.g. k,optim.beta1")
    parser.add_argument("--cols", action="append", metavar="KEYS",
                        help="pivot table: one column group per value (combination) of these keys, e.g. model.depth")
    parser.add_argument("--epochs", type=_epochs, action="append", metavar="N,N,...",
                        help="also draw samples_by_epoch.png: rows = runs, columns = these epochs, e.g. 10,20,50,100")
    parser.add_argument("--out", type=Path, help="output folder (default: SWEEP_DIR)")
    parser.add_argument("--best", choices=sorted(DIRECTIONS), type=str.lower,
                        help="whether the primary metric is minimized or maximized (default: by its name - "
                             "fid/kid/loss/time lower, everything else higher)")
    parser.add_argument("--reference", type=Path, metavar="PATH",
                        help="JSON {metric: value} of real-data scores, shown as a 'real data' row (default: the "
                             "reference.json the runs wrote, when they share one dataset)")
    parser.add_argument("--repeat-key", action="append", metavar="KEYS",
                        help="swept keys whose values are repeats of one setting, not settings (default: seed, "
                             "when swept; 'none': every swept key is a setting); tables then show mean ± 95 %% "
                             "t-interval, n, min and max per setting")
    parser.add_argument("--all-columns", action="store_true",
                        help="print every column (default: swept keys, status, health and the model family's few "
                             "key metrics, fitted to the terminal; report.md and the CSV files always hold all)")
    parser.add_argument("--no-figures", dest="figures", action="store_false", help="tables only (faster)")
    parser.add_argument("--wandb", action="store_true",
                        help="also log the report as one W&B run (job_type=report) in the sweep's group, with the "
                             "project and mode its jobs used (offline unless WANDB_MODE says otherwise), as a sweep "
                             "does at its end")
    return parser


def parse_options(args: argparse.Namespace) -> ReportOptions:
    return ReportOptions(metrics=split_list(args.metric), rows=split_list(args.rows), cols=split_list(args.cols),
                         epochs=[e for group in args.epochs or [] for e in group], out=args.out, best=args.best,
                         reference=args.reference, figures=args.figures,
                         repeat_keys=split_list(args.repeat_key) if args.repeat_key else None,
                         all_columns=args.all_columns)
