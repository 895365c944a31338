"""``eval=default|off``: scoring generated samples at the end (and every N epochs) (``train.py``,
``callbacks/evaluation.py``, ``gan_sweeps/evaluation/``)."""

from dataclasses import dataclass

from gan_sweeps.config.schema import knob, register


@dataclass
class EvalConfig:
    enabled: bool = knob(True, help="evaluate at the end of the run (false: training numbers only)")
    num_samples: int = knob(10000, ge=1, help="generated samples scored (FID/KID/IS/class histogram)")
    every_n_epochs: int = knob(0, ge=0, help="also evaluate every N epochs (curves, Optuna pruning); 0: end only")
    sample_metrics: bool = knob(True, help="FID/KID/IS/class histogram of samples (false: the model's own only)")
    batch_size: int = knob(1000, ge=1, help="batch size of the evaluator")
    cache_dir: str = knob("${oc.env:GAN_SWEEPS_CACHE,'~/.cache/gan_sweeps'}",
                          help="evaluator classifiers and reference statistics")


register("eval", "default", EvalConfig)
register("eval", "off", EvalConfig(enabled=False))
