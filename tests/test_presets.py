"""Every experiment preset (conf/experiment/*.yaml) composes, sweeps what it says and builds a valid run."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

from conftest import CONF_DIR, checked, job_dirs, read_metrics, run_cli
from gan_sweeps.train import build_model

PRESETS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def _first_point(params: dict) -> list[str]:
    """The overrides of the first point of a preset's search space (first choice, start of a range/interval)."""
    parser = OverridesParser.create()
    point = []
    for key, text in params.items():
        override = parser.parse_override(f"{key}={text}")
        value = override.value()
        if isinstance(value, ChoiceSweep):
            value = value.list[0]
        elif isinstance(value, (RangeSweep, IntervalSweep)):
            value = value.start
        point.append(f"{key}={value}")
    return point


def _compose(*overrides: str, hydra_config: bool = False):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra_config)
    finally:
        GlobalHydra.instance().clear()


@pytest.mark.unit
@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_composes_and_its_first_point_is_a_valid_run(preset):
    hydra_cfg = _compose(f"experiment={preset}", hydra_config=True).hydra
    params = dict(hydra_cfg.sweeper.get("params") or {})
    point = _first_point(params)
    cfg = checked(f"experiment={preset}", *point)  # the pre-flight of `python -m gan_sweeps`: ConfigError if not
    model = build_model(cfg)
    assert model.latent_dim == cfg.model.latent_dim


@pytest.mark.e2e
def test_seed004_gan_preset_runs_one_change_at_a_time(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "experiment=seed004_gan_fashion", "data.train_size=128", "batch_size=64",
                   "trainer.max_epochs=1", "sample_epochs=[1]", "eval=off", "logger=csv",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = {read_metrics(j)["overrides"][0].split("=")[1]: read_metrics(j) for j in job_dirs(sweep)}
    assert list(runs) == ["baseline", "lower_g_lr", "lower_lrs", "g_twice", "d_twice", "beta1", "cgan"]
    assert all(r["status"] == "completed" and r["dataset"] == "fashion_mnist" for r in runs.values())
    assert runs["g_twice"]["g_steps_done"] == 2 * runs["baseline"]["g_steps_done"]
    assert runs["d_twice"]["g_steps_done"] == runs["baseline"]["g_steps_done"] // 2
    assert runs["cgan"]["model"] == "cgan" and runs["beta1"]["model"] == "dcgan"
