"""Typed configs you can trust: every key declared once beside its code, checked before torch is imported.

- ``schema``: how a knob is declared (``knob(default, ge=..., choices=..., help=..., model_knob=...)``);
- ``registry``: finds the ``*_config.py`` modules, which register the group options in Hydra's ConfigStore;
- ``sources``: which file, option or override set each value (``python -m gan_sweeps.provenance``);
- ``checks``: declared keys, applicability per model family, ranges, combinations, the dataset's files;
- ``errors``: one line for every way a command line can be wrong;
- ``help``: ``python -m gan_sweeps --help``, generated from the configs.

Nothing here imports torch, Lightning or W&B."""

from gan_sweeps.config.checks import preflight, validate
from gan_sweeps.config.errors import ConfigError, one_line
from gan_sweeps.config.registry import register_configs
from gan_sweeps.config.schema import knob
from gan_sweeps.config.sources import Provenance

__all__ = ["ConfigError", "Provenance", "knob", "one_line", "preflight", "register_configs", "validate"]
