"""The top-level config of one run (``train.py``): the knobs the seed studies sweep, the group slots, and the
``trainer=`` and ``logger=`` options. ``gan_sweeps/conf/config.yaml`` puts :class:`RunConfig` first in its defaults
list, so every top-level key is typed, ranged and documented here and nowhere else."""

from dataclasses import dataclass, field
from typing import Any, List, Optional

from omegaconf import MISSING

from gan_sweeps.callbacks.health_config import HealthConfig
from gan_sweeps.config.schema import knob, register

# Choices of the loop's knobs, read by models/base.py and models/adversarial.py (torch-free here).
LATENT_DISTS = ("normal", "uniform")
UPDATE_ORDERS = ("d_first", "g_first")
D_STEPS = ("joint", "separate")
D_BN_IN_G_STEP = ("batch", "running")

ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
PRECISIONS = ("64-true", "64", "32-true", "32", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "16", "bf16")
WANDB_MODES = ("offline", "online", "disabled", "shared")


def _devices_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 1 or value == -1
    if isinstance(value, str):
        return value == "auto" or all(part.strip().isdigit() for part in value.split(","))
    return isinstance(value, (list, tuple)) and bool(value) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)


@dataclass
class RunConfig:
    # ---- top-level knobs ---------------------------------------------------------------------------------------
    seed: int = knob(42, ge=0, lt=2**32, help="seed of torch, numpy and python in the run")
    k: int = knob(1, ge=1, model_knob=True, help="discriminator steps per generator step, one D step per batch")
    g_steps: int = knob(1, ge=1, model_knob=True, help="generator steps per iteration (seed 004 trains G twice)")
    label_smoothing: float = knob(0.0, ge=0, lt=0.5, model_knob=True,
                                  help="one-sided: real target 1 -> 1 - s, fakes stay 0 (seed 001: 0.1)")
    instance_noise: float = knob(0.0, ge=0, model_knob=True,
                                 help="std of Gaussian noise on D's inputs while training (seed 000)")
    latent_dist: str = knob("normal", choices=LATENT_DISTS, model_knob=True,
                            help="G's noise: N(0, I), or U[0, 1) as the Triplet GAN code draws it (seed 000)")
    update_order: str = knob("d_first", choices=UPDATE_ORDERS, model_knob=True,
                             help="which network steps first in a batch where both do (seed 003: g_first)")
    d_step: str = knob("joint", choices=D_STEPS, model_knob=True,
                       help="D's step: on real + fake summed, or one step on the real batch then one on the fake "
                            "batch (seed 001's Keras loop)")
    d_bn_in_g_step: str = knob("batch", choices=D_BN_IN_G_STEP, model_knob=True,
                               help="the statistics D's BatchNorm uses in G's step: the batch's (PyTorch's train mode) "
                                    "or its running ones (a Keras discriminator frozen with trainable=False)")
    batch_size: int = knob(128, ge=1, help="images per batch")
    grad_clip: float = knob(0.0, ge=0, help="gradient-norm clipping per optimizer step (0: off)")
    objective: str = knob("eval/fid", help="metrics.json key a run returns to the sweepers (must be one the model "
                                           "produces)")
    resume: bool = knob(False, help="skip runs whose metrics.json says completed, continue interrupted ones")
    threads: Optional[int] = knob(None, ge=1, help="CPU threads of this job (null: cores / parallel jobs)")
    channels_last: bool = knob(False, help="the nets' conv weights in channels-last layout (oneDNN's fast one on "
                                           "CPUs; benchmarks/bench_precision.py)")
    sample_epochs: Optional[List[int]] = knob(None, ge=1, help="epochs whose sample grid is saved (null: every)")
    run_dir: Optional[str] = knob(None, help="run folder of run(cfg) outside Hydra (tests, notebooks)")
    health: HealthConfig = field(default_factory=HealthConfig)

    # ---- config groups: pick an option with GROUP=NAME ------------------------------------------------------
    model: Any = knob(MISSING, help="the variant: GANs, autoencoders, semi-supervised GANs")
    data: Any = knob(MISSING, help="the dataset")
    optim: Any = knob(MISSING, help="the optimiser of every network")
    regularizer: Any = knob(MISSING, model_knob=True, help="what keeps D in check besides its loss (GANs)")
    loss: Any = knob(MISSING, model_knob=True,
                     help="the GAN loss; wgan / wgan_gp are the papers' recipes (loss + regulariser + k + optimiser)")
    trainer: Any = knob(MISSING, open=True,
                        help="pytorch_lightning.Trainer arguments (+trainer.KEY=VALUE adds any other)")
    logger: Any = knob(MISSING, help="W&B (offline) + CSV, or CSV only")
    eval: Any = knob(MISSING, help="scoring of samples at the end (and every N epochs), or off")
    optuna: Any = knob(None, help="the trial a job of the Optuna sweeper belongs to (set by the sweeper)")


@dataclass
class TrainerConfig:
    """Keyword arguments of ``pytorch_lightning.Trainer``; any other with ``+trainer.KEY=VALUE``."""

    max_epochs: int = knob(15, ge=1, help="epochs: passes over the training images, whatever k is")
    accelerator: str = knob("auto", choices=ACCELERATORS)
    devices: Any = knob(1, check=_devices_ok,
                        check_text="an integer >= 1, -1 (all), 'auto', or a list of device indices")
    strategy: str = knob("auto", help="e.g. ddp_find_unused_parameters_true for one run on several devices")
    precision: str = knob("32-true", choices=PRECISIONS)
    log_every_n_steps: int = knob(10, ge=1, help="batches between logged training steps")


@dataclass
class WandbConfig:
    enabled: bool = True
    project: str = "gan-sweeps"
    entity: Optional[str] = None
    mode: str = knob("${oc.env:WANDB_MODE,offline}", choices=WANDB_MODES,
                     help="offline unless WANDB_MODE says otherwise")
    group: Optional[str] = knob(None, help="null: the sweep folder's name (all jobs of a multirun in one group)")
    tags: List[str] = knob(factory=list, help="extra tags (the job's overrides are added)")
    job_type: Optional[str] = knob(None, choices=("train", "eval", "study"),
                                   help="W&B job type; null: study for an Optuna trial, else train")


@dataclass
class LoggerConfig:
    wandb: WandbConfig = field(default_factory=WandbConfig)
    csv: bool = knob(True, help="csv/metrics.csv in the run folder")


register(None, "run_schema", RunConfig)
register("trainer", "default", TrainerConfig)
register("trainer", "cpu", TrainerConfig(accelerator="cpu"))
register("trainer", "gpu", TrainerConfig(accelerator="gpu", precision="bf16-mixed"))
register("logger", "default", LoggerConfig)
register("logger", "csv", LoggerConfig(wandb=WandbConfig(enabled=False)))
