"""Typed configs you can trust: every key declared once beside its code, checked before torch is imported.

- ``schema``: how a knob is declared (``knob(default, ge=..., choices=..., help=..., model_knob=...)``);
- ``registry``: finds the ``*_config.py`` modules, which register the group options in Hydra's ConfigStore;
- ``sources``: which file, option or override set each value (``python -m gan_sweeps.config.provenance``);
- ``checks``: declared keys, applicability per model family, ranges, combinations, the dataset's files;
- ``errors``: one line for every way a command line can be wrong;
- ``help``: ``python -m gan_sweeps --help``, generated from the configs.

Import from the modules themselves (``from gan_sweeps.config.checks import ConfigError, preflight``): this package
re-exports nothing, because the ``*_config.py`` modules import ``schema`` and ``checks`` imports them (through
``train_config``), so re-exporting here would close an import circle. Nothing here imports torch, Lightning or
W&B."""
