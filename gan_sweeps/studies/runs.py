"""Finished runs as studies see them: found in run or sweep folders, labelled by their swept settings, and loaded
read-only through the model's own code.

A run's nets are rebuilt from its ``.hydra/config.yaml`` with ``gan_sweeps.run.build.build_model`` (the code that
trained them; no second copy of any net) and filled from ``checkpoints/last.ckpt`` with ``torch.load(...,
weights_only=True)``: a checkpoint can hold only tensors and plain containers, never code to run. Nothing is
written into a run folder. A run that cannot serve a study (not completed, no checkpoint, no discriminator,
unconditional where labelled samples are needed, ...) is skipped with one line saying why."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from omegaconf import DictConfig, OmegaConf

from gan_sweeps.report.runs import find_run_dirs, load_run
from gan_sweeps.report.table import swept_keys

CHECKPOINT = Path("checkpoints") / "last.ckpt"


class StudyError(Exception):
    """A request a study cannot serve; its message is one line (the CLI prints it and exits 2)."""


@dataclass
class StudyRun:
    """One run folder: ``name`` (its folder below the sweep, e.g. ``3``), ``label`` (its swept settings, e.g.
    ``k=2, optim.beta1=0.9``), its config and ``metrics.json``; ``model()`` loads its checkpoint once."""

    path: Path
    name: str
    label: str
    metrics: dict[str, Any]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @functools.cached_property
    def cfg(self) -> DictConfig:
        try:
            return OmegaConf.load(self.path / ".hydra" / "config.yaml")
        except Exception as exc:  # noqa: BLE001 - a broken config is a reason to skip the run
            raise StudyError(f"{self.path}: unreadable .hydra/config.yaml ({exc})") from None

    def setting(self, key: str, default: Any = None) -> Any:
        """A resolved config value (``data.name``, ``eval.num_samples``), or ``default``."""
        try:
            value = OmegaConf.select(self.cfg, key, default=default)
        except Exception:  # noqa: BLE001 - an interpolation that cannot resolve here
            return default
        return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value

    @property
    def dataset(self) -> str:
        return str(self.setting("data.name"))

    @functools.cached_property
    def model(self) -> Any:
        """The trained model (eval mode, frozen, on ``device``), built by the run's own code from its config."""
        from gan_sweeps.run.build import build_model

        ckpt_path = self.path / CHECKPOINT
        try:
            checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - e.g. a pickle that would run code: refused by weights_only
            raise StudyError(f"{self.path}: checkpoint refused by weights-only loading "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
        try:
            model = build_model(self.cfg)
            model.load_state_dict(checkpoint["state_dict"])
        except Exception as exc:  # noqa: BLE001 - a config or checkpoint this version cannot rebuild
            raise StudyError(f"{self.path}: cannot rebuild its model ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:160]})") from None
        return model.to(self.device).eval().requires_grad_(False)

    def metric(self, key: str) -> Any:
        return self.metrics.get(key)


def _read_metrics(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def find_runs(paths: Sequence[str | os.PathLike], device: torch.device | str = "cpu") -> list[StudyRun]:
    """The run folders in ``paths`` (each a run folder or a sweep folder), labelled by the settings that differ
    between them; raises StudyError when a path is missing or none holds a run."""
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        root = Path(raw)
        if not root.is_dir():
            raise StudyError(f"{root} is not a folder")
        dirs = find_run_dirs(root)
        if not dirs:
            raise StudyError(f"no runs found in {root} (expected run folders holding .hydra/, e.g. {root}/0/.hydra/)")
        found += [(d, root) for d in dirs if d not in {f for f, _ in found}]
    report_runs = [load_run(d, root) for d, root in found]
    swept = swept_keys(report_runs)[0]
    runs = []
    for run in report_runs:
        parts = [f"{key}={run.setting(key)}" for key in swept if run.setting(key) is not None]
        name = run.name if run.name not in ("", ".") else run.path.name
        runs.append(StudyRun(path=run.path, name=name, label=", ".join(parts) or name,
                             metrics=_read_metrics(run.path), device=torch.device(device)))
    return runs


# ---- what a study needs from a run ---------------------------------------------------------------------------
Check = Callable[[StudyRun], "str | None"]  # None: fine; else the reason the run cannot serve


def finished(run: StudyRun) -> str | None:
    status = run.metrics.get("status")
    if status != "completed":
        return f"status {status or 'unknown (no metrics.json)'}, not completed"
    if not (run.path / CHECKPOINT).is_file():
        return f"no {CHECKPOINT.as_posix()}"
    return None


def generator(run: StudyRun) -> str | None:
    model = run.model
    if not getattr(model, "is_generative", False) or not callable(getattr(model, "generate", None)):
        return f"model={run.setting('model.name')} is not a generator"
    return None


def conditional_generator(run: StudyRun) -> str | None:
    reason = generator(run)
    if reason is None and not getattr(run.model, "conditional", False):
        return f"model={run.setting('model.name')} is unconditional: this study needs labelled samples (a cGAN)"
    return reason


def discriminator(run: StudyRun) -> str | None:
    from gan_sweeps.evaluation.discriminator import NotAJudge, RealFakeJudge

    try:
        RealFakeJudge(run.model)
    except NotAJudge as exc:
        return f"model={run.setting('model.name')} {exc}"
    return None


def select(runs: list[StudyRun], checks: Sequence[Check], say: Callable[[str], None]) -> list[StudyRun]:
    """The runs that pass every check; each other run is reported in one line (``say``) with its reason. Raises
    StudyError when none is left, and when the runs left use different datasets."""
    kept = []
    for run in runs:
        try:
            reason = next((r for r in (check(run) for check in [finished, *checks]) if r), None)
        except StudyError as exc:
            reason = str(exc).removeprefix(f"{run.path}: ")
        if reason:
            say(f"skipping {run.path}: {reason}")
        else:
            kept.append(run)
    if not kept:
        raise StudyError("no run can serve this study (see the lines above)")
    datasets = sorted({run.dataset for run in kept})
    if len(datasets) > 1:
        raise StudyError(f"the runs use different datasets ({', '.join(datasets)}); study one dataset at a time")
    return kept


def pick(runs: list[StudyRun], wanted: str) -> StudyRun:
    """A run by folder path, folder name (``3``) or label (``k=2, optim.beta1=0.9``)."""
    for run in runs:
        if wanted in (str(run.path), run.name, run.label) or Path(wanted).resolve() == run.path.resolve():
            return run
    raise StudyError(f"--fixed {wanted!r} names none of the runs ({', '.join(r.name for r in runs)})")
