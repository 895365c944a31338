"""How a sweep job finds its Optuna trial: the overrides the sweeper adds to every job and the way back to the trial.

The task function cannot be handed the trial object (jobs may run in other processes or machines, through joblib
or submitit), so the sweeper passes the trial's identity as three overrides under the ``optuna`` config key::

    ++optuna.storage='sqlite:////abs/multirun/optuna/<study>/optuna.db' ++optuna.study_name=<study> ++optuna.trial=3

and a job (the pruning callback) reopens the trial from the storage with :func:`open_trial`. The study's pruner is
stored in the study's user attributes (``pruner``, a ``_target_`` dict) by the sweeper, so a job prunes with the
pruner the sweep was started with.

This module is imported by Hydra's plugin scan at start-up: Optuna is imported inside the functions only."""

from __future__ import annotations

from typing import Any, Mapping

NAMESPACE = "optuna"  # the config key holding a job's trial identity (never a search dimension)
PRUNER_ATTR = "pruner"  # study user attribute: the pruner config of the sweep
SQLITE_TIMEOUT_S = 120  # seconds a SQLite connection waits for another process's write lock


def quote(text: str) -> str:
    """A Hydra override value that stays one literal string whatever it holds (``/``, ``:``, ``=``, spaces)."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def identity_overrides(storage: str, study_name: str, number: int) -> list[str]:
    """The overrides that tell a job which trial it is."""
    return [f"++{NAMESPACE}.storage={quote(storage)}", f"++{NAMESPACE}.study_name={quote(study_name)}",
            f"++{NAMESPACE}.trial={int(number)}"]


def identity_of(cfg: Mapping[str, Any] | None) -> tuple[str, str, int] | None:
    """``(storage, study_name, trial_number)`` from a job's config (its ``optuna`` node), or None outside a study."""
    node = (cfg or {}).get(NAMESPACE) if hasattr(cfg, "get") else None
    if not node or node.get("trial") is None or not node.get("storage") or not node.get("study_name"):
        return None
    return str(node["storage"]), str(node["study_name"]), int(node["trial"])


def open_storage(url: str) -> Any:
    """An Optuna RDB storage for ``url``. SQLite connections wait for locks (``timeout``) instead of failing with
    "database is locked" when parallel jobs write at the same moment."""
    import optuna

    if url.startswith("sqlite:"):
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": SQLITE_TIMEOUT_S}})
    return optuna.storages.RDBStorage(url)


def build_pruner(node: Mapping[str, Any] | None) -> Any:
    """An Optuna pruner from a ``_target_`` mapping (None: no pruning)."""
    import optuna

    if not node:
        return optuna.pruners.NopPruner()
    from hydra.utils import instantiate

    return instantiate(dict(node))


def open_trial(storage_url: str, study_name: str, number: int) -> Any:
    """The running :class:`optuna.trial.Trial` number ``number`` of the study, with the sweep's pruner, so that
    ``report`` and ``should_prune`` work from inside a job."""
    import optuna

    storage = open_storage(storage_url)
    study_id = storage.get_study_id_from_name(study_name)
    pruner = build_pruner(storage.get_study_user_attrs(study_id).get(PRUNER_ATTR))
    study = optuna.load_study(study_name=study_name, storage=storage, pruner=pruner)
    return optuna.trial.Trial(study, storage.get_trial_id_from_study_id_trial_number(study_id, number))
