"""``optimization_results.yaml`` at the sweep root: the study's best trial and its trial counts.

Written after every batch (so an interrupted sweep still has it) in the shape ``gan_sweeps.report`` reads: ``name``,
``best_params`` (override key -> value, as a trial's overrides spell them), ``best_value``, ``direction``
(``minimize``/``maximize``), then the study's identity and its number of trials per state."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import yaml
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from gan_sweeps.atomic import atomic_write_text

RESULTS_FILE = "optimization_results.yaml"


def summarize(study: Study, *, storage: str, objective: str | None, n_trials: int,
              counts: Callable[[FrozenTrial], bool]) -> dict[str, Any]:
    """The study as a plain dict; ``counts`` says which trials count toward ``n_trials``."""
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = None
    if complete:
        pick = min if study.direction.name == "MINIMIZE" else max
        best = pick(complete, key=lambda t: t.value)
    return {
        "name": "optuna",
        "best_params": dict(best.params) if best else {},
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "best_run": best.user_attrs.get("run_dir") if best else None,
        "direction": study.direction.name.lower(),
        "objective": objective,
        "study_name": study.study_name,
        "storage": storage,
        "n_trials": n_trials,
        "finished_trials": sum(1 for t in trials if counts(t)),
        "trials": {state.name.lower(): states.get(state, 0) for state in TrialState},
    }


def write_results(folder: str | os.PathLike, results: dict[str, Any]) -> Path:
    """Write ``optimization_results.yaml`` atomically (a reader never sees half a file)."""
    return atomic_write_text(Path(folder) / RESULTS_FILE,
                             yaml.safe_dump(results, sort_keys=False, default_flow_style=False))
