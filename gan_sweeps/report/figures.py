"""The report's figures (matplotlib's object API: no pyplot, no GUI backend, nothing global): loss curves (seed 001
Figs 3/5), periodic evaluation curves, final-sample mosaic (Figs 14/19), samples at chosen epochs (seed 002) and
seconds per epoch (seed 002).

Curves have one tile per setting: a setting repeated over seeds is drawn as the mean over its runs with a band (the
95 % t-interval of the mean where at least 3 runs have a value at that step, their min-max with 2), a single run as
its own line. Sample figures have one tile per run. A tile whose runs lack the file it needs (still running,
diverged early, no CSV log) is blank and says why, so a figure never fails because one run is incomplete."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import imread

from gan_sweeps.atomic import atomic_write
from gan_sweeps.report.runs import Run, Series
from gan_sweeps.report.stats import MIN_N_FOR_INTERVAL, summarize, t_quantile
from gan_sweeps.report.table import Setting, Sweep

# Loss columns to draw, first set found wins: D and G per step, then per-epoch means, then any loss (VAE).
LOSS_COLUMN_SETS = (("train/d_loss", "train/g_loss"), ("epoch/d_loss", "epoch/g_loss"))
MAX_COLUMNS = 6
TILE_INCHES = 2.8
LABEL_INCHES = 2.4  # room for the run labels left of samples_by_epoch.png's rows
TITLE_WIDTH = 34  # characters per title line
DPI = 100
BAD_STATUSES = {"diverged", "failed", "unknown"}


# ---- layout helpers ----------------------------------------------------------------------------------------------
def grid_columns(sweep: Sweep, count: int, keys: Sequence[str] | None = None) -> int:
    """Columns of a tile grid: the number of values of the last swept key (Hydra varies it fastest, so each grid
    row is one setting of the other keys, as in seed 001's k x beta1 figures), else about a square. ``keys``: the
    keys the tiles differ in (default: every swept key)."""
    keys = sweep.swept if keys is None else keys
    if keys:
        width = len({run.setting(keys[-1]) for run in sweep.runs} - {None})
        if 2 <= width <= MAX_COLUMNS and count > width:
            return width
    return max(1, min(count, MAX_COLUMNS, math.ceil(math.sqrt(count))))


def tile_axes(count: int, columns: int, height: float = TILE_INCHES) -> tuple[Figure, list[Axes]]:
    """A figure with ``count`` tiles in ``columns`` columns; surplus grid cells are hidden."""
    rows = max(1, math.ceil(count / columns))
    fig = Figure(figsize=(columns * TILE_INCHES * 1.15, rows * height), dpi=DPI)
    axes = fig.subplots(rows, columns, squeeze=False)
    flat = list(axes.flat)
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def run_title(sweep: Sweep, run: Run) -> str:
    """``0: k=1, optim.beta1=0.5`` wrapped, with the status when the run did not complete."""
    label = sweep.label(run)
    text = label if label == run.name else f"{run.name}: {label}"
    if not run.completed:
        text += f" [{run.status}]"
    return "\n".join(textwrap.wrap(text, TITLE_WIDTH)) or run.name


def set_title(ax: Axes, sweep: Sweep, run: Run) -> None:
    ax.set_title(run_title(sweep, run), fontsize=8, color="firebrick" if run.status in BAD_STATUSES else "black")


def setting_title(sweep: Sweep, setting: Setting) -> str:
    """A single run's title, or ``k=1, optim.beta1=0.5 (n=3)`` with the statuses of runs that did not complete."""
    if len(setting.runs) == 1:
        return run_title(sweep, setting.runs[0])
    text = f"{sweep.setting_label(setting)} (n={len(setting.runs)})"
    unfinished = [run.status for run in setting.runs if not run.completed]
    if unfinished:
        text += " [" + ", ".join(f"{unfinished.count(s)} {s}" for s in sorted(set(unfinished))) + "]"
    return "\n".join(textwrap.wrap(text, TITLE_WIDTH))


def set_setting_title(ax: Axes, sweep: Sweep, setting: Setting) -> None:
    bad = all(run.status in BAD_STATUSES for run in setting.runs)
    ax.set_title(setting_title(sweep, setting), fontsize=8, color="firebrick" if bad else "black")


def blank(ax: Axes, message: str) -> None:
    """An empty tile with a short grey message in the middle (keeps axis labels usable)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("lightgrey")
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(message, 24)), ha="center", va="center", fontsize=8, color="grey",
            transform=ax.transAxes)


def missing_reason(run: Run, what: str) -> str:
    return f"no {what} ({run.status})"


def show_image(ax: Axes, path: Path) -> bool:
    """Draw a PNG into a tile without ticks; False when it cannot be read (e.g. half written)."""
    try:
        image = imread(path)
    except Exception:  # noqa: BLE001 - a truncated PNG from a run still writing
        return False
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return True


def arrange(fig: Figure, left_inches: float = 0.45, top_inches: float = 0.8, space: float = 0.45) -> None:
    """Fixed margins in inches and ``space`` between tiles (a fraction of a tile): ``tight_layout`` costs seconds on
    a 100-run grid for the same look."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left_inches / width, right=1 - 0.15 / width, bottom=0.45 / height,
                        top=1 - top_inches / height, wspace=space * 0.6, hspace=space)


def save(fig: Figure, path: Path, tight: bool = False) -> Path:
    """Save as PNG through a temporary file (never a half-written figure); ``tight`` grows the canvas to fit long
    labels (cheap for one axes, slow for a grid of them)."""
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png", bbox_inches="tight" if tight else None))


def per_run_figure(sweep: Sweep, path: Path, draw: Callable[[Axes, Run], None], title: str) -> Path:
    """The common shape of the per-run figures: one titled tile per run, ``draw`` fills it."""
    fig, axes = tile_axes(len(sweep.runs), grid_columns(sweep, len(sweep.runs)))
    for ax, run in zip(axes, sweep.runs):
        draw(ax, run)
        set_title(ax, sweep, run)
    fig.suptitle(title, fontsize=11)
    arrange(fig)
    return save(fig, path)


def per_setting_figure(sweep: Sweep, path: Path, draw: Callable[[Axes, Setting], None], title: str) -> Path:
    """One titled tile per setting (per run when nothing repeats), ``draw`` fills it."""
    settings = sweep.settings
    fig, axes = tile_axes(len(settings), grid_columns(sweep, len(settings), sweep.setting_keys))
    for ax, setting in zip(axes, settings):
        draw(ax, setting)
        set_setting_title(ax, sweep, setting)
    repeated = any(len(setting.runs) > 1 for setting in settings)
    if repeated:
        title += f"\nmean over repeats; band: 95 % t-interval (n >= {MIN_N_FOR_INTERVAL}), min-max (n = 2)"
    fig.suptitle(title, fontsize=11)
    arrange(fig, top_inches=1.05 if repeated else 0.8)
    return save(fig, path)


# ---- curves over repeats -----------------------------------------------------------------------------------------
def mean_band(series: Sequence[Series]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean, low, high) of several runs' series of one column, on the steps of the longest series (the
    others interpolated, blank outside the steps they cover). The band is the 95 % t-interval of the mean where
    >= 3 runs have a value, their min-max where 2 do, the value itself where 1 does."""
    base = max(series, key=len)
    steps = np.array([step for step, _ in base], dtype=float)
    stacked = np.full((len(series), len(steps)), np.nan)
    for row, points in enumerate(series):
        xs, ys = (np.array(v, dtype=float) for v in zip(*points))
        inside = (steps >= xs.min()) & (steps <= xs.max())
        stacked[row, inside] = np.interp(steps[inside], xs, ys)
    counts = np.sum(~np.isnan(stacked), axis=0)
    mean = np.array([np.mean(col[~np.isnan(col)]) for col in stacked.T])
    low = np.array([np.min(col[~np.isnan(col)]) for col in stacked.T])
    high = np.array([np.max(col[~np.isnan(col)]) for col in stacked.T])
    for n in set(counts.tolist()) - {0, 1, 2}:
        at = counts == n
        std = np.array([np.std(col[~np.isnan(col)], ddof=1) for col in stacked.T[at]])
        half = t_quantile(n) * std / math.sqrt(n)
        low[at], high[at] = mean[at] - half, mean[at] + half
    return steps, mean, low, high


def plot_mean_band(ax: Axes, series: Sequence[Series], label: str) -> None:
    """One line (a single run) or the mean with a shaded band (several runs)."""
    if len(series) == 1:
        steps, values = zip(*series[0])
        ax.plot(steps, values, linewidth=0.9, label=label)
        return
    steps, mean, low, high = mean_band(series)
    (line,) = ax.plot(steps, mean, linewidth=0.9, label=label)
    ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.25, linewidth=0)


def draw_columns(ax: Axes, setting: Setting, columns: Sequence[str], what: str) -> None:
    """Each column as the mean with a band over the setting's runs that logged it (any status)."""
    drawn = False
    for column in columns:
        series = [run.log[column] for run in setting.runs if run.log.get(column)]
        if series:
            plot_mean_band(ax, series, column.split("/", 1)[-1])
            drawn = True
    if not drawn:
        no_log = all(run.csv_path is None for run in setting.runs)
        blank(ax, missing_reason(setting.runs[0], f"{what} log" if no_log else f"{what} values yet"))
        return
    ax.set_xlabel("step", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")  # "best" scans every point: slow on long logs


# ---- the figures -------------------------------------------------------------------------------------------------
def loss_columns(log: dict[str, list]) -> list[str]:
    """Which logged columns a loss panel draws (D and G loss for GANs; every ``*loss*`` column otherwise)."""
    for names in LOSS_COLUMN_SETS:
        found = [name for name in names if log.get(name)]
        if found:
            return found
    return sorted(name for name in log if "loss" in name.lower())[:4]


def draw_losses(ax: Axes, setting: Setting) -> None:
    columns = list(dict.fromkeys(c for run in setting.runs for c in loss_columns(run.log)))
    draw_columns(ax, setting, columns, "loss")


def draw_final_sample(ax: Axes, run: Run) -> None:
    """The newest sample grid that can be read (the last one may be half written while a run is going)."""
    for epoch in sorted(run.samples, reverse=True):
        if show_image(ax, run.samples[epoch]):
            ax.set_xlabel(f"epoch {epoch}", fontsize=7)
            return
    blank(ax, missing_reason(run, "readable samples" if run.samples else "samples"))
    ax.set_box_aspect(1)  # as tall as the sample tiles beside it


def loss_curves(sweep: Sweep, path: Path) -> Path:
    """``loss_curves.png``: D and G loss against step, one panel per setting (seed 001 Figs 3 and 5)."""
    return per_setting_figure(sweep, path, draw_losses, "Losses per step")


def periodic_metric(sweep: Sweep) -> str | None:
    """The evaluation metric with a curve to draw: the primary one (else the first ``eval/`` one) when some run
    logged it at two or more steps (``eval.every_n_epochs``)."""
    candidates = [m for m in [sweep.primary, *sweep.metrics] if m and m.startswith("eval/")]
    return next((m for m in dict.fromkeys(candidates) if any(len(run.log.get(m) or []) > 1 for run in sweep.runs)),
                None)


def eval_curves(sweep: Sweep, path: Path) -> Path | None:
    """``eval_curves.png``: the periodic evaluation metric against step, one panel per setting; None when no run
    evaluated more than once."""
    metric = periodic_metric(sweep)
    if metric is None:
        return None
    return per_setting_figure(sweep, path, lambda ax, setting: draw_columns(ax, setting, [metric], metric),
                              f"{metric} during training")


def samples_mosaic(sweep: Sweep, path: Path) -> Path:
    """``samples_mosaic.png``: each run's last sample grid, labelled with its settings (seed 001 Figs 14 and 19)."""
    return per_run_figure(sweep, path, draw_final_sample, "Final samples (fixed noise)")


def samples_by_epoch(sweep: Sweep, epochs: Sequence[int], path: Path) -> tuple[Path, list[int]]:
    """``samples_by_epoch.png``: rows are runs, columns the requested epochs that at least one run saved (seed 002's
    epochs 10/20/50/100); returns the path and the epochs shown."""
    shown = [e for e in epochs if any(e in run.samples for run in sweep.runs)]
    columns = max(1, len(shown))
    fig = Figure(figsize=(columns * TILE_INCHES + LABEL_INCHES, len(sweep.runs) * TILE_INCHES), dpi=DPI)
    axes = fig.subplots(len(sweep.runs), columns, squeeze=False)
    for row, run in enumerate(sweep.runs):
        for col in range(columns):
            ax = axes[row][col]
            epoch = shown[col] if shown else None
            if epoch is None or epoch not in run.samples or not show_image(ax, run.samples[epoch]):
                blank(ax, missing_reason(run, f"epoch {epoch}" if epoch else "samples at these epochs"))
                ax.set_box_aspect(1)
            if row == 0 and epoch is not None:
                ax.set_title(f"epoch {epoch}", fontsize=10)
            if col == 0:
                ax.set_ylabel(run_title(sweep, run), fontsize=8, rotation=0, ha="right", va="center")
    arrange(fig, left_inches=LABEL_INCHES, top_inches=0.4, space=0.06)
    return save(fig, path), shown


def epoch_seconds(sweep: Sweep, path: Path) -> Path:
    """``epoch_seconds.png``: mean seconds per epoch per setting (seed 002). Whiskers: over a setting's repeats the
    95 % t-interval of the mean (n >= 3) or half the min-max range (n = 2); for a single run one standard
    deviation over its epochs."""
    timed = []
    for setting in sweep.settings:
        per_run = [[float(s) for s in run.metrics.get("epoch_seconds") or [] if isinstance(s, (int, float))]
                   for run in setting.runs]
        per_run = [secs for secs in per_run if secs]
        if per_run:
            timed.append((setting, per_run))
    height = max(2.0, 0.45 * len(timed) + 1.2)
    fig = Figure(figsize=(8, height), dpi=DPI)
    ax = fig.subplots()
    if not timed:
        blank(ax, "no run has recorded epoch times yet")
    else:
        means, errors = [], []
        for _, per_run in timed:
            summary = summarize([sum(secs) / len(secs) for secs in per_run])
            if summary.n == 1:
                secs = per_run[0]
                errors.append(math.sqrt(sum((s - summary.mean) ** 2 for s in secs) / len(secs)))
            elif summary.half_width is not None:
                errors.append(summary.half_width)
            else:
                errors.append((summary.max - summary.min) / 2)
            means.append(summary.mean)
        labels = [setting_title(sweep, setting).replace("\n", " ") + f" (n={len(per_run[0])} epochs)"
                  if len(per_run) == 1 else setting_title(sweep, setting).replace("\n", " ")
                  for setting, per_run in timed]
        colours = ["tab:blue" if all(r.completed for r in setting.runs) else "tab:grey" for setting, _ in timed]
        positions = range(len(timed))
        ax.barh(positions, means, xerr=errors, color=colours, capsize=3)
        ax.set_yticks(list(positions), labels, fontsize=8)
        ax.invert_yaxis()
        for y, mean, error in zip(positions, means, errors):
            ax.text(mean + error, y, f"  {mean:.2f} s", va="center", fontsize=8)
        ax.set_xlabel("seconds per epoch (whiskers: 95 % CI over repeats, half the range for 2 repeats, std over "
                      "the epochs of a single run; grey: not all runs completed)", fontsize=8)
        ax.margins(x=0.15)
    ax.set_title("Seconds per epoch")
    return save(fig, path, tight=True)
