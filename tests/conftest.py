"""Shared fixtures: real data from ../shared/datasets, W&B offline, Hydra configs composed as the CLI does.

Every test carries one tier marker (pyproject.toml): ``unit`` (pure functions, composing and checking configs,
building nets, a few optimizer steps), ``integration`` (in-process training runs, real storages, the report on
real run folders), ``e2e`` (subprocess CLI runs, external services). ``make test-fast`` runs ``unit``; a test
without a tier fails the collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
TIERS = ("unit", "integration", "e2e")


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

from gan_sweeps.config.registry import register_configs  # noqa: E402 - after the environment above

register_configs()

# Smallest settings that still train real nets on real images.
TINY = ["data.train_size=128", "batch_size=64", "trainer.max_epochs=1", "logger=csv", "eval=off"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets in this process: one thread is much faster than two fighting over a busy 2-core machine (a 320-image
    WGAN-GP epoch: 1.8 s against 7 s here). Subprocess runs keep their own settings."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_collection_modifyitems(items):
    untiered = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if untiered:
        raise pytest.UsageError(f"tests without a tier marker ({', '.join(TIERS)}): {', '.join(untiered)}")


def compose_config(*overrides: str, hydra_node: bool = False):
    """The config ``python -m gan_sweeps OVERRIDES`` runs (``hydra_node``: with its ``hydra`` node)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return hydra_compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra_node)
    finally:
        GlobalHydra.instance().clear()


@pytest.fixture
def compose():
    """compose(*overrides) -> DictConfig exactly as `python -m gan_sweeps` would build it."""
    return compose_config


def checked(*overrides: str):
    """Compose and pre-flight a command line as `python -m gan_sweeps OVERRIDES` does (ConfigError if refused)."""
    from gan_sweeps.config.checks import preflight

    cfg = compose_config(*overrides)
    preflight(cfg, overrides=list(overrides))
    return cfg


def run_cli(*args: str, cwd: Path, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m gan_sweeps ARGS` as a user would; returns the completed process (output captured)."""
    full_env = {**os.environ, "CI": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "gan_sweeps", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout)


def read_metrics(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted((p for p in Path(sweep_dir).iterdir() if (p / ".hydra").is_dir()), key=lambda p: int(p.name))


def train_in_process(tmp_path: Path, *overrides: str) -> dict:
    """One pre-flighted run of `python -m gan_sweeps OVERRIDES`, in this process, in ``tmp_path``; its metrics."""
    from gan_sweeps.train import run

    cfg = checked(*overrides, f"run_dir={tmp_path}")
    run(cfg)
    return read_metrics(tmp_path)


def wandb_run_record(run_dir: Path):
    """The run record (config, group, job type) of a job's W&B offline run file (``wandb/offline-run-*/run-*.wandb``:
    a 7-byte header, then LevelDB-log blocks of 32 KiB holding protobuf records split into chunks)."""
    import struct

    from wandb.proto import wandb_internal_pb2

    (path,) = Path(run_dir).glob("wandb/offline-run-*/run-*.wandb")
    data, pos, block, pending = path.read_bytes(), 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if left < 7 or (length == 0 and kind == 0):  # block trailer / padding
            pos += left
            continue
        pending = (b"" if kind in (1, 2) else pending) + data[pos + 7:pos + 7 + length]  # 1 full, 2 first chunk
        pos += 7 + length
        if kind in (1, 4):  # full or last chunk: a whole record
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            if record.WhichOneof("record_type") == "run":
                return record.run
    raise AssertionError(f"no run record in {path}")


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
