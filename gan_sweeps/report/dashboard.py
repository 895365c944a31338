"""A sweep's report as one W&B run, so the dashboard shows the answer beside the runs it came from.

The run has ``job_type=report`` and the group of the sweep's jobs (``<date>_<time>``, ``optuna_<study>``, or
``logger.wandb.group``), is named ``report <group>``, lives in ``<sweep>/wandb/`` and holds, in one logged step:

- ``report/<table>`` (``wandb.Table``): the report's tables, in report.csv's columns (a metric over repeats as
  ``<metric> | mean``, ``ci_low``, ``ci_high``, ``n``, ``min``, ``max``): ``report/settings`` (repeated sweeps),
  ``report/runs``, ``report/pivot`` (the command's ``--rows``/``--cols``; at a sweep's end the swept keys but the
  last as rows and the last as columns) and the sweeper's (``report/best_trial``, ``report/pareto_front``, ...);
- ``report/<figure>``: the report's figures as images (``loss_curves``, ``eval_curves``, ``samples_mosaic``, ...);
- ``race/<list>``: each list of records in the sweep folder's ``race.json`` as a table (``race/settings``,
  ``race/rounds``); its other entries (``race/outcome``) go to the run's summary;
- ``optuna/<plot>``: for an Optuna study, Optuna's matplotlib plots (``optimization_history``,
  ``param_importances``, ``pareto_front`` for several objectives), the study loaded from the storage and study
  name that ``optimization_results.yaml`` records;
- summary ``report/summary`` (the report's lines above the tables: runs, swept keys, the best setting) and
  ``report/warnings``; files report.md and the report's CSV files.

A sweep logs it at its end when its jobs log to W&B (:func:`log_sweep_end`, the Hydra callback in
conf/config.yaml); ``python -m gan_sweeps.report SWEEP_DIR --wandb`` logs it again from the folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from gan_sweeps.report.cli import Report, ReportOptions, make_report
from gan_sweeps.report.render import flat_grid
from gan_sweeps.report.runs import NoRunsError, flatten, load_optimization_results
from gan_sweeps.report.table import Grid, pivot_grid
from gan_sweeps.run.tracking import REPORT_JOB_TYPE, folder_group

RACE_FILE = "race.json"  # a raced sweep's rounds (hydra_plugins/gan_sweeps_grid)
STORAGE_ENV = "GAN_SWEEPS_OPTUNA_STORAGE"  # the Optuna sweeper's full storage URL when the recorded one is masked
MASK = "***"


@dataclass(frozen=True)
class Target:
    """Where the report run goes: the W&B project, entity, mode and group of the sweep's jobs."""

    project: str
    mode: str
    group: str
    entity: str | None = None


def target_of(wandb_cfg: Mapping[str, Any] | None, sweep_dir: str | os.PathLike, force: bool = False) -> Target | None:
    """The target of a sweep whose jobs were configured with ``logger.wandb`` = ``wandb_cfg``; None when they did not
    log to W&B (``enabled: false`` unless ``force``, or mode ``disabled``)."""
    wb = wandb_cfg if wandb_cfg is not None else {}
    if not force and not wb.get("enabled", False):
        return None
    mode = str(wb.get("mode") or os.environ.get("WANDB_MODE") or "offline")
    if mode == "disabled":
        return None
    from gan_sweeps.run.train_config import WandbConfig

    return Target(project=str(wb.get("project") or WandbConfig.project), mode=mode,
                  group=str(wb.get("group") or folder_group(sweep_dir)), entity=wb.get("entity"))


def recorded_target(root: Path) -> Target | None:
    """The target of the sweep in folder ``root``, from its ``multirun.yaml`` (the sweep's own ``logger.wandb`` and
    folder), even when its jobs did not log to W&B; the defaults for a folder without one (a single run's). None
    when W&B is disabled (mode ``disabled``)."""
    from omegaconf import OmegaConf

    wandb_cfg: Any = {}
    folder = root.resolve()
    if (root / "multirun.yaml").is_file():
        recorded = OmegaConf.load(root / "multirun.yaml")
        wandb_cfg = OmegaConf.select(recorded, "logger.wandb", default=None) or {}
        sweep = OmegaConf.select(recorded, "hydra.sweep", default=None)
        configured = str(OmegaConf.to_container(sweep, resolve=False).get("dir")) if sweep is not None else ""
        if configured and "${" not in configured:  # the folder the jobs were given: their group's source
            folder = Path(configured)
    return target_of(wandb_cfg, folder, force=True)


# ---- what the run holds -------------------------------------------------------------------------------------------
def slug(title: str) -> str:
    """A grid's title as a W&B key: ``Settings (repeats over seed aggregated)`` -> ``settings``."""
    return re.sub(r"[^a-z0-9]+", "_", title.split(" (")[0].lower()).strip("_") or "table"


def default_pivot(report: Report) -> Grid | None:
    """The pivot a sweep's end logs (no ``--rows``/``--cols`` there): the swept keys but the last as rows, the last
    as column groups (one swept key: its rows); None when only repeats were swept."""
    keys = report.sweep.setting_keys
    if not keys:
        return None
    rows, cols = (keys[:-1], keys[-1:]) if len(keys) > 1 else (keys, [])
    return pivot_grid(report.sweep, rows, cols, reference=report.reference)


def _cell(value: Any) -> Any:
    return json.dumps(value, default=str) if isinstance(value, (list, dict, tuple)) else value


def wandb_table(header: list[str], rows: list[list[Any]]) -> Any:
    """A ``wandb.Table`` (columns may mix numbers, text and blanks); lists and mappings in cells as JSON text."""
    import wandb

    return wandb.Table(columns=header, data=[[_cell(v) for v in row] for row in rows], allow_mixed_types=True)


def records_table(records: list[dict[str, Any]]) -> Any:
    """Records (nested mappings flattened to ``a.b`` columns, in order of appearance) as a ``wandb.Table``."""
    flat = [flatten(record, sep=".") for record in records]
    header = list(dict.fromkeys(key for record in flat for key in record))
    return wandb_table(header, [[record.get(key) for key in header] for record in flat])


def race_entries(root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``race.json``'s lists of records as tables (``race/<key>``) and its other entries as summary values."""
    path = root / RACE_FILE
    if not path.is_file():
        return {}, {}
    race = json.loads(path.read_text())
    tables, summary = {}, {}
    for key, value in (race.items() if isinstance(race, dict) else []):
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            tables[f"race/{key}"] = records_table(value)
        else:
            summary[f"race/{key}"] = value
    return tables, summary


def _open_storage(url: str) -> Any:
    """The recorded storage URL (``sqlite:///...``, ``journal:/path``, an RDB URL) as an Optuna storage."""
    import optuna

    if MASK in url:  # the password is not recorded: the sweeper exports the full URL to this process
        url = os.environ.get(STORAGE_ENV) or url
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url[len("journal:"):]))
    return url


def optuna_figures(results: dict[str, Any], out: Path, problems: list[str]) -> dict[str, Path]:
    """Optuna's matplotlib plots of the study ``results`` (optimization_results.yaml) records, saved as PNG files in
    ``out``: ``optimization_history`` (one per objective for several), ``param_importances`` and, for several
    objectives, ``pareto_front``. A plot Optuna cannot draw (too few trials) is left out with a note in
    ``problems``."""
    if not results.get("study_name") or not results.get("storage"):
        return {}
    import matplotlib
    import matplotlib.pyplot as plt
    import optuna
    import optuna.visualization.matplotlib as plots

    study = optuna.load_study(study_name=str(results["study_name"]), storage=_open_storage(str(results["storage"])))
    objective = results.get("objective")
    names = [str(n) for n in objective] if isinstance(objective, list) else [str(objective or "objective")]
    draw: dict[str, Callable[[], Any]] = {}
    if len(study.directions) == 1:
        draw["optimization_history"] = lambda: plots.plot_optimization_history(study, target_name=names[0])
    else:
        for index, name in enumerate(names[:len(study.directions)]):
            draw[f"optimization_history_{slug(name)}"] = (
                lambda i=index, n=name: plots.plot_optimization_history(study, target=lambda t: t.values[i],
                                                                        target_name=n))
        draw["pareto_front"] = lambda: plots.plot_pareto_front(study, target_names=names[:len(study.directions)])
    draw["param_importances"] = lambda: plots.plot_param_importances(study)
    files = {}
    for name, plot in draw.items():
        try:
            # Optuna's ExperimentalWarning on every matplotlib plot; its style sheet (ggplot) is set process-wide
            with warnings.catch_warnings(), matplotlib.rc_context():
                warnings.simplefilter("ignore")
                axes = plot()
                figure = getattr(axes, "figure", None) or axes.flat[0].figure
                figure.savefig(out / f"{name}.png", bbox_inches="tight")
                plt.close(figure)
            files[name] = out / f"{name}.png"
        except Exception as exc:  # noqa: BLE001 - e.g. importances of a study with fewer than two trials
            problems.append(f"optuna {name}: {_first_line(exc)}")
            plt.close("all")
    return files


# ---- the run ------------------------------------------------------------------------------------------------------
def log_report(report: Report, root: Path, target: Target, out: Path) -> Path:
    """Log ``report`` (made from sweep folder ``root``, its files in ``out``) as the report run; returns the run's
    local folder (``<root>/wandb/offline-run-...`` offline)."""
    import wandb

    if wandb.run is not None:
        raise RuntimeError(f"another W&B run ({wandb.run.name}) is still active in this process")
    problems = list(report.warnings)
    grids = list(report.grids)
    if not any(grid.title == "Pivot" for grid in grids):
        grids += [grid for grid in [default_pivot(report)] if grid]
    data: dict[str, Any] = {f"report/{slug(grid.title)}": wandb_table(*flat_grid(grid)) for grid in grids}
    images = {f"report/{Path(name).stem}": path for name, path in report.files.items() if name.endswith(".png")}
    results = load_optimization_results(root)
    if results:
        images.update({f"optuna/{name}": path for name, path in optuna_figures(results, out, problems).items()})
    race_tables, race_summary = race_entries(root)
    data.update(race_tables)
    data.update({key: wandb.Image(str(path), caption=key.split("/", 1)[1]) for key, path in images.items()})
    sweep = report.sweep
    run = wandb.init(dir=str(root), project=target.project, entity=target.entity, mode=target.mode,
                     group=target.group, job_type=REPORT_JOB_TYPE, name=f"report {target.group}", tags=["report"],
                     config={"sweep": {"dir": str(root.resolve()), "swept": sweep.swept,
                                       "setting_keys": sweep.setting_keys, "repeat_keys": sweep.repeat_keys},
                             "report": {"primary": sweep.primary, "direction": sweep.direction}},
                     settings=wandb.Settings(silent=True, show_warnings=False))
    try:
        run.log(data)
        run.summary.update({"report/summary": "\n".join(report.lines), "report/warnings": problems,
                            **race_summary})
        for name, path in report.files.items():
            if not name.endswith(".png"):  # report.md, report.csv, ...: uploaded with the run's files
                shutil.copyfile(path, Path(run.dir) / name)
        return Path(run.dir).parent
    finally:
        run.finish()


def log_sweep(root: Path, target: Target, options: ReportOptions | None = None) -> Path:
    """Make ``root``'s report in a temporary folder (nothing printed, the sweep folder untouched but for its
    ``wandb/``) and log it as the report run."""
    with tempfile.TemporaryDirectory(prefix="gan_sweeps_report_") as tmp:
        options = replace(options or ReportOptions(), out=Path(tmp), print_table=False)
        return log_report(make_report(root, options), root, target, Path(tmp))


def log_sweep_end(config: Any) -> Path | None:
    """At a sweep's end (the Hydra callback ``WandbReport``): the report run, when the jobs log to W&B and the
    sweep ran (not for ``hydra.sweeper.plan=true``); a failure is one warning line, never the sweep's."""
    if (config.hydra.get("sweeper") or {}).get("plan"):
        return None
    try:
        root = Path(config.hydra.sweep.dir)
        target = target_of((config.get("logger") or {}).get("wandb"), root)
        return log_sweep(root, target) if target else None
    except NoRunsError:
        return None
    except Exception as exc:  # noqa: BLE001 - the sweep's runs are done and recorded: a report run is extra
        print(f"warning: the sweep's W&B report run was not logged: {_first_line(exc)}", file=sys.stderr)
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
