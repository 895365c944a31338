"""From runs to tables: which keys were swept, which are repeats (seeds), which metrics to show, the best setting,
and the pivot (seed 001 Table 1).

A table is a plain :class:`Grid` (a header and rows of raw values; a cell over several runs holds a
:class:`~gan_sweeps.report.stats.Summary`); ``render.py`` turns grids into Markdown, CSV and rich tables, so every
output shows the same numbers."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Iterable, Sequence

from gan_sweeps.report import stats
from gan_sweeps.report.runs import Run, is_number, parse_scalar
from gan_sweeps.report.stats import Summary, Verdict, describe_summary, summarize
from gan_sweeps.sweep.keys import DEFAULT_REPEAT_KEYS, is_bookkeeping

# Shown first when present, in this order (seed 001's classifier metrics, then sample-quality scores).
PREFERRED_METRICS = ("eval/fid", "eval/kid_mean", "eval/is", "eval/cond_acc", "eval/conf_correct",
                     "eval/conf_incorrect", "eval/intra_fid", "eval/intra_recall", "eval/intra_spread",
                     "eval/class_entropy")
# Shown last when present: training state and speed (seed 002's seconds per epoch).
TRAILING_METRICS = ("train/d_loss", "train/g_loss", "epochs_done", "s_per_epoch", "images_per_s")
# The few metrics that matter per model family (metrics.json "model"): what the terminal shows by default.
HEADLINE_METRICS = {
    "cgan": ("eval/cond_acc", "eval/intra_fid", "eval/intra_recall", "eval/fid", "eval/is"),  # intra_*: see collapse
    "dcgan": ("eval/fid", "eval/is", "eval/kid_mean"),
    "mlp_gan": ("eval/fid", "eval/is", "eval/kid_mean"),
    "vae": ("eval/elbo", "eval/fid", "eval/recon_bce"),
    "ae": ("eval/recon_bce", "eval/recon_mse"),
    "dae": ("eval/recon_bce", "eval/recon_mse"),
    "ssgan": ("eval/ssl_acc", "eval/ssl_errors", "eval/fid"),
    "triplet_gan": ("eval/knn_acc", "eval/map", "eval/pretrain/knn_acc"),
}
# Without evaluation (eval=off): the losses say how training went.
HEADLINE_FALLBACK = ("train/d_loss", "train/g_loss", "train/loss", "train/vae_loss", "train/recon")
HEADLINE_COUNT = 3
HEADLINE_COUNTS = {"cgan": 4}  # families shown with more (cGANs: accuracy and within-class collapse side by side)
# Lower is better for these names; higher for the rest (IS, accuracy, mAP, images/s).
LOWER_IS_BETTER = re.compile(r"fid|kid|loss|error|err\b|wall_time|seconds|s_per_epoch|nll|recon|kl\b")
DIRECTIONS = {"min": "min", "minimize": "min", "max": "max", "maximize": "max"}
# Overrides that identify a job's Optuna trial (added by the optuna sweeper, hydra_plugins/gan_sweeps_optuna):
# bookkeeping, not settings, so never swept or fixed columns.
# Swept keys read as repeats of one setting unless the report is told otherwise (--repeat-key).
REFERENCE_NAME = "real data"
BEST_MARK = "★"
TIED_MARK = "≈"


@dataclass
class Grid:
    """A table: ``header`` names and ``rows`` of raw values (None: blank); ``best_row`` is highlighted;
    ``notes`` are lines printed under it. ``terminal_columns``: the header names the terminal shows by default
    (None: all); ``droppable``: the names the terminal may leave out to fit its width, first dropped first (None:
    the data columns after the first, from the last); ``short_names`` label columns in the terminal."""

    title: str
    header: list[str]
    rows: list[list[Any]]
    best_row: int | None = None
    notes: list[str] = field(default_factory=list)
    terminal_columns: list[str] | None = None
    droppable: list[str] | None = None
    short_names: dict[str, str] = field(default_factory=dict)  # header name -> a shorter one for the terminal


@dataclass
class Setting:
    """The runs that share every swept key but the repeat keys (one run each when nothing repeats)."""

    values: tuple[str | None, ...]  # of Sweep.setting_keys
    runs: list[Run]

    def label(self, keys: Sequence[str]) -> str:
        parts = [f"{key}={value}" for key, value in zip(keys, self.values) if value is not None]
        return ", ".join(parts) if parts else "all runs"

    @property
    def completed(self) -> list[Run]:
        return [run for run in self.runs if run.completed]

    def summary(self, metric: str) -> Summary | None:
        """The metric over the setting's completed runs."""
        return summarize([cell_metric(run, metric) for run in self.runs])


@dataclass
class Sweep:
    """The runs with what the report decided about them."""

    runs: list[Run]
    swept: list[str]  # keys whose values differ across runs: overrides first (command-line order), then config keys
    fixed: dict[str, str]  # overrides every run shares
    metrics: list[str]
    primary: str | None
    direction: str  # "min" or "max"
    best: Run | None  # the best single run (only when nothing repeats: with repeats, see ``verdict``)
    derived: list[str] = field(default_factory=list)  # swept keys found only by comparing resolved configs
    repeat_keys: list[str] = field(default_factory=list)
    settings: list[Setting] = field(default_factory=list)
    verdict: Verdict | None = None  # with repeats: the best setting of the primary metric and its ties
    metrics_chosen: bool = False  # the user named the metrics (--metric): the terminal shows them all

    @property
    def setting_keys(self) -> list[str]:
        return [key for key in self.swept if key not in self.repeat_keys]

    @property
    def repeated(self) -> bool:
        """Whether runs repeat a setting (a swept repeat axis such as seed)."""
        return bool(self.repeat_keys)

    def label(self, run: Run) -> str:
        """``k=2, optim.beta1=0.5``: the run's swept settings (its folder name when nothing was swept)."""
        parts = [f"{key}={run.setting(key)}" for key in self.swept if run.setting(key) is not None]
        return ", ".join(parts) if parts else run.name

    def setting_label(self, setting: Setting) -> str:
        return setting.label(self.setting_keys)

    def setting_of(self, run: Run) -> Setting | None:
        return next((s for s in self.settings if any(r is run for r in s.runs)), None)


# ---- deciding ----------------------------------------------------------------------------------------------------
def sort_key(text: str | None) -> tuple:
    """Numbers in numeric order, then text, then blanks."""
    value = parse_scalar(text) if text is not None else None
    if is_number(value):
        return (0, value, "")
    return (1, 0, str(text)) if text is not None else (2, 0, "")


def config_differences(runs: Sequence[Run]) -> list[str]:
    """Leaves of the saved configs (``.hydra/config.yaml``, interpolations as written) whose values differ across
    the runs that have one, in config order: what a preset, a loss recipe or a group choice changed, whatever the
    command line said."""
    leaves = [run.config_leaves for run in runs if run.config_leaves]
    if len(leaves) < 2:
        return []
    keys = list(dict.fromkeys(key for flat in leaves for key in flat))
    missing = object()
    return [key for key in keys
            if len({json.dumps(flat.get(key, missing), default=str, sort_keys=True) for flat in leaves}) > 1]


def override_split(runs: Sequence[Run]) -> tuple[list[str], dict[str, str]]:
    """(swept, fixed) over the override keys: keys whose values differ across runs (a run without the override
    counts with its config value; one without any value, e.g. a job whose .hydra/ is still being written, does not
    count), in command-line order, and the overrides all runs share."""
    keys: list[str] = []
    for run in runs:
        keys.extend(k for k in run.overrides if k not in keys and not is_bookkeeping(k))
    swept, fixed = [], {}
    for key in keys:
        values = {run.setting(key) for run in runs} - {None}
        if len(values) > 1:
            swept.append(key)
        else:
            fixed[key] = values.pop() if values else ""
    return swept, fixed


def swept_keys(runs: Sequence[Run]) -> tuple[list[str], dict[str, str], list[str]]:
    """(swept, fixed, derived): :func:`override_split`'s swept keys then ``derived``: config keys whose resolved
    values differ although no override says so (set by a preset, a loss recipe, an optimiser specialisation),
    except keys inside a swept config group (``model.*`` when ``model`` is swept: the group's name says it)."""
    swept, fixed = override_split(runs)
    keys = [*swept, *fixed]
    groups = {key for key in swept if any(key in run.group_choices for run in runs)}
    derived = [key for key in config_differences(runs)
               if key not in keys and not is_bookkeeping(key) and not key.endswith("._target_")
               and not any(key.startswith(f"{group}.") for group in groups)
               and len({run.setting(key) for run in runs if run.config_leaves}) > 1]  # resolved values differ too
    return swept + derived, fixed, derived


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


def headline_metrics(sweep: Sweep, count: int = HEADLINE_COUNT) -> list[str]:
    """The few metrics the terminal shows by default: the metrics the user named, else the primary metric, then
    those that matter for the runs' model families (HEADLINE_METRICS), else the training losses."""
    if sweep.metrics_chosen:
        return list(sweep.metrics)
    families = list(dict.fromkeys(str(run.metrics.get("model")) for run in sweep.runs if run.metrics.get("model")))
    count = max([count, *(HEADLINE_COUNTS.get(family, count) for family in families)])
    wanted = [sweep.primary] + [m for family in families for m in HEADLINE_METRICS.get(family, ())]
    chosen = list(dict.fromkeys(m for m in wanted if m in sweep.metrics))
    if len(chosen) < count:
        chosen += [m for m in HEADLINE_FALLBACK if m in sweep.metrics and m not in chosen]
    return chosen[:count] if chosen else sweep.metrics[:count]


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


def default_repeat_keys(swept: Sequence[str]) -> list[str]:
    """The repeat axis when the user names none: ``seed`` when it is swept."""
    return [key for key in DEFAULT_REPEAT_KEYS if key in swept]


def group_settings(runs: Sequence[Run], keys: Sequence[str]) -> list[Setting]:
    """Runs grouped by their values of ``keys``, groups in the order of their first run."""
    settings: dict[tuple, Setting] = {}
    for run in runs:
        values = tuple(run.setting(key) for key in keys)
        settings.setdefault(values, Setting(values=values, runs=[])).runs.append(run)
    return list(settings.values())


def analyse(runs: list[Run], metrics: Sequence[str] = (), best: str | None = None,
            objective_direction: str | None = None, repeat_keys: Sequence[str] | None = None) -> Sweep:
    """Decide the columns, the primary metric (the first of ``metrics``, else the runs' configured ``objective`` when
    recorded, else the first ``eval/`` one), its direction (``best``, else the sweeper's, else by name), the repeat
    axis (``repeat_keys``, None: DEFAULT_REPEAT_KEYS that are swept), the settings, and the best run or setting."""
    swept, fixed, derived = swept_keys(runs)
    chosen = list(metrics) or default_metrics(runs)
    primary = chosen[0] if metrics else _configured_objective(runs, chosen) or _first_quality_metric(chosen)
    if best:
        direction = DIRECTIONS[best.lower()]
    elif objective_direction and primary == _configured_objective(runs, chosen):
        direction = objective_direction
    else:
        direction = direction_for(primary or "")
    repeats = default_repeat_keys(swept) if repeat_keys is None else [k for k in repeat_keys if k in swept]
    sweep = Sweep(runs=runs, swept=swept, fixed=fixed, metrics=chosen, primary=primary, direction=direction,
                  best=None, derived=derived, repeat_keys=repeats, metrics_chosen=bool(metrics))
    sweep.settings = group_settings(runs, sweep.setting_keys)
    if not sweep.repeated:
        sweep.best = find_best(runs, primary, direction)
    elif primary:
        sweep.verdict = stats.compare([(index, s.summary(primary)) for index, s in enumerate(sweep.settings)],
                                      primary, direction)
    return sweep


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


def _reference_row(reference: dict[str, Any] | None, metrics: Sequence[str], before: int, after: int) -> list | None:
    """``real data`` + blanks + the reference's values of ``metrics`` + blanks; None when it has none of them."""
    if not any(reference_value(reference or {}, m) is not None for m in metrics):
        return None
    return [REFERENCE_NAME, *([None] * (before - 1)), *(reference_value(reference, m) for m in metrics),
            *([""] * after)]


def run_grid(sweep: Sweep, reference: dict[str, Any] | None = None, details: bool = False) -> Grid:
    """One row per run: run, swept keys, status, health, metrics, best mark (only when nothing repeats: one run of
    a repeated setting is not "the best"); ``details`` adds error and path (CSV). A reference row goes last."""
    marks = not sweep.repeated
    header = ["run", *sweep.swept, "status", "health", *sweep.metrics, *(["best"] if marks else [])]
    if details:
        header += ["error", "path"]
    rows, best_row = [], None
    for index, run in enumerate(sweep.runs):
        is_best = run is sweep.best
        best_row = index if is_best else best_row
        row = [run.name, *(run.setting(k) for k in sweep.swept), run.status, run.health,
               *(cell_metric(run, m) for m in sweep.metrics), *([BEST_MARK if is_best else ""] if marks else [])]
        if details:
            row += [run.error, str(run.path)]
        rows.append(row)
    reference_row = _reference_row(reference, sweep.metrics, 1 + len(sweep.swept) + 2,
                                   int(marks) + (2 if details else 0))
    if reference_row:
        reference_row[1 + len(sweep.swept)] = "reference"
        rows.append(reference_row)
    notes = []
    if sweep.primary and marks:
        word = "lowest" if sweep.direction == "min" else "highest"
        notes.append(f"{BEST_MARK} best run: {word} {sweep.primary}"
                     + (f" (run {sweep.best.name}: {sweep.label(sweep.best)})" if sweep.best else
                        " (no completed run recorded it)"))
        if len(sweep.settings) > 1:
            notes.append("one run per setting: the spread over seeds is unknown, so differences may be noise "
                         "(sweep seed=0,1,2 as well to get intervals and a test)")
    headline = headline_metrics(sweep)
    shown = ["run", *sweep.swept, "status", "health", *headline, *(["best"] if marks else [])]
    return Grid(title="Runs", header=header, rows=rows, best_row=best_row, notes=notes, terminal_columns=shown,
                droppable=[*reversed(sweep.derived), *reversed(headline[1:])])


# ---- the settings table (repeats aggregated) ---------------------------------------------------------------------
def count_words(values: Iterable[str]) -> str:
    """``['completed', 'completed', 'diverged']`` -> ``2 completed, 1 diverged`` (a single kind: just its name)."""
    counts = Counter(v for v in values if v)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {word}" for word, n in counts.most_common())


def summary_cell(runs: Sequence[Run], metric: str) -> Any:
    """A cell over several runs: the Summary of the completed runs' values (a plain value for a single run), or,
    with no completed value, the runs' statuses (e.g. ``diverged``)."""
    summary = summarize([cell_metric(run, metric) for run in runs])
    if summary is not None:
        return summary.values[0] if len(runs) == 1 else summary
    statuses = sorted({run.status for run in runs if not run.completed})
    return "/".join(statuses) or None


def settings_grid(sweep: Sweep, reference: dict[str, Any] | None = None) -> Grid:
    """One row per setting (runs that differ only in the repeat keys): its keys, ``runs`` (how many), status and
    health counts, each metric as mean ± 95 % interval over the repeats (Summary cells), and the best mark:
    ★ for a best setting that differs from all others, ≈ for the settings tied with the top one."""
    keys = sweep.setting_keys
    labels = keys or ["setting"]  # only the repeat axis was swept: one setting, "all runs"
    header = [*labels, "runs", "status", "health", *sweep.metrics, "best"]
    verdict = sweep.verdict
    tied = set(verdict.tied) if verdict else set()
    rows, best_row = [], None
    for index, setting in enumerate(sweep.settings):
        mark = ""
        if verdict and verdict.best == index:
            mark = BEST_MARK if verdict.decided else TIED_MARK
            best_row = index if verdict.decided else None
        elif index in tied:
            mark = TIED_MARK
        rows.append([*(setting.values if keys else ["all runs"]), len(setting.runs),
                     count_words(run.status for run in setting.runs),
                     count_words(run.health or "" for run in setting.runs),
                     *(summary_cell(setting.runs, m) for m in sweep.metrics), mark])
    reference_row = _reference_row(reference, sweep.metrics, len(labels) + 3, 1)
    if reference_row:
        reference_row[len(labels) + 1] = "reference"
        rows.append(reference_row)
    headline = headline_metrics(sweep)
    shown = [*labels, "runs", "status", "health", *headline, "best"]
    return Grid(title=f"Settings (repeats over {', '.join(sweep.repeat_keys)} aggregated)", header=header,
                rows=rows, best_row=best_row, notes=settings_notes(sweep), terminal_columns=shown,
                droppable=[*(k for k in reversed(sweep.derived) if k in keys), *reversed(headline[1:])])


def settings_notes(sweep: Sweep) -> list[str]:
    """How to read the cells, and the verdict on the primary metric."""
    notes = [(f"cells: mean ± half-width of the {stats.INTERVAL_NAME} over the completed repeats (n >= "
              f"{stats.MIN_N_FOR_INTERVAL}); with fewer, the values themselves; min/max and n in report_settings.csv")]
    if sweep.verdict is not None:
        notes.append(verdict_sentence(sweep, sweep.verdict))
    return notes


def verdict_sentence(sweep: Sweep, verdict: Verdict) -> str:
    """One line: which setting is best for the primary metric and whether it beats the others beyond the noise."""
    word = "lower" if verdict.direction == "min" else "higher"
    test = f"{stats.TEST_NAME}, two-sided, level {stats.ALPHA:g}, not corrected for multiple comparisons"
    if not verdict.ranked:
        return f"no completed run recorded {verdict.metric}: no best setting"
    best, best_summary = verdict.ranked[0]
    name = sweep.setting_label(sweep.settings[best])
    if len(verdict.ranked) == 1:
        return f"{verdict.metric}: only {name} has values ({describe_summary(best_summary)}); nothing to compare"
    if verdict.decided:
        runner, runner_summary = verdict.runner_up
        p = verdict.p_values[runner]
        return (f"{BEST_MARK} best setting: {name}, {verdict.metric} {describe_summary(best_summary)}; {word} than "
                f"every other setting beyond the noise (runner-up {sweep.setting_label(sweep.settings[runner])}: "
                f"{describe_summary(runner_summary)}, p = {p:.2g}; {test})")
    ties = [sweep.setting_label(sweep.settings[s]) for s in verdict.tied]
    untested = [s for s in verdict.tied if verdict.p_values.get(s) is None]
    why = " (some have fewer than 2 completed repeats: untestable)" if untested else ""
    return (f"{TIED_MARK} top settings tied on {verdict.metric}: {name} ({describe_summary(best_summary)}, best mean) "
            f"does not differ from {name_list(ties)}{why}; no setting is marked best ({test})")


def name_list(names: Sequence[str], limit: int = 3) -> str:
    """``a; b; c`` or ``a; b; c and 4 more`` (setting labels hold commas, so they are separated by semicolons)."""
    shown = "; ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# ---- the pivot (seed 001 Table 1) --------------------------------------------------------------------------------
def _combinations(runs: Sequence[Run], keys: Sequence[str]) -> list[tuple[str | None, ...]]:
    """The value combinations of ``keys`` that occur among the runs, sorted (numbers numerically)."""
    seen = {tuple(run.setting(k) for k in keys) for run in runs}
    return sorted(seen, key=lambda combo: tuple(sort_key(v) for v in combo))


def missing_keys(runs: Sequence[Run], keys: Sequence[str]) -> list[str]:
    """Keys no run has a value for (a typo in --rows/--cols)."""
    return [k for k in keys if all(run.setting(k) is None for run in runs)]


def pivot_grid(sweep: Sweep, rows: Sequence[str], cols: Sequence[str], metrics: Sequence[str] | None = None,
               reference: dict[str, Any] | None = None) -> Grid:
    """One row per combination of ``rows`` keys; one column group per combination of ``cols`` keys holding each
    metric (header cells ``group\\nmetric``). A cell over several runs (seeds, or keys in neither ``rows`` nor
    ``cols``) holds their Summary (mean ± interval, n); a cell whose runs did not complete shows their status."""
    metrics = list(metrics or sweep.metrics)
    row_combos = _combinations(sweep.runs, rows) if rows else [()]
    col_combos = _combinations(sweep.runs, cols) if cols else [()]
    groups = [", ".join(f"{k}={v}" for k, v in zip(cols, combo)) for combo in col_combos]
    header = [*rows] if rows else [""]
    header += [f"{group}\n{metric}" if group else metric for group, metric in product(groups, metrics)]
    table: list[list[Any]] = []
    pooled = 0
    for row_combo in row_combos:
        row: list[Any] = list(row_combo) if rows else ["all runs"]
        for col_combo, metric in product(col_combos, metrics):
            members = [run for run in sweep.runs if _matches(run, rows, row_combo) and _matches(run, cols, col_combo)]
            pooled += len(members) > 1 and metric == metrics[0]
            row.append(summary_cell(members, metric) if members else None)
        table.append(row)
    label_width = max(len(rows), 1)
    reference_row = _reference_row(reference, [m for _, m in product(col_combos, metrics)], label_width, 0)
    if reference_row:
        table.append(reference_row)
    notes = [f"rows: {', '.join(rows) or '-'}; column groups: {', '.join(cols) or '-'}"]
    short = {f"{group}\n{metric}": f"{', '.join(map(str, combo))}\n{metric.removeprefix('eval/')}"
             for group, combo in zip(groups, col_combos) for metric in metrics if group}
    if pooled:
        others = [k for k in sweep.swept if k not in rows and k not in cols]
        repeats = [k for k in others if k in sweep.repeat_keys]
        settings = [k for k in others if k not in sweep.repeat_keys]
        over = ", ".join([*(f"{k} (repeats)" for k in repeats), *settings])
        notes.append(f"{pooled} cells hold several runs" + (f" (over {over})" if over else "")
                     + f": mean ± half-width of the {stats.INTERVAL_NAME} (n >= {stats.MIN_N_FOR_INTERVAL}), "
                       "else the values; n, min and max in report_pivot.csv")
        if settings:
            notes.append(f"these cells pool different settings ({', '.join(settings)}): add them to --rows/--cols "
                         "to separate them")
    return Grid(title="Pivot", header=header, rows=table, notes=notes, short_names=short)


def _matches(run: Run, keys: Sequence[str], values: Sequence[str | None]) -> bool:
    return all(run.setting(k) == v for k, v in zip(keys, values))


# ---- the sweeper's results ---------------------------------------------------------------------------------------
def optimization_grids(results: dict[str, Any], runs: Sequence[Run]) -> list[Grid]:
    """``optimization_results.yaml``: its scalars and ``best_params`` as a key/value table, with the run whose
    overrides match ``best_params``; every list of mappings in it (e.g. a multi-objective study's ``solutions``)
    as a table of its own, one row per item."""
    rows: list[list[Any]] = []
    tables: list[Grid] = []
    for key, value in results.items():
        if key == "solutions":
            continue  # several objectives: shown by pareto_grid
        if key == "best_params" and isinstance(value, dict):
            rows += [[f"best_params.{k}", v] for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            tables.append(_records_grid(f"{key} (optimization_results.yaml)", value))
        elif isinstance(value, (dict, list)):
            rows.append([key, json.dumps(value, default=str)])
        else:
            rows.append([key, value])
    params = results.get("best_params")
    if isinstance(params, dict) and params:
        matching = [run.name for run in runs
                    if all(_same_value(run.setting(str(k)), v) for k, v in params.items())]
        rows.append(["matching run", ", ".join(matching) or "not found among the run folders"])
    return [Grid(title="Best trial (optimization_results.yaml)", header=["key", "value"], rows=rows), *tables]


def _records_grid(title: str, records: Sequence[dict[str, Any]]) -> Grid:
    """A list of mappings as a table: nested mappings flattened (``params.k``), columns in order of appearance."""
    from gan_sweeps.report.runs import flatten

    flat = [flatten(record, sep=".") for record in records]
    header = list(dict.fromkeys(key for record in flat for key in record))
    return Grid(title=title, header=header, rows=[[record.get(key) for key in header] for record in flat])


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
