"""``health.*``: the run diagnosis of ``callbacks/health.py`` (``metrics.json``: ``health``, ``health_reason``,
``health_figure``)."""

from dataclasses import dataclass
from typing import List

from gan_sweeps.config.schema import knob

SEVERITY = ("ok", "low_diversity", "mode_collapse", "d_collapse", "diverged")  # worst last
DIAGNOSES = SEVERITY[1:]


@dataclass
class HealthConfig:
    d_loss_below: float = knob(0.05, ge=0, help="d_collapse: epoch-mean D loss under this while ...")
    g_loss_above: float = knob(5.0, help="... the epoch-mean G loss is over this ...")
    patience: int = knob(2, ge=1, help="... for this many epochs in a row")
    explode_above: float = knob(1.0e4, gt=0, help="diverged: an epoch-mean |loss| over this (NaN/inf always is)")
    stop_on: List[str] = knob(factory=lambda: ["diverged"], choices=DIAGNOSES,
                              help="diagnoses that end training early")
