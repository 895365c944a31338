"""App hooks: what a Hydra app may ask of gan-sweeps' sweepers (``hydra/sweeper=grid`` and ``hydra/sweeper=optuna``).

Both sweepers work for any Hydra app as they are. An app that wants more names a module, a class (instantiated
with no arguments) or an object in ``hydra.sweeper.app_hooks``. To reach whichever of the two sweepers runs (and
leave Hydra's own sweepers, which have no such key, alone) it registers the option ``default`` of the config group
``hydra/sweeper/app_hooks`` (:data:`HOOKS_GROUP`), which both sweepers' configs load when it exists::

    ConfigStore.instance().store(group="hydra/sweeper/app_hooks", name="default",
                                 node={"app_hooks": "my_app.sweep_hooks"})

(or a file ``hydra/sweeper/app_hooks/default.yaml`` in its config folder holding ``app_hooks: my_app.sweep_hooks``);
``hydra.sweeper.app_hooks=...`` in a config or on the command line also works once the sweeper is chosen. The
object has any of the functions of :class:`AppHooks` (a missing one keeps its default, which does nothing):

- ``preflight(cfg)``: check a job's composed config (it carries ``cfg.hydra``) and raise with a one-line message
  when the job is invalid. The grid sweeper checks every job before any starts (nothing starts if one is
  invalid); the Optuna sweeper checks a trial's jobs before launching them (a refused trial is told FAIL with
  ``run_status: invalid``).
- ``explain_error(exc, overrides) -> str``: a job's composition error (a bad type, an unknown key) as one line.
- ``plan(configs, overrides, hydra_config, sweep_dir) -> str | None``: the grid sweeper's plan of every job's
  composed config. ``hydra.sweeper.plan=true`` prints it and runs nothing (``sweep_dir`` None); a sweep that runs
  calls it too, with its folder, so the app can leave its plan there.
- ``run_status(run_dir) -> str | None``: the status a finished job recorded in its run folder (``completed``,
  ``failed``, ``diverged``, ``pruned``), for the Optuna sweeper: ``pruned`` tells the trial PRUNED, ``failed``
  counts against ``max_failure_rate``, any status is kept as the trial's ``run_status``.

This module imports nothing of any app, and nothing heavy (Hydra's start-up scan of plugins imports it)."""

import importlib
from dataclasses import dataclass, fields
from typing import Any, Callable, Optional, Sequence, Tuple

from hydra.errors import CompactHydraException
from omegaconf import DictConfig


HOOKS_GROUP = "hydra/sweeper/app_hooks"
# The sweepers' configs load the app's option ``default`` of HOOKS_GROUP (package: the sweeper's node), if any.
HOOKS_DEFAULT = {"optional app_hooks@_here_": "default"}


def one_line(exc: BaseException) -> str:
    """An exception's text on one line (its type name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass(frozen=True)
class AppHooks:
    """The hooks an app may provide (see the module docstring); each default does nothing."""

    preflight: Callable[[DictConfig], Any] = lambda cfg: None
    explain_error: Callable[[BaseException, Sequence[str]], str] = lambda exc, overrides: one_line(exc)
    plan: Callable[..., Optional[str]] = lambda configs, overrides, hydra_config, sweep_dir: None
    run_status: Callable[[Any], Optional[str]] = lambda run_dir: None


def _named(path: str) -> Any:
    """The module ``path``, or the attribute ``path`` names in its module."""
    module, _, name = path.rpartition(".")
    try:
        return importlib.import_module(path)
    except ImportError:
        if not module:
            raise
    return getattr(importlib.import_module(module), name)


def load_app_hooks(path: Optional[str]) -> AppHooks:
    """The hooks named by ``hydra.sweeper.app_hooks`` (None: the defaults)."""
    if not path:
        return AppHooks()
    try:
        source = _named(str(path))
    except Exception as exc:  # noqa: BLE001 - a wrong name ends the command in one line
        raise CompactHydraException(f"hydra.sweeper.app_hooks={path}: cannot load it ({one_line(exc)})") from None
    if isinstance(source, type):
        source = source()
    found = {f.name: getattr(source, f.name) for f in fields(AppHooks) if callable(getattr(source, f.name, None))}
    if not found:
        names = ", ".join(f.name for f in fields(AppHooks))
        raise CompactHydraException(f"hydra.sweeper.app_hooks={path}: it has none of the hooks ({names})")
    return AppHooks(**found)


def check_job(hooks: AppHooks, config_loader: Any, config: DictConfig,
              overrides: Sequence[str]) -> Tuple[Optional[DictConfig], Optional[str]]:
    """Compose one job's config and pass it to the app's ``preflight``: (its config, None), or (None or its config,
    the one-line reason it is invalid)."""
    try:
        cfg = config_loader.load_sweep_config(config, list(overrides))
    except Exception as exc:  # noqa: BLE001 - a job that cannot be composed is reported, not raised
        return None, hooks.explain_error(exc, overrides)
    try:
        hooks.preflight(cfg)
    except Exception as exc:  # noqa: BLE001 - the app's one-line verdict
        return cfg, one_line(exc)
    return cfg, None
