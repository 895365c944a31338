"""``data=mnist|fashion_mnist``: which images, where they are and how they are scaled (``datamodule.py``)."""

from dataclasses import dataclass
from typing import Optional

from omegaconf import II, MISSING

from gan_sweeps.config.schema import knob, register
from gan_sweeps.data.datasets import NORMALIZATIONS, TORCHVISION_NAMES


@dataclass
class DataConfig:
    name: str = knob(MISSING, choices=tuple(TORCHVISION_NAMES), help="the dataset (data=NAME picks it)")
    root: Optional[str] = knob(None, help="folder holding <Name>/raw/; null: $GAN_SWEEPS_DATA, then ./data")
    download: bool = knob(False, help="fetch with torchvision when the files are absent (needs internet)")
    train_size: Optional[int] = knob(None, ge=1, help="first N training images only (null: all)")
    normalize: str = knob("tanh", choices=tuple(NORMALIZATIONS),
                          help="pixel range: tanh [-1, 1], half [-0.5, 0.5], none [0, 1] (seed 003)")
    num_classes: int = knob(10, ge=1, help="the dataset's class count (a fact of the dataset)")
    labelled_per_class: Optional[int] = knob(None, ge=1, model_knob=True,
                                             help="semi-supervised models: labelled images per class (null: all)")
    labelled_seed: int = knob(II("seed"), ge=0, model_knob=True, help="seed of the labelled subset")


for _name in TORCHVISION_NAMES:
    register("data", _name, DataConfig(name=_name))
