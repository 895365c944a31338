"""gan-sweeps installed from its wheel, not run from a checkout: the Hydra configs travel inside the package
(gan_sweeps/conf/), so the console script of a non-editable install composes, checks and runs a sweep from an empty
folder, and its --help and presets are the checkout's. (Before, a wheel ended in FileNotFoundError for
site-packages/conf/config.yaml.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from conftest import REPO, job_dirs, read_metrics

pytestmark = pytest.mark.e2e
SWEEP = ["-m", "model=mlp_gan", "k=1,2", "data.train_size=256", "trainer.max_epochs=1", "eval=off", "logger=csv"]


def _run(args: list, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env={**os.environ, "CI": "1"}, text=True,
                          capture_output=True, timeout=600)


def _check(args: list) -> subprocess.CompletedProcess:
    proc = _run(args)
    assert proc.returncode == 0, f"{' '.join(map(str, args))}:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A throwaway venv holding only the wheel built from this checkout; its dependencies (torch, Hydra, ...) come
    from the environment running the tests through a .pth file, so nothing is downloaded or reinstalled."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("gan_sweeps", "hydra_plugins"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _check([*pip, "wheel", source, "--no-deps", "--no-build-isolation", "-w", root / "dist"])
    (wheel,) = (root / "dist").glob("gan_sweeps-*.whl")
    venv = root / "venv"
    _check([sys.executable, "-m", "venv", "--without-pip", venv])
    purelib = _check([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    deps = dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib"))  # the test environment's
    Path(purelib.stdout.strip(), "test_environment.pth").write_text("".join(f"{p}\n" for p in deps))
    _check([*pip, "--python", venv / "bin" / "python", "install", "--no-deps", "--no-index", wheel])
    return venv


def test_a_sweep_from_an_empty_folder_runs_on_the_configs_in_the_wheel(venv, tmp_path):
    proc = _run([venv / "bin" / "gan-sweeps", *SWEEP], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (sweep,) = (tmp_path / "multirun").glob("*/*")
    jobs = job_dirs(sweep)
    assert [read_metrics(j)["status"] for j in jobs] == ["completed", "completed"]
    assert [read_metrics(j)["k"] for j in jobs] == [1, 2]
    sources = yaml.safe_load((jobs[0] / ".hydra" / "hydra.yaml").read_text())["hydra"]["runtime"]["config_sources"]
    main = next(s["path"] for s in sources if s["provider"] == "main")
    assert Path(main).is_relative_to(venv) and Path(main).name == "conf"  # the installed package's, not the checkout's


def test_help_and_a_preset_are_the_checkouts(venv, tmp_path):
    installed = _run([venv / "bin" / "gan-sweeps", "--help"], cwd=tmp_path)
    checkout = _run([sys.executable, "-m", "gan_sweeps", "--help"], cwd=tmp_path)
    assert installed.returncode == 0 and installed.stdout == checkout.stdout
    preset = ["provenance", "experiment=seed002_mlp_gan"]  # composes the preset; names the file that set each value
    installed = _run([venv / "bin" / "gan-sweeps", *preset], cwd=tmp_path)
    checkout = _run([sys.executable, "-m", "gan_sweeps", *preset], cwd=tmp_path)
    assert (installed.returncode, installed.stdout) == (checkout.returncode, checkout.stdout)
    assert "gan_sweeps/conf/experiment/seed002_mlp_gan.yaml" in installed.stdout
