"""``metrics.json``: the run folder's record of status, timings and final metrics, written atomically."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from gan_sweeps.atomic import atomic_write_text

STATUSES = ("running", "completed", "diverged", "failed", "pruned", "interrupted")


def _jsonable(value: Any) -> Any:
    """Plain JSON: tensors/numpy scalars to numbers, NaN/inf to null (JSON has no NaN)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class RunRecord:
    """``read_only``: ``write`` does nothing (the extra ranks of a data-parallel run share rank 0's folder)."""

    def __init__(self, run_dir: str | Path, read_only: bool = False):
        self.path = Path(run_dir) / "metrics.json"
        self.read_only = read_only

    def read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def write(self, data: dict[str, Any]) -> None:
        if data.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {data.get('status')!r}")
        if self.read_only:
            return
        atomic_write_text(self.path, json.dumps(_jsonable(data), indent=2, sort_keys=True))


def run_dir_of(cfg: Any) -> Path:
    """The run folder: Hydra's output dir inside a Hydra job, else ``cfg.run_dir`` (tests, notebooks), else cwd."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(cfg.get("run_dir") or os.getcwd())


def is_primary_process() -> bool:
    """False in the processes Lightning's ``strategy=ddp`` starts for ranks > 0: they train their shard, while
    rank 0 alone writes the run record and evaluates."""
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"
