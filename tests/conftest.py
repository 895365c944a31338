"""Shared fixtures: real data from ../shared/datasets, W&B offline, Hydra configs composed as the CLI does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"


def _default_data_root() -> str:
    for candidate in (os.environ.get("GAN_SWEEPS_DATA"), REPO.parent / "shared" / "datasets", REPO / "data"):
        if candidate and (Path(candidate) / "MNIST" / "raw").is_dir():
            return str(Path(candidate).resolve())
    raise RuntimeError("tests need MNIST: set GAN_SWEEPS_DATA to a folder holding MNIST/raw/ "
                       "(../shared/datasets beside the repo is found automatically)")


DATA_ROOT = _default_data_root()
os.environ["GAN_SWEEPS_DATA"] = DATA_ROOT
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# One evaluator cache for the whole test session (and later sessions on this machine): trained once, reused.
os.environ.setdefault("GAN_SWEEPS_CACHE", str(REPO / ".cache" / "gan_sweeps"))

# Smallest settings that still train real nets on real images.
TINY = ["data.train_size=128", "batch_size=64", "trainer.max_epochs=1", "logger=csv", "eval=off"]


@pytest.fixture
def compose():
    """compose(*overrides) -> DictConfig exactly as `python -m gan_sweeps` would build it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    def _compose(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return hydra_compose(config_name="config", overrides=list(overrides))

    yield _compose
    GlobalHydra.instance().clear()


def run_cli(*args: str, cwd: Path, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m gan_sweeps ARGS` as a user would; returns the completed process (output captured)."""
    full_env = {**os.environ, "CI": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "gan_sweeps", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout)


def read_metrics(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted((p for p in Path(sweep_dir).iterdir() if (p / ".hydra").is_dir()), key=lambda p: int(p.name))


# ---- external services (tests/services.py): one per test session, shared by every test that needs it ----------
@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 (fails, never skips, when Debian's postgresql is missing)."""
    from services import PostgresServer

    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def slurm():
    """A one-node Slurm cluster with accounting on 127.0.0.1 (fails, never skips, when slurm-wlm is missing)."""
    from services import SlurmCluster

    cluster = SlurmCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()
