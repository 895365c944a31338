"""``optimization_results.yaml`` at the sweep root: the study's best trial (or Pareto front) and its trial counts.

Rewritten after every batch by every worker (atomically, so a reader never sees half a file), in the official
plugin's shape plus the study's identity:

- one objective: ``name: optuna``, ``best_params`` (override key -> value), ``best_value``, then ``best_trial``,
  ``best_run`` (its folder), ``direction``;
- several objectives: ``name: optuna``, ``solutions`` (the Pareto front: ``params``, ``values``, and our
  ``trial``, ``run``), ``directions``;
- then ``objective``, ``study_name``, ``storage`` (password masked), ``n_trials``, ``finished_trials``,
  ``failed_trials`` (failures counted against ``max_failure_rate``), ``trials`` (count per state),
  ``lost_trials`` (trials given up because their worker died or was stopped: ``trial``, its folder ``run``,
  ``retried_as``, ``reason``) and, for studies with repeats, ``repeats`` (the key and count) with the spread of
  each solution / of the best trial."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import yaml
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from ._workers import LOST, STALE, retry_history

RESULTS_FILE = "optimization_results.yaml"
RUN_DIR = "run_dir"  # trial user attribute: the trial's folder, relative to the sweep folder
REPEATS = "repeats"  # trial user attribute: the spread over a trial's repeats
# The run's recorded status (completed/failed/diverged/pruned), or crashed/invalid/...: a FAIL trial without it did
# not run to its end (interrupted, or lost with its worker) and does not count toward n_trials.
RUN_STATUS = "run_status"
ERROR = "error"


def _trial_entry(trial: FrozenTrial) -> dict[str, Any]:
    entry: dict[str, Any] = {"trial": trial.number, "run": trial.user_attrs.get(RUN_DIR)}
    if REPEATS in trial.user_attrs:
        entry[REPEATS] = trial.user_attrs[REPEATS]
    return entry


def summarize(study: Study, *, storage: str, objective: str | None, n_trials: int,
              counts: Callable[[FrozenTrial], bool], failed: Callable[[FrozenTrial], bool],
              repeats: dict[str, Any] | None = None) -> dict[str, Any]:
    """The study as a plain dict; ``counts`` says which trials count toward ``n_trials``, ``failed`` which count
    against ``max_failure_rate``."""
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    results: dict[str, Any] = {"name": "optuna"}
    directions = [d.name.lower() for d in study.directions]
    if len(directions) == 1:
        best = study.best_trial if states.get(TrialState.COMPLETE) else None
        results.update(best_params=dict(best.params) if best else {}, best_value=best.value if best else None,
                       best_trial=best.number if best else None,
                       best_run=best.user_attrs.get(RUN_DIR) if best else None, direction=directions[0])
        if best is not None and REPEATS in best.user_attrs:
            results["best_repeats"] = best.user_attrs[REPEATS]
    else:
        front = study.best_trials if states.get(TrialState.COMPLETE) else []
        results.update(solutions=[{"params": dict(t.params), "values": list(t.values), **_trial_entry(t)}
                                  for t in sorted(front, key=lambda t: t.number)],
                       directions=directions)
    results.update(objective=objective, study_name=study.study_name, storage=storage, n_trials=n_trials,
                   finished_trials=sum(1 for t in trials if counts(t)),
                   failed_trials=sum(1 for t in trials if failed(t)),
                   trials={state.name.lower(): states.get(state, 0) for state in TrialState})
    retries = {retry_history(t)[-1]: t.number for t in trials if retry_history(t)}
    lost = [t for t in trials if t.state == TrialState.FAIL and RUN_STATUS not in t.user_attrs
            and (t.number in retries or LOST in t.system_attrs)]
    if lost:
        results["lost_trials"] = [{"trial": t.number, "run": str(t.number), "retried_as": retries.get(t.number),
                                   "reason": t.system_attrs.get(LOST, STALE)} for t in lost]
    if repeats:
        results["repeats"] = repeats
    return results


def write_results(folder: str | os.PathLike, results: dict[str, Any]) -> Path:
    """Write ``optimization_results.yaml`` atomically (a reader never sees half a file)."""
    return write_atomically(Path(folder) / RESULTS_FILE,
                            yaml.safe_dump(results, sort_keys=False, default_flow_style=False))


def write_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file of this process beside ``path``, then rename it onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    return tmp.replace(path)
