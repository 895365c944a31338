"""The contract between a job and its Optuna trial (the only thing a job needs to know about this sweeper).

Every job the sweeper launches gets one config node, ``optuna.trial``, added by a ``++optuna.trial={...}``
override (so it also appears in the job's ``.hydra/overrides.yaml``)::

    optuna:
      trial:
        study_name: <study>
        number: 3                # the trial number: its folder is <sweep dir>/3 (repeats: 3/0, 3/1, ...)
        repeat: 0                # only in the repeat jobs of a trial (hydra.sweeper.repeats > 1)
        # only where the trial can take intermediate values (one objective, no repeats):
        _target_: hydra_plugins.gan_sweeps_optuna.trial_link.open_trial
        storage: postgresql://optuna:***@db:5432/studies   # never a password

A job that wants to report intermediate values and be pruned calls ``hydra.utils.instantiate(cfg.optuna.trial)``
when the node has a ``_target_``: it returns the running :class:`optuna.trial.Trial` (with the study's pruner),
on which ``trial.report(value, step)`` and ``trial.should_prune()`` work; the job then raises
``optuna.TrialPruned`` (or records ``status: pruned`` in its ``metrics.json``) and the sweeper tells PRUNED.
The job never imports this plugin: Hydra instantiates the target. Its return value is what the trial is told
(see ``_outcome``).

This module is imported by Hydra's plugin scan at start-up: Optuna is imported inside the functions only."""

from __future__ import annotations

from typing import Any, Mapping

NAMESPACE = "optuna"  # the job config key holding the trial link (never a search dimension)
PRUNER_ATTR = "pruner"  # study user attribute: the pruner config of the sweep, used by open_trial


def quote(text: str) -> str:
    """A Hydra override value that stays one literal string whatever it holds (``/``, ``:``, ``=``, spaces)."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def link_override(study_name: str, number: int, *, storage: str | None = None, repeat: int | None = None) -> str:
    """The override that gives a job its trial link; ``storage`` (already masked) makes the trial openable."""
    items = [f"study_name:{quote(study_name)}", f"number:{int(number)}"]
    if repeat is not None:
        items.append(f"repeat:{int(repeat)}")
    if storage is not None:
        items += [f"_target_:{__name__}.open_trial", f"storage:{quote(storage)}"]
    return f"++{NAMESPACE}.trial={{{','.join(items)}}}"


def build_pruner(node: Mapping[str, Any] | None) -> Any:
    """An Optuna pruner from a ``_target_`` mapping (None: no pruning)."""
    import optuna

    if not node:
        return optuna.pruners.NopPruner()
    from hydra.utils import instantiate

    return instantiate(dict(node))


def open_trial(storage: str, study_name: str, number: int) -> Any:
    """The running :class:`optuna.trial.Trial` number ``number`` of the study, with the sweep's pruner. ``storage``
    is the masked URL of the link; the password, if any, comes from the environment the sweeper passed on
    (or PGPASSWORD / ~/.pgpass on the job's machine)."""
    import optuna

    from ._study_storage import StorageSpec

    spec = StorageSpec.for_job(storage)
    backend = spec.open()
    study_id = backend.get_study_id_from_name(study_name)
    pruner = build_pruner(backend.get_study_user_attrs(study_id).get(PRUNER_ATTR))
    study = optuna.load_study(study_name=study_name, storage=backend, pruner=pruner)
    return optuna.trial.Trial(study, backend.get_trial_id_from_study_id_trial_number(study_id, int(number)))
