"""A generic Hydra app that gives the sweepers a ``preflight`` hook (``hydra.sweeper.app_hooks: checked``, this
module, in conf/checked.yaml): the Optuna sweeper refuses a trial whose composed config it rejects, without
launching it."""

import hydra
from omegaconf import DictConfig


def objective(cfg: DictConfig) -> float:
    return float(cfg.x) ** 2


def preflight(cfg: DictConfig) -> None:
    if cfg.x < 0:
        raise ValueError(f"x={cfg.x} is invalid: must be >= 0")


main = hydra.main(version_base="1.3", config_path="conf", config_name="checked")(objective)

if __name__ == "__main__":
    main()
