"""From runs to tables: which keys were swept, which metrics to show, the best run, and the pivot (seed 001 Table 1).

A table is a plain :class:`Grid` (a header and rows of raw values); ``render.py`` turns grids into Markdown, CSV and
rich tables, so every output shows the same numbers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Iterable, Sequence

from gan_sweeps.report.runs import Run, is_number, parse_scalar

# Shown first when present, in this order (seed 001's classifier metrics, then sample-quality scores).
PREFERRED_METRICS = ("eval/fid", "eval/kid_mean", "eval/is", "eval/cond_acc", "eval/conf_correct",
                     "eval/conf_incorrect", "eval/class_entropy")
# Shown last when present: training state and speed (seed 002's seconds per epoch).
TRAILING_METRICS = ("train/d_loss", "train/g_loss", "epochs_done", "s_per_epoch", "images_per_s")
# Lower is better for these names; higher for the rest (IS, accuracy, mAP, images/s).
LOWER_IS_BETTER = re.compile(r"fid|kid|loss|error|err\b|wall_time|seconds|s_per_epoch|nll|recon|kl\b")
DIRECTIONS = {"min": "min", "minimize": "min", "max": "max", "maximize": "max"}
# Overrides that identify a job's Optuna trial (added by the optuna sweeper, hydra_plugins/gan_sweeps_optuna):
# bookkeeping, not settings, so never swept or fixed columns.
BOOKKEEPING_KEY_PREFIXES = ("optuna.",)
REFERENCE_NAME = "real data"
BEST_MARK = "★"


@dataclass
class Grid:
    """A table: ``header`` names and ``rows`` of raw values (None: blank); ``best_row`` is highlighted;
    ``notes`` are lines printed under it."""

    title: str
    header: list[str]
    rows: list[list[Any]]
    best_row: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Sweep:
    """The runs with what the report decided about them."""

    runs: list[Run]
    swept: list[str]  # override keys whose values differ across runs, in command-line order
    fixed: dict[str, str]  # overrides every run shares
    metrics: list[str]
    primary: str | None
    direction: str  # "min" or "max"
    best: Run | None

    def label(self, run: Run) -> str:
        """``k=2, optim.beta1=0.5``: the run's swept settings (its folder name when nothing was swept)."""
        parts = [f"{key}={run.setting(key)}" for key in self.swept if run.setting(key) is not None]
        return ", ".join(parts) if parts else run.name


# ---- deciding ----------------------------------------------------------------------------------------------------
def sort_key(text: str | None) -> tuple:
    """Numbers in numeric order, then text, then blanks."""
    value = parse_scalar(text) if text is not None else None
    if is_number(value):
        return (0, value, "")
    return (1, 0, str(text)) if text is not None else (2, 0, "")


def swept_keys(runs: Sequence[Run]) -> tuple[list[str], dict[str, str]]:
    """Override keys whose values differ across runs (a run without the override counts with its config value; one
    without any value, e.g. a job whose .hydra/ is still being written, does not count) and the overrides all runs
    share. Keys keep the order they were first given on the command line."""
    keys: list[str] = []
    for run in runs:
        keys.extend(k for k in run.overrides if k not in keys and not k.startswith(BOOKKEEPING_KEY_PREFIXES))
    swept, fixed = [], {}
    for key in keys:
        values = {run.setting(key) for run in runs} - {None}
        if len(values) > 1:
            swept.append(key)
        else:
            fixed[key] = values.pop() or ""
    return swept, fixed


def direction_for(metric: str) -> str:
    """``min`` for FID/KID/losses/times, ``max`` for everything else (IS, accuracies, images/s)."""
    return "min" if LOWER_IS_BETTER.search(metric.lower()) else "max"


def default_metrics(runs: Sequence[Run]) -> list[str]:
    """The metrics worth a column: preferred evaluation metrics, other ``eval/`` scalars (not ``*_std``), then
    losses and speed, each only when at least one run recorded it."""
    present: set[str] = set().union(*(run.metric_names() for run in runs))
    chosen = [m for m in PREFERRED_METRICS if m in present]
    chosen += sorted(m for m in present if m.startswith("eval/") and m not in chosen and not m.endswith("_std"))
    chosen += [m for m in TRAILING_METRICS if m in present]
    return chosen


def split_list(values: Iterable[str] | None) -> list[str]:
    """Repeatable, comma-separated options (``--metric a,b --metric c``) as one list, blanks and repeats dropped."""
    items: list[str] = []
    for value in values or []:
        for part in value.split(","):
            if part.strip() and part.strip() not in items:
                items.append(part.strip())
    return items


def cell_metric(run: Run, metric: str) -> Any:
    """A run's metric as the tables show it: only completed runs have metrics (others stay blank)."""
    return run.metric(metric) if run.completed else None


def find_best(runs: Sequence[Run], metric: str | None, direction: str) -> Run | None:
    """The completed run with the best numeric value of ``metric`` (the first one on ties)."""
    scored = [(run, cell_metric(run, metric)) for run in runs] if metric else []
    scored = [(run, value) for run, value in scored if is_number(value)]
    if not scored:
        return None
    pick = min if direction == "min" else max
    return pick(scored, key=lambda pair: pair[1])[0]


def analyse(runs: list[Run], metrics: Sequence[str] = (), best: str | None = None,
            objective_direction: str | None = None) -> Sweep:
    """Decide the columns, the primary metric (the first of ``metrics``, else the runs' configured ``objective`` when
    recorded, else the first ``eval/`` one), its direction (``best``, else the sweeper's, else by name), best run."""
    swept, fixed = swept_keys(runs)
    chosen = list(metrics) or default_metrics(runs)
    primary = chosen[0] if metrics else _configured_objective(runs, chosen) or _first_quality_metric(chosen)
    if best:
        direction = DIRECTIONS[best.lower()]
    elif objective_direction and primary == _configured_objective(runs, chosen):
        direction = objective_direction
    else:
        direction = direction_for(primary or "")
    return Sweep(runs=runs, swept=swept, fixed=fixed, metrics=chosen, primary=primary, direction=direction,
                 best=find_best(runs, primary, direction))


def _first_quality_metric(metrics: Sequence[str]) -> str | None:
    """The first evaluation metric: losses and speed say nothing about which run is best."""
    return next((m for m in metrics if m.startswith("eval/")), None)


def _configured_objective(runs: Sequence[Run], shown: Sequence[str]) -> str | None:
    """The ``objective`` key of the runs' config (what the sweeper optimised) when it is one of the shown metrics."""
    for run in runs:
        objective = run.setting("objective")
        if objective in shown:
            return objective
    return None


# ---- the run table -----------------------------------------------------------------------------------------------
def reference_value(reference: dict[str, Any], metric: str) -> Any:
    """A reference score by exact name, else without its ``eval/`` prefix (``cond_acc`` for ``eval/cond_acc``)."""
    if metric in reference:
        return reference[metric]
    return reference.get(metric.split("/", 1)[1]) if "/" in metric else None


def run_grid(sweep: Sweep, reference: dict[str, Any] | None = None, details: bool = False) -> Grid:
    """One row per run: run, swept keys, status, health, metrics, best mark; ``details`` adds error and path (CSV).
    A reference row (real data scores) goes last."""
    header = ["run", *sweep.swept, "status", "health", *sweep.metrics, "best"]
    if details:
        header += ["error", "path"]
    rows, best_row = [], None
    for index, run in enumerate(sweep.runs):
        is_best = run is sweep.best
        best_row = index if is_best else best_row
        row = [run.name, *(run.setting(k) for k in sweep.swept), run.status, run.health,
               *(cell_metric(run, m) for m in sweep.metrics), BEST_MARK if is_best else ""]
        if details:
            row += [run.error, str(run.path)]
        rows.append(row)
    if any(reference_value(reference or {}, m) is not None for m in sweep.metrics):  # a row only if it says something
        row = [REFERENCE_NAME, *([None] * len(sweep.swept)), "reference", "",
               *(reference_value(reference, m) for m in sweep.metrics), ""]
        rows.append(row + (["", ""] if details else []))
    notes = []
    if sweep.primary:
        word = "lowest" if sweep.direction == "min" else "highest"
        notes.append(f"{BEST_MARK} best run: {word} {sweep.primary}"
                     + (f" (run {sweep.best.name}: {sweep.label(sweep.best)})" if sweep.best else
                        " (no completed run recorded it)"))
    return Grid(title="Runs", header=header, rows=rows, best_row=best_row, notes=notes)


# ---- the pivot (seed 001 Table 1) --------------------------------------------------------------------------------
def _combinations(runs: Sequence[Run], keys: Sequence[str]) -> list[tuple[str | None, ...]]:
    """The value combinations of ``keys`` that occur among the runs, sorted (numbers numerically)."""
    seen = {tuple(run.setting(k) for k in keys) for run in runs}
    return sorted(seen, key=lambda combo: tuple(sort_key(v) for v in combo))


def _cell(runs: Sequence[Run], metric: str) -> Any:
    """Mean of the completed runs' values; with no completed value, the runs' statuses (e.g. ``diverged``)."""
    values = [v for v in (cell_metric(run, metric) for run in runs) if is_number(v)]
    if values:
        return values[0] if len(values) == 1 else sum(values) / len(values)
    statuses = sorted({run.status for run in runs if not run.completed})
    return "/".join(statuses) or None


def missing_keys(runs: Sequence[Run], keys: Sequence[str]) -> list[str]:
    """Keys no run has a value for (a typo in --rows/--cols)."""
    return [k for k in keys if all(run.setting(k) is None for run in runs)]


def pivot_grid(sweep: Sweep, rows: Sequence[str], cols: Sequence[str], metrics: Sequence[str] | None = None,
               reference: dict[str, Any] | None = None) -> Grid:
    """One row per combination of ``rows`` keys; one column group per combination of ``cols`` keys holding each
    metric (header cells ``group\\nmetric``). Several runs in one cell (e.g. seeds) are averaged; a cell whose runs
    did not complete shows their status."""
    metrics = list(metrics or sweep.metrics)
    row_combos = _combinations(sweep.runs, rows) if rows else [()]
    col_combos = _combinations(sweep.runs, cols) if cols else [()]
    groups = [", ".join(f"{k}={v}" for k, v in zip(cols, combo)) for combo in col_combos]
    header = [*rows] if rows else [""]
    header += [f"{group}\n{metric}" if group else metric for group, metric in product(groups, metrics)]
    table: list[list[Any]] = []
    averaged = 0
    for row_combo in row_combos:
        row: list[Any] = list(row_combo) if rows else ["all runs"]
        for col_combo, metric in product(col_combos, metrics):
            members = [run for run in sweep.runs if _matches(run, rows, row_combo) and _matches(run, cols, col_combo)]
            averaged += len(members) > 1 and metric == metrics[0]
            row.append(_cell(members, metric) if members else None)
        table.append(row)
    if any(reference_value(reference or {}, m) is not None for m in metrics):
        label = [REFERENCE_NAME] + [None] * (max(len(rows), 1) - 1)
        table.append(label + [reference_value(reference, m) for _, m in product(col_combos, metrics)])
    notes = [f"rows: {', '.join(rows) or '-'}; column groups: {', '.join(cols) or '-'}"]
    if averaged:
        others = [k for k in sweep.swept if k not in rows and k not in cols]
        notes.append(f"{averaged} cells average several completed runs" + (f" (over {', '.join(others)})" if others
                                                                           else ""))
    return Grid(title="Pivot", header=header, rows=table, notes=notes)


def _matches(run: Run, keys: Sequence[str], values: Sequence[str | None]) -> bool:
    return all(run.setting(k) == v for k, v in zip(keys, values))


# ---- the sweeper's best trial ------------------------------------------------------------------------------------
def optimization_grid(results: dict[str, Any], runs: Sequence[Run]) -> Grid:
    """``optimization_results.yaml`` as a key/value table, with the run whose overrides match ``best_params``."""
    rows: list[list[Any]] = []
    for key, value in results.items():
        if key == "solutions":
            continue  # several objectives: shown by pareto_grid
        if key == "best_params" and isinstance(value, dict):
            rows += [[f"best_params.{k}", v] for k, v in value.items()]
        elif isinstance(value, (dict, list)):
            rows.append([key, json.dumps(value, default=str)])
        else:
            rows.append([key, value])
    params = results.get("best_params")
    if isinstance(params, dict) and params:
        matching = [run.name for run in runs
                    if all(_same_value(run.setting(str(k)), v) for k, v in params.items())]
        rows.append(["matching run", ", ".join(matching) or "not found among the run folders"])
    return Grid(title="Best trial (optimization_results.yaml)", header=["key", "value"], rows=rows)


# ---- the sweeper's Pareto front (issue 13: multi-objective Optuna studies) ----------------------------------------
def pareto_grid(results: dict[str, Any]) -> Grid | None:
    """A multi-objective study's Pareto front (``solutions`` of ``optimization_results.yaml``): one row per trial on
    the front, its run folder, each objective's value (named by the study's ``objective`` list and ``directions``)
    and its parameters; None for a single-objective study."""
    solutions = results.get("solutions")
    if not isinstance(solutions, list):
        return None
    directions = list(results.get("directions") or [])
    objective = results.get("objective")
    names = list(objective) if isinstance(objective, list) else [f"objective {i}" for i in range(len(directions))]
    columns = [f"{name} ({direction})" for name, direction in zip(names, directions)]
    params = sorted({key for s in solutions for key in (s.get("params") or {})})
    rows = [[s.get("trial"), s.get("run"), *list(s.get("values") or []),
             *[(s.get("params") or {}).get(key) for key in params]] for s in solutions]
    return Grid(title=f"Pareto front ({len(rows)} trials, optimization_results.yaml)",
                header=["trial", "run", *columns, *params], rows=rows,
                notes=["no trial on the front is better in every objective than another one"])


def _same_value(text: str | None, value: Any) -> bool:
    """``'0.5'`` equals 0.5 and ``'5e-4'`` equals 0.0005 (YAML and the command line spell numbers differently)."""
    parsed = parse_scalar(text)
    if is_number(parsed) and is_number(value):
        return abs(parsed - value) <= 1e-12 * max(1.0, abs(value))
    return str(text) == str(value)
