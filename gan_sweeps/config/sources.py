"""Provenance: which file, option or override set each value of a composed config.

Hydra composes a config by merging, in order, the configs of its defaults list (``gan_sweeps/conf/config.yaml``, the
chosen option of each group, recipes, presets, ...) and then the command line's ``KEY=VALUE`` overrides. Hydra keeps
no record of who set what, so :meth:`Provenance.of` replays that merge with Hydra's own defaults list
(``hydra_defaults.replay``) and remembers the last writer of every key. Each writer has a kind:

- ``default``: ``gan_sweeps/conf/config.yaml``, the root schema, or a group option writing its own node (``optim=adam``
  writes ``optim.*``): the base defaults, which do not count as "set";
- ``file``: a config writing outside its own node: a recipe (``gan_sweeps/conf/loss/wgan_gp.yaml`` sets ``k``), a preset
  (``gan_sweeps/conf/experiment/*.yaml``), an optimiser specialisation (``gan_sweeps/conf/loss/optim/*.yaml``);
- ``override``: the command line, or the sweeper's ``hydra.sweeper.params``.

A knob is *set* when its last writer is not a default (an explicitly typed default counts). The applicability
check (``checks.py``), the provenance command (``python -m gan_sweeps.config.provenance``) and each run folder's
``provenance.yaml`` read this. Hydra's defaults list comes through ``hydra_defaults`` (its internals, in one place)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

from omegaconf import DictConfig, ListConfig, OmegaConf

from gan_sweeps import CONF_DIR
from gan_sweeps.config import hydra_defaults
from gan_sweeps.config.hydra_defaults import Loaded
from gan_sweeps.config.schema import group_of, module_path

CONFIG_NAME = "config"
DEFAULT, FILE, OVERRIDE = "default", "file", "override"
COMMAND_LINE = "command line"


@dataclass(frozen=True)
class Source:
    where: str  # 'gan_sweeps/conf/loss/wgan_gp.yaml', 'gan_sweeps/training/optim_config.py', 'command line'
    kind: str  # DEFAULT, FILE or OVERRIDE

    def __str__(self) -> str:
        return self.where


BASE_SOURCE = Source("gan_sweeps/conf/config.yaml", DEFAULT)


@dataclass(frozen=True)
class Choice:
    """The option a config group got, and what picked it."""

    value: Optional[str]
    source: Source


@dataclass(frozen=True)
class Change:
    """One line of the provenance record: a value that differs from the base defaults or was set."""

    key: str
    value: Any
    default: Any  # ABSENT when the key does not exist with no arguments
    source: Source
    choice: bool = False  # a config group's option (GROUP=OPTION) rather than a value


ABSENT = "<absent>"


def _is_hydra(path: Optional[str]) -> bool:
    return bool(path) and (path == "hydra" or path.startswith("hydra/") or path.startswith("hydra."))


def _label(config_path: str, result: Loaded) -> str:
    if result.path.startswith("file://"):
        root = Path(result.path[len("file://"):])
        try:
            root = root.resolve().relative_to(CONF_DIR.parents[1])
        except ValueError:
            pass
        return f"{root}/{config_path}.yaml"
    return module_path(result.provider) if result.provider else f"{config_path} (structured config)"


def _keys(node: Any, prefix: str) -> Iterator[str]:
    """Every key of a (possibly nested) config node, parents before children."""
    if not isinstance(node, DictConfig) or node._is_none() or node._is_missing():
        return
    for key in node.keys():
        full = f"{prefix}{key}"
        yield full
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not OmegaConf.is_interpolation(node, key):
            yield from _keys(child, full + ".")


def _place(package: Optional[str], key: str) -> str:
    return f"{package}.{key}" if package else key


class Provenance:
    """Sources of every key and group choice of the config composed from ``overrides`` (job overrides:
    ``hydra.overrides.task``; ``sweep_keys``: the keys a sweeper's ``params`` set, labelled as such)."""

    def __init__(self, overrides: Sequence[str], choices: dict[str, Choice], sources: dict[str, Source]):
        self.overrides = list(overrides)
        self.choices = choices
        self.sources = sources

    @classmethod
    def of(cls, overrides: Iterable[str] = (), sweep_keys: Iterable[str] = ()) -> "Provenance":
        overrides = [str(o) for o in overrides]
        swept = set(sweep_keys)
        replay = hydra_defaults.replay(str(CONF_DIR), overrides)
        sources: dict[str, Source] = {}
        labels: dict[str, Source] = {}
        for loaded in replay.configs:
            kind = DEFAULT if loaded.package == group_of(loaded.config_path) else FILE
            source = Source(_label(loaded.config_path, loaded), kind)
            labels[loaded.config_path] = source
            for key in _keys(loaded.config, _place(loaded.package, "")):
                if key.split(".")[-1] != "defaults":
                    sources[key] = source
        for o in replay.overrides:
            key = o.key_or_group
            source = Source("hydra.sweeper.params" if key in swept else COMMAND_LINE, OVERRIDE)
            for old in [k for k in sources if k == key or k.startswith(key + ".")]:
                del sources[old]
            if not o.is_delete():
                sources[key] = source
        choices = {}
        for picked in reversed(replay.choices):  # Hydra expands from the end
            group = picked.group
            if _is_hydra(group) or "@" in group or "/" in group:
                continue  # Hydra's groups, recipes' inner picks, specialisations (loss/optim): shown by their values
            if picked.external:
                source = Source("hydra.sweeper.params" if group in swept else COMMAND_LINE, OVERRIDE)
            elif picked.chosen_in is None:
                source = BASE_SOURCE
            else:
                source = labels.get(picked.chosen_in, Source(picked.chosen_in, FILE))
            choices[group] = Choice(picked.value, source)
        return cls(overrides, choices, sources)

    # ---- queries -----------------------------------------------------------------------------------------------
    def source(self, key: str) -> Source:
        """The last writer of ``key`` (of its nearest written ancestor when the key itself was never written)."""
        while key:
            if key in self.sources:
                return self.sources[key]
            key = key.rpartition(".")[0]
        return BASE_SOURCE

    def setter(self, key: str) -> Optional[Source]:
        """What set ``key`` (a value, a node or a config group) other than the base defaults, or None."""
        choice = self.choices.get(key)
        if choice is not None and choice.source.kind != DEFAULT:
            return choice.source
        own = self.source(key)
        if own.kind != DEFAULT:
            return own
        prefix = key + "."
        return next((s for k, s in self.sources.items() if k.startswith(prefix) and s.kind != DEFAULT), None)

    def is_set(self, key: str) -> bool:
        return self.setter(key) is not None

    def set_keys_under(self, key: str) -> list[str]:
        prefix = key + "."
        return [k for k, s in self.sources.items() if (k == key or k.startswith(prefix)) and s.kind != DEFAULT]

    # ---- the record ------------------------------------------------------------------------------------------
    def changes(self, cfg: DictConfig, include_all: bool = False) -> list[Change]:
        """Group choices and values that differ from ``python -m gan_sweeps`` with no arguments, or that were set
        (``include_all``: every value). Keys that merely follow another by interpolation are left out."""
        base_provenance, base_cfg = _base()
        base_values = dict(_flatten(base_cfg))
        out = []
        for group, choice in self.choices.items():
            base = base_provenance.choices.get(group)
            default = base.value if base is not None else ABSENT
            if include_all or choice.value != default or choice.source.kind != DEFAULT:
                out.append(Change(group, choice.value, default, choice.source, choice=True))
        for key, value in _flatten(cfg):
            default = base_values.get(key, ABSENT)
            source = self.source(key)
            if include_all or source.kind != DEFAULT or value != default:
                out.append(Change(key, value, default, source))
        return out


def _flatten(cfg: DictConfig, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, resolved plain value) of every leaf that is not an interpolation; lists are leaves."""
    for key in cfg.keys():
        if key == "hydra" and not prefix:
            continue
        full = f"{prefix}{key}"
        if OmegaConf.is_interpolation(cfg, key):
            continue
        child = cfg._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing() and len(child):
            yield from _flatten(child, full + ".")
        elif isinstance(child, ListConfig) and not child._is_none():
            yield full, OmegaConf.to_container(child, resolve=True)
        else:
            yield full, cfg[key]


@functools.lru_cache(maxsize=1)
def _base() -> tuple[Provenance, DictConfig]:
    """The provenance and config of ``python -m gan_sweeps`` with no arguments."""
    return Provenance.of([]), hydra_defaults.compose(str(CONF_DIR), [])


def task_overrides(cfg: Optional[DictConfig] = None) -> tuple[list[str], list[str]]:
    """(the job's overrides, the keys its sweeper's ``params`` set), from ``cfg.hydra`` when the config carries
    its Hydra node (a sweeper's job config) or from the running Hydra job; ([], []) outside Hydra."""
    hydra_node: Any = None
    if cfg is not None and "hydra" in cfg:
        hydra_node = cfg.hydra
    else:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            hydra_node = HydraConfig.get()
    if hydra_node is None:
        return [], []
    params = OmegaConf.select(hydra_node, "sweeper.params", default=None) or {}
    return [str(o) for o in hydra_node.overrides.task], [str(k) for k in params]
