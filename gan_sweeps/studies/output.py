"""A study's output folder: ``<study>.md`` (what was run, what the numbers mean, the tables, the figures, skipped
runs), one ``<table>.csv`` per table, PNG figures and ``study.json`` (the options and wall time). Everything is
written atomically; nothing outside the folder is touched."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gan_sweeps.atomic import atomic_write, atomic_write_text
from gan_sweeps.report.render import grid_csv, markdown_table
from gan_sweeps.report.table import Grid

__all__ = ["Grid", "StudyOutput", "new_figure"]


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib figure on the Agg canvas (no pyplot state: safe headless and in tests)."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


class StudyOutput:
    """Collects a study's tables, figures and notes and writes them into ``out_dir``."""

    def __init__(self, out_dir: str | Path, study: str, title: str, argv: Sequence[str], options: dict[str, Any]):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.study, self.title, self.argv, self.options = study, title, list(argv), options
        self.started = time.perf_counter()
        self.sections: list[str] = []
        self.notes: list[str] = []
        self.skipped: list[str] = []
        self.files: list[str] = []

    def say(self, line: str) -> None:
        """A progress line on stdout; lines about skipped runs are also kept for the document."""
        print(line, flush=True)
        if line.startswith("skipping "):
            self.skipped.append(line)

    def note(self, *lines: str) -> None:
        self.notes.extend(lines)

    def table(self, name: str, grid: Grid) -> Path:
        path = atomic_write_text(self.dir / f"{name}.csv", grid_csv(grid))
        self.sections.append(f"## {grid.title}\n\n{markdown_table(grid)}\n(`{name}.csv`)\n")
        self.files.append(path.name)
        return path

    def figure(self, name: str, fig: Figure, caption: str) -> Path:
        fig.tight_layout()
        path = atomic_write(self.dir / f"{name}.png", lambda fh: fig.savefig(fh, format="png", dpi=110))
        self.sections.append(f"![{name}]({name}.png)\n\n{caption}\n")
        self.files.append(path.name)
        return path

    def finish(self, runs: Sequence[Any] = ()) -> Path:
        """Write ``<study>.md`` and ``study.json``; returns the document's path."""
        seconds = round(time.perf_counter() - self.started, 1)
        command = "python -m gan_sweeps.studies " + " ".join(shlex.quote(a) for a in self.argv)
        lines = [f"# {self.title}", "", f"Command: `{command}` ({seconds} s)", ""]
        if runs:
            lines += ["Runs:", ""] + [f"- `{r.name}`: {r.label} ({r.path})" for r in runs] + [""]
        if self.notes:
            lines += [f"{n}  " for n in self.notes] + [""]
        lines += self.sections
        if self.skipped:
            lines += ["## Skipped runs", ""] + [f"- {s}" for s in self.skipped] + [""]
        doc = atomic_write_text(self.dir / f"{self.study}.md", "\n".join(lines).rstrip() + "\n")
        record = {"study": self.study, "options": self.options, "wall_time_s": seconds,
                  "runs": [str(r.path) for r in runs], "skipped": self.skipped, "files": self.files + [doc.name]}
        atomic_write_text(self.dir / "study.json", json.dumps(record, indent=2, default=str) + "\n")
        print(f"wrote {doc} ({seconds} s)", flush=True)
        return doc


def line_panel(ax: Any, curves: dict[str, tuple[Sequence[float], Sequence[float]]], xlabel: str, ylabel: str,
               title: str = "", dashed: Sequence[str] = ()) -> None:
    """One line (with markers) per curve label; labels in ``dashed`` are drawn dashed (baselines)."""
    for label, (xs, ys) in curves.items():
        ax.plot(list(xs), list(ys), marker="o", markersize=3, linestyle="--" if label in dashed else "-", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=7)


def percent_list(text: str) -> list[float]:
    """argparse type: ``0,10,12.5`` -> [0, 10, 12.5], each in [0, 100], no duplicates, in the given order."""
    import argparse

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated percentages, got {text!r}") from None
    if not values or any(not 0 <= v <= 100 for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected distinct percentages in [0, 100], got {text!r}")
    return [int(v) if v.is_integer() else v for v in values]
