"""The one place gan-sweeps reaches into ``hydra._internal`` (written against hydra-core 1.3, the reason for the
``hydra-core<1.4`` pin): Hydra's defaults list, replayed for provenance (``sources.Provenance``), and a config
composed the way ``python -m gan_sweeps`` composes it, without starting a Hydra app.

Hydra has no public API for either. Everything it returns is turned into the plain records below here, so nothing
else in the package touches Hydra's internal types. ``tests/test_hydra_defaults.py`` checks each internal this
module uses and fails with the name of what changed after a Hydra upgrade."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from omegaconf import DictConfig

CONFIG_NAME = "config"


@dataclass(frozen=True)
class Loaded:
    """One config of the defaults list, loaded: its path in the config tree, the package it writes to and where it
    came from (``file://...`` with its provider, or a structured config registered by a module)."""

    config_path: str
    package: str
    config: DictConfig
    path: str
    provider: Optional[str]


@dataclass(frozen=True)
class Picked:
    """A config group's option: ``external`` is True when the command line (or a sweeper) chose it; otherwise
    ``chosen_in`` is the config whose defaults list chose it (None: the primary config)."""

    group: str
    value: Optional[str]
    external: bool
    chosen_in: Optional[str]


@dataclass(frozen=True)
class Replay:
    configs: list[Loaded]  # the app's configs (not Hydra's own), merged in this order
    overrides: list[Any]  # the command line's value overrides (hydra.core.override_parser.types.Override), in order
    choices: list[Picked]  # in Hydra's expansion order


def _is_hydra(path: Optional[str]) -> bool:
    return bool(path) and (path == "hydra" or path.startswith("hydra/") or path.startswith("hydra."))


@functools.lru_cache(maxsize=4)
def _loader(conf_dir: str) -> Any:
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path

    return ConfigLoaderImpl(config_search_path=create_config_search_path(conf_dir))


@functools.lru_cache(maxsize=4)
def _repository(conf_dir: str) -> Any:
    """One caching repository per process (Hydra makes a deep copy of the ConfigStore per composition)."""
    return _loader(conf_dir)._parse_overrides_and_create_caching_repo(CONFIG_NAME, [])[1]


def compose(conf_dir: str, overrides: Sequence[str]) -> DictConfig:
    """The config ``python -m gan_sweeps OVERRIDES`` runs, with its ``hydra`` node."""
    from hydra.types import RunMode

    return _loader(conf_dir).load_configuration(CONFIG_NAME, list(overrides), RunMode.RUN)


def load_option(conf_dir: str, config_path: str) -> Optional[DictConfig]:
    """One option's own config (``model/vae``), not merged with anything; None when there is no such option."""
    result = _repository(conf_dir).load_config(config_path)
    return result.config if result is not None else None


def replay(conf_dir: str, overrides: Sequence[str]) -> Replay:
    """Hydra's defaults list for ``overrides`` (what ``ConfigLoader.compute_defaults_list`` returns, on the
    process's caching repository), each config loaded."""
    from hydra._internal.defaults_list import create_defaults_list
    from hydra.core.override_parser.overrides_parser import OverridesParser

    repo = _repository(conf_dir)
    parsed = OverridesParser.create().parse_overrides(overrides=list(overrides))
    found = create_defaults_list(repo=repo, config_name=CONFIG_NAME, overrides_list=parsed, prepend_hydra=True,
                                 skip_missing=False)
    configs = []
    for d in found.defaults:
        if d.config_path is None or _is_hydra(d.config_path) or _is_hydra(d.package):
            continue  # Hydra's own configs (hydra/launcher, ...): not the app's
        result = repo.load_config(d.config_path)
        configs.append(Loaded(d.config_path, d.package or "", result.config, str(result.path), result.provider))
    choices = []
    for group, value in found.overrides.known_choices.items():
        meta = found.overrides.override_metadata.get(group)
        choices.append(Picked(group, value, bool(meta is not None and meta.external_override),
                              meta.containing_config_path if meta is not None else None))
    return Replay(configs, list(found.config_overrides), choices)
