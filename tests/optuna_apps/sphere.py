"""A generic Hydra app (not gan-sweeps) for the Optuna sweeper's drop-in tests: the same configs and keys as the
official hydra-optuna-sweeper's examples (single objective, two objectives, a custom search space), written here.

The app's ``returns`` key picks the type of the returned value (float, NumPy float32, 0-d array, 0-d tensor, two
values); ``error=true`` makes it raise; ``seed`` is added to the value (for the repeats test); ``sleep`` seconds make a
trial slow."""

import time

import hydra
import numpy as np
from omegaconf import DictConfig


def objective(cfg: DictConfig):
    time.sleep(cfg.get("sleep", 0))
    if cfg.get("error", False):
        raise RuntimeError("cfg.error is True")
    value = cfg.x ** 2 + cfg.y ** 2 + cfg.get("seed", 0)
    if "max_z_difference_from_x" in cfg:  # the custom search space's config
        value += cfg.z ** 2 + cfg.w ** 2
    kind = cfg.get("returns", "float")
    if kind == "two":  # Binh and Korn's two objectives
        return 4 * cfg.x ** 2 + 4 * cfg.y ** 2, (cfg.x - 5) ** 2 + (cfg.y - 5) ** 2
    if kind == "float32":
        return np.float32(value)
    if kind == "array0d":
        return np.array(value)
    if kind == "tensor0d":
        import torch

        return torch.tensor(value)
    if kind == "text":
        return "not a number"
    return value


def configure(cfg: DictConfig, trial) -> None:
    """custom_search_space: z within max_z_difference_from_x of x, and a new key +w."""
    x = trial.params["x"]
    trial.suggest_float("z", x - cfg.max_z_difference_from_x, x + cfg.max_z_difference_from_x)
    trial.suggest_float("+w", 0.0, 1.0)


main = hydra.main(config_path="conf", config_name="sphere")(objective)  # no version_base: like the examples

if __name__ == "__main__":
    main()
