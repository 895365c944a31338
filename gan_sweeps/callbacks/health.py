"""Run health: recognise the failure modes the seed studies describe and say which one a run hit.

Diagnoses, worst first (``SEVERITY``):

- ``diverged``: a loss became NaN/inf (the module's loss check raises ``Diverged`` within
  ``trainer.log_every_n_steps`` batches: models/base.py) or an epoch-mean loss grew
  beyond ``explode_above`` in absolute value (exploding losses, seed 000);
- ``d_collapse``: the discriminator wins outright: its epoch-mean loss stays under ``d_loss_below`` while the
  generator's stays over ``g_loss_above``, for ``patience`` epochs in a row (seed 000's "D loss collapsing to 0,
  vanishing gradients", "D overpowering G"). Checked only where the GAN loss says its D loss is bounded below
  (``GANLoss.d_loss_bounded``: BCE, LSGAN, hinge), where "D loss near 0" has that meaning; not for Wasserstein;
- ``mode_collapse``: the evaluator's class histogram of generated samples misses or is dominated by classes
  (``eval/mode_collapse`` of any evaluation, periodic or final; seed 001 Fig. 15/16, seed 004);
- ``low_diversity``: the samples lack diversity within a class (conditional models: some class's
  ``eval/intra_spread_by_class``; unconditional ones: ``eval/spread``) under
  ``evaluation.diversity.SPREAD_THRESHOLD``: a generator that ignores its noise (seed 001 Fig. 20, l.116);
- ``ok``: none of these.

``health`` is the worst diagnosis that still holds when the run ends, with the epoch it was first seen, a one-line
reason and, for the evaluation's diagnoses, the sample grid that shows it (``health_figure``:
``samples/epoch_XXX.png``, relative to the run folder; the newest grid up to that epoch). A diagnosis that stopped
holding (``d_collapse``: a later epoch without D winning; ``mode_collapse``/``low_diversity``: a later evaluation
without them) moves to ``health_recovered``, a list of ``{diagnosis, epoch, until, reason}``: seed 001's cGANs pass
through an early phase where D wins and every row draws one digit, and a run that leaves it is not a failed run.
``diverged`` always holds: the run ends there.
``stop_on`` lists the diagnoses that end training early: ``diverged`` raises ``Diverged`` (status ``diverged``);
the others stop the trainer after that epoch, the run is still evaluated, and ``metrics.json`` says
``stopped_early: true``. Under the Optuna sweeper a stopped trial is thereby cut short like a pruned one."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytorch_lightning as pl

from gan_sweeps.callbacks.health_config import DIAGNOSES, SEVERITY
from gan_sweeps.models.base import Diverged


def recovered_text(recovered: Sequence[Mapping[str, Any]] | None) -> str:
    """``health_recovered`` in words: "recovered from d_collapse (epochs 1-2)"; "" when empty."""
    spans = [f"{r['diagnosis']} (epochs {r['epoch']}-{r['until'] - 1 if isinstance(r['until'], int) else '?'})"
             for r in recovered or ()]
    return f"recovered from {', '.join(spans)}" if spans else ""


class RunHealth(pl.Callback):
    def __init__(self, d_loss_below: float = 0.05, g_loss_above: float = 5.0, patience: int = 2,
                 explode_above: float = 1.0e4, stop_on: Sequence[str] = ("diverged",),
                 run_dir: str | Path | None = None):
        unknown = sorted(set(stop_on) - set(DIAGNOSES))
        if unknown:
            raise ValueError(f"health.stop_on has unknown diagnoses {unknown}; choose from {list(DIAGNOSES)}")
        self.d_loss_below, self.g_loss_above = d_loss_below, g_loss_above
        self.patience, self.explode_above = patience, explode_above
        self.stop_on = set(stop_on)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.stopped_early = False
        self._d_collapse_streak = 0
        self.holding: dict[str, tuple[int | None, str, str | None]] = {}  # diagnosis -> (first epoch, reason, figure)
        self.recovered: list[dict[str, Any]] = []

    # ---- what the run reports ------------------------------------------------------------------------------------
    def flag(self, diagnosis: str, epoch: int | None, reason: str, figure: str | None = None) -> None:
        """``diagnosis`` holds from ``epoch`` on (the first epoch, reason and figure it was seen with are kept)."""
        self.holding.setdefault(diagnosis, (epoch, reason, figure))

    def clear(self, diagnosis: str, epoch: int | None) -> None:
        """``diagnosis`` no longer holds at ``epoch``: it moves to ``recovered``."""
        if diagnosis in self.holding:
            first, reason, _ = self.holding.pop(diagnosis)
            self.recovered.append({"diagnosis": diagnosis, "epoch": first, "until": epoch, "reason": reason})

    @property
    def health(self) -> str:
        return max(self.holding, key=SEVERITY.index, default="ok")

    @property
    def reason(self) -> str | None:
        return self.holding[self.health][1] if self.holding else None

    def summary(self) -> dict[str, Any]:
        epoch, reason, figure = self.holding.get(self.health, (None, None, None))
        return {"health": self.health, "health_epoch": epoch, "health_reason": reason, "health_figure": figure,
                "health_recovered": list(self.recovered), "stopped_early": self.stopped_early}

    def sample_figure(self, epoch: int | None) -> str | None:
        """The newest ``samples/epoch_XXX.png`` up to ``epoch`` (any epoch when None), relative to the run folder."""
        if self.run_dir is None:
            return None
        grids = sorted(p for p in (self.run_dir / "samples").glob("epoch_*.png")
                       if p.stem[6:].isdigit() and (epoch is None or int(p.stem[6:]) <= epoch))
        return grids[-1].relative_to(self.run_dir).as_posix() if grids else None

    # ---- checks ------------------------------------------------------------------------------------------------------
    def check_losses(self, losses: Mapping[str, float], epoch: int, d_loss_bounded: bool = True) -> str | None:
        """Diagnose one epoch's mean losses; returns the new diagnosis or None. ``d_loss_bounded``: the GAN loss's
        flag (False for Wasserstein critics, which the collapse rule does not apply to)."""
        for key, value in losses.items():
            if "loss" in key and (not math.isfinite(value) or abs(value) > self.explode_above):
                self.flag("diverged", epoch, f"epoch-mean {key} = {value:.4g} (|loss| > {self.explode_above:g})")
                return "diverged"
        d, g = losses.get("d_loss"), losses.get("g_loss")
        if d is None or g is None or not d_loss_bounded:
            return None
        self._d_collapse_streak = self._d_collapse_streak + 1 if (d < self.d_loss_below and g > self.g_loss_above) \
            else 0
        if not self._d_collapse_streak:
            self.clear("d_collapse", epoch)
        elif self._d_collapse_streak >= self.patience:
            self.flag("d_collapse", epoch - self.patience + 1,
                      f"D loss < {self.d_loss_below:g} while G loss > {self.g_loss_above:g} for "
                      f"{self.patience} epoch(s) (last: D {d:.3g}, G {g:.3g})")
            return "d_collapse"
        return None

    def check_evaluation(self, results: Mapping[str, Any], epoch: int | None) -> str | None:
        """``eval/mode_collapse`` (evaluation.metrics.mode_collapse) and the diversity rule
        (evaluation.diversity.low_diversity), explained with their thresholds; returns the worst one found. An
        evaluation that judged a diagnosis and did not find it clears it (results without its keys judge nothing)."""
        from gan_sweeps.evaluation.diversity import judges_diversity, low_diversity
        from gan_sweeps.evaluation.metrics import DOMINANT_RATIO, MISSING_RATIO

        found = []
        if results.get("eval/mode_collapse"):
            hist = results.get("eval/class_hist") or []
            uniform = 1.0 / len(hist) if hist else float("nan")
            missing = sum(1 for h in hist if h < MISSING_RATIO * uniform)
            top = max(hist) if hist else float("nan")
            found.append(("mode_collapse",
                          f"class histogram of samples: {missing} class(es) under {MISSING_RATIO * uniform:.0%}, "
                          f"largest class {top:.0%} (collapse: a class under {MISSING_RATIO * uniform:.0%} or one "
                          f"over {DOMINANT_RATIO * uniform:.0%})"))
        reason = low_diversity(results)
        if reason:
            found.append(("low_diversity", reason))
        judged = {"mode_collapse": "eval/mode_collapse" in results, "low_diversity": judges_diversity(results)}
        for diagnosis in [d for d, seen in judged.items() if seen and d not in dict(found)]:
            self.clear(diagnosis, epoch)
        for diagnosis, why in found:
            self.flag(diagnosis, epoch, why, self.sample_figure(epoch))
        return max((d for d, _ in found), key=SEVERITY.index, default=None)

    # ---- Lightning hooks ---------------------------------------------------------------------------------------------
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        found = self.check_losses(pl_module.running_epoch_losses(), trainer.current_epoch + 1,
                                  getattr(getattr(pl_module, "loss", None), "d_loss_bounded", True))
        self.act(found, trainer)

    def act(self, diagnosis: str | None, trainer: pl.Trainer | None) -> None:
        """Stop the run when ``diagnosis`` is in ``stop_on``."""
        if diagnosis is None or diagnosis not in self.stop_on:
            return
        if diagnosis == "diverged":
            raise Diverged(self.reason)
        self.stopped_early = True
        if trainer is not None:
            trainer.should_stop = True
