"""Grids out: Markdown (report.md), CSV (report.csv) and rich tables (the terminal).

Cells over several runs are :class:`~gan_sweeps.report.stats.Summary` objects: Markdown shows
``mean ± half-width (n=3, min–max)``, the terminal ``mean ± half-width`` (n only where it differs from the table's
usual n), CSV one column each for mean, interval ends, n, min and max. The terminal shows by default only a grid's
``terminal_columns`` and drops its trailing optional columns until the table fits (120 columns when the output
is not a terminal); no cell text is wrapped."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any, Sequence

from gan_sweeps.report.runs import is_number
from gan_sweeps.report.stats import Summary, describe_summary, format_interval, format_number
from gan_sweeps.report.table import Grid

STATUS_STYLES = {"completed": "green", "diverged": "red", "failed": "bold red", "running": "yellow",
                 "pruned": "dim", "interrupted": "magenta", "reference": "cyan", "unknown": "yellow"}
MAX_TEXT = 60  # longer text cells (errors, lists) are shortened in Markdown and the terminal
TERMINAL_WIDTH = 120  # the width tables are fitted to when the output is not a terminal (files, pipes, CI logs)
WIDE = 1000  # --all-columns into a file or pipe: no width limit
SUMMARY_FIELDS = ("mean", "ci_low", "ci_high", "n", "min", "max")


def format_value(value: Any, usual_n: int | None = None) -> str:
    """A cell as people read it: blanks for None, 4 significant-ish digits, yes/no, compact lists; a Summary as
    ``mean ± half-width``, with its n unless it is ``usual_n`` (None: always, with min–max)."""
    if value is None:
        return ""
    if isinstance(value, Summary):
        if usual_n is None:
            return describe_summary(value, extent=True)
        if value.half_width is None:
            return ", ".join(format_number(v) for v in value.values)
        text = format_interval(value.mean, value.half_width)
        return text if value.n == usual_n else f"{text} (n={value.n})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value) if is_number(value) else ""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, default=str)
    text = str(value).replace("\n", " ")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def raw_value(value: Any) -> str:
    """A cell for report.csv: full precision, lists as JSON, None as blank."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def usual_n(grid: Grid) -> int | None:
    """The most common n of the grid's Summary cells (the terminal names n only where a cell differs)."""
    counts = Counter(cell.n for row in grid.rows for cell in row if isinstance(cell, Summary))
    return counts.most_common(1)[0][0] if counts else None


# ---- CSV ---------------------------------------------------------------------------------------------------------
def _summary_columns(grid: Grid) -> list[bool]:
    return [any(isinstance(row[i], Summary) for row in grid.rows) for i in range(len(grid.header))]


def flat_grid(grid: Grid) -> tuple[list[str], list[list[Any]]]:
    """The grid's header and rows with plain values: multi-line header cells (pivot groups) joined with ``' | '``;
    a column holding Summary cells becomes six: ``<name> | mean``, ``ci_low``, ``ci_high`` (None for n < 3), ``n``,
    ``min``, ``max``; a plain value in such a column (one run, the real data) fills only ``mean``. report.csv's
    shape, and the W&B report run's tables (gan_sweeps/report/dashboard.py)."""
    expand = _summary_columns(grid)
    header: list[str] = []
    for name, wide in zip(grid.header, expand):
        name = name.replace("\n", " | ")
        header += [f"{name} | {part}" for part in SUMMARY_FIELDS] if wide else [name]
    rows: list[list[Any]] = []
    for row in grid.rows:
        cells: list[Any] = []
        for value, wide in zip(row, expand):
            if not wide:
                cells.append(value)
            elif isinstance(value, Summary):
                cells += [value.mean, value.low, value.high, value.n, value.min, value.max]
            else:
                cells += [value] + [None] * (len(SUMMARY_FIELDS) - 1)
        rows.append(cells)
    return header, rows


def grid_csv(grid: Grid) -> str:
    """The grid as CSV text, in :func:`flat_grid`'s columns (full precision, lists as JSON, None blank)."""
    header, rows = flat_grid(grid)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([raw_value(value) for value in row])
    return out.getvalue()


def numeric_column(grid: Grid, index: int) -> bool:
    """Whether a column holds numbers (right-aligned); settings and names are text (left-aligned)."""
    return any(is_number(row[index]) or isinstance(row[index], Summary) for row in grid.rows)


def display_header(header: Sequence[str]) -> list[str]:
    """Pivot headers (group, newline, metric) show each group name only over its first column, as seed 001 Table 1."""
    shown, previous = [], None
    for name in header:
        group, sep, metric = name.rpartition("\n")
        shown.append(f"\n{metric}" if sep and group == previous else name)
        previous = group if sep else None
    return shown


# ---- Markdown ----------------------------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def markdown_table(grid: Grid, bold_columns: Sequence[str] = ()) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned; the best row's ``bold_columns`` in bold."""
    numeric = [numeric_column(grid, i) for i in range(len(grid.header))]
    lines = ["| " + " | ".join(_md_cell(h) or " " for h in display_header(grid.header)) + " |",
             "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"]
    for index, row in enumerate(grid.rows):
        cells = [_md_cell(format_value(v)) for v in row]
        if index == grid.best_row:
            cells = [f"**{c}**" if c and grid.header[i] in bold_columns else c for i, c in enumerate(cells)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"{note}  " for note in grid.notes]
    return "\n".join(lines).rstrip() + "\n"


# ---- terminal ----------------------------------------------------------------------------------------------------
def select_columns(grid: Grid, names: Sequence[str]) -> Grid:
    """The grid with only the named columns (in its own order); notes and the best row kept."""
    keep = [i for i, name in enumerate(grid.header) if name in set(names)]
    header = [grid.header[i] for i in keep]
    return Grid(title=grid.title, header=header, rows=[[row[i] for i in keep] for row in grid.rows],
                best_row=grid.best_row, notes=list(grid.notes), terminal_columns=None,
                droppable=None if grid.droppable is None else [n for n in grid.droppable if n in header],
                short_names=grid.short_names)


def rich_table(grid: Grid, wrap: bool = False):
    """The grid as a ``rich.table.Table``: statuses coloured, the best row bold green (notes: print them after it);
    cell text never wraps unless ``wrap`` (too long a text is cut with an ellipsis), when columns keep their full
    names too (else ``short_names``)."""
    from rich import box
    from rich.table import Table

    table = Table(title=grid.title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    names = grid.header if wrap else [grid.short_names.get(name, name) for name in grid.header]
    for index, name in enumerate(display_header(names)):
        table.add_column(name, justify="right" if numeric_column(grid, index) else "left",
                         overflow="fold" if wrap else "ellipsis", no_wrap=not wrap)
    status_col = grid.header.index("status") if "status" in grid.header else None
    n = None if wrap else usual_n(grid)
    for index, row in enumerate(grid.rows):
        cells = [format_value(v, usual_n=n) for v in row]
        if status_col is not None and cells[status_col] in STATUS_STYLES:
            style = STATUS_STYLES[cells[status_col]]
            cells[status_col] = f"[{style}]{cells[status_col]}[/]"
        table.add_row(*cells, style="bold green" if index == grid.best_row else None)
    return table


def table_width(console, table) -> int:
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update_width(WIDE), table).maximum


def fit_grid(grid: Grid, console) -> tuple[Grid, list[str]]:
    """Leave out the grid's ``droppable`` columns (by default its data columns after the first, from the last) one
    by one until its table fits the console; returns the grid shown and the names left out."""
    order = list(grid.droppable) if grid.droppable is not None else list(reversed(grid.header[2:]))
    dropped: list[str] = []
    while order and table_width(console, rich_table(grid)) > console.width:
        name = order.pop(0)
        dropped.append(name.replace("\n", " "))
        grid = select_columns(grid, [h for h in grid.header if h != name])
    return grid, dropped


def terminal_grid(grid: Grid, console, all_columns: bool) -> Grid:
    """What the terminal shows of a grid: its ``terminal_columns`` fitted to the width (notes say what is left
    out), or everything with ``all_columns``."""
    if all_columns:
        return grid
    shown = select_columns(grid, grid.terminal_columns) if grid.terminal_columns else grid
    shown, _ = fit_grid(shown, console)
    left_out = [h for h in grid.header if h not in shown.header]  # in the grid's order
    n = usual_n(shown)
    if n is not None:
        shown.notes.append(f"n = {n} per cell unless shown")
    if left_out:
        names = ", ".join(h.replace("\n", " ") for h in left_out)
        shown.notes.append(f"not shown here: {names} (in report.md and the CSV files; --all-columns shows them)")
    return shown


def print_grids(grids: Sequence[Grid], lines: Sequence[str] = (), all_columns: bool = False) -> None:
    """Print summary lines and tables, fitted to the terminal (TERMINAL_WIDTH when the output is not one), or
    every column with ``all_columns``."""
    import sys

    from rich.console import Console

    tty = sys.stdout.isatty()
    width = None if tty else WIDE if all_columns else TERMINAL_WIDTH
    console = Console(width=width, highlight=False)
    for line in lines:
        console.print(line, markup=False, overflow="fold")
    for grid in grids:
        shown = terminal_grid(grid, console, all_columns)
        console.print(rich_table(shown, wrap=all_columns))
        for note in shown.notes:  # under the table, at the console's width (not the table's)
            console.print(note, markup=False, highlight=False)
        console.print()
