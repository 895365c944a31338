"""The keys a sweep varies, read from its ``multirun.yaml`` (written by Hydra before the first job starts) and its
jobs' override strings: shared by the report, the status command and each job's W&B columns (``tracking``).
Read-only and tolerant: a missing or unreadable file reads as None."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is ~10x faster; run folders hold a few hundred lines of YAML each
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

BOOKKEEPING_KEY_PREFIXES = ("optuna.",)  # keys a sweeper adds for its own records, not a setting
BOOKKEEPING_KEYS = ("resume",)  # how a run was started, not a setting (a resumed race's new runs have resume=true)
DEFAULT_REPEAT_KEYS = ("seed",)  # swept keys read as repeats of one setting unless told otherwise


def read_yaml(path: Path) -> Any:
    """The file's YAML (safe loader), None when it is missing or not YAML."""
    try:
        return yaml.load(path.read_text(), Loader=_Loader)
    except (OSError, yaml.YAMLError):
        return None


def parse_override(item: str) -> tuple[str, str] | None:
    """``'optim.beta1=0.5'`` -> ``('optim.beta1', '0.5')``; ``'+trainer.x=1'`` and ``'++x=1'`` lose their prefix;
    a deletion ``'~key'`` reads as ``('key', '~')``; anything unparsable gives None."""
    item = str(item).strip()
    if item.startswith("~"):
        return (item[1:].split("=", 1)[0], "~") if len(item) > 1 else None
    key, sep, value = item.lstrip("+").partition("=")
    if not sep or not key:
        return None
    return key.strip(), value.strip()


def is_bookkeeping(key: str) -> bool:
    return key.startswith(BOOKKEEPING_KEY_PREFIXES) or key in BOOKKEEPING_KEYS


def sweep_lengths(root: str | Path) -> dict[str, int | None] | None:
    """The sweep's keys with their number of values, from ``multirun.yaml`` (None: the file is missing): each
    override of the command line and of ``hydra.sweeper.params`` (e.g. from an experiment preset; the command line
    replaces the same key), 1 for a fixed value, the count of a choice (``a,b,c``, ``range``, ``choice``), None for
    a value that is not a finite list (``interval(...)``, sampled by a study)."""
    data = read_yaml(Path(root) / "multirun.yaml")
    hydra_cfg = data.get("hydra") if isinstance(data, dict) else None
    if not isinstance(hydra_cfg, dict):
        return None
    sweeper = hydra_cfg.get("sweeper") or {}
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()]
    lengths: dict[str, int | None] = {}
    for text in params + list((hydra_cfg.get("overrides") or {}).get("task") or []):
        try:
            (override,) = OverridesParser.create().parse_overrides([text])
        except Exception:  # noqa: BLE001 - an override this Hydra cannot parse says nothing about the count
            continue
        if not override.is_sweep_override():
            lengths[override.get_key_element()] = 1
            continue
        try:
            lengths[override.get_key_element()] = len(list(override.sweep_string_iterator()))
        except Exception:  # noqa: BLE001 - interval() and other non-enumerable sweeps
            lengths[override.get_key_element()] = None
    return lengths


def sweep_settings(root: str | Path) -> dict[str, Any]:
    """The sweeper's ``_target_`` and ``n_trials`` as recorded in ``multirun.yaml`` ({} when absent)."""
    data = read_yaml(Path(root) / "multirun.yaml")
    sweeper = ((data or {}).get("hydra") or {}).get("sweeper") if isinstance(data, dict) else None
    return sweeper if isinstance(sweeper, dict) else {}


def planned_sweep_keys(root: str | Path) -> list[str] | None:
    """The keys a sweep varies according to its ``multirun.yaml`` (its sweep overrides and ``hydra.sweeper.params``,
    trial bookkeeping left out), known before any job ran; None without a multirun.yaml."""
    lengths = sweep_lengths(root)
    if lengths is None:
        return None
    return [key for key, n in lengths.items() if n != 1 and not is_bookkeeping(key)]
