"""Shared fixtures: real data from ../shared/datasets, W&B offline, Hydra configs composed as the CLI does.

Every test carries one tier marker (pyproject.toml): ``unit`` (pure functions, composing and checking configs,
building nets, a few optimizer steps), ``integration`` (in-process training runs, real storages, the report on
real run folders), ``e2e`` (subprocess CLI runs, external services). ``make test-fast`` runs ``unit``; a test
without a tier fails the collection.

What this machine lacks is a skip with its reason, never a refusal to start: a test that needs PostgreSQL or Slurm
(tests/services.py) is skipped when their binaries, or root for Slurm, are missing; a test that reads MNIST or
FashionMNIST is skipped when ``$GAN_SWEEPS_DATA`` (or ../shared/datasets, ./data) does not hold them: its failure
naming the missing dataset becomes the skip. ``GAN_SWEEPS_REQUIRE_SERVICES=1`` (.ci/run sets it) turns both kinds
of skip into failures, so CI proves every test every time."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TIERS = ("unit", "integration", "e2e")


REQUIRE_SERVICES = os.environ.get("GAN_SWEEPS_REQUIRE_SERVICES") == "1"


def _default_data_root() -> tuple[str, bool]:
    """The folder holding MNIST/raw/ and whether it does: an explicit $GAN_SWEEPS_DATA alone, else
    ../shared/datasets beside the checkout, then ./data."""
    explicit = os.environ.get("GAN_SWEEPS_DATA")
    candidates = [Path(explicit)] if explicit else [REPO.parent / "shared" / "datasets", REPO / "data"]
    for candidate in candidates:
        if (candidate / "MNIST" / "raw").is_dir():
            return str(candidate.resolve()), True
    return str(candidates[0].resolve()), False


DATA_ROOT, HAVE_DATA = _default_data_root()
os.environ["GAN_SWEEPS_DATA"] = DATA_ROOT
NO_DATA_REASON = (f"reads MNIST or Fashion-MNIST, not in {DATA_ROOT}: set GAN_SWEEPS_DATA to a folder holding "
                  "MNIST/raw/ and FashionMNIST/raw/ (README: Two commands on a fresh machine)")
# How a failure names the missing dataset (gan_sweeps/data/datasets.py's not_found_message, or a path under it).
DATASET_MISSING = re.compile(r"IDX files not found|holds no (Fashion)?MNIST|(Fashion)?MNIST/raw")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# One evaluator cache for the whole test session (and later sessions on this machine): trained once, reused.
os.environ.setdefault("GAN_SWEEPS_CACHE", str(REPO / ".cache" / "gan_sweeps"))

from gan_sweeps import CONF_DIR  # noqa: E402 - after the environment above
from gan_sweeps.config.registry import register_configs  # noqa: E402

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


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A test's commands start as a user's would: without the W&B service of an earlier test's in-process run.
    wandb.init puts WANDB_SERVICE in this process's environment and child processes connect to that service; seen
    in CI under load: a sweep's report run attached to it ended without its run file (the in-process runs keep their
    connection: wandb holds it, not the variable)."""
    os.environ.pop("WANDB_SERVICE", None)


def pytest_collection_modifyitems(items):
    untiered = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if untiered:
        raise pytest.UsageError(f"tests without a tier marker ({', '.join(TIERS)}): {', '.join(untiered)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Without the dataset, a test that fails because it is missing is reported as skipped, with the reason
    (unless GAN_SWEEPS_REQUIRE_SERVICES=1); every other failure stays a failure."""
    outcome = yield
    report = outcome.get_result()
    if HAVE_DATA or REQUIRE_SERVICES or not report.failed or call.excinfo is None:
        return
    if DATASET_MISSING.search(str(report.longrepr)):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {NO_DATA_REASON}")


def missing(reason: str) -> None:
    """Skip the current test for something this machine lacks, or fail it under GAN_SWEEPS_REQUIRE_SERVICES=1."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (GAN_SWEEPS_REQUIRE_SERVICES=1: a missing service is a failure)", pytrace=False)
    pytest.skip(reason)


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
    from gan_sweeps.run.train import run

    cfg = checked(*overrides, f"run_dir={tmp_path}")
    run(cfg)
    return read_metrics(tmp_path)


def wandb_records(path: Path):
    """The records (``wandb_internal_pb2.Record``: run, history, summary, files, ...) of a W&B offline run file
    (``run-*.wandb``: a 7-byte header, then LevelDB-log blocks of 32 KiB holding protobuf records split into
    chunks)."""
    import struct

    from wandb.proto import wandb_internal_pb2

    data, pos, block, pending = Path(path).read_bytes(), 7, 32768, b""
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
            yield record


def wandb_run_record(run_dir: Path):
    """The run record (config, group, job type) of a job's W&B offline run (``wandb/offline-run-*/run-*.wandb``)."""
    (path,) = Path(run_dir).glob("wandb/offline-run-*/run-*.wandb")
    for record in wandb_records(path):
        if record.WhichOneof("record_type") == "run":
            return record.run
    raise AssertionError(f"no run record in {path}")


# ---- external services (tests/services.py): one per test session, shared by every test that needs it ----------
def _service(service_class):
    """``service_class()`` (tests/services.py), or the test skipped with what is missing (failed under
    GAN_SWEEPS_REQUIRE_SERVICES=1)."""
    from services import ServiceMissing

    try:
        return service_class()
    except ServiceMissing as exc:
        reason = str(exc)
    missing(reason)  # outside the except block: the report is the reason, not a chained traceback


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 (skipped with the reason when its binaries are missing)."""
    from services import PostgresServer

    server = _service(PostgresServer)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def slurm():
    """A one-node Slurm cluster with accounting on 127.0.0.1 (skipped with the reason without slurm-wlm or root)."""
    from services import SlurmCluster

    cluster = _service(SlurmCluster)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
