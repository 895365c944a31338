"""gan_sweeps/config/hydra_defaults.py is the package's only use of ``hydra._internal``. These tests pin each internal
it relies on, so a Hydra upgrade that changes one fails here, naming it, rather than as a wrong provenance record."""

from __future__ import annotations

import importlib
import inspect

import hydra
import pytest

from conftest import CONF_DIR
from gan_sweeps.config import hydra_defaults

pytestmark = pytest.mark.unit

ADAPTER = "gan_sweeps/config/hydra_defaults.py"
# (module, attribute, the parameters the adapter passes it by name)
INTERNALS = [
    ("hydra._internal.config_loader_impl", "ConfigLoaderImpl", {"config_search_path"}),
    ("hydra._internal.config_loader_impl", "ConfigLoaderImpl._parse_overrides_and_create_caching_repo", set()),
    ("hydra._internal.config_loader_impl", "ConfigLoaderImpl.load_configuration", set()),
    ("hydra._internal.utils", "create_config_search_path", set()),
    ("hydra._internal.defaults_list", "create_defaults_list",
     {"repo", "config_name", "overrides_list", "prepend_hydra", "skip_missing"}),
]


def _changed(what: str) -> str:
    return (f"hydra-core {hydra.__version__} changed {what}: {ADAPTER} (written against hydra-core 1.3) needs "
            "updating for this Hydra, or keep the hydra-core<1.4 pin")


@pytest.mark.parametrize("module,attribute,params", INTERNALS, ids=[f"{m}.{a}" for m, a, _ in INTERNALS])
def test_each_hydra_internal_the_adapter_uses_is_still_there(module, attribute, params):
    try:
        found = importlib.import_module(module)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        pytest.fail(_changed(f"{module}.{attribute} (gone)"))
    missing = params - set(inspect.signature(found).parameters)
    assert not missing, _changed(f"{module}.{attribute}'s parameters (no {', '.join(sorted(missing))})")


def test_the_replay_reads_configs_packages_overrides_and_who_chose_each_option():
    try:
        replay = hydra_defaults.replay(str(CONF_DIR), ["loss=wgan_gp", "k=3", "model=dcgan"])
    except Exception as exc:  # noqa: BLE001 - any failure here is the upgrade's
        pytest.fail(_changed(f"the defaults list ({type(exc).__name__}: {exc})"))
    loaded = {c.config_path: c for c in replay.configs}
    assert "config" in loaded and loaded["config"].path.startswith("file://"), _changed("ResultDefault / load_config")
    model = loaded.get("model/dcgan")
    assert model is not None and model.package == "model" and model.provider == "gan_sweeps.models.gan_config", \
        _changed("ResultDefault.package or the config's provider")
    recipe = loaded.get("loss/wgan_gp")
    assert recipe is not None and recipe.package == "" and recipe.config.k == 5, _changed("a recipe's package")
    assert not any(c.config_path.startswith("hydra/") for c in replay.configs)
    assert [o.key_or_group for o in replay.overrides] == ["k"], _changed("DefaultsList.config_overrides")
    picked = {p.group: p for p in replay.choices}
    assert picked["loss"].value == "wgan_gp" and picked["loss"].external, _changed("override_metadata.external")
    assert picked["model"].value == "dcgan" and picked["model"].external
    assert picked["regularizer"] == hydra_defaults.Picked("regularizer", "gradient_penalty", False, "loss/wgan_gp"), \
        _changed("override_metadata.containing_config_path")


def test_compose_and_load_option_give_the_apps_config():
    cfg = hydra_defaults.compose(str(CONF_DIR), ["model=vae"])
    assert cfg.model.name == "vae" and "hydra" in cfg
    assert hydra_defaults.load_option(str(CONF_DIR), "model/vae") is not None
