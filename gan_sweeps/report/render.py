"""Grids out: Markdown (report.md), CSV (report.csv) and rich tables (the terminal)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Sequence

from gan_sweeps.report.runs import is_number
from gan_sweeps.report.table import Grid

STATUS_STYLES = {"completed": "green", "diverged": "red", "failed": "bold red", "running": "yellow",
                 "pruned": "dim", "interrupted": "magenta", "reference": "cyan", "unknown": "yellow"}
MAX_TEXT = 60  # longer text cells (errors, lists) are shortened in Markdown and the terminal


def format_value(value: Any) -> str:
    """A cell as people read it: blanks for None, 4 significant-ish digits, yes/no, compact lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not is_number(value):
            return ""
        size = abs(value)
        digits = 0 if size >= 1000 else 1 if size >= 100 else 2 if size >= 10 else 3 if size >= 1 else 4
        return f"{value:,.{digits}f}"
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


# ---- CSV ---------------------------------------------------------------------------------------------------------
def grid_csv(grid: Grid) -> str:
    """The grid as CSV text; multi-line header cells (pivot groups) are joined with ``' | '``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name.replace("\n", " | ") for name in grid.header])
    writer.writerows([raw_value(v) for v in row] for row in grid.rows)
    return out.getvalue()


def numeric_column(grid: Grid, index: int) -> bool:
    """Whether a column holds numbers (right-aligned); settings and names are text (left-aligned)."""
    return any(is_number(row[index]) for row in grid.rows)


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
def rich_table(grid: Grid):
    """The grid as a ``rich.table.Table``: statuses coloured, the best row bold green, notes as its caption."""
    from rich.table import Table

    table = Table(title=grid.title, caption="\n".join(grid.notes) or None, caption_justify="left",
                  header_style="bold")
    for index, name in enumerate(display_header(grid.header)):
        table.add_column(name, justify="right" if numeric_column(grid, index) else "left", overflow="fold")
    status_col = grid.header.index("status") if "status" in grid.header else None
    for index, row in enumerate(grid.rows):
        cells = [format_value(v) for v in row]
        if status_col is not None and cells[status_col] in STATUS_STYLES:
            style = STATUS_STYLES[cells[status_col]]
            cells[status_col] = f"[{style}]{cells[status_col]}[/]"
        table.add_row(*cells, style="bold green" if index == grid.best_row else None)
    return table


def print_grids(grids: Sequence[Grid], lines: Sequence[str] = ()) -> None:
    """Print summary lines and tables; wide (not wrapped at 80 columns) when the output is not a terminal."""
    import sys

    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 200, highlight=False)
    for line in lines:
        console.print(line, markup=False)
    for grid in grids:
        console.print(rich_table(grid))
