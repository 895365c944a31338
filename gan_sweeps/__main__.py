"""``python -m gan_sweeps [-m] KEY=VALUE ...`` (also ``gan-sweeps``): the Hydra app; ``gan-sweeps report DIR``,
``gan-sweeps status DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig


# An absolute path: found the same way by `python -m gan_sweeps`, the console script and tests, from any folder.
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def main(cfg: DictConfig) -> float:
    from gan_sweeps.train import run  # imported here so `--help` and config errors stay fast

    return run(cfg)


def cli() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "report":
        from gan_sweeps.report import main as report_main

        sys.exit(report_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "status":
        from gan_sweeps.status import main as status_main

        sys.exit(status_main(sys.argv[2:]))
    main()
    from gan_sweeps.hydra_callbacks import FAILED

    if FAILED:
        print(f"{len(FAILED)} run(s) failed (see error.log in each): {', '.join(FAILED)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    cli()
