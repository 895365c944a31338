"""A synthetic Hydra app for the race's tests (not gan-sweeps; no training): setting ``setting`` has the known
mean ``means[setting]``, and a run returns it plus Gaussian noise (standard deviation ``noise``) seeded by
``(stream, setting, seed)``, so each seed of each setting is its own draw and ``stream`` makes independent races.
``score`` is the same function for the in-process simulations (hundreds of races in seconds)."""

from dataclasses import dataclass, field
from typing import Any, List

import hydra
import numpy as np
from hydra.core.config_store import ConfigStore


def score(means: List[float], setting: int, seed: int, noise: float = 1.0, stream: int = 0) -> float:
    return float(means[setting] + noise * np.random.default_rng([stream, setting, seed]).normal())


@dataclass
class RaceAppConfig:
    defaults: List[Any] = field(default_factory=lambda: ["_self_", {"override hydra/sweeper": "grid"}])
    means: List[float] = field(default_factory=lambda: [1.0, 0.0, -1.0])
    setting: int = 0
    seed: int = 0
    noise: float = 1.0
    stream: int = 0
    objective: str = "score"


ConfigStore.instance().store(name="race_app", node=RaceAppConfig)


@hydra.main(version_base="1.3", config_path=None, config_name="race_app")
def main(cfg) -> float:
    return score(list(cfg.means), cfg.setting, cfg.seed, cfg.noise, cfg.stream)


if __name__ == "__main__":
    main()
