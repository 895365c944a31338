"""Reading a sweep folder: which run folders it holds and what each one recorded.

Everything here is read-only and tolerant: a run still being written (no ``metrics.json`` yet, a CSV log with a
half-written last line, no samples) is read as far as it goes, never an error. The files read are the run-folder
contract: ``.hydra/{config,overrides,hydra}.yaml``, ``metrics.json``, ``csv/metrics.csv``, ``samples/epoch_NNN.png``
and, at the sweep root, ``multirun.yaml`` and ``optimization_results.yaml``."""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

from gan_sweeps.sweep.keys import parse_override, read_yaml, sweep_lengths, sweep_settings

NO_RECORD_STATUS = "running"  # a run folder without metrics.json has started (Hydra wrote .hydra/) but not finished
UNREADABLE_STATUS = "unknown"  # metrics.json exists but is not valid JSON
SAMPLE_PATTERN = re.compile(r"^epoch_(\d+)\.png$")
MAX_SEARCH_DEPTH = 3  # how deep below SWEEP_DIR run folders (folders holding .hydra/) are looked for
SKIPPED_FOLDERS = {"wandb", "checkpoints", "samples", "csv", "__pycache__"}

Series = list[tuple[float, float]]  # (step, value) pairs of one CSV column, blanks left out


class NoRunsError(Exception):
    """SWEEP_DIR does not exist or holds no run folder."""


# ---- small parsing helpers ---------------------------------------------------------------------------------------
def parse_scalar(text: Any) -> Any:
    """Typed value of a command-line override value: ``'2'`` -> 2, ``'1e-4'`` -> 1e-4, ``'true'`` -> True,
    ``'null'`` -> None; anything else (``'cgan'``, ``'[1,2]'``) stays text. Non-strings pass through."""
    if not isinstance(text, str):
        return text
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def flatten(mapping: dict[str, Any], prefix: str = "", sep: str = "/") -> dict[str, Any]:
    """``{'eval': {'pretrain': {'knn_acc': 0.9}}}`` -> ``{'eval/pretrain/knn_acc': 0.9}`` (flat keys kept as is)."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, name, sep))
        else:
            flat[name] = value
    return flat


def is_number(value: Any) -> bool:
    """A finite int/float that is not a bool (what a metric column can hold)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def natural_key(text: str) -> list[Any]:
    """Sort key putting ``2`` before ``10`` (job folders are numbered)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part]


def _to_float(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_csv_log(path: Path) -> dict[str, Series]:
    """Lightning CSVLogger output as ``{column: [(step, value), ...]}`` in step order; blank cells (the log is
    sparse) and a truncated last line (a run still writing) are skipped. ``epoch`` and ``step`` are not returned
    as columns."""
    series: dict[str, Series] = {}
    try:
        with open(path, newline="") as handle:
            for index, row in enumerate(csv.DictReader(handle)):
                step = _to_float(row.get("step"))
                step = float(index) if step is None else step
                for column, text in row.items():
                    if column in (None, "step", "epoch"):
                        continue
                    value = _to_float(text) if isinstance(text, str) else None
                    if value is not None:
                        series.setdefault(column, []).append((step, value))
    except (OSError, csv.Error, UnicodeDecodeError):
        pass
    for points in series.values():  # in step order (a resumed run appends; curves are drawn and interpolated by step)
        points.sort(key=lambda point: point[0])
    return series


def _mean(values: list[float]) -> float | None:
    numbers = [v for v in values if is_number(v)]
    return sum(numbers) / len(numbers) if numbers else None


# Metrics computed from other recorded values (usable with --metric like any metrics.json key).
DERIVED_METRICS = {
    "s_per_epoch": lambda m: _mean(m.get("epoch_seconds") or []),  # seed 002: mean seconds per epoch
}


# ---- one run -----------------------------------------------------------------------------------------------------
@dataclass
class Run:
    """One run folder: its overrides, config and record, with lazy access to its log and samples."""

    path: Path
    name: str  # the folder relative to SWEEP_DIR ("0", "1", ...; "." for a single run)
    overrides: dict[str, str] = field(default_factory=dict)  # command-line order
    metrics: dict[str, Any] = field(default_factory=dict)  # metrics.json, nested dicts flattened with "/"
    has_record: bool = False  # metrics.json exists
    record_readable: bool = True

    @property
    def status(self) -> str:
        if not self.has_record:
            return NO_RECORD_STATUS
        if not self.record_readable:
            return UNREADABLE_STATUS
        return str(self.metrics.get("status") or NO_RECORD_STATUS)

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def health(self) -> str:
        return str(self.metrics.get("health") or "")

    @property
    def error(self) -> str:
        return str(self.metrics.get("error") or "")

    # -- configuration --
    @cached_property
    def config(self) -> Any:
        """The composed config (``.hydra/config.yaml``) as an OmegaConf node, or None when unreadable."""
        from omegaconf import OmegaConf

        try:
            return OmegaConf.load(self.path / ".hydra" / "config.yaml")
        except Exception:  # noqa: BLE001 - a missing or broken config only loses the fallback look-ups
            return None

    @cached_property
    def config_leaves(self) -> dict[str, Any]:
        """The saved config's leaves as written (interpolations not resolved), keys joined with dots; {} when the
        file is missing or unreadable. Cheap (YAML only): what the swept/fixed split compares across runs."""
        data = read_yaml(self.path / ".hydra" / "config.yaml")
        return flatten(data, sep=".") if isinstance(data, dict) else {}

    @cached_property
    def group_choices(self) -> dict[str, str]:
        """Hydra's ``runtime.choices`` (``model: cgan``, ``optim: adam``): group values not given as overrides."""
        hydra_cfg = read_yaml(self.path / ".hydra" / "hydra.yaml") or {}
        choices = (hydra_cfg.get("hydra") or {}).get("runtime", {}).get("choices") or {}
        return {str(k): str(v) for k, v in choices.items() if v is not None}

    def setting(self, key: str) -> str | None:
        """The run's value of a config key as text: its override, else its config group choice, else the composed
        config (interpolations resolved where possible; a group node gives its ``name``), else metrics.json."""
        if key in self.overrides:
            return self.overrides[key]
        if key in self.group_choices:
            return self.group_choices[key]
        value = self._config_value(key)
        if value is None:
            recorded = self.metrics.get(key)
            value = recorded if is_number(recorded) or isinstance(recorded, str) else None
        return None if value is None else str(value)

    def _config_value(self, key: str) -> Any:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if self.config is None:
            return None
        try:
            value = OmegaConf.select(self.config, key, default=None, throw_on_resolution_failure=False)
        except Exception:  # noqa: BLE001 - e.g. an interpolation to a Hydra-only resolver
            return None
        if isinstance(value, DictConfig):
            return value.get("name")
        if isinstance(value, ListConfig):
            return OmegaConf.to_container(value)
        return value

    # -- results --
    def metric(self, key: str) -> Any:
        """A metric's final value: metrics.json, else a derived metric, else the last logged CSV value; else None."""
        if key in self.metrics:
            return self.metrics[key]
        if key in DERIVED_METRICS:
            return DERIVED_METRICS[key](self.metrics)
        series = self.log.get(key)
        return series[-1][1] if series else None

    def metric_names(self) -> set[str]:
        """Names of the scalar metrics this run recorded in metrics.json (and derived ones it allows)."""
        names = {k for k, v in self.metrics.items() if is_number(v)}
        names |= {k for k, fn in DERIVED_METRICS.items() if fn(self.metrics) is not None}
        return names

    @cached_property
    def csv_path(self) -> Path | None:
        """``csv/metrics.csv``, or the newest ``metrics.csv`` below ``csv/`` (a versioned CSVLogger)."""
        direct = self.path / "csv" / "metrics.csv"
        if direct.is_file():
            return direct
        found = sorted((self.path / "csv").glob("**/metrics.csv"), key=lambda p: p.stat().st_mtime)
        return found[-1] if found else None

    @cached_property
    def log(self) -> dict[str, Series]:
        return read_csv_log(self.csv_path) if self.csv_path else {}

    @cached_property
    def samples(self) -> dict[int, Path]:
        """``{epoch: samples/epoch_NNN.png}`` (1-based epochs), in epoch order."""
        folder = self.path / "samples"
        found = {}
        if folder.is_dir():
            for path in folder.iterdir():
                match = SAMPLE_PATTERN.match(path.name)
                if match and path.stat().st_size > 0:
                    found[int(match.group(1))] = path
        return dict(sorted(found.items()))

    @property
    def final_sample(self) -> Path | None:
        return self.samples[max(self.samples)] if self.samples else None


def _read_overrides(run_dir: Path, metrics: dict[str, Any]) -> dict[str, str]:
    """``.hydra/overrides.yaml`` (or the ``overrides`` list metrics.json keeps) as an ordered key -> value dict."""
    items = read_yaml(run_dir / ".hydra" / "overrides.yaml")
    if not isinstance(items, list):
        items = metrics.get("overrides") if isinstance(metrics.get("overrides"), list) else []
    pairs = (parse_override(item) for item in items)
    return {key: value for key, value in (p for p in pairs if p)}


def load_run(run_dir: Path, root: Path) -> Run:
    """Read one run folder (never raises for missing or partial files)."""
    record_path = run_dir / "metrics.json"
    metrics: dict[str, Any] = {}
    readable = True
    has_record = record_path.is_file()
    if has_record:
        try:
            loaded = json.loads(record_path.read_text())
            metrics = flatten(loaded) if isinstance(loaded, dict) else {}
            readable = isinstance(loaded, dict)
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            readable = False
    name = run_dir.relative_to(root).as_posix() if run_dir != root else run_dir.name
    return Run(path=run_dir, name=name, overrides=_read_overrides(run_dir, metrics), metrics=metrics,
               has_record=has_record, record_readable=readable)


# ---- the sweep ---------------------------------------------------------------------------------------------------
def _walk_for_runs(folder: Path, depth: int) -> Iterator[Path]:
    try:
        children = sorted((c for c in folder.iterdir() if c.is_dir()), key=lambda p: natural_key(p.name))
    except OSError:
        return
    for child in children:
        if child.name.startswith(".") or child.name in SKIPPED_FOLDERS:
            continue
        if (child / ".hydra").is_dir():
            yield child
        elif depth < MAX_SEARCH_DEPTH:
            yield from _walk_for_runs(child, depth + 1)


def find_run_dirs(root: Path) -> list[Path]:
    """Run folders of a sweep: SWEEP_DIR itself when it holds ``.hydra/`` (a single run), else every folder below it
    (up to MAX_SEARCH_DEPTH levels) that holds ``.hydra/``, in natural order (job 2 before job 10)."""
    if (root / ".hydra").is_dir():
        return [root]
    return list(_walk_for_runs(root, 1))


def load_sweep(root: str | Path) -> list[Run]:
    """All runs of SWEEP_DIR; raises NoRunsError (with a one-line message) when there are none."""
    root = Path(root)
    if not root.is_dir():
        raise NoRunsError(f"{root} is not a folder")
    runs = [load_run(d, root) for d in find_run_dirs(root)]
    if not runs:
        raise NoRunsError(f"no runs found in {root} (expected job folders holding .hydra/, e.g. {root}/0/.hydra/)")
    return runs


def load_optimization_results(root: str | Path) -> dict[str, Any] | None:
    """The Optuna sweeper's ``optimization_results.yaml`` at the sweep root, or None."""
    data = read_yaml(Path(root) / "optimization_results.yaml")
    return data if isinstance(data, dict) else None


def expected_job_count(root: str | Path) -> int | None:
    """How many jobs the sweep will launch, from ``multirun.yaml``: ``n_trials`` for a study sweeper (Optuna),
    else the product of the sweep lengths (Hydra's basic sweeper and other grid sweepers, which expand the same
    overrides and ``params``); None when unknown (no multirun.yaml, a study without ``n_trials``, an
    ``interval()`` in a grid, a race)."""
    sweeper = sweep_settings(root)
    if isinstance(sweeper.get("n_trials"), int):
        return sweeper["n_trials"]
    if "optuna" in str(sweeper.get("_target_", "")).lower() or sweeper.get("repeats") is not None:
        return None  # a race (repeats=auto) decides its run count as it goes: race.json says it
    lengths = sweep_lengths(root)
    if lengths is None or any(n is None for n in lengths.values()):
        return None
    return math.prod(lengths.values())
