"""``python -m gan_sweeps.sweep.status SWEEP_DIR [--watch [SECONDS]] [--all]`` (also ``gan-sweeps status``): how far a
sweep is, read from its run folders only, so it works the same for grids and Optuna studies and for jobs run in-process,
by joblib, submitit or Slurm, on this machine or another that shares the folder.

Per job it reads ``metrics.json`` (the status: written when the run starts and when it ends) and ``progress.json``
(``gan_sweeps.sweep.progress``: epoch, batch, epoch times and latest losses, updated while it trains). Job states:

- ``completed``, ``diverged``, ``failed``, ``pruned``, ``interrupted``: the run's own final record;
- ``running``: started (its folder exists) and not finished; ``starting`` until its first progress record;
- ``lost``: says running, but its process (on this machine) is gone: killed without writing its record;
- ``pending``: not started yet: the sweep's expected job count (from ``multirun.yaml``: the grid's size or the
  study's ``n_trials``) minus the run folders present.

ETA: a running job's remaining epochs times its mean epoch time (from the batches done while in its first epoch),
plus the time completed jobs spent after training (evaluation, writing); a pending job costs the mean wall time of
the completed jobs (else the projected time of the running ones); the sweep's ETA is the remaining work spread
over the jobs running now (at least the longest remaining job)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from gan_sweeps.sweep.progress import process_alive, read_progress, this_host
from gan_sweeps.report.runs import NoRunsError, Run, expected_job_count, find_run_dirs, is_number, load_run

FINAL_STATES = ("completed", "diverged", "failed", "pruned", "interrupted")
STATES = ("completed", "running", "failed", "diverged", "pending", "pruned", "interrupted", "lost")
PROBLEM_STATES = ("failed", "diverged", "interrupted", "lost", "unknown")
SHOWN_LOSSES = ("d_loss", "g_loss", "loss", "recon", "kl")  # first ones found in a job's latest losses
STALE_AFTER_S = 600  # a running job silent for this long is flagged (it may be stuck, or on a lost machine)
STATE_STYLES = {"completed": "green", "running": "yellow", "starting": "yellow", "failed": "bold red",
                "diverged": "red", "lost": "bold magenta", "interrupted": "magenta", "pruned": "dim",
                "pending": "dim"}


class StatusError(Exception):
    """SWEEP_DIR is not a sweep folder: reported in one line, exit status 2."""


@dataclass
class JobStatus:
    name: str
    label: str
    state: str  # one of STATES, or "starting" (running without a progress record yet) or "unknown"
    epoch: float | None = None  # epochs done, fractional within an epoch
    max_epochs: int | None = None
    losses: dict[str, float] = field(default_factory=dict)
    elapsed_s: float | None = None
    remaining_s: float | None = None
    note: str = ""  # error of a failed job, "finishing", "no update for 12 min"

    @property
    def active(self) -> bool:
        return self.state in ("running", "starting")


@dataclass
class SweepStatus:
    root: Path
    jobs: list[JobStatus]
    expected: int | None  # job count from multirun.yaml (None: unknown)
    eta_s: float | None  # None: not enough timings yet

    @property
    def pending(self) -> int | None:
        return None if self.expected is None else max(0, self.expected - len(self.jobs))

    def count(self, state: str) -> int:
        if state == "pending":
            return self.pending or 0
        if state == "running":
            return sum(job.active for job in self.jobs)
        return sum(job.state == state for job in self.jobs)

    @property
    def finished(self) -> bool:
        """No job is running and none is pending (an unknown expected count counts as none pending)."""
        return not any(job.active for job in self.jobs) and not self.pending


# ---- one job -----------------------------------------------------------------------------------------------------
def _state(run: Run, progress: dict[str, Any]) -> str:
    status = run.status
    if status in FINAL_STATES or status == "unknown":
        return status
    if not progress:
        return "starting"
    pid, host = progress.get("pid"), progress.get("host")
    if host == this_host() and isinstance(pid, int) and not process_alive(pid):
        return "lost"
    return "running"


def _mean(values: Sequence[float]) -> float | None:
    numbers = [v for v in values if is_number(v)]
    return sum(numbers) / len(numbers) if numbers else None


def epochs_done(progress: dict[str, Any]) -> float | None:
    """Completed epochs plus the finished fraction of the current one."""
    epoch, batch, per_epoch = progress.get("epoch"), progress.get("batch") or 0, progress.get("batches_per_epoch")
    if not is_number(epoch):
        return None
    return epoch + (batch / per_epoch if is_number(per_epoch) and per_epoch > 0 else 0.0)


def epoch_time(progress: dict[str, Any]) -> float | None:
    """Seconds per epoch: the mean of finished epochs, else extrapolated from the batches of the first one."""
    mean = _mean(progress.get("epoch_seconds") or [])
    if mean is not None:
        return mean
    batch, per_epoch = progress.get("batch") or 0, progress.get("batches_per_epoch")
    started, updated = progress.get("epoch_started"), progress.get("updated")
    if batch and is_number(per_epoch) and is_number(started) and is_number(updated) and updated > started:
        return (updated - started) * per_epoch / batch
    return None


def job_status(run: Run, label: str, now: float, tail_s: float | None, job_s: float | None) -> JobStatus:
    """A job's state, progress and remaining seconds. ``tail_s``: typical seconds from training's end to the run's
    end (evaluation); ``job_s``: typical wall time of a whole job (for a job without timings yet)."""
    progress = read_progress(run.path)
    state = _state(run, progress)
    job = JobStatus(name=run.name, label=label, state=state, max_epochs=progress.get("max_epochs"),
                    epoch=epochs_done(progress), losses=_losses(progress, run))
    if state in FINAL_STATES:
        job.elapsed_s = run.metrics.get("wall_time_s")
        job.note = run.error if state != "completed" else ""
        job.remaining_s = 0.0
        return job
    if state not in ("running", "starting"):
        job.note = "no final record: killed?" if state == "lost" else "unreadable metrics.json"
        return job
    started = progress.get("started")
    job.elapsed_s = now - started if is_number(started) else None
    if progress.get("stage") == "finishing":
        job.note = "training done: evaluating"
        ended = progress.get("train_ended")
        since = now - ended if is_number(ended) else 0.0
        job.remaining_s = None if tail_s is None else max(0.0, tail_s - since)  # known once a job has completed
    else:
        per_epoch = epoch_time(progress)
        if per_epoch is not None and job.epoch is not None and is_number(job.max_epochs):
            job.remaining_s = max(0.0, job.max_epochs - job.epoch) * per_epoch + (tail_s or 0.0)
        elif job_s is not None:
            job.remaining_s = max(0.0, job_s - (job.elapsed_s or 0.0))
    updated = progress.get("updated")
    if is_number(updated) and now - updated > STALE_AFTER_S:
        job.note = f"no update for {format_duration(now - updated)}"
    return job


def _losses(progress: dict[str, Any], run: Run) -> dict[str, float]:
    """The latest losses worth a column (D and G, or the VAE's), from progress.json, else metrics.json's final ones."""
    found = {k: v for k, v in (progress.get("losses") or {}).items() if is_number(v)}
    if not found:
        found = {k.split("/", 1)[1]: v for k, v in run.metrics.items() if k.startswith("train/") and is_number(v)}
    return {k: found[k] for k in SHOWN_LOSSES if k in found}


# ---- the sweep ---------------------------------------------------------------------------------------------------
def _labels(root: Path, runs: Sequence[Run]) -> dict[str, str]:
    """Each run's values of the swept keys (``k=2 seed=0``) from ``.hydra/overrides.yaml`` (cheap): the keys the
    sweep varies according to ``multirun.yaml``, else those whose overrides differ between the runs so far."""
    from gan_sweeps.report.table import override_split
    from gan_sweeps.sweep.keys import planned_sweep_keys

    swept = planned_sweep_keys(root)
    swept = override_split(runs)[0] if swept is None else swept
    return {run.name: " ".join(f"{k}={run.overrides[k]}" for k in swept if k in run.overrides) for run in runs}


def _typical_times(runs: Sequence[Run]) -> tuple[float | None, float | None]:
    """(tail_s, job_s) from the completed jobs: seconds from training's end to the run's end, and whole wall time."""
    tails, walls = [], []
    for run in runs:
        if not run.completed:
            continue
        walls.append(run.metrics.get("wall_time_s"))
        ended = read_progress(run.path).get("train_ended")
        try:
            finished = (run.path / "metrics.json").stat().st_mtime
        except OSError:
            continue
        if is_number(ended) and finished >= ended:
            tails.append(finished - ended)
    return _mean(tails), _mean(walls)


def sweep_status(root: str | Path, now: float | None = None) -> SweepStatus:
    """The status of every job of SWEEP_DIR (a sweep folder, a study folder or a single run folder)."""
    root = Path(root)
    if not root.is_dir():
        raise StatusError(f"{root} is not a folder")
    expected = expected_job_count(root)
    runs = [load_run(path, root) for path in find_run_dirs(root)]
    if not runs and expected is None and not (root / "multirun.yaml").is_file():
        raise StatusError(f"no runs found in {root} (expected a sweep folder holding multirun.yaml or job folders "
                          f"with .hydra/, e.g. {root}/0/.hydra/)")
    now = time.time() if now is None else now
    tail_s, job_s = _typical_times(runs)
    labels = _labels(root, runs)
    jobs = [job_status(run, labels.get(run.name, ""), now, tail_s, job_s) for run in runs]
    return SweepStatus(root=root, jobs=jobs, expected=expected,
                       eta_s=sweep_eta(jobs, expected, job_s, tail_s))


def sweep_eta(jobs: Sequence[JobStatus], expected: int | None, job_s: float | None,
              tail_s: float | None) -> float | None:
    """Seconds until the sweep ends: the remaining work of running and pending jobs spread over the jobs running
    now, and at least the longest remaining job; None when a running job has no estimate and no job completed."""
    active = [job for job in jobs if job.active]
    pending = max(0, (expected or 0) - len(jobs))
    if not active and not pending:
        return 0.0
    if any(job.remaining_s is None for job in active):
        return None
    if pending and job_s is None:
        projected = [(job.elapsed_s or 0.0) + job.remaining_s for job in active]
        job_s = _mean(projected)
        if job_s is None:
            return None
    work = sum(job.remaining_s for job in active) + pending * (job_s or 0.0)
    longest = max((job.remaining_s for job in active), default=0.0)
    return max(longest, work / max(1, len(active)))


# ---- output ------------------------------------------------------------------------------------------------------
def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def summary_line(status: SweepStatus) -> str:
    """``6 jobs: 2 completed, 2 running, 0 failed, 0 diverged, 2 pending; ETA 1m20s (SWEEP_DIR)``."""
    total = status.expected if status.expected is not None else len(status.jobs)
    parts = [f"{status.count(state)} {state}" for state in STATES
             if state in ("completed", "running", "failed", "diverged", "pending") or status.count(state)]
    if status.expected is None:
        parts = [p for p in parts if not p.endswith("pending")] + ["pending unknown"]
    eta = "done" if status.finished else f"ETA {format_duration(status.eta_s)}"
    if not status.finished and status.count("running") > 1:
        eta += f" at {status.count('running')} jobs in parallel"
    return f"{total} jobs: {', '.join(parts)}; {eta} ({status.root})"


def job_table(status: SweepStatus, show_all: bool = False):
    """A rich table of the running jobs and those that went wrong (every job with ``show_all``)."""
    from rich import box
    from rich.table import Table

    shown = [job for job in status.jobs if show_all or job.active or job.state in PROBLEM_STATES]
    losses = list(dict.fromkeys(name for job in shown for name in job.losses))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold")
    for name, justify in [("job", "left"), ("settings", "left"), ("state", "left"), ("epoch", "right"),
                          *((loss, "right") for loss in losses), ("elapsed", "right"), ("left", "right"),
                          ("note", "left")]:
        table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis")
    for job in shown:
        epoch = "" if job.epoch is None else f"{job.epoch:.1f}/{job.max_epochs or '?'}"
        style = STATE_STYLES.get(job.state, "")
        table.add_row(job.name, job.label, f"[{style}]{job.state}[/]" if style else job.state, epoch,
                      *(f"{job.losses[n]:.3f}" if n in job.losses else "" for n in losses),
                      format_duration(job.elapsed_s) if job.elapsed_s is not None else "",
                      "" if job.state in FINAL_STATES else format_duration(job.remaining_s), job.note)
    return table if shown else None


def render(status: SweepStatus, show_all: bool = False):
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = [Text(summary_line(status), no_wrap=True, overflow="ignore")]  # one line, greppable
    table = job_table(status, show_all)
    if table is not None:
        parts.append(table)
    return Group(*parts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gan-sweeps status",
        description="Progress of a sweep (multirun/<date>/<time>/ or an Optuna study folder) from its run folders: "
                    "jobs completed / running / failed / diverged / pending, each running job's epoch and latest "
                    "losses, and an ETA.")
    parser.add_argument("sweep_dir", metavar="SWEEP_DIR", type=Path)
    parser.add_argument("--watch", nargs="?", const=5.0, type=float, metavar="SECONDS",
                        help="refresh every SECONDS (default 5) until no job is running or pending")
    parser.add_argument("--all", dest="show_all", action="store_true",
                        help="list every job (default: the running ones and those that failed, diverged or were lost)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.watch is not None and args.watch <= 0:
        print("error: --watch SECONDS must be > 0", file=sys.stderr)
        return 2
    from rich.console import Console

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    try:
        status = sweep_status(args.sweep_dir)
        if args.watch is None:
            console.print(render(status, args.show_all), crop=False)
            return 0
        return watch(args.sweep_dir, args.watch, args.show_all, console, status)
    except (StatusError, NoRunsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def watch(root: Path, interval: float, show_all: bool, console, status: SweepStatus) -> int:
    """Redraw in place on a terminal (a new summary line per refresh otherwise) until the sweep has finished."""
    from rich.live import Live

    if not console.is_terminal:
        while not status.finished:
            console.print(summary_line(status), no_wrap=True, overflow="ignore", markup=False, crop=False)
            time.sleep(interval)
            status = sweep_status(root)
        console.print(render(status, show_all), crop=False)
        return 0
    with Live(render(status, show_all), console=console, auto_refresh=False) as live:
        while not status.finished:
            time.sleep(interval)
            status = sweep_status(root)
            live.update(render(status, show_all), refresh=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
