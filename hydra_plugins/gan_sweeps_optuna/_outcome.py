"""What a finished job (or a trial's repeat jobs) tells its trial: state, values, run status, error.

- A value is anything ``float()`` accepts (Python and NumPy floats, 0-d arrays and tensors, ints); a
  multi-objective study takes a sequence of them, one per direction. Finite values -> COMPLETE.
- The status the job recorded in its folder (the app's ``run_status`` hook, see ``gan_sweeps_grid.hooks``) is
  ``pruned``, or ``optuna.TrialPruned`` escaped the task -> PRUNED.
- NaN/inf (an app's run that failed or diverged may return NaN, its recorded status says which) -> FAIL.
- The task raised, or returned something ``float()`` refuses -> FAIL.

``failure`` marks the FAIL outcomes that count against ``max_failure_rate``: a crash, a value ``float()``
refuses, a run recorded as ``failed``, a config refused before launch (``invalid``). A diverged run, or a NaN
from an app that records no status, is a result of the search (as for the official plugin), not a failure."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from hydra.core.utils import JobReturn
from omegaconf import OmegaConf
from optuna.trial import TrialState

FAILURE_STATUSES = ("crashed", "failed", "invalid", "bad value")


@dataclass
class Outcome:
    state: TrialState
    values: list[float] | None  # one per objective (COMPLETE only)
    status: str  # the status the run recorded, or crashed / invalid / bad value / no value
    error: str | None = None
    run_dir: Path | None = None
    repeats: dict[str, Any] | None = field(default=None)  # key, values per repeat, mean, std, n

    @property
    def failure(self) -> bool:
        return self.state == TrialState.FAIL and self.status in FAILURE_STATUSES


def as_values(value: Any, n_objectives: int) -> list[float]:
    """The job's return value as ``n_objectives`` floats (raises ValueError with a one-line reason)."""
    try:
        if n_objectives == 1:
            return [float(value)]
        values = [float(v) for v in value]
    except (TypeError, ValueError):
        expected = "a value float() accepts" if n_objectives == 1 else f"{n_objectives} values float() accepts"
        raise ValueError(f"the task returned {_short(value)}: expected {expected}") from None
    if len(values) != n_objectives:
        raise ValueError(f"the task returned {len(values)} values for {n_objectives} objectives")
    return values


def job_outcome(ret: JobReturn, n_objectives: int, run_status: Callable[[Path], str | None]) -> Outcome:
    """``run_status``: the app's hook reading the status a job recorded in its folder."""
    run_dir = _run_dir_of(ret)
    status = run_status(run_dir) if run_dir is not None else None
    try:
        value = ret.return_value
    except Exception as exc:  # noqa: BLE001 - the task raised: a failed trial, not a failed sweep
        if type(exc).__name__ == "TrialPruned":
            return Outcome(TrialState.PRUNED, None, "pruned", None, run_dir)
        return Outcome(TrialState.FAIL, None, status or "crashed", f"{type(exc).__name__}: {exc}", run_dir)
    if status == "pruned":
        return Outcome(TrialState.PRUNED, None, status, None, run_dir)
    try:
        values = as_values(value, n_objectives)
    except ValueError as exc:
        return Outcome(TrialState.FAIL, None, "bad value", str(exc), run_dir)
    if all(math.isfinite(v) for v in values):
        return Outcome(TrialState.COMPLETE, values, status or "completed", None, run_dir)
    error = f"the task returned {_short(value)}" + (f" (run status {status})" if status else "")
    return Outcome(TrialState.FAIL, values, status or "no value", error, run_dir)


def repeats_outcome(outcomes: Sequence[Outcome], key: str, trial_dir: Path | None) -> Outcome:
    """One trial's repeat jobs: COMPLETE with the mean of each objective when every repeat completed, else FAIL
    with the first repeat's problem; ``repeats`` keeps the values per repeat, their mean, std (n - 1) and n."""
    values = [o.values for o in outcomes]
    summary: dict[str, Any] = {"key": key, "n": len(outcomes), "status": [o.status for o in outcomes],
                               "values": [v[0] if v and len(v) == 1 else v for v in values]}
    bad = next((o for o in outcomes if o.state != TrialState.COMPLETE), None)
    if bad is None:
        columns = list(zip(*values))
        means = [statistics.fmean(c) for c in columns]
        stds = [statistics.stdev(c) if len(c) > 1 else 0.0 for c in columns]
        summary.update(mean=means[0] if len(means) == 1 else means, std=stds[0] if len(stds) == 1 else stds)
        return Outcome(TrialState.COMPLETE, means, "completed", None, trial_dir, summary)
    index = list(outcomes).index(bad)
    state = TrialState.FAIL  # a pruned repeat cannot prune the trial's mean
    error = f"repeat {index} ({key}={index}): {bad.error or bad.status}"
    return Outcome(state, None, bad.status, error, trial_dir, summary)


def _run_dir_of(ret: JobReturn) -> Path | None:
    output_dir = OmegaConf.select(ret.hydra_cfg, "hydra.runtime.output_dir", default=None) if ret.hydra_cfg else None
    return Path(output_dir) if output_dir else None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
