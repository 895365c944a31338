"""What every ``model=`` option declares, and the contract for adding a model family.

A model option is a dataclass derived from :class:`ModelConfig`, registered with
``gan_sweeps.config.schema.register("model", NAME, ConfigClass)`` in a ``*_config.py`` module beside its
LightningModule (found at start-up; no central table to edit). Its fields are the model's own knobs
(``model.KEY``), its nets (``_target_`` nodes) and ``module`` (the LightningModule's ``_target_`` node). Three
class variables say what the family needs from the rest of the config:

- ``family``: the name shown in messages ("GAN", "autoencoder", ...);
- ``reads``: the run-level knobs it reads, out of those declared with ``knob(..., model_knob=True)`` (``k``,
  ``g_steps``, ``label_smoothing``, ``instance_noise``, ``loss``, ``regularizer``, ``optim.g_lr``,
  ``optim.d_lr``, ``data.labelled_per_class``, ``data.labelled_seed``). Setting one that is not listed (on the
  command line, in a preset or by a recipe) is refused with one line naming it and the model;
- ``metrics``: the ``metrics.json`` keys its runs produce; ``objective=`` must name one of them."""

from dataclasses import dataclass
from typing import Any, ClassVar, FrozenSet, Tuple

from omegaconf import MISSING

from gan_sweeps.config.schema import knob

# Scores of generated samples (gan_sweeps/evaluation/evaluate.py) for every model that can sample.
SAMPLE_METRICS = ("eval/fid", "eval/kid_mean", "eval/kid_std", "eval/is", "eval/class_entropy", "eval/mode_collapse",
                  "eval/precision", "eval/recall", "eval/coverage", "eval/spread")


@dataclass
class ModelConfig:
    family: ClassVar[str] = ""
    reads: ClassVar[FrozenSet[str]] = frozenset()
    metrics: ClassVar[Tuple[str, ...]] = ()

    name: str = MISSING
    latent_dim: int = knob(100, ge=1, help="size of the latent code (G's noise, the autoencoders' code)")
    module: Any = MISSING
